"""Seller API routes: bulk order upsert, the shop's orders, tracking numbers from the spreadsheet flow."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from spectree import Response

from portal.extensions import db
from portal.models import OrderSource
from portal.permissions import resolved
from portal.services import api_orders, audit, orders, waybills
from portal.services.errors import InvalidDataError
from portal.views.api import bp, spec
from portal.views.api.errors import require_json
from portal.views.api.schemas import (
    OrderPage,
    OrdersQuery,
    Problem,
    TrackingIn,
    TrackingOut,
    UpsertIn,
    UpsertOut,
)
from portal.views.api.serialize import order_out

MAX_ORDERS_PER_CALL = 1000
MAX_INT = 2**31 - 1  # the order columns (amount, price, item count) are 32-bit on PostgreSQL
ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 429)}
BODY_ERRORS = {**ERRORS, "HTTP_415": Problem}


@bp.post("/shops/<int:shop_id>/orders")
@spec.validate(
    json=UpsertIn, resp=Response(HTTP_200=UpsertOut, **BODY_ERRORS), tags=["seller"], operation_id="upsertOrders"
)
def orders_upsert(shop_id: int):
    """Create or update up to 1,000 orders; all valid or nothing. Idempotent on the platform order number.

    The same checks as the order import; problems come back per item index. Orders already in work
    (labelled and beyond) are skipped, never overwritten.
    """
    shop = resolved("shop")
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        payload = payload.get("orders")
    if not isinstance(payload, list) or not payload:
        raise InvalidDataError(_('Send a JSON list of orders (or {"orders": [...]}).'))
    if len(payload) > MAX_ORDERS_PER_CALL:
        raise InvalidDataError(_("At most %(n)d orders per call.", n=MAX_ORDERS_PER_CALL))
    inputs, problems, seen = [], {}, {}
    for index, raw in enumerate(payload):
        if not isinstance(raw, dict):
            problems[str(index)] = {"order": _("Each order must be a JSON object.")}
            continue
        order_input, errors = orders.validate_order(raw)
        if order_input:
            errors = _beyond_columns(order_input, raw)
        if order_input and not errors and order_input.platform_order_no in seen:
            errors = [
                ("platform_order_no", _("Same order number as item %(n)d.", n=seen[order_input.platform_order_no]))
            ]
        if errors:
            problems[str(index)] = dict(reversed(errors))
        else:
            seen[order_input.platform_order_no] = index
            inputs.append(order_input)
    if problems:
        raise InvalidDataError(_("%(n)d orders are invalid; nothing was saved.", n=len(problems)), problems)
    result = orders.save_orders(shop, inputs, actor=current_user, source=OrderSource.API)
    audit.record(
        "orders_upserted",
        actor=current_user._get_current_object(),
        shop=shop,
        created=result.created,
        updated=result.updated,
        skipped=result.skipped,
        unchanged=result.unchanged,
    )
    db.session.commit()
    return UpsertOut(created=result.created, updated=result.updated, skipped=result.skipped, unchanged=result.unchanged)


def _beyond_columns(order_input: orders.OrderInput, raw: dict) -> list[tuple[str, str]]:
    """Amounts the import's checks pass but a 32-bit column cannot hold (PostgreSQL would fail with a 500)."""
    errors = []
    if order_input.amount_cents > MAX_INT:
        errors.append(("amount", _("%(value)s is not an amount.", value=str(raw.get("amount"))[:20])))
    for n, item in enumerate(order_input.items, start=1):
        if item.price_cents > MAX_INT:
            errors.append(("items", _("Item %(n)d has a price that is not an amount.", n=n)))
    return errors


@bp.get("/shops/<int:shop_id>/orders")
@spec.validate(resp=Response(HTTP_200=OrderPage, **ERRORS), tags=["seller"], operation_id="listOrders")
def orders_list(shop_id: int, query: OrdersQuery):
    """The shop's orders with their state, tracking number and exemption, oldest first; cursor-paged.

    Pass `since` (the last pull's `pulled_at`) to get only what changed.
    """
    page = api_orders.shop_orders_page(
        resolved("shop"),
        status=query.status,
        exemption=query.exemption,
        since=query.since,
        cursor=query.cursor,
        limit=query.limit,
    )
    return OrderPage(
        orders=[order_out(order, full=True) for order in page.orders],
        next_cursor=page.next_cursor,
        pulled_at=page.pulled_at,
    )


@bp.post("/shops/<int:shop_id>/tracking-numbers")
@spec.validate(
    resp=Response(HTTP_200=TrackingOut, HTTP_409=Problem, **BODY_ERRORS),
    tags=["seller"],
    operation_id="registerTrackingNumbers",
)
def tracking_register(shop_id: int, json: TrackingIn):
    """Give pending orders the tracking numbers a courier company sent back (the spreadsheet flow).

    All or nothing, with the same checks as the uploaded sheet; a number the order already has is
    `unchanged`, so repeating a call is harmless. The orders become labelled.
    """
    json = require_json(json)
    company = waybills.chosen_company(json.company)
    pairs = [(pair.platform_order_no.strip(), pair.tracking_no.strip()) for pair in json.numbers]
    result = api_orders.register_tracking_numbers(
        resolved("shop"), company, pairs, actor=current_user._get_current_object()
    )
    db.session.commit()
    return TrackingOut(labelled=result.labelled, unchanged=result.unchanged)
