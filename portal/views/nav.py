"""What the page header shows: the user's roles, shops and the courier's shop switcher."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.models import Shop
from portal.services import shops

T = TypeVar("T")
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
    grants: list[shops.ActiveGrant] = field(default_factory=list)
    current_shop: Shop | None = None
    # The shop switcher's links: url_for("courier.queue", shop=id).
    queue_url: Callable[[int], str] | None = None


# The layout's fixed links (base.html): name -> (endpoint, values).
_LAYOUT_LINKS = {
    "bootstrap_css": ("static", {"filename": "vendor/bootstrap-5.3.8/css/bootstrap.min.css"}),
    "icons_css": ("static", {"filename": "vendor/bootstrap-icons-1.13.1/bootstrap-icons.min.css"}),
    "portal_css": ("static", {"filename": "css/portal.css"}),
    "manifest": ("static", {"filename": "manifest.webmanifest"}),
    "favicon": ("public.favicon", {}),
    "icon_192": ("static", {"filename": "img/icons/icon-192.png"}),
    "touch_icon": ("static", {"filename": "img/icons/apple-touch-icon.png"}),
    "index": ("public.index", {}),
    "set_language": ("public.set_language", {"code": "en"}),
    "queue": ("courier.queue", {}),
    "account": ("account.home", {}),
    "password": ("account.password", {}),
    "logout": ("auth.logout", {}),
    "bootstrap_js": ("static", {"filename": "vendor/bootstrap-5.3.8/js/bootstrap.bundle.min.js"}),
}
_LAYOUT_URLS: dict[tuple[int, str], dict[str, str]] = {}


def layout_urls() -> dict[str, str]:
    """The layout's fixed links (_LAYOUT_LINKS), url_for's answers kept by app and script root: they depend on
    nothing else, and every page writes fifteen of them (~10 µs each)."""
    key = (id(current_app._get_current_object()), request.script_root)
    urls = _LAYOUT_URLS.get(key)
    if urls is None:
        urls = _LAYOUT_URLS[key] = {
            name: url_for(endpoint, **values) for name, (endpoint, values) in _LAYOUT_LINKS.items()
        }
    return urls


def per_language(build: Callable[[], T]) -> Callable[[], T]:
    """``build()``'s answer kept by the request's language (one of the few the portal speaks), for what depends on
    nothing else: a page's fixed texts and labels, translated once per language instead of on every view."""
    answers: dict[str, T] = {}

    @functools.wraps(build)
    def in_this_language() -> T:
        locale = str(get_locale())
        answer = answers.get(locale)
        if answer is None:
            answer = answers[locale] = build()
        return answer

    return in_this_language


def as_written(texts: dict[str, str]) -> dict[str, Markup]:
    """Translated texts as a template's ``_()`` writes them: Markup, so a translation is not escaped again."""
    return {key: Markup(text) for key, text in texts.items()}  # noqa: S704  (our catalog's text, as _() marks it)


@per_language
def layout_texts() -> dict[str, Markup]:
    """The layout's fixed texts in this request's language, as base.html's ``_()`` would write them."""
    return as_written(
        {
            "portal": _("Courier Partner Portal"),
            "menu": _("Menu"),
            "all_shops": _("All my shops"),
            "operator": _("Operator"),
            "my_work": _("My work"),
            "password": _("Change password"),
            "sign_out": _("Sign out"),
        }
    )


@per_language
def pagination_texts() -> dict[str, Markup]:
    """The pagination's texts (macros/tables.html) in this request's language; ``page_of`` is written with
    ``% {"n": page, "total": pages}``."""
    return as_written(
        {"pages": _("Pages"), "previous": _("Previous"), "next": _("Next"), "page_of": _("Page %(n)d of %(total)d")}
    )


_URLS: dict[tuple, str] = {}
_URLS_LIMIT = 4096


def cached_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` (a path, never _external), kept by app, script root, endpoint and values:
    the answer depends on nothing else, and a page such as the queue writes the same dozen links on every view
    (~10 µs each). Bounded: cleared when full."""
    key = (id(current_app._get_current_object()), request.script_root, endpoint, *sorted(values.items()))
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= _URLS_LIMIT:
            _URLS.clear()
        url = _URLS[key] = url_for(endpoint, **values)
    return url


def context() -> dict:
    """Context processor: the header's data, computed once per rendered page."""
    fixed = {"links": layout_urls(), "layout": layout_texts()}
    if request.headers.get("HX-Request"):  # a fragment swapped into a page: no header to fill
        return {"nav": Nav(), **fixed}
    nav = Nav(current_shop=(getattr(g, "objects", None) or {}).get("shop"))
    if current_user and current_user.is_authenticated and not current_user.must_change_password:
        nav.owned, nav.staff_of = shops.header_shops_of(current_user)
        nav.grants = shops.active_grant_rows(current_user)
        if nav.grants:
            nav.queue_url = url_for_ids("courier.queue", "shop")
    return {"nav": nav, **fixed}
