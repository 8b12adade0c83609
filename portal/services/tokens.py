"""Personal access tokens for the JSON API: created, listed, revoked, and looked up per request.

A token is shown once; only its sha256 is stored. Its scopes say which kinds of API call it may make,
and never widen what its owner may do: every request is also checked against the owner's grants and
shops as they are at that moment (portal.permissions), so revoking a grant limits the token at once.
"""

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import ApiToken, Shop, User
from portal.models.base import utcnow
from portal.services import audit, shops
from portal.services.errors import AccessDeniedError, AuthenticationError, InvalidDataError

TOKEN_PREFIX = "cpp_"  # noqa: S105  (marks a portal token in logs and secret scanners)
MAX_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token: a busy script does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Scope:
    name: str
    label: object  # a lazy string
    # Who may hold it: "any" signed-in person, a "courier" with a grant switch (or any grant), a shop "owner".
    holder: str
    permission: str | None = None


SCOPES: dict[str, Scope] = {
    scope.name: scope
    for scope in (
        Scope("shops:read", _l("List my shops and sub-accounts"), "any"),
        Scope("queue:read", _l("Read the pending queue (recipients masked)"), "courier"),
        Scope("recipients:read", _l("Read full recipient details in the queue"), "courier", "view_recipient"),
        Scope("labels:print", _l("Print labels (allocates tracking numbers)"), "courier", "print_labels"),
        Scope("orders:ship", _l("Mark orders shipped"), "courier", "mark_shipped"),
        Scope("outlets:write", _l("Declare my outlet's status (no pickups, no deliveries)"), "courier"),
        Scope("orders:read", _l("Read my shops' orders"), "owner"),
        Scope("orders:write", _l("Upload orders and register tracking numbers"), "owner"),
    )
}


class InvalidTokenError(AuthenticationError):
    """401: no such active token."""

    problem = "invalid-token"

    def __init__(self):
        super().__init__(_("The access token is malformed, unknown, expired or revoked."))


class InsufficientScopeError(AccessDeniedError):
    """403: the token exists but was not given the scope this call needs."""

    problem = "insufficient-scope"

    def __init__(self, scope: str):
        super().__init__(_("This access token lacks the scope %(scope)s.", scope=scope or "-"))
        self.scope = scope


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the token itself: shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def available_scopes(user: User) -> list[str]:
    """The scopes this user could use right now (their grants' switches, the shops they own)."""
    grants = shops.active_grant_rows(user)
    owns = db.session.scalar(select(Shop.id).where(Shop.owner_id == user.id).limit(1)) is not None
    result = []
    for scope in SCOPES.values():
        courier = any(scope.permission is None or grant.allows(scope.permission) for grant in grants)
        if {"any": True, "owner": owns, "courier": courier}[scope.holder]:
            result.append(scope.name)
    return result


def create_token(
    user: User, *, name: str, scopes: list[str], expires_at: datetime | None = None, actor: User | None = None
) -> NewToken:
    """A new token for ``user``; no commit.

    :raise InvalidDataError: no name, no scope, a scope unknown or beyond what the user may do now,
        an expiry in the past, too many tokens.
    """
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 80:
        errors["name"] = _("Give the token a name of at most 80 characters.")
    chosen = list(dict.fromkeys(scopes or []))
    allowed = available_scopes(user)
    if not chosen:
        errors["scopes"] = _("Choose at least one scope.")
    elif any(scope not in allowed for scope in chosen):
        beyond = ", ".join(scope for scope in chosen if scope not in allowed)
        errors["scopes"] = _("You may not give a token these scopes now: %(scopes)s.", scopes=beyond[:200])
    if expires_at is not None and expires_at <= utcnow():
        errors["expires_on"] = _("The expiry date must be in the future.")
    # Revoked and expired tokens stay listed for the record but no longer count: there is no way to delete them.
    count = db.session.scalar(
        select(func.count()).where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
        )
    )
    if count >= MAX_TOKENS_PER_USER:
        errors["name"] = _("You have too many tokens: delete some first.")
    if errors:
        raise InvalidDataError(next(iter(errors.values())), errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:12],
        scopes=chosen,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    audit.record("token_created", actor=actor or user, target=name, token_id=token.id, scopes=chosen)
    return NewToken(token, secret)


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones too, for the record)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(db.session.scalars(query))


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def revoke_token(token: ApiToken, *, actor: User) -> None:
    """Revoke at once (the next request with it is refused); revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token_revoked", actor=actor, target=token.name, token_id=token.id)


def token_for(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The active token with this secret, of an enabled user; None otherwise (unknown, revoked, expired).

    The owner comes in the same statement (every API request needs them: their state here, then as
    current_user), so a call costs one query, not two.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(_token_by_hash(), {"token_hash": hash_secret(secret)})
    now = now or utcnow()
    if token is None or token_status(token, now) != "active" or token.user.is_disabled:
        return None
    return token


@functools.cache
def _token_by_hash():
    """token_for's statement, built once (each request would otherwise build it and key it again)."""
    return (
        select(ApiToken)
        .options(joinedload(ApiToken.user, innerjoin=True))
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


def touch(token: ApiToken, now: datetime) -> bool:
    """Record the use; True when something changed (the caller commits)."""
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        return True
    return False
