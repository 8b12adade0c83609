"""Every model module, imported so Alembic and create_all see all tables."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.order import ImportBatch, Order, OrderEvent, OrderItem, OrderSource, OrderStatus
from portal.models.pickup import Pickup, PickupScan
from portal.models.printing import PrintedLabel, PrintJob
from portal.models.shop import GRANT_PERMISSIONS, CourierGrant, GrantStatus, Invitation, Shop, ShopStaff
from portal.models.user import User
from portal.models.waybill import CheckRule, CourierCompany, Waybill, WaybillRange, WaybillStatus

__all__ = [
    "GRANT_PERMISSIONS",
    "AuditEvent",
    "Base",
    "CheckRule",
    "CourierCompany",
    "CourierGrant",
    "GrantStatus",
    "ImportBatch",
    "Invitation",
    "Order",
    "OrderEvent",
    "OrderItem",
    "OrderSource",
    "OrderStatus",
    "Pickup",
    "PickupScan",
    "PrintJob",
    "PrintedLabel",
    "Shop",
    "ShopStaff",
    "User",
    "Waybill",
    "WaybillRange",
    "WaybillStatus",
]
