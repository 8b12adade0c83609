"""Every model module, imported so Alembic and create_all see all tables."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.shop import GRANT_PERMISSIONS, CourierGrant, GrantStatus, Invitation, Shop, ShopStaff
from portal.models.user import User

__all__ = [
    "GRANT_PERMISSIONS",
    "AuditEvent",
    "Base",
    "CourierGrant",
    "GrantStatus",
    "Invitation",
    "Shop",
    "ShopStaff",
    "User",
]
