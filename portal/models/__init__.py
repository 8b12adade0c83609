"""Every model module, imported so Alembic and create_all see all tables."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.batch import BatchStatus, PrintBatch, PrintBatchOrder
from portal.models.exemption import (
    EXEMPT,
    AnomalyRegion,
    Evidence,
    EvidenceKind,
    Exemption,
    ExemptionReport,
    ExemptionReportOrder,
    RegionLevel,
    RegionScope,
    RegionSource,
    ReportKind,
    ReportStatus,
)
from portal.models.membership import CompanyMembership, MembershipStatus
from portal.models.order import ImportBatch, Order, OrderEvent, OrderItem, OrderSource, OrderStatus
from portal.models.outlet import AnomalyProposal, OutletDeclaration, OutletKind, OutletReason, ProposalStatus
from portal.models.pickup import Pickup, PickupLeft, PickupScan
from portal.models.printing import PrintedLabel, PrintJob
from portal.models.shop import GRANT_PERMISSIONS, CourierGrant, GrantStatus, Invitation, Shop, ShopStaff
from portal.models.token import ApiToken
from portal.models.user import User
from portal.models.waybill import CheckRule, CourierCompany, Waybill, WaybillRange, WaybillStatus

__all__ = [
    "EXEMPT",
    "GRANT_PERMISSIONS",
    "AnomalyProposal",
    "AnomalyRegion",
    "ApiToken",
    "AuditEvent",
    "Base",
    "BatchStatus",
    "CheckRule",
    "CompanyMembership",
    "CourierCompany",
    "CourierGrant",
    "Evidence",
    "EvidenceKind",
    "Exemption",
    "ExemptionReport",
    "ExemptionReportOrder",
    "GrantStatus",
    "ImportBatch",
    "Invitation",
    "MembershipStatus",
    "Order",
    "OrderEvent",
    "OrderItem",
    "OrderSource",
    "OrderStatus",
    "OutletDeclaration",
    "OutletKind",
    "OutletReason",
    "Pickup",
    "PickupLeft",
    "PickupScan",
    "PrintBatch",
    "PrintBatchOrder",
    "PrintJob",
    "PrintedLabel",
    "ProposalStatus",
    "RegionLevel",
    "RegionScope",
    "RegionSource",
    "ReportKind",
    "ReportStatus",
    "Shop",
    "ShopStaff",
    "User",
    "Waybill",
    "WaybillRange",
    "WaybillStatus",
]
