"""API routes: bulk order upsert."""

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.models import OrderSource
from portal.permissions import resolved
from portal.services import audit, orders
from portal.services.errors import InvalidDataError
from portal.views.api import bp

MAX_ORDERS_PER_CALL = 1000


@bp.post("/shops/<int:shop_id>/orders")
def orders_upsert(shop_id: int):
    """Create or update up to 1,000 orders; all valid or nothing. Idempotent on the platform order number."""
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
        if order_input and order_input.platform_order_no in seen:
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
    )
    db.session.commit()
    return jsonify(created=result.created, updated=result.updated, skipped=result.skipped), 200
