"""Shops, their seller staff, courier grants and invitations."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.user import User

if TYPE_CHECKING:  # models/waybill.py imports this module
    from portal.models.waybill import CourierCompany

# The four switches of a courier grant, in the order they are shown.
GRANT_PERMISSIONS = ("view_recipient", "export_addresses", "print_labels", "mark_shipped")


class GrantStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Shop(Base):
    __tablename__ = "shop"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # Hours from payment to the ship-by deadline.
    promise_hours: Mapped[int] = mapped_column(default=48)
    # Days after shipping that couriers still see full recipient details.
    detail_days: Mapped[int] = mapped_column(default=7)
    # Days after shipping that buyer details are kept at all; then they are purged (PIPL).
    retention_days: Mapped[int] = mapped_column(default=90, server_default="90")
    privacy_labels: Mapped[bool] = mapped_column(default=True)
    require_packed_for_pickup: Mapped[bool] = mapped_column(default=True)
    # The packing desk asks for each item's barcode (its SKU, 商家编码) before a parcel may be packed (验货).
    check_goods: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Ship-from, printed in the label's sender zone.
    sender_name: Mapped[str] = mapped_column(String(80), default="")
    sender_phone: Mapped[str] = mapped_column(String(32), default="")
    # The seller marks the sender phone a business line: privacy labels then print it in full.
    sender_phone_public: Mapped[bool] = mapped_column(default=False, server_default=false())
    sender_address: Mapped[str] = mapped_column(String(300), default="")
    # GB/T 2260 code of the ship-from district (for origin anomaly regions).
    sender_region_code: Mapped[str] = mapped_column(String(6), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Shop {self.id} {self.name}>"


class ShopStaff(Base):
    """A seller staff member (packer) of one shop."""

    __tablename__ = "shop_staff"
    __table_args__ = (UniqueConstraint("shop_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The owner's per-person switch: this packer also prints labels with the shop's own ranges.
    print_labels: Mapped[bool] = mapped_column(default=False, server_default=false())

    shop: Mapped[Shop] = relationship()
    user: Mapped[User] = relationship()


class CourierGrant(Base):
    """A courier's sub-account in a shop, shown as ``shop:person``."""

    __tablename__ = "courier_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    view_recipient: Mapped[bool] = mapped_column(default=False)
    export_addresses: Mapped[bool] = mapped_column(default=False)
    print_labels: Mapped[bool] = mapped_column(default=False)
    mark_shipped: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None]
    # The courier company this person works for: they print with its numbers only. None on grants made
    # before companies were named that never printed: the seller chooses, and until then nothing prints.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("courier_company.id"))

    shop: Mapped[Shop] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    company: Mapped["CourierCompany | None"] = relationship()

    @property
    def handle(self) -> str:
        return f"{self.shop.name}:{self.user.username}"

    def status_at(self, now: datetime) -> GrantStatus:
        if self.revoked_at is not None:
            return GrantStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return GrantStatus.EXPIRED
        return GrantStatus.ACTIVE

    @property
    def status(self) -> GrantStatus:
        return self.status_at(utcnow())

    def allows(self, permission: str) -> bool:
        if permission not in GRANT_PERMISSIONS:
            raise ValueError(f"unknown grant permission {permission!r}")
        return bool(getattr(self, permission))

    @property
    def permissions(self) -> list[str]:
        return [p for p in GRANT_PERMISSIONS if getattr(self, p)]


class Invitation(Base):
    """A single-use code that turns an existing courier login into a grant."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    # sha256 of the code; the code itself is shown once to the seller.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    view_recipient: Mapped[bool] = mapped_column(default=False)
    export_addresses: Mapped[bool] = mapped_column(default=False)
    print_labels: Mapped[bool] = mapped_column(default=False)
    mark_shipped: Mapped[bool] = mapped_column(default=False)
    grant_expires_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancelled_at: Mapped[datetime | None]
    # The courier company the invited person works for; the grant made from the code names it.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("courier_company.id"))

    shop: Mapped[Shop] = relationship()
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id])
    company: Mapped["CourierCompany | None"] = relationship()

    @property
    def permissions(self) -> list[str]:
        return [p for p in GRANT_PERMISSIONS if getattr(self, p)]

    def status_at(self, now: datetime) -> str:
        if self.used_at is not None:
            return "used"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.expires_at <= now:
            return "expired"
        return "open"
