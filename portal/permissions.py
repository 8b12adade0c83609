"""Who may do what: the one place that decides access.

Every endpoint has an entry in ``POLICY``. ``enforce()`` runs before every request: it finds the
endpoint's rule, loads the objects named in the URL (shop, grant, invitation, staff, user), checks
that they belong together and that the signed-in user stands in the right relation to their shop,
and refuses otherwise. An endpoint with no rule is refused (and create_app refuses to start).
Another shop's object is a 404, as if it did not exist.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, exists, or_, select

from portal.extensions import db
from portal.models import (
    AnomalyRegion,
    ApiToken,
    CompanyMembership,
    CourierGrant,
    Evidence,
    ExemptionReport,
    ImportBatch,
    Invitation,
    Order,
    Pickup,
    PrintBatch,
    PrintJob,
    Shop,
    ShopStaff,
    User,
)
from portal.models.base import utcnow
from portal.services import shops as shop_service

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN_ANY = "signed_in_any"  # signed in, even with a one-time password still to change
SIGNED_IN = "signed_in"  # signed in with a password of their own
OPERATOR = "operator"  # the platform operator
SHOP_OWNER = "shop_owner"  # owns the shop in the URL
SHOP_MEMBER = "shop_member"  # owns the shop or is its seller staff
COURIER = "courier"  # holds at least one active grant
COURIER_IN_SHOP = "courier_in_shop"  # holds an active grant in the shop in the URL
JOB_ACTOR = "job_actor"  # printed this job, and may still print in every shop it covers
PICKUP_COURIER = "pickup_courier"  # the pickup's own courier, still allowed to mark shipped in its shop
SHOP_PRINTER = "shop_printer"  # owns the shop in the URL, or is its seller staff with the print switch on
SHOP_JOB = "shop_job"  # SHOP_PRINTER, and the job is of this shop only and theirs (the owner: any of the shop's)
TOKEN_OWNER = "token_owner"  # noqa: S105  (a level, not a secret) the personal access token in the URL is this user's own


@dataclass(frozen=True)
class Rule:
    level: str
    # For COURIER_IN_SHOP: the grant switch the route needs (None: any active grant).
    permission: str | None = None
    # For the API: the token scope the route needs (services/tokens.SCOPES). A browser session needs none.
    scope: str | None = None


POLICY: dict[str, Rule] = {
    "static": Rule(PUBLIC),
    "public.index": Rule(PUBLIC),
    "public.healthz": Rule(PUBLIC),
    "public.favicon": Rule(PUBLIC),
    "public.set_language": Rule(PUBLIC),
    "auth.login": Rule(PUBLIC),
    "auth.register": Rule(PUBLIC),
    "auth.logout": Rule(SIGNED_IN_ANY),
    "account.password": Rule(SIGNED_IN_ANY),
    "account.home": Rule(SIGNED_IN),
    "account.redeem": Rule(SIGNED_IN),
    "account.companies": Rule(SIGNED_IN),  # my courier company memberships; asking to join one
    # Any signed-in person may try; services/memberships.leave refuses (404) another person's membership.
    "account.membership_leave": Rule(SIGNED_IN),
    # A label's QR code: who may read it depends on the label (the shop's people, a courier with the view switch
    # in its shop, staff of the company whose number is on it), which only the code's row tells. The policy
    # signs the person in (and back to this URL); services/reveal.reveal decides, and answers every refusal,
    # like an unknown or dead code, with the same 404.
    "reveal.show": Rule(SIGNED_IN),
    "seller.shop_new": Rule(SIGNED_IN),
    "seller.shop_home": Rule(SHOP_OWNER),
    "seller.shop_settings": Rule(SHOP_OWNER),
    "seller.grants": Rule(SHOP_OWNER),
    "seller.grant_new_login": Rule(SHOP_OWNER),
    "seller.grant_edit": Rule(SHOP_OWNER),
    "seller.grant_revoke": Rule(SHOP_OWNER),
    "seller.invitation_new": Rule(SHOP_OWNER),
    "seller.invitation_cancel": Rule(SHOP_OWNER),
    "seller.staff": Rule(SHOP_OWNER),
    "seller.staff_remove": Rule(SHOP_OWNER),
    "seller.audit_log": Rule(SHOP_OWNER),
    "seller.orders_list": Rule(SHOP_PRINTER),  # staff with the print switch print from it; owner-only buttons hide
    "seller.orders_print": Rule(SHOP_PRINTER),
    "seller.orders_pack": Rule(SHOP_PRINTER),
    "seller.orders_export": Rule(SHOP_OWNER),
    "seller.orders_cancel": Rule(SHOP_OWNER),
    "seller.orders_exemption": Rule(SHOP_OWNER),
    "seller.batch_new": Rule(SHOP_PRINTER),
    "seller.batches_list": Rule(SHOP_MEMBER),  # packers work from the batch page: pick list, slips, progress
    "seller.batch": Rule(SHOP_MEMBER),
    "seller.batch_slips": Rule(SHOP_MEMBER),
    "seller.batch_print": Rule(SHOP_PRINTER),
    "seller.batch_close": Rule(SHOP_PRINTER),
    "seller.print_job": Rule(SHOP_JOB),
    "seller.print_job_pdf": Rule(SHOP_JOB),
    "seller.print_job_zpl": Rule(SHOP_JOB),
    "seller.print_job_tspl": Rule(SHOP_JOB),
    "seller.print_job_summary": Rule(SHOP_JOB),
    "seller.print_job_reprint": Rule(SHOP_JOB),
    "seller.order_label": Rule(SHOP_PRINTER),
    "seller.order_reprint": Rule(SHOP_PRINTER),
    "seller.order_void": Rule(SHOP_PRINTER),
    "seller.staff_print": Rule(SHOP_OWNER),
    "seller.order_new": Rule(SHOP_OWNER),
    "seller.order_detail": Rule(SHOP_OWNER),
    "seller.order_cancel": Rule(SHOP_OWNER),
    "seller.import_upload": Rule(SHOP_OWNER),
    "seller.import_preview": Rule(SHOP_OWNER),
    "seller.import_progress": Rule(SHOP_OWNER),  # the progress fragment of either kind of import
    "seller.import_confirm": Rule(SHOP_OWNER),
    "seller.import_discard": Rule(SHOP_OWNER),
    "seller.tracking_upload": Rule(SHOP_OWNER),
    "seller.tracking_preview": Rule(SHOP_OWNER),
    "seller.tracking_confirm": Rule(SHOP_OWNER),
    "staff.shop_home": Rule(SHOP_MEMBER),
    "staff.packing": Rule(SHOP_MEMBER),
    "staff.packing_scan": Rule(SHOP_MEMBER),
    "staff.packing_confirm": Rule(SHOP_MEMBER),
    "staff.packing_item": Rule(SHOP_MEMBER),
    "staff.pick_list": Rule(SHOP_MEMBER),
    "staff.packing_slip": Rule(SHOP_MEMBER),
    "courier.pickup_start": Rule(COURIER),
    "courier.pickup": Rule(PICKUP_COURIER),
    "courier.pickup_scan": Rule(PICKUP_COURIER),
    "courier.pickup_scans": Rule(PICKUP_COURIER),
    "courier.pickup_end": Rule(PICKUP_COURIER),
    "courier.handover": Rule(PICKUP_COURIER),
    "courier.ship_selected": Rule(COURIER),
    "courier.export_addresses": Rule(COURIER),
    "seller.pickups": Rule(SHOP_OWNER),
    "seller.handover": Rule(SHOP_OWNER),
    "api.orders_upsert": Rule(SHOP_OWNER, scope="orders:write"),
    "api.orders_list": Rule(SHOP_OWNER, scope="orders:read"),
    "api.tracking_register": Rule(SHOP_OWNER, scope="orders:write"),
    "api.openapi": Rule(PUBLIC),
    "api.docs": Rule(PUBLIC),
    "api.shops_list": Rule(SIGNED_IN, scope="shops:read"),
    "api.queue_list": Rule(COURIER, scope="queue:read"),
    "api.print_job_create": Rule(COURIER, scope="labels:print"),
    "api.print_job_get": Rule(JOB_ACTOR, scope="labels:print"),
    "api.print_job_html": Rule(JOB_ACTOR, scope="labels:print"),
    "api.print_job_pdf": Rule(JOB_ACTOR, scope="labels:print"),
    "api.print_job_zpl": Rule(JOB_ACTOR, scope="labels:print"),
    "api.orders_ship": Rule(COURIER, scope="orders:ship"),
    "api.outlet_declarations_list": Rule(COURIER, scope="outlets:write"),
    "api.outlet_declarations_create": Rule(COURIER, scope="outlets:write"),
    "api.outlet_declaration_end": Rule(COURIER, scope="outlets:write"),  # services/anomalies: own ones only (404)
    "account.token_list": Rule(SIGNED_IN),
    "account.token_revoke": Rule(TOKEN_OWNER),
    "courier.home": Rule(SIGNED_IN),  # with no grant yet: how to redeem an invitation code
    "courier.shop_home": Rule(COURIER_IN_SHOP),
    "courier.queue": Rule(COURIER),
    "courier.print_job_new": Rule(COURIER),
    "courier.print_job": Rule(JOB_ACTOR),
    "courier.print_job_pdf": Rule(JOB_ACTOR),
    "courier.print_job_zpl": Rule(JOB_ACTOR),
    "courier.print_job_tspl": Rule(JOB_ACTOR),
    "courier.print_job_summary": Rule(JOB_ACTOR),
    "courier.print_job_reprint": Rule(JOB_ACTOR),
    "courier.order_detail": Rule(COURIER_IN_SHOP),
    "courier.order_reprint": Rule(COURIER_IN_SHOP, "print_labels"),
    "courier.order_void": Rule(COURIER_IN_SHOP, "print_labels"),
    "seller.ranges": Rule(SHOP_OWNER),
    "operator.companies": Rule(OPERATOR),
    "operator.home": Rule(OPERATOR),
    "operator.shop_figures": Rule(OPERATOR),
    "operator.shop_figures_csv": Rule(OPERATOR),
    "operator.users": Rule(OPERATOR),
    "operator.user_toggle": Rule(OPERATOR),
    "operator.shops": Rule(OPERATOR),
    "operator.audit_log": Rule(OPERATOR),
    "operator.regions": Rule(OPERATOR),
    "operator.region_end": Rule(OPERATOR),
    "operator.regions_import": Rule(OPERATOR),
    "operator.regions_import_confirm": Rule(OPERATOR),
    "operator.reports": Rule(OPERATOR),
    "operator.report": Rule(OPERATOR),
    "operator.report_evidence": Rule(OPERATOR),
    "seller.exemptions": Rule(SHOP_OWNER),
    "seller.exemption_one_click": Rule(SHOP_OWNER),
    "seller.exemption_new": Rule(SHOP_OWNER),
    "seller.exemption_report": Rule(SHOP_OWNER),
    "seller.exemption_evidence": Rule(SHOP_OWNER),
    "operator.region_children": Rule(OPERATOR),
    "operator.memberships": Rule(OPERATOR),
    "operator.membership_confirm": Rule(OPERATOR),
    "operator.membership_revoke": Rule(OPERATOR),
    # Outlet declarations (views/courier/outlets.py): any active grant; services/anomalies keeps each courier to
    # their own declarations (another's is a 404) and to the ship-from districts of their shops.
    "courier.outlet": Rule(COURIER),
    "courier.outlet_end": Rule(COURIER),
    "operator.proposals": Rule(OPERATOR),
    "operator.proposals_detect": Rule(OPERATOR),
    "operator.proposal": Rule(OPERATOR),
    "operator.proposal_publish": Rule(OPERATOR),
    "operator.proposal_dismiss": Rule(OPERATOR),
}

# URL arguments that name an object, and how to find the shop it belongs to.
OBJECT_ARGS: dict[str, tuple[str, type]] = {
    "shop_id": ("shop", Shop),
    "grant_id": ("grant", CourierGrant),
    "invitation_id": ("invitation", Invitation),
    "staff_id": ("staff", ShopStaff),
    "user_id": ("user", User),
    "order_id": ("order", Order),
    "batch_id": ("batch", ImportBatch),
    "tracking_id": ("batch", ImportBatch),
    "job_id": ("job", PrintJob),
    "print_batch_id": ("print_batch", PrintBatch),
    "pickup_id": ("pickup", Pickup),
    "token_id": ("token", ApiToken),
    "region_id": ("region", AnomalyRegion),
    "report_id": ("report", ExemptionReport),
    "evidence_id": ("evidence", Evidence),
    "membership_id": ("membership", CompanyMembership),
}


def check_policy_covers(app) -> None:
    """Refuse to start when an endpoint has no rule: a forgotten route must not be open."""
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - POLICY.keys())
    if missing:
        raise RuntimeError(f"endpoints without an access rule in portal/permissions.py: {', '.join(missing)}")


def _load_objects(view_args: dict) -> dict:
    """Load every object named in the URL; 404 if one is missing or they belong to different shops."""
    loaded: dict = {}
    shop_ids = set()
    for arg, value in view_args.items():
        if arg not in OBJECT_ARGS:
            continue
        name, model = OBJECT_ARGS[arg]
        if not 0 < value < 2**31:  # beyond any id (32-bit on PostgreSQL): the database would fail, not say "none"
            abort(404)
        obj = db.session.get(model, value)
        if obj is None:
            abort(404)
        loaded[name] = obj
        if model is Shop:
            shop_ids.add(obj.id)
        elif hasattr(obj, "shop_id"):
            shop_ids.add(obj.shop_id)
    if len(shop_ids) > 1:
        abort(404)
    if shop_ids and "shop" not in loaded:
        loaded["shop"] = db.session.get(Shop, shop_ids.pop())
    return loaded


class _Deferred(Mapping):
    """The URL's objects, checked with one plain row; each ORM object is loaded when first used (a scan uses none)."""

    def __init__(self, refs: dict[str, tuple[type, int]]):
        self._refs = refs
        self._loaded: dict = {}

    def __getitem__(self, name: str):
        if name not in self._loaded:
            model, ident = self._refs[name]
            self._loaded[name] = db.session.get(model, ident)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)


