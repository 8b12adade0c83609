"""Users: sign-in, registration, one-time passwords, password changes."""

import re

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select

from portal.extensions import db
from portal.models import Shop, ShopStaff, User
from portal.models.base import utcnow
from portal.services import audit, passwords
from portal.services.errors import AuthenticationError, InvalidDataError

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,39}$")


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalize_username(username)))


def authenticate(username: str, password: str) -> User:
    """Return the user for these credentials and record the sign-in.

    :raise AuthenticationError: unknown user, wrong password or disabled account (one message for all,
        so the form does not reveal which usernames exist); the failure is audited.
    """
    user = find_user(username)
    if user is None or not passwords.verify_password(user.password_hash, password) or user.is_disabled:
        audit.record("login_failed", actor=user, actor_name=normalize_username(username)[:80])
        raise AuthenticationError(_("Wrong username or password."))
    user.last_login_at = utcnow()
    audit.record("login", actor=user)
    return user


def create_user(
    username: str,
    password: str,
    *,
    display_name: str = "",
    must_change_password: bool = False,
    is_operator: bool = False,
    field: str = "username",
) -> User:
    """Create a login after checking the username and the password rules.

    :raise InvalidDataError: malformed or taken username, weak password.
    """
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        message = _("A username is 3 to 40 lower-case letters, digits, dots, dashes or underscores.")
        raise InvalidDataError(message, {field: message})
    if db.session.scalar(select(func.count()).where(User.username == username)):
        message = _("The username %(name)s is already taken.", name=username)
        raise InvalidDataError(message, {field: message})
    password_field = "one_time_password" if must_change_password else "password"
    passwords.check_strength(password, username, field=password_field)
    user = User(
        username=username,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
        is_operator=is_operator,
    )
    db.session.add(user)
    db.session.flush()
    return user


def register_seller(username: str, password: str, shop_name: str, display_name: str = "") -> tuple[User, Shop]:
    """A new seller signs up with their first shop."""
    from portal.services import shops  # shops imports accounts

    user = create_user(username, password, display_name=display_name)
    shop = shops.create_shop(user, shop_name)
    audit.record("register", actor=user, shop=shop)
    return user, shop


def change_password(user: User, current: str, new: str) -> None:
    """Change a password; other sessions of this user end.

    :raise InvalidDataError: wrong current password, new one weak or unchanged.
    """
    if not passwords.verify_password(user.password_hash, current):
        message = _("The current password is wrong.")
        raise InvalidDataError(message, {"current_password": message})
    if current == new:
        message = _("The new password must differ from the current one.")
        raise InvalidDataError(message, {"new_password": message})
    passwords.check_strength(new, user.username, field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.session_version += 1
    audit.record("password_changed", actor=user)


def set_password(user: User, password: str, *, actor: User | None) -> None:
    """Set a password without the current one (demo seeding, operator reset)."""
    user.password_hash = passwords.hash_password(password)
    user.session_version += 1
    audit.record("password_set", actor=actor, target=user.username)


# Built once: session.get() builds and annotates a new statement on each request; this costs half as much.
# Unlike get(), it reads the row even when the user is already in the session: the session is new per request.
# The person, and whether they own or staff any shop: every page's header lists those shops, and most people who
# sign in (couriers) have none, so the header's own statement is skipped for them (shops.header_shops_of).
_USER_BY_ID = select(
    User,
    or_(
        exists().where(Shop.owner_id == User.id),
        exists().where(ShopStaff.user_id == User.id),
    ),
).where(User.id == bindparam("id"))


def user_for_session(user_id: str) -> User | None:
    """Flask-Login loader: the id carries the session version, so a password change ends old sessions."""
    try:
        raw_id, version = user_id.split(":", 1)
        row = db.session.execute(_USER_BY_ID, {"id": int(raw_id)}).one_or_none()
    except (ValueError, TypeError):
        return None
    if row is None or row[0].is_disabled or str(row[0].session_version) != version:
        return None
    user, user.in_shops = row  # read with the person, fresh on every request
    return user


def set_disabled(user: User, disabled: bool, *, actor: User) -> None:
    """Disable or enable a login (the operator's own cannot be disabled by themself).

    :raise ConflictError: an operator disabling their own login.
    """
    from portal.services.errors import ConflictError

    if user.id == actor.id and disabled:
        raise ConflictError(_("You cannot disable your own login."))
    user.is_disabled = disabled
    audit.record("user_disabled" if disabled else "user_enabled", actor=actor, target=user.username)
