"""Exemptions from late-shipment penalties: anomaly regions, reports and their evidence."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.order import Order
from portal.models.shop import Shop
from portal.models.user import User


class RegionLevel(StrEnum):
    AUTO = "auto"  # orders inside are exempt with no action by the seller
    ONE_CLICK = "one_click"  # the seller confirms the orders with one click


class RegionScope(StrEnum):
    DESTINATION = "destination"
    ORIGIN = "origin"
    BOTH = "both"


class RegionSource(StrEnum):
    HEALTH_NOTICE = "health_notice"
    OUTLET_STATUS = "outlet_status"
    STATISTICS = "statistics"
    OTHER = "other"


class ReportKind(StrEnum):
    ONE_CLICK = "one_click"
    MANUAL = "manual"


class ReportStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class EvidenceKind(StrEnum):
    NOTICE = "notice"  # news or government notice screenshot
    AREA_DATA = "area_data"  # area data screenshot
    QUARANTINE = "quarantine"  # residents'/village committee or property quarantine certificate
    OUTLET = "outlet"  # courier outlet cannot-ship certificate


class Exemption(StrEnum):
    """An order's exemption as the order list shows it ("" when none)."""

    NONE = ""
    AUTO = "auto"
    ONE_CLICK = "one_click"
    MANUAL_PENDING = "manual_pending"
    MANUAL_APPROVED = "manual_approved"
    MANUAL_REJECTED = "manual_rejected"


# The exemptions that take an order out of the late-shipment figures.
EXEMPT = (Exemption.AUTO, Exemption.ONE_CLICK, Exemption.MANUAL_APPROVED)


class AnomalyRegion(Base):
    """A division where logistics are disrupted during a window, published by the operator."""

    __tablename__ = "anomaly_region"

    id: Mapped[int] = mapped_column(primary_key=True)
    # GB/T 2260 code of a province, city or district; a province covers everything inside it.
    code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    applies_to: Mapped[str] = mapped_column(String(16), default=RegionScope.DESTINATION)
    level: Mapped[str] = mapped_column(String(16), default=RegionLevel.AUTO)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default=RegionSource.OTHER)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<AnomalyRegion {self.code} {self.level}>"


class ExemptionReport(Base):
    """A seller's report asking that orders be exempt: one-click (approved at once) or manual (reviewed)."""

    __tablename__ = "exemption_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.PENDING, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The region a one-click report confirms.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("anomaly_region.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_comment: Mapped[str] = mapped_column(Text, default="")

    shop: Mapped[Shop] = relationship()
    region: Mapped[AnomalyRegion | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    orders: Mapped[list[Order]] = relationship(secondary="exemption_report_order", order_by="Order.id")
    evidence: Mapped[list["Evidence"]] = relationship(back_populates="report", order_by="Evidence.id")


class ExemptionReportOrder(Base):
    __tablename__ = "exemption_report_order"
    __table_args__ = (UniqueConstraint("report_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("exemption_report.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)


class Evidence(Base):
    """A file attached to a manual report, stored under a random name outside the web root."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("exemption_report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The name the seller's file had (shown, never used as a path) and where it is stored.
    file_name: Mapped[str] = mapped_column(String(200), default="")
    storage_key: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the file was removed with the buyer details of the report's orders (the row stays, as a record).
    purged_at: Mapped[datetime | None]

    report: Mapped[ExemptionReport] = relationship(back_populates="evidence")

    @property
    def shop_id(self) -> int:
        """The shop of the report (so that the access policy can match it with the URL's shop)."""
        return self.report.shop_id
