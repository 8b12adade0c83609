"""Shops, seller staff, courier grants (sub-accounts) and invitation codes."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import bindparam, inspect, literal, or_, select, union_all, update
from sqlalchemy.orm import contains_eager

from portal.extensions import db
from portal.models import GRANT_PERMISSIONS, CourierCompany, CourierGrant, Invitation, Shop, ShopStaff, User
from portal.models.base import utcnow
from portal.services import accounts, audit, memberships, regions
from portal.services.errors import ConflictError, InvalidDataError

# Unambiguous letters and digits for codes read aloud or typed from a phone.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITATION_HOURS = 72


@dataclass(frozen=True)
class GrantTerms:
    """What a grant allows, until when, and the courier company the person works for (whose numbers they print).

    ``company`` None: not named (a grant made before companies were named keeps the one it has).
    """

    view_recipient: bool = False
    export_addresses: bool = False
    print_labels: bool = False
    mark_shipped: bool = False
    expires_at: datetime | None = None
    company: CourierCompany | None = None

    def permissions(self) -> dict[str, bool]:
        return {p: bool(getattr(self, p)) for p in GRANT_PERMISSIONS}

    def check(self, now: datetime) -> None:
        """:raise InvalidDataError: an expiry date in the past, a courier company no longer offered."""
        if self.expires_at is not None and self.expires_at <= now:
            message = _("The expiry date must be in the future.")
            raise InvalidDataError(message, {"expires_on": message})
        if self.company is not None and not self.company.active:
            message = _("%(company)s is not offered any more.", company=self.company.code)
            raise InvalidDataError(message, {"company": message})

    def audited(self) -> dict:
        """The terms as the audit log keeps them: the switches and the company's code."""
        return {**self.permissions(), "company": self.company.code if self.company else None}


# Shops ----------------------------------------------------------------------------------------


def create_shop(owner: User, name: str) -> Shop:
    """:raise InvalidDataError: empty name."""
    name = (name or "").strip()
    if not name:
        message = _("Give the shop a name.")
        raise InvalidDataError(message, {"shop_name": message})
    shop = Shop(name=name[:80], owner=owner)
    db.session.add(shop)
    db.session.flush()
    owner.in_shops = True  # this request's header lists it (accounts.user_for_session read "none" before)
    audit.record("shop_created", actor=owner, shop=shop, target=shop.name)
    return shop


def update_settings(shop: Shop, *, actor: User, **settings) -> None:
    """Change shop settings (name, promise hours, detail days, privacy labels, pickup rule, ship-from)."""
    changed = {}
    for key, value in settings.items():
        if getattr(shop, key) != value:
            changed[key] = value
            setattr(shop, key, value)
    if "sender_address" in changed:
        shop.sender_region_code = regions.parse_address(shop.sender_address).code if shop.sender_address else ""
    if changed:
        audit.record("shop_settings", actor=actor, shop=shop, **changed)


def shops_owned_by(user: User) -> list[Shop]:
    return list(db.session.scalars(select(Shop).where(Shop.owner_id == user.id).order_by(Shop.name, Shop.id)))


# Every page's header and policy check run these: built once with parameters (building a statement and its cache
# key anew costs a few hundred microseconds a request).
_mine = union_all(
    select(Shop.id.label("shop_id"), literal(True).label("own")).where(Shop.owner_id == bindparam("user_id")),
    select(ShopStaff.shop_id, literal(False)).where(ShopStaff.user_id == bindparam("user_id")),
).subquery()
_HEADER_SHOPS = select(Shop, _mine.c.own).join(_mine, _mine.c.shop_id == Shop.id).order_by(Shop.name, Shop.id)


def header_shops_of(user: User) -> tuple[list[Shop], list[Shop]]:
    """The shops this user owns (as shops_owned_by) and works in as seller staff (as staff_shops_of), in one
    statement: every page's header shows both. No statement for a person the session loader found in no shop."""
    if not user.in_shops:  # accounts.user_for_session read it with the person
        return [], []
    rows = db.session.execute(_HEADER_SHOPS, {"user_id": user.id})
    owned_shops, staff_shops = [], []
    for shop, own in rows:
        (owned_shops if own else staff_shops).append(shop)
    return owned_shops, staff_shops


# Seller staff ---------------------------------------------------------------------------------


