"""Print jobs: which labels a person printed, when, at what size. Each order's print history."""

import hashlib
import secrets
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


def new_reveal_token() -> str:
    """A label's reveal code: 128 random bits, URL-safe (22 characters), nothing about the order or the buyer."""
    return secrets.token_urlsafe(16)


def reveal_hash(token: str) -> str:
    """What a reveal code is looked up by: its sha256, so the index search can only tell how much of a hash matched."""
    return hashlib.sha256(token.encode()).hexdigest()


def _reveal_hash_default(context) -> str:
    # Column defaults run in column order, so this row's reveal_token (given or just made) is already there;
    # Core insert() executemany (create_print_job's bulk insert) calls this once per row too.
    return reveal_hash(context.get_current_parameters()["reveal_token"])


class PrintedLabel(Base):
    """One label of a job: an order and the number printed on it.

    Its QR code opens the hidden recipient details (services/reveal.py) with ``reveal_token``, kept so the job
    can be rendered again (HTML, PDF, ZPL, TSPL) with the same code; a request finds the label by
    ``reveal_hash`` and compares the token in constant time.
    """

    __tablename__ = "printed_label"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("print_job.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey("waybill.id"))
    position: Mapped[int] = mapped_column(default=0)
    reveal_token: Mapped[str] = mapped_column(String(32), default=new_reveal_token)
    reveal_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True, default=_reveal_hash_default)

    job: Mapped[PrintJob] = relationship()
    order: Mapped[Order] = relationship()
    waybill: Mapped[Waybill] = relationship()
