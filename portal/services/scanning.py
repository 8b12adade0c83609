"""What a barcode scanner types at the packing desk and at pickup: reading it, packing, shipping.

Every change goes through services/orders.py's conditional transitions, so a double scan, a second
tab or two couriers scanning the same parcel change an order once; the second gets a clear answer.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order, OrderStatus, Pickup, PickupScan, Shop, User
from portal.models.base import utcnow
from portal.services import audit, orders
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

MAX_SCAN_CHARS = 500
# A tracking number inside whatever the scanner sent: a QR payload (URL, JSON), a symbology prefix
# such as ]C0, a suffix, lower case, spaces.
_CANDIDATE = re.compile(r"[A-Z0-9]{8,40}")


def read_scan(raw: str) -> list[str]:
    """The tracking-number candidates in a scan, most likely first.

    :raise InvalidDataError: empty, or longer than any label could hold.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidDataError(_("Scan or type a tracking number."), {"code": _("Scan or type a tracking number.")})
    if len(text) > MAX_SCAN_CHARS:
        message = _("That is %(n)d characters: not a tracking number.", n=len(text))
        raise InvalidDataError(message, {"code": message})
    upper = text.upper()
    if upper.startswith("]") and len(upper) > 3:  # AIM symbology identifier, e.g. ]C0
        upper = upper[3:]
    candidates = _CANDIDATE.findall(upper.replace(" ", "").replace("-", "")) + _CANDIDATE.findall(upper)
    if not candidates:
        message = _("No tracking number in %(scan)s.", scan=text[:40])
        raise InvalidDataError(message, {"code": message})
    return list(dict.fromkeys(candidates))


def find_scanned(shop_ids: set[int], raw: str) -> Order:
    """The order of these shops whose tracking number is in the scan.

    :raise InvalidDataError: nothing readable. :raise NotFoundError: unknown number, or another
        shop's parcel (said as such, without naming the shop).
    """
    candidates = read_scan(raw)
    found = db.session.scalars(select(Order).where(Order.tracking_no.in_(candidates))).all()
    mine = [order for order in found if order.shop_id in shop_ids]
    if mine:
        mine.sort(key=lambda order: candidates.index(order.tracking_no))
        return mine[0]
    if found:
        raise NotFoundError(_("%(no)s is another shop's parcel: put it aside.", no=found[0].tracking_no))
    raise NotFoundError(_("%(no)s is not a known tracking number.", no=candidates[0]))


# Packing desk ----------------------------------------------------------------------------------


def check_packable(order: Order) -> None:
    """:raise ConflictError: the parcel cannot be packed now, with the reason."""
    if order.status == OrderStatus.LABELLED:
        return
    reasons = {
        OrderStatus.PACKED: _("%(no)s is already packed."),
        OrderStatus.SHIPPED: _("%(no)s has already shipped."),
        OrderStatus.CANCELLED: _("%(no)s is CANCELLED: do not pack it."),
        OrderStatus.PENDING: _("%(no)s has no label yet."),
    }
    raise ConflictError(reasons[order.status] % {"no": order.tracking_no or order.platform_order_no})


def pack(order: Order, *, actor: User) -> None:
    """Mark a scanned parcel packed. :raise ConflictError: see check_packable (also when someone was first)."""
    check_packable(order)
    orders.transition(order, "pack", actor=actor)


# Pickup ----------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    order: Order
    shipped: bool  # False: it had already shipped, nothing changed
    count: int
    messages: list[str] = field(default_factory=list)


def start_pickup(shop: Shop, *, courier: User) -> Pickup:
    """A courier starts collecting at a shop (or goes on with their open pickup there)."""
    pickup = db.session.scalar(
        select(Pickup).where(Pickup.shop_id == shop.id, Pickup.courier_id == courier.id, Pickup.ended_at.is_(None))
    )
    if pickup is None:
        pickup = Pickup(shop_id=shop.id, courier_id=courier.id)
        db.session.add(pickup)
        db.session.flush()
    return pickup


def scanned_count(pickup: Pickup) -> int:
    return db.session.scalar(select(func.count()).where(PickupScan.pickup_id == pickup.id))


