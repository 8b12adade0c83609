"""Pickups: a courier collecting a shop's parcels, scan by scan, closed by a handover list."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.order import Order
from portal.models.shop import Shop
from portal.models.user import User


class Pickup(Base):
    __tablename__ = "pickup"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # Parcels scanned so far, counted up in each scan's transaction: the running count a scan shows would
    # otherwise count the pickup's scans again on every scan.
    scanned: Mapped[int] = mapped_column(default=0, server_default="0")

    shop: Mapped[Shop] = relationship()
    courier: Mapped[User] = relationship()


class PickupScan(Base):
    """One parcel handed over in a pickup (the order it shipped)."""

    __tablename__ = "pickup_scan"
    __table_args__ = (UniqueConstraint("pickup_id", "order_id"), UniqueConstraint("pickup_id", "client_scan_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pickup_id: Mapped[int] = mapped_column(ForeignKey("pickup.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The id the phone gave the scan (offline queue): a retry of the same id is the same scan, never a second.
    client_scan_id: Mapped[str | None] = mapped_column(String(64))

    order: Mapped[Order] = relationship()


class PickupLeft(Base):
    """A parcel still waiting when its pickup was ended: "not handed over" on the handover list."""

    __tablename__ = "pickup_left"

    pickup_id: Mapped[int] = mapped_column(ForeignKey("pickup.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), primary_key=True, index=True)