_pickup, _grant = Pickup.__table__, CourierGrant.__table__
# PICKUP_COURIER in one statement: the pickup's shop and courier, and the ship switch of the user's active grant
# in that shop (the newest, as shop_service.active_grant; NULL without one), read fresh on every request.
_PICKUP_ACCESS = select(
    _pickup.c.shop_id,
    _pickup.c.courier_id,
    select(_grant.c.mark_shipped)
    .where(
        _grant.c.user_id == bindparam("user_id"),
        _grant.c.shop_id == _pickup.c.shop_id,
        _grant.c.revoked_at.is_(None),
        or_(_grant.c.expires_at.is_(None), _grant.c.expires_at > bindparam("now")),
    )
    .order_by(_grant.c.id.desc())
    .limit(1)
    .scalar_subquery()
    .label("mark_shipped"),
).where(_pickup.c.id == bindparam("pickup_id"))


def _pickup_courier(view_args: dict, user: User, now: datetime) -> Mapping | None:
    """PICKUP_COURIER for a URL naming only a pickup: its objects (deferred), or None when refused."""
    pickup_id = view_args["pickup_id"]
    if not 0 < pickup_id < 2**31:
        abort(404)
    row = (
        db.session.connection()
        .execute(_PICKUP_ACCESS, {"pickup_id": pickup_id, "user_id": user.id, "now": now})
        .first()
    )
    if row is None:
        abort(404)
    objects = _Deferred({"pickup": (Pickup, pickup_id), "shop": (Shop, row.shop_id)})
    return objects if row.courier_id == user.id and row.mark_shipped else None