def add_staff_login(
    shop: Shop, *, actor: User, username: str, one_time_password: str, display_name: str = ""
) -> ShopStaff:
    """Create a packer login for this shop; the password must be changed at first sign-in."""
    user = accounts.create_user(username, one_time_password, display_name=display_name, must_change_password=True)
    staff = ShopStaff(shop=shop, user=user)
    db.session.add(staff)
    audit.record("staff_added", actor=actor, shop=shop, target=user.username)
    return staff


def remove_staff(staff: ShopStaff, *, actor: User) -> None:
    audit.record("staff_removed", actor=actor, shop=staff.shop, target=staff.user.username)
    db.session.delete(staff)


def staff_of(shop: Shop) -> list[ShopStaff]:
    return list(
        db.session.scalars(
            select(ShopStaff).join(ShopStaff.user).where(ShopStaff.shop_id == shop.id).order_by(User.username)
        )
    )


def staff_shops_of(user: User) -> list[Shop]:
    query = select(Shop).join(ShopStaff, ShopStaff.shop_id == Shop.id).where(ShopStaff.user_id == user.id)
    return list(db.session.scalars(query.order_by(Shop.name)))


# Courier grants -------------------------------------------------------------------------------


# A grant is active for user_id at now: not revoked and not expired.
_ACTIVE_GRANTS = select(CourierGrant).where(
    CourierGrant.user_id == bindparam("user_id"),
    CourierGrant.revoked_at.is_(None),
    or_(CourierGrant.expires_at.is_(None), CourierGrant.expires_at > bindparam("now")),
)
_ACTIVE_GRANT_IN_SHOP = (
    _ACTIVE_GRANTS.where(CourierGrant.shop_id == bindparam("shop_id")).order_by(CourierGrant.id.desc()).limit(1)
)
_ACTIVE_GRANTS_WITH_SHOPS = (
    _ACTIVE_GRANTS.join(CourierGrant.shop).options(contains_eager(CourierGrant.shop)).order_by(Shop.name, Shop.id)
)


def active_grant(user: User, shop_id: int) -> CourierGrant | None:
    """The grant that lets this user work in this shop right now, read fresh on every call."""
    return db.session.scalars(_ACTIVE_GRANT_IN_SHOP, {"user_id": user.id, "now": utcnow(), "shop_id": shop_id}).first()


def active_grants(user: User) -> list[CourierGrant]:
    """The user's active grants with their shops (by shop name), read fresh once per request.

    The policy check, the page and its header all ask within one request: the first call reads the database,
    the others reuse that answer (a commit or rollback since, or a grant changed here, reads it again). The next
    request reads afresh, so a revoked grant stops working at once.
    """
    memo = g.get("_active_grants") if has_request_context() else None
    if (
        memo is not None
        and memo[0] is request._get_current_object()
        and memo[1] == user.id
        and not any(inspect(grant).expired for grant in memo[2])
    ):
        return list(memo[2])
    grants = list(db.session.scalars(_ACTIVE_GRANTS_WITH_SHOPS, {"user_id": user.id, "now": utcnow()}))
    if has_request_context():
        g._active_grants = (request._get_current_object(), user.id, grants)
    return list(grants)


class GrantShop(NamedTuple):
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ActiveGrant:
    """An active grant as the access policy, the page header, the queue and the scans read it: its switches, its
    company's id and its shop's name, as plain values: no object for the session to track, about half the cost of
    loading grants and shops as ORM objects (~150 µs of a courier's every request)."""

    id: int
    shop_id: int
    company_id: int | None
    view_recipient: bool
    export_addresses: bool
    print_labels: bool
    mark_shipped: bool
    shop: GrantShop

    allows = CourierGrant.allows
    permissions = CourierGrant.permissions


_grant, _shop = CourierGrant.__table__, Shop.__table__
_ACTIVE_GRANT_ROWS = (
    select(
        _grant.c.id,
        _grant.c.shop_id,
        _grant.c.company_id,
        _grant.c.view_recipient,
        _grant.c.export_addresses,
        _grant.c.print_labels,
        _grant.c.mark_shipped,
        _shop.c.name,
    )
    .join_from(_grant, _shop, _shop.c.id == _grant.c.shop_id)
    .where(
        _grant.c.user_id == bindparam("user_id"),
        _grant.c.revoked_at.is_(None),
        or_(_grant.c.expires_at.is_(None), _grant.c.expires_at > bindparam("now")),
    )
    .order_by(_shop.c.name, _shop.c.id)
)


