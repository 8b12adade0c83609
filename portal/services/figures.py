"""The operator's per-shop figures: late-shipment rate, exempt orders left out of it, orders overdue now."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from portal.extensions import db
from portal.models import CompanyMembership, ExemptionReport, Order, OrderStatus, Shop, User
from portal.models.base import utcnow
from portal.models.exemption import ReportStatus
from portal.models.membership import MembershipStatus
from portal.services import exemptions
from portal.services.exports import csv_cell
from portal.services.orders import OPEN_STATES


@dataclass(frozen=True)
class ShopFigures:
    shop_id: int
    shop: str
    owner: str
    shipped: int  # shipped and not exempt
    shipped_late: int  # of those, shipped after the deadline
    exempt: int  # shipped orders left out of the rate as exempt
    overdue: int  # open (pending, labelled, packed) and past the deadline now

    @property
    def late_rate(self) -> float | None:
        """As the seller's dashboard counts it (services/orders.Dashboard); None before anything shipped."""
        return self.shipped_late / self.shipped if self.shipped else None


# sort key -> the value sorted on; a shop without a rate sorts as if its rate were lowest.
SORTS = {
    "shop": lambda f: (f.shop.lower(), f.shop_id),
    "late_rate": lambda f: (-1.0 if f.late_rate is None else f.late_rate, f.shipped_late),
    "exempt": lambda f: (f.exempt, f.shop_id),
    "overdue": lambda f: (f.overdue, f.shop_id),
    "shipped": lambda f: (f.shipped, f.shop_id),
}
DEFAULT_SORT = "late_rate"


def shop_figures(sort: str = DEFAULT_SORT, descending: bool = True, now: datetime | None = None) -> list[ShopFigures]:
    """Every shop's figures in one grouped query, sorted by ``sort`` (a key of SORTS; unknown: the default)."""
    now = now or utcnow()
    exempt = exemptions.exempt_condition()
    shipped = Order.status == OrderStatus.SHIPPED

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        select(
            Shop.id,
            Shop.name,
            User.username,
            total(shipped & ~exempt),
            total(shipped & (Order.shipped_at > Order.ship_by) & ~exempt),
            total(shipped & exempt),
            total(Order.status.in_(OPEN_STATES) & (Order.ship_by < now)),
        )
        .join(User, User.id == Shop.owner_id)
        .outerjoin(Order, Order.shop_id == Shop.id)
        .group_by(Shop.id, Shop.name, User.username)
    ).all()
    figures = [ShopFigures(*row) for row in rows]
    key = SORTS.get(sort, SORTS[DEFAULT_SORT])
    figures.sort(key=key, reverse=descending)
    return figures


def figures_csv(figures: list[ShopFigures]) -> str:
    """The table as CSV for Excel: UTF-8 with a BOM, headings in the reader's language, the rate in per cent."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Shop"),
            _("Owner"),
            _("Shipped (not exempt)"),
            _("Shipped late"),
            _("Late-shipment rate (%)"),
            _("Exempt orders left out"),
            _("Overdue now"),
        ]
    )
    for f in figures:
        rate = "" if f.late_rate is None else f"{f.late_rate * 100:.1f}"
        writer.writerow([csv_cell(f.shop), csv_cell(f.owner), f.shipped, f.shipped_late, rate, f.exempt, f.overdue])
    return out.getvalue()


@dataclass(frozen=True)
class ReviewQueue:
    reports: int  # manual exemption reports waiting for a decision
    memberships: int  # people asking to be a courier company's staff


def review_queue() -> ReviewQueue:
    """What waits for the operator's decision."""
    return ReviewQueue(
        reports=db.session.scalar(
            select(func.count()).select_from(ExemptionReport).where(ExemptionReport.status == ReportStatus.PENDING)
        ),
        memberships=db.session.scalar(
            select(func.count())
            .select_from(CompanyMembership)
            .where(CompanyMembership.status == MembershipStatus.REQUESTED)
        ),
    )


@dataclass(frozen=True)
class ShopDay:
    """A shop's open work now: what its courier, packer or seller sees first on their home page."""

    pending: int = 0  # waiting for a label
    labelled: int = 0  # labelled, waiting to be packed
    packed: int = 0  # packed, waiting for pickup
    overdue: int = 0  # open and past the deadline

    @property
    def waiting_pickup(self) -> int:
        return self.labelled + self.packed


def shop_days(shop_ids: list[int] | set[int], now: datetime | None = None) -> dict[int, ShopDay]:
    """Open orders of these shops by state, and the overdue ones, in one grouped query (every id is in the answer)."""
    now = now or utcnow()
    ids = list(shop_ids)
    if not ids:
        return {}

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        select(
            Order.shop_id,
            total(Order.status == OrderStatus.PENDING),
            total(Order.status == OrderStatus.LABELLED),
            total(Order.status == OrderStatus.PACKED),
            total(Order.ship_by < now),
        )
        .where(Order.shop_id.in_(ids), Order.status.in_(OPEN_STATES))
        .group_by(Order.shop_id)
    ).all()
    found = {row[0]: ShopDay(*row[1:]) for row in rows}
    return {shop_id: found.get(shop_id, ShopDay()) for shop_id in ids}
