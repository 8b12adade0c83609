"""Seller staff and owners at the warehouse: the packing desk, pick lists, packing slips."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order, OrderItem, OrderStatus
from portal.permissions import resolved
from portal.services import scanning
from portal.services.errors import DomainError
from portal.views import ids_from
from portal.views.staff import bp


@bp.get("/shops/<int:shop_id>")
def shop_home(shop_id: int):
    return render_template("staff/shop_home.html", shop=resolved("shop"))


def _desk(template: str, status: int = 200, **result):
    """The packing desk: the full page, or only its result area for the desk's own script (htmx)."""
    if request.headers.get("HX-Request"):
        return render_template("staff/_scan_result.html", shop=resolved("shop"), **result), status
    return render_template(template, shop=resolved("shop"), **result), status


@bp.get("/shops/<int:shop_id>/packing")
def packing(shop_id: int):
    """One input a USB scanner types into; the parcel's items appear; Enter confirms."""
    return _desk("staff/packing.html")


@bp.post("/shops/<int:shop_id>/packing/scan")
def packing_scan(shop_id: int):
    shop = resolved("shop")
    try:
        order = scanning.find_scanned({shop.id}, request.form.get("code", ""))
        scanning.check_packable(order)
    except DomainError as error:
        return _desk("staff/packing.html", status=error.status, outcome="error", message=error.message)
    return _desk("staff/packing.html", outcome="found", order=order, goods=scanning.goods_of(order), scanned=[])


@bp.post("/shops/<int:shop_id>/packing/<int:order_id>/item")
def packing_item(shop_id: int, order_id: int):
    """An item's barcode scanned into the parcel (验货): counted, or refused with the scans so far unchanged."""
    order = resolved("order")
    try:
        check = scanning.check_item(order, request.form.getlist("scanned")[:1000], request.form.get("item", ""))
    except DomainError as error:  # the parcel itself: start it again
        return _desk("staff/packing.html", status=error.status, outcome="error", message=error.message)
    return _desk(
        "staff/packing.html",
        status=check.refused.status if check.refused else 200,
        outcome="found",
        order=order,
        goods=check.lines,
        scanned=check.scanned,
        item_error=check.refused.message if check.refused else None,
    )


@bp.post("/shops/<int:shop_id>/packing/<int:order_id>/pack")
def packing_confirm(shop_id: int, order_id: int):
    order = resolved("order")
    try:
        scanning.pack(order, actor=current_user._get_current_object(), scanned=request.form.getlist("scanned")[:1000])
    except DomainError as error:
        db.session.rollback()
        return _desk("staff/packing.html", status=error.status, outcome="error", message=error.message)
    db.session.commit()
    return _desk("staff/packing.html", outcome="packed", message=_("%(no)s packed.", no=order.tracking_no))


@bp.get("/shops/<int:shop_id>/pick-list")
def pick_list(shop_id: int):
    """SKUs and total quantities of the labelled orders (or the ones given), sorted to walk the shelves once."""
    shop = resolved("shop")
    ids = ids_from(request.args.getlist("order_ids"))
    orders_query = select(Order.id).where(Order.shop_id == shop.id)
    orders_query = (
        orders_query.where(Order.id.in_(ids)) if ids else orders_query.where(Order.status == OrderStatus.LABELLED)
    )
    rows = db.session.execute(
        select(
            OrderItem.sku,
            OrderItem.title,
            func.sum(OrderItem.quantity).label("quantity"),
            func.count(func.distinct(OrderItem.order_id)).label("orders"),
        )
        .where(OrderItem.order_id.in_(orders_query))
        .group_by(OrderItem.sku, OrderItem.title)
        .order_by(OrderItem.sku, OrderItem.title)
    ).all()
    order_count = db.session.scalar(select(func.count()).select_from(orders_query.subquery()))
    return render_template("staff/pick_list.html", shop=shop, rows=rows, order_count=order_count)


@bp.get("/shops/<int:shop_id>/orders/<int:order_id>/slip")
def packing_slip(shop_id: int, order_id: int):
    """What goes in the box, for the packer and the buyer (no phone, no full address)."""
    return render_template("staff/packing_slip.html", shop=resolved("shop"), order=resolved("order"))
