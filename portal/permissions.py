"""Who may do what: the one place that decides access.

Every endpoint has an entry in ``POLICY``. ``enforce()`` runs before every request: it finds the
endpoint's rule, loads the objects named in the URL (shop, grant, invitation, staff, user), checks
that they belong together and that the signed-in user stands in the right relation to their shop,
and refuses otherwise. An endpoint with no rule is refused (and create_app refuses to start).
Another shop's object is a 404, as if it did not exist.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import exists, select

from portal.extensions import db
from portal.models import (
    CourierGrant,
    ImportBatch,
    Invitation,
    Order,
    Pickup,
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


@dataclass(frozen=True)
class Rule:
    level: str
    # For COURIER_IN_SHOP: the grant switch the route needs (None: any active grant).
    permission: str | None = None


POLICY: dict[str, Rule] = {
    "static": Rule(PUBLIC),
    "public.index": Rule(PUBLIC),
    "public.healthz": Rule(PUBLIC),
    "public.set_language": Rule(PUBLIC),
    "auth.login": Rule(PUBLIC),
    "auth.register": Rule(PUBLIC),
    "auth.logout": Rule(SIGNED_IN_ANY),
    "account.password": Rule(SIGNED_IN_ANY),
    "account.home": Rule(SIGNED_IN),
    "account.redeem": Rule(SIGNED_IN),
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
    "seller.orders_list": Rule(SHOP_OWNER),
    "seller.order_new": Rule(SHOP_OWNER),
    "seller.order_detail": Rule(SHOP_OWNER),
    "seller.order_cancel": Rule(SHOP_OWNER),
    "seller.import_upload": Rule(SHOP_OWNER),
    "seller.import_preview": Rule(SHOP_OWNER),
    "seller.import_confirm": Rule(SHOP_OWNER),
    "seller.import_discard": Rule(SHOP_OWNER),
    "seller.tracking_upload": Rule(SHOP_OWNER),
    "seller.tracking_preview": Rule(SHOP_OWNER),
    "seller.tracking_confirm": Rule(SHOP_OWNER),
    "staff.shop_home": Rule(SHOP_MEMBER),
    "staff.packing": Rule(SHOP_MEMBER),
    "staff.packing_scan": Rule(SHOP_MEMBER),
    "staff.packing_confirm": Rule(SHOP_MEMBER),
    "staff.pick_list": Rule(SHOP_MEMBER),
    "staff.packing_slip": Rule(SHOP_MEMBER),
    "courier.pickup_start": Rule(COURIER),
    "courier.pickup": Rule(PICKUP_COURIER),
    "courier.pickup_scan": Rule(PICKUP_COURIER),
    "courier.pickup_end": Rule(PICKUP_COURIER),
    "courier.handover": Rule(PICKUP_COURIER),
    "courier.ship_selected": Rule(COURIER),
    "courier.export_addresses": Rule(COURIER),
    "seller.pickups": Rule(SHOP_OWNER),
    "seller.handover": Rule(SHOP_OWNER),
    "api.orders_upsert": Rule(SHOP_OWNER),
    "courier.home": Rule(COURIER),
    "courier.shop_home": Rule(COURIER_IN_SHOP),
    "courier.queue": Rule(COURIER),
    "courier.print_job_new": Rule(COURIER),
    "courier.print_job": Rule(JOB_ACTOR),
    "courier.print_job_pdf": Rule(JOB_ACTOR),
    "courier.print_job_zpl": Rule(JOB_ACTOR),
    "courier.order_detail": Rule(COURIER_IN_SHOP),
    "courier.order_reprint": Rule(COURIER_IN_SHOP, "print_labels"),
    "courier.order_void": Rule(COURIER_IN_SHOP, "print_labels"),
    "seller.ranges": Rule(SHOP_OWNER),
    "operator.companies": Rule(OPERATOR),
    "operator.home": Rule(OPERATOR),
    "operator.users": Rule(OPERATOR),
    "operator.user_toggle": Rule(OPERATOR),
    "operator.shops": Rule(OPERATOR),
    "operator.audit_log": Rule(OPERATOR),
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
    "pickup_id": ("pickup", Pickup),
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


def owns(user: User, shop: Shop) -> bool:
    return shop.owner_id == user.id


def is_staff(user: User, shop: Shop) -> bool:
    query = select(exists().where(ShopStaff.shop_id == shop.id, ShopStaff.user_id == user.id))
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
    if rule.level == COURIER:
        return bool(shop_service.active_grants(user))
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
    if rule.level == JOB_ACTOR:
        from portal.services import printing

        job = objects["job"]
        return job.actor_id == user.id and printing.job_shop_ids(job) <= shops_where(user, "print_labels")
    raise RuntimeError(f"unknown access level {rule.level!r}")


def shops_where(user: User, permission: str) -> set[int]:
    """Ids of the shops where this user holds an active grant with this switch on, read fresh."""
    return {grant.shop_id for grant in shop_service.active_grants(user) if grant.allows(permission)}


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
    if not current_user.is_authenticated:
        if request.blueprint == "api":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if rule.level != SIGNED_IN_ANY and current_user.must_change_password:
        return redirect(url_for("account.password"))
    if rule.level == SIGNED_IN_ANY:
        return None
    objects = _load_objects(request.view_args or {})
    if not _allowed(rule, current_user, objects, utcnow()):
        # Another shop's object does not exist for this user; an area they lack is forbidden.
        abort(404 if objects else 403)
    g.objects = objects
    return None


def resolved(name: str):
    """An object enforce() loaded and checked for this request (``shop``, ``grant``, ...)."""
    return g.objects[name]
