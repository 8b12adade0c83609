"""Print jobs: which labels a person printed, when, at what size. Each order's print history."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.order import Order
from portal.models.user import User
from portal.models.waybill import CourierCompany, Waybill


class PrintJob(Base):
    __tablename__ = "print_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("courier_company.id"))
    size: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    label_count: Mapped[int] = mapped_column(default=0)
    # A reprint job carries its reason; an ordinary job has none.
    reprint_reason: Mapped[str] = mapped_column(String(300), default="")

    actor: Mapped[User] = relationship()
    company: Mapped[CourierCompany] = relationship()


class PrintedLabel(Base):
    """One label of a job: an order and the number printed on it."""

    __tablename__ = "printed_label"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("print_job.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey("waybill.id"))
    position: Mapped[int] = mapped_column(default=0)

    job: Mapped[PrintJob] = relationship()
    order: Mapped[Order] = relationship()
    waybill: Mapped[Waybill] = relationship()
