"""What the page header shows: the user's roles, shops and the courier's shop switcher."""

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import g, request, url_for
from flask_login import current_user

from portal.models import CourierGrant, Shop
from portal.services import shops

_SENTINEL = 918273645546372819  # an id no URL holds otherwise


def url_for_ids(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """``url_for(endpoint, **{key: id}, **values)`` for many ids at the cost of one url_for (~10 µs each: a page
    links every shop or order through one rule). The URL of a sentinel id, split around it; the id is an int
    (an ``<int:>`` part or a query argument, both written as ``str(id)``)."""
    parts = url_for(endpoint, **{key: _SENTINEL}, **values).split(str(_SENTINEL))
    if len(parts) != 2:  # the sentinel twice (in another value): url_for each time after all
        return lambda id_: url_for(endpoint, **{key: id_}, **values)
    prefix, suffix = parts
    return lambda id_: f"{prefix}{id_}{suffix}"


@dataclass
class Nav:
    owned: list[Shop] = field(default_factory=list)
    staff_of: list[Shop] = field(default_factory=list)
    grants: list[CourierGrant] = field(default_factory=list)
    current_shop: Shop | None = None
    # The shop switcher's links: url_for("courier.queue", shop=id).
    queue_url: Callable[[int], str] | None = None


def context() -> dict:
    """Context processor: the header's data, computed once per rendered page."""
    if request.headers.get("HX-Request"):  # a fragment swapped into a page: no header to fill
        return {"nav": Nav()}
    nav = Nav(current_shop=(getattr(g, "objects", None) or {}).get("shop"))
    if current_user and current_user.is_authenticated and not current_user.must_change_password:
        nav.owned, nav.staff_of = shops.header_shops_of(current_user)
        nav.grants = shops.active_grants(current_user)
        if nav.grants:
            nav.queue_url = url_for_ids("courier.queue", "shop")
    return {"nav": nav}
