"""Password hashing with argon2id and the rules a new password must meet."""

import argon2
from flask import current_app
from flask_babel import gettext as _

from portal.services.errors import InvalidDataError

MIN_LENGTH = 10
# The most common passwords that pass the length rule (from public breach lists).
COMMON = {
    "1234567890",
    "12345678910",
    "1qaz2wsx3edc",
    "password123",
    "password1234",
    "qwertyuiop",
    "a123456789",
    "1q2w3e4r5t",
    "abc1234567",
    "woaini1314",
    "aaaaaaaaaa",
    "iloveyou123",
    "0123456789",
    "qwerty12345",
}


def _hasher() -> argon2.PasswordHasher:
    cfg = current_app.config
    return argon2.PasswordHasher(time_cost=cfg["PORTAL_ARGON2_TIME_COST"], memory_cost=cfg["PORTAL_ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def check_strength(password: str, username: str, field: str = "password") -> None:
    """Raise InvalidDataError naming the rule a new password breaks.

    :raise InvalidDataError: too short, too common, one repeated character, or contains the username.
    """
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        message = _("The password must be at least %(n)d characters long.", n=MIN_LENGTH)
    elif lowered in COMMON or len(set(password)) < 4:
        message = _("This password is too easy to guess. Choose another.")
    elif username and username.lower() in lowered:
        message = _("The password must not contain the username.")
    else:
        return
    raise InvalidDataError(message, {field: message})