def owns(user: User, shop: Shop) -> bool:
    return shop.owner_id == user.id


def is_staff(user: User, shop: Shop) -> bool:
    query = select(exists().where(ShopStaff.shop_id == shop.id, ShopStaff.user_id == user.id))
    return bool(db.session.scalar(query))


def prints_in(user: User, shop: Shop) -> bool:
    """The shop's own people who print with its ranges: the owner, and staff whose print switch is on (read fresh)."""
    if owns(user, shop):
        return True
    query = select(
        exists().where(ShopStaff.shop_id == shop.id, ShopStaff.user_id == user.id, ShopStaff.print_labels.is_(True))
    )
    return bool(db.session.scalar(query))


def _allowed(rule: Rule, user: User, objects: dict, now: datetime) -> bool:
    shop = objects.get("shop")
    if rule.level == SIGNED_IN:
        return True
    if rule.level == OPERATOR:
        return user.is_operator
    if rule.level == SHOP_OWNER:
        return shop is not None and owns(user, shop)
    if rule.level == SHOP_MEMBER:
        return shop is not None and (owns(user, shop) or is_staff(user, shop))
    if rule.level == SHOP_PRINTER:
        return shop is not None and prints_in(user, shop)
    if rule.level == SHOP_JOB:
        from portal.services import printing

        job = objects["job"]
        return (
            shop is not None
            and prints_in(user, shop)
            and (job.actor_id == user.id or owns(user, shop))
            and printing.job_shop_ids(job) == {shop.id}
        )
    if rule.level == COURIER:
        return bool(shop_service.active_grant_rows(user))
    if rule.level == COURIER_IN_SHOP:
        grant = shop_service.active_grant(user, shop.id) if shop is not None else None
        if grant is None or (rule.permission and not grant.allows(rule.permission)):
            return False
        g.grant = grant
        if shop_service.touch_grant(grant, now):
            db.session.commit()
        return True
    if rule.level == PICKUP_COURIER:
        grant = shop_service.active_grant(user, shop.id) if shop is not None else None
        return objects["pickup"].courier_id == user.id and grant is not None and grant.allows("mark_shipped")
    if rule.level == TOKEN_OWNER:
        return objects["token"].user_id == user.id
    if rule.level == JOB_ACTOR:
        from portal.services import printing

        job = objects["job"]
        return job.actor_id == user.id and printing.job_shop_ids(job) <= shops_where(user, "print_labels")
    raise RuntimeError(f"unknown access level {rule.level!r}")


