"""ORM objects → API response models."""

from portal.models import Order
from portal.services import api_orders
from portal.views.api.schemas import OrderOut, Recipient


def order_out(order: Order, *, full: bool) -> OrderOut:
    return OrderOut.model_construct(
        id=order.id,
        shop_id=order.shop_id,
        platform_order_no=order.platform_order_no,
        status=order.status,
        paid_at=order.paid_at,
        ship_by=order.ship_by,
        updated_at=order.updated_at,
        shipped_at=order.shipped_at,
        courier_company=order.courier_company,
        tracking_no=order.tracking_no,
        exemption=order.exemption,
        address_flagged=order.address_flagged,
        item_summary=order.item_summary,
        item_count=order.item_count,
        buyer_message=order.buyer_message,
        recipient=Recipient.model_construct(**api_orders.recipient(order, full=full)),
    )
