"""Anomaly regions found from the portal's own data: couriers' outlet declarations and the proposals the
detection (services/anomalies.py) makes from them and from pickup delays, published or dismissed by the operator."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.exemption import AnomalyRegion
from portal.models.order import Order
from portal.models.user import User
from portal.models.waybill import CourierCompany


class OutletKind(StrEnum):
    NO_PICKUP = "no_pickup"  # the outlet cannot pick up from these ship-from districts (origin)
    NO_DELIVERY = "no_delivery"  # the outlet cannot deliver to these districts (停发 / 暂停派送, destination)


class OutletReason(StrEnum):
    WEATHER = "weather"
    EPIDEMIC = "epidemic"
    OUTLET_CLOSED = "outlet_closed"
    TRAFFIC = "traffic"
    OTHER = "other"


class OutletDeclaration(Base):
    """A courier's statement that their outlet cannot pick up from (or deliver to) one district for a while."""

    __tablename__ = "outlet_declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The courier company of the courier's grants (None when no grant names one).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("courier_company.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # GB/T 2260 code of the district (for a delivery stop also a city or province).
    code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    valid_from: Mapped[datetime]
    # None: open-ended, until the courier ends it.
    valid_to: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(16), default=OutletReason.OTHER)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    company: Mapped[CourierCompany | None] = relationship()

    def live_at(self, now: datetime) -> bool:
        return self.ended_at is None and self.valid_from <= now and (self.valid_to is None or self.valid_to > now)

    def __repr__(self) -> str:
        return f"<OutletDeclaration {self.kind} {self.code}>"


class ProposalStatus(StrEnum):
    OPEN = "open"  # waiting for the operator
    PUBLISHED = "published"  # became an anomaly region (``region_id``)
    DISMISSED = "dismissed"  # not proposed again for its window unless the signal grows
    LAPSED = "lapsed"  # the signal went away before anyone decided


class AnomalyProposal(Base):
    """A signal for one division and scope: what the detection saw, what it suggests, what the operator did.

    The numbers are those of the last detection run that saw the signal; ``evidence`` keeps the 14-day series
    and the declarations behind it, so the page explains itself after the orders move on.
    """

    __tablename__ = "anomaly_proposal"
    __table_args__ = (
        Index("ix_anomaly_proposal_code_applies_to_status", "code", "applies_to", "status"),
        # One open proposal per division and scope, whatever runs the detection (cron and the jobs consumer at
        # the same moment): the second run's insert fails and it rolls back.
        Index(
            "uq_anomaly_proposal_open",
            "code",
            "applies_to",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(120), default="")
    # models.exemption.RegionScope: origin (pickups) or destination (deliveries).
    applies_to: Mapped[str] = mapped_column(String(16))
    from_declarations: Mapped[bool] = mapped_column(default=False)
    from_statistics: Mapped[bool] = mapped_column(default=False)
    # models.exemption.RegionLevel suggested: auto when a declaration and the delay agree, else one_click.
    level: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.OPEN, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Labelled or packed, past the ship-by, not picked up: the count that crossed the minimum.
    overdue_orders: Mapped[int] = mapped_column(default=0)
    overdue_shops: Mapped[int] = mapped_column(default=0)
    open_orders: Mapped[int] = mapped_column(default=0)
    shops: Mapped[int] = mapped_column(default=0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("anomaly_region.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    dismiss_reason: Mapped[str] = mapped_column(String(500), default="")

    # ``region.proposal``: where a published region came from (the seller's and operator's pages show it).
    region: Mapped[AnomalyRegion | None] = relationship(backref=backref("proposal", uselist=False))
    decided_by: Mapped[User | None] = relationship()

    @property
    def sources(self) -> list[str]:
        return [
            name for name, on in (("declaration", self.from_declarations), ("statistics", self.from_statistics)) if on
        ]

    def __repr__(self) -> str:
        return f"<AnomalyProposal {self.code} {self.applies_to} {self.status}>"


# Detection (services/anomalies.statistics_query) reads the orders due in the last 15 days from this index alone:
# a range of ship_by, the status, the shop, and when it shipped. Declared here, beside its one reader.
Index("ix_order_ship_by_status", Order.ship_by, Order.status, Order.shop_id, Order.shipped_at)