def shops_where(user: User, permission: str) -> set[int]:
    """Ids of the shops where this user holds an active grant with this switch on, read fresh."""
    return {grant.shop_id for grant in shop_service.active_grant_rows(user) if grant.allows(permission)}


def enforce():
    """before_request: apply the endpoint's rule. Returns a redirect or aborts when refused."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: Flask answers 404/405 itself
    rule = POLICY.get(endpoint)
    if rule is None:
        abort(403)
    if rule.level == PUBLIC:
        return None
    if request.blueprint == "api":
        _authenticate_api(rule)
    if not current_user.is_authenticated:
        if request.blueprint == "api":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if rule.level != SIGNED_IN_ANY and current_user.must_change_password:
        if request.blueprint == "api":
            abort(403)
        return redirect(url_for("account.password"))
    if rule.level == SIGNED_IN_ANY:
        return None
    view_args = request.view_args or {}
    if rule.level == PICKUP_COURIER and view_args.keys() == {"pickup_id"}:  # each scan: keep it to one statement
        objects = _pickup_courier(view_args, current_user, utcnow())
        if objects is None:
            abort(404)
    else:
        objects = _load_objects(view_args)
        if not _allowed(rule, current_user, objects, utcnow()):
            # Another shop's object does not exist for this user; an area they lack is forbidden (so is printing
            # for the shop's own staff without the print switch: the shop is theirs to see, the action is not).
            shop = objects.get("shop")
            staff_unswitched = rule.level == SHOP_PRINTER and shop is not None and is_staff(current_user, shop)
            abort(404 if objects and not staff_unswitched else 403)
    g.objects = objects
    return None


def _authenticate_api(rule: Rule) -> None:
    """API requests: a Bearer token stands for its owner, limited to its scopes; CSRF-exempt because
    a browser never sends the header by itself. Without one, the session cookie counts as in the
    pages, and so does CSRF (page scripts send X-CSRFToken).

    :raise InvalidTokenError: (401) a malformed, unknown, expired or revoked token, or its owner disabled.
    :raise InsufficientScopeError: (403) the token lacks the route's scope.
    """
    from flask import current_app

    from portal.extensions import csrf
    from portal.services import tokens

    g.api_token = None
    header = request.headers.get("Authorization")
    if header is None:
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and current_user.is_authenticated and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        return
    scheme, _space, secret = header.strip().partition(" ")
    token = tokens.token_for(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise tokens.InvalidTokenError()
    g._login_user = token.user  # Flask-Login's current_user for this request only: no session is written
    g.api_token = token
    if rule.scope is None or rule.scope not in token.scopes:
        raise tokens.InsufficientScopeError(rule.scope or "")
    if tokens.touch(token, utcnow()):
        db.session.commit()


def token_allows(scope: str) -> bool:
    """Whether this request may use ``scope``: always in a browser session, else if its token holds it."""
    token = g.get("api_token")
    return token is None or scope in token.scopes


def resolved(name: str):
    """An object enforce() loaded and checked for this request (``shop``, ``grant``, ...)."""
    return g.objects[name]