def ship_scan(pickup: Pickup, raw: str, *, actor: User) -> ScanResult:
    """Ship the scanned parcel in this pickup; a second scan says "already shipped" and changes nothing.

    :raise InvalidDataError: unreadable scan, or the pickup has ended.
    :raise NotFoundError: not a known number, or another shop's parcel.
    :raise ConflictError: cancelled, no label yet, or not packed when the shop requires packing.
    """
    if pickup.ended_at is not None:
        raise InvalidDataError(_("This pickup has ended. Start a new one."))
    order = find_scanned({pickup.shop_id}, raw)
    if order.status == OrderStatus.SHIPPED:
        return ScanResult(order, shipped=False, count=scanned_count(pickup))
    if order.status == OrderStatus.CANCELLED:
        raise ConflictError(_("%(no)s is CANCELLED: do not take it.", no=order.tracking_no))
    if order.status == OrderStatus.PENDING:
        raise ConflictError(_("%(no)s has no label yet.", no=order.tracking_no or order.platform_order_no))
    action = "ship" if pickup.shop.require_packed_for_pickup else "ship_unpacked"
    if action == "ship" and order.status != OrderStatus.PACKED:
        raise ConflictError(_("%(no)s is not packed yet: the shop packs before pickup.", no=order.tracking_no))
    try:
        orders.transition(order, action, actor=actor, shipped_at=utcnow())
    except ConflictError:
        if order.status == OrderStatus.SHIPPED:  # someone else shipped it a moment ago
            return ScanResult(order, shipped=False, count=scanned_count(pickup))
        raise
    db.session.add(PickupScan(pickup_id=pickup.id, order_id=order.id))
    db.session.flush()
    return ScanResult(order, shipped=True, count=scanned_count(pickup))


def pickups_of(shop: Shop):
    """A select of the shop's pickups, newest first."""
    return select(Pickup).where(Pickup.shop_id == shop.id).order_by(Pickup.id.desc())


def end_pickup(pickup: Pickup, *, actor: User) -> None:
    if pickup.ended_at is None:
        pickup.ended_at = utcnow()
        audit.record(
            "pickup_ended", actor=actor, shop=pickup.shop, target=f"pickup {pickup.id}", parcels=scanned_count(pickup)
        )


@dataclass(frozen=True)
class HandoverLine:
    tracking_no: str
    order_no: str
    destination: str
    at: datetime


def handover_lines(pickup: Pickup) -> list[HandoverLine]:
    rows = db.session.execute(
        select(Order.tracking_no, Order.platform_order_no, Order.province, Order.city, PickupScan.at)
        .join(PickupScan, PickupScan.order_id == Order.id)
        .where(PickupScan.pickup_id == pickup.id)
        .order_by(PickupScan.id)
    ).all()
    return [
        HandoverLine(r.tracking_no or "", r.platform_order_no, f"{r.province} {r.city}".strip(), r.at) for r in rows
    ]


def waiting_by_shop(shop_ids: set[int]) -> dict[int, int]:
    """Parcels labelled or packed, waiting for today's pickup, per shop."""
    rows = db.session.execute(
        select(Order.shop_id, func.count())
        .where(Order.shop_id.in_(shop_ids), Order.status.in_((OrderStatus.LABELLED, OrderStatus.PACKED)))
        .group_by(Order.shop_id)
    ).all()
    return dict(rows)


def ship_selected(order_ids: list[int], *, allowed_shop_ids: set[int], actor: User) -> dict[str, int]:
    """Batch "mark shipped": each order that may ship now ships; the rest are counted by reason."""
    counts = {"shipped": 0, "already": 0, "refused": 0}
    for order in db.session.scalars(select(Order).where(Order.id.in_(order_ids))):
        if order.shop_id not in allowed_shop_ids:
            counts["refused"] += 1
            continue
        if order.status == OrderStatus.SHIPPED:
            counts["already"] += 1
            continue
        action = "ship" if order.shop.require_packed_for_pickup else "ship_unpacked"
        try:
            with db.session.begin_nested():
                orders.transition(order, action, actor=actor, shipped_at=utcnow())
        except ConflictError:
            counts["refused"] += 1
            continue
        counts["shipped"] += 1
    return counts
