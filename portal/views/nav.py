"""What the page header shows: the user's roles, shops and the courier's shop switcher."""

from dataclasses import dataclass, field

from flask import g, request
from flask_login import current_user

from portal.models import CourierGrant, Shop
from portal.services import shops


@dataclass
class Nav:
    owned: list[Shop] = field(default_factory=list)
    staff_of: list[Shop] = field(default_factory=list)
    grants: list[CourierGrant] = field(default_factory=list)
    current_shop: Shop | None = None


def context() -> dict:
    """Context processor: the header's data, computed once per rendered page."""
    if request.headers.get("HX-Request"):  # a fragment swapped into a page: no header to fill
        return {"nav": Nav()}
    nav = Nav(current_shop=(getattr(g, "objects", None) or {}).get("shop"))
    if current_user and current_user.is_authenticated and not current_user.must_change_password:
        nav.owned, nav.staff_of = shops.header_shops_of(current_user)
        nav.grants = shops.active_grants(current_user)
    return {"nav": nav}
