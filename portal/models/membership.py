"""Courier company staff: a courier login that works for a courier company, as the operator confirmed."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.user import User
from portal.models.waybill import CourierCompany


class MembershipStatus(StrEnum):
    REQUESTED = "requested"  # the person asked; the operator has not decided
    CONFIRMED = "confirmed"  # the operator confirmed it: the person is that company's staff
    REVOKED = "revoked"  # refused, revoked by the operator, or left by the person


class CompanyMembership(Base):
    """A person's claim to work for a courier company (an outlet of it), and the operator's decision.

    Confirmed staff read the hidden details of labels bearing their company's numbers (services/reveal.py).
    A revoked row stays as history; asking again makes a new one. At most one live (requested or confirmed)
    row per person and company.
    """

    __tablename__ = "company_membership"
    __table_args__ = (
        Index(
            "uq_company_membership_live",
            "user_id",
            "company_id",
            unique=True,
            sqlite_where=text("status != 'revoked'"),
            postgresql_where=text("status != 'revoked'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("courier_company.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.REQUESTED)
    # Where the person works (an outlet's name, a city), as they wrote it, for the operator to check.
    note: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    company: Mapped[CourierCompany] = relationship()
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def __repr__(self) -> str:
        return f"<CompanyMembership {self.user_id}@{self.company_id} {self.status}>"