def active_grant_rows(user: User) -> list[ActiveGrant]:
    """The user's active grants as plain values (ActiveGrant), by shop name: what most readers of grants need.
    active_grants() gives the grants themselves, with their shops and companies, to change or show in full.

    Read fresh once per request, like active_grants(): later calls in the same transaction reuse the answer; a
    commit or rollback since, or a grant changed here, reads it again.
    """
    session = db.session()
    memo = g.get("_active_grant_rows") if has_request_context() else None
    if memo is not None and memo[:3] == (request._get_current_object(), user.id, session.get_transaction()):
        return list(memo[3])
    if session.autoflush:  # as the ORM's own reads do: what this request changed counts
        session.flush()
    rows = session.connection().execute(_ACTIVE_GRANT_ROWS, {"user_id": user.id, "now": utcnow()})
    grants = [ActiveGrant(*values, GrantShop(values[1], name)) for *values, name in rows]
    if has_request_context():  # (the transaction the statement began or ran in: a commit or rollback ends it)
        g._active_grant_rows = (request._get_current_object(), user.id, session.get_transaction(), grants)
    return list(grants)


def _forget_active_grants() -> None:
    """A grant changed in this request: the next active_grants() and active_grant_rows() read the database again."""
    if has_request_context():
        g.pop("_active_grants", None)
        g.pop("_active_grant_rows", None)


def grants_of(shop: Shop) -> list[CourierGrant]:
    """Every grant of a shop, active first, then newest."""
    query = select(CourierGrant).where(CourierGrant.shop_id == shop.id).order_by(CourierGrant.id.desc())
    grants = list(db.session.scalars(query))
    return sorted(grants, key=lambda g: g.status != "active")


def _ensure_no_active_grant(shop: Shop, user: User) -> None:
    if user.id == shop.owner_id:
        raise ConflictError(_("You own this shop: you cannot be its courier."))
    if active_grant(user, shop.id) is not None:
        raise ConflictError(
            _("%(user)s already has an active sub-account in %(shop)s.", user=user.username, shop=shop.name)
        )


def create_courier_login(
    shop: Shop, *, actor: User, username: str, one_time_password: str, terms: GrantTerms, display_name: str = ""
) -> CourierGrant:
    """A new courier login with a one-time password, and its grant in this shop.

    :raise InvalidDataError: username taken or malformed, weak password, expiry in the past.
    """
    terms.check(utcnow())
    user = accounts.create_user(username, one_time_password, display_name=display_name, must_change_password=True)
    grant = CourierGrant(
        shop=shop,
        user=user,
        created_by_id=actor.id,
        expires_at=terms.expires_at,
        company=terms.company,
        **terms.permissions(),
    )
    db.session.add(grant)
    db.session.flush()
    _forget_active_grants()
    audit.record("grant_created", actor=actor, shop=shop, target=grant.handle, new_login=True, **terms.audited())
    return grant


def _check_staff_of(user: User, company_id: int) -> None:
    """A person the operator confirmed as staff of courier companies works for one of those on every grant.

    :raise InvalidDataError: (field ``company``) the grant names another company.
    """
    confirmed = memberships.confirmed_company_ids(user)
    if confirmed and company_id not in confirmed:
        codes = db.session.scalars(select(CourierCompany.code).where(CourierCompany.id.in_(confirmed)))
        message = _(
            "%(user)s is confirmed staff of another courier company: a sub-account for them names %(companies)s.",
            user=user.username,
            companies=", ".join(sorted(codes)),
        )
        raise InvalidDataError(message, {"company": message, "code": message})


def update_grant(grant: CourierGrant, *, actor: User, terms: GrantTerms) -> None:
    """:raise ConflictError: the grant was revoked. :raise InvalidDataError: expiry in the past."""
    if grant.revoked_at is not None:
        raise ConflictError(_("This sub-account has been revoked; invite the courier again."))
    terms.check(utcnow())
    if terms.company is not None:
        _check_staff_of(grant.user, terms.company.id)
    for key, value in terms.permissions().items():
        setattr(grant, key, value)
    grant.expires_at = terms.expires_at
    if terms.company is not None:
        grant.company = terms.company
    _forget_active_grants()
    audit.record(
        "grant_changed",
        actor=actor,
        shop=grant.shop,
        target=grant.handle,
        expires_at=terms.expires_at.isoformat() if terms.expires_at else None,
        **terms.audited(),
    )


