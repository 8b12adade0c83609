"""Courier companies and their tracking-number rules, number ranges bought by shops, allocated numbers."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.order import Order
from portal.models.shop import Shop
from portal.models.user import User


class CheckRule(StrEnum):
    """How a number's check digit is verified ("" = shape only)."""

    NONE = ""
    S10 = "s10"  # UPU S10 mod 11, for numbers of the S10 shape


class WaybillStatus(StrEnum):
    ALLOCATED = "allocated"
    VOIDED = "voided"


class CourierCompany(Base):
    """A courier company in the operator's registry, with the rule its tracking numbers follow."""

    __tablename__ = "courier_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SF, ZTO, YTO ... also what Order.courier_company holds.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str] = mapped_column(String(80), default="")
    # A regular expression the whole (normalised) number must match.
    pattern: Mapped[str] = mapped_column(String(300))
    check: Mapped[str] = mapped_column(String(8), default=CheckRule.NONE)
    # A valid number, shown as the form hint.
    example: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        """How forms and pages name it: 中通快递 ZTO Express."""
        return self.label_of(self.name_zh, self.name)

    @staticmethod
    def label_of(name_zh: str, name: str) -> str:
        """``label`` from the two names as read (for statements that read columns, not companies)."""
        return f"{name_zh} {name}".strip()

    def __repr__(self) -> str:
        return f"<CourierCompany {self.code}>"


class WaybillRange(Base):
    """Numbers a shop bought from a courier company: prefix + serial (+ check digit) + suffix.

    ``next_serial`` only ever grows, and only through services.waybills.allocate's single UPDATE.
    """

    __tablename__ = "waybill_range"
    __table_args__ = (
        CheckConstraint("start_serial <= end_serial", name="start_before_end"),
        CheckConstraint("next_serial >= start_serial AND next_serial <= end_serial + 1", name="next_inside"),
        CheckConstraint("serial_digits BETWEEN 1 AND 18", name="serial_digits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("courier_company.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    # Width of the numeric serial, zero-padded (8 for S10).
    serial_digits: Mapped[int]
    suffix: Mapped[str] = mapped_column(String(16), default="")
    # The check-digit rule the numbers carry, fixed when the range is recorded ("" or "s10").
    check: Mapped[str] = mapped_column(String(8), default=CheckRule.NONE)
    start_serial: Mapped[int] = mapped_column(BigInteger)
    end_serial: Mapped[int] = mapped_column(BigInteger)  # inclusive
    next_serial: Mapped[int] = mapped_column(BigInteger)
    # Warn when this many numbers or fewer remain.
    low_threshold: Mapped[int] = mapped_column(default=100)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")

    shop: Mapped[Shop] = relationship()
    company: Mapped[CourierCompany] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def size(self) -> int:
        return self.end_serial - self.start_serial + 1

    @hybrid_property
    def remaining(self) -> int:
        """Numbers not handed out yet, as last read; on the class, the same in SQL (summed by the statements that
        count what is left)."""
        return self.end_serial - self.next_serial + 1

    def __repr__(self) -> str:
        return f"<WaybillRange {self.id} {self.prefix}[{self.start_serial}..{self.end_serial}]{self.suffix}>"


class Waybill(Base):
    """One allocated tracking number. Never deleted and never reused; voiding keeps the row."""

    __tablename__ = "waybill"
    __table_args__ = (UniqueConstraint("company_id", "tracking_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a number the courier company sent back in a reply sheet rather than one from a range.
    range_id: Mapped[int | None] = mapped_column(ForeignKey("waybill_range.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("courier_company.id"))
    serial: Mapped[int | None] = mapped_column(BigInteger)
    # Also indexed alone: a packing-desk scan has the number but not the company.
    tracking_no: Mapped[str] = mapped_column(String(40), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=WaybillStatus.ALLOCATED)
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str] = mapped_column(String(300), default="")

    range: Mapped[WaybillRange | None] = relationship()
    company: Mapped[CourierCompany] = relationship()
    order: Mapped[Order | None] = relationship()

    def __repr__(self) -> str:
        return f"<Waybill {self.tracking_no} {self.status}>"