def revoke_grant(grant: CourierGrant, *, actor: User) -> None:
    """Revoke at once; the courier's next request in this shop is refused.

    :raise ConflictError: already revoked.
    """
    if grant.revoked_at is not None:
        raise ConflictError(_("This sub-account is already revoked."))
    grant.revoked_at = utcnow()
    _forget_active_grants()
    audit.record("grant_revoked", actor=actor, shop=grant.shop, target=grant.handle)


def touch_grant(grant: CourierGrant, now: datetime, every: timedelta = timedelta(minutes=1)) -> bool:
    """Note that the grant was used; at most once a minute, so reads stay reads."""
    if grant.last_used_at is not None and now - grant.last_used_at < every:
        return False
    grant.last_used_at = now
    return True


# Invitations ----------------------------------------------------------------------------------


def _hash_code(code: str) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def create_invitation(
    shop: Shop, *, actor: User, terms: GrantTerms, hours: int = INVITATION_HOURS
) -> tuple[Invitation, str]:
    """A single-use code for an existing courier; returns the invitation and the code (shown once)."""
    now = utcnow()
    terms.check(now)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    invitation = Invitation(
        shop=shop,
        code_hash=_hash_code(code),
        created_by_id=actor.id,
        expires_at=now + timedelta(hours=hours),
        grant_expires_at=terms.expires_at,
        company=terms.company,
        **terms.permissions(),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation_created", actor=actor, shop=shop, target=f"#{invitation.id}", **terms.audited())
    return invitation, code


def open_invitations(shop: Shop) -> list[Invitation]:
    now = utcnow()
    query = select(Invitation).where(
        Invitation.shop_id == shop.id,
        Invitation.used_at.is_(None),
        Invitation.cancelled_at.is_(None),
        Invitation.expires_at > now,
    )
    return list(db.session.scalars(query.order_by(Invitation.id.desc())))


def cancel_invitation(invitation: Invitation, *, actor: User) -> None:
    """:raise ConflictError: already used, cancelled or expired."""
    if invitation.status_at(utcnow()) != "open":
        raise ConflictError(_("This invitation code can no longer be cancelled."))
    invitation.cancelled_at = utcnow()
    audit.record("invitation_cancelled", actor=actor, shop=invitation.shop, target=f"#{invitation.id}")


def redeem_invitation(user: User, code: str) -> CourierGrant:
    """Turn an invitation code into a grant for this user; each code works once.

    :raise InvalidDataError: unknown, expired, cancelled or used code.
    :raise ConflictError: the user owns the shop or already has an active grant there.
    """
    now = utcnow()
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _hash_code(code or "")))
    status = invitation.status_at(now) if invitation else "unknown"
    messages = {
        "unknown": _("This invitation code is not valid. Check it with the seller."),
        "used": _("This invitation code has already been used."),
        "cancelled": _("This invitation code was cancelled by the seller."),
        "expired": _("This invitation code has expired. Ask the seller for a new one."),
    }
    if status != "open":
        raise InvalidDataError(messages[status], {"code": messages[status]})
    _ensure_no_active_grant(invitation.shop, user)
    if invitation.company_id is not None:
        _check_staff_of(user, invitation.company_id)
    # Claim the code atomically: of two simultaneous redemptions only one updates the row.
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidDataError(messages["used"], {"code": messages["used"]})
    db.session.refresh(invitation)
    permissions = {p: getattr(invitation, p) for p in GRANT_PERMISSIONS}
    grant = CourierGrant(
        shop=invitation.shop,
        user=user,
        created_by_id=invitation.created_by_id,
        expires_at=invitation.grant_expires_at,
        company_id=invitation.company_id,
        **permissions,
    )
    db.session.add(grant)
    db.session.flush()
    _forget_active_grants()
    audit.record("invitation_redeemed", actor=user, shop=invitation.shop, target=grant.handle, invitation=invitation.id)
    return grant
