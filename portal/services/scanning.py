"""What a barcode scanner types at the packing desk and at pickup: reading it, packing, shipping.

Every change goes through services/orders.py's conditional transitions, so a double scan, a second
tab or two couriers scanning the same parcel change an order once; the second gets a clear answer.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update

from portal.extensions import db
from portal.models import Order, OrderStatus, Pickup, PickupScan, Shop, User
from portal.models.base import utcnow
from portal.services import audit, orders, shops
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
    return _pick(shop_ids, candidates, db.session.scalars(select(Order).where(Order.tracking_no.in_(candidates))).all())


def _pick(shop_ids: set[int], candidates: list[str], found):
    """Of the orders (or rows) found for the candidates, the one of these shops, most likely candidate first."""
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


@dataclass(frozen=True)
class ScanResult:
    order_id: int
    tracking_no: str
    shipped: bool  # False: it had already shipped, nothing changed
    count: int


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


# A scan is the courier's hot path: Core statements built once, run on the session's connection (same
# transaction), no ORM objects. One read finds the pickup's state and the scanned orders.
_order, _pickup, _scan, _shop = Order.__table__, Pickup.__table__, PickupScan.__table__, Shop.__table__
_SCAN_READ = (
    select(
        _pickup.c.shop_id.label("pickup_shop_id"),
        _pickup.c.ended_at,
        _pickup.c.scanned,
        _shop.c.require_packed_for_pickup,
        _order.c.id,
        _order.c.shop_id,
        _order.c.status,
        _order.c.tracking_no,
        _order.c.platform_order_no,
    )
    .join(_shop, _shop.c.id == _pickup.c.shop_id)
    .outerjoin(_order, _order.c.tracking_no.in_(bindparam("candidates", expanding=True)))
    .where(_pickup.c.id == bindparam("pickup_id"))
)
_ENDED = select(_pickup.c.ended_at).where(_pickup.c.id == bindparam("pickup_id"))
_STATUS = select(_order.c.status).where(_order.c.id == bindparam("order_id"))
_ADD_SCAN = insert(_scan)
# The count goes up only while the pickup is open; the row lock it takes orders two phones scanning into one
# pickup, and RETURNING gives each the count as of its own parcel.
_COUNT_UP = (
    update(_pickup)
    .where(_pickup.c.id == bindparam("pickup_id"), _pickup.c.ended_at.is_(None))
    .values(scanned=_pickup.c.scanned + 1)
    .returning(_pickup.c.scanned)
)
_COUNT = select(_pickup.c.scanned).where(_pickup.c.id == bindparam("pickup_id"))


def _pickup_ended() -> InvalidDataError:
    return InvalidDataError(_("This pickup has ended. Start a new one."))


def scanned_count(pickup_id: int) -> int:
    return db.session.connection().execute(_COUNT, {"pickup_id": pickup_id}).scalar_one()


def ship_scan(pickup_id: int, raw: str, *, actor_id: int) -> ScanResult:
    """Ship the scanned parcel in this pickup; a second scan says "already shipped" and changes nothing.

    :raise InvalidDataError: unreadable scan, or the pickup has ended.
    :raise NotFoundError: not a known number, or another shop's parcel.
    :raise ConflictError: cancelled, no label yet, or not packed when the shop requires packing.
    """
    connection = db.session.connection()
    try:
        candidates = read_scan(raw)
    except InvalidDataError:
        if connection.execute(_ENDED, {"pickup_id": pickup_id}).scalar() is not None:
            raise _pickup_ended() from None
        raise
    rows = connection.execute(_SCAN_READ, {"pickup_id": pickup_id, "candidates": candidates}).all()
    pickup = rows[0]
    if pickup.ended_at is not None:
        raise _pickup_ended()
    order = _pick({pickup.pickup_shop_id}, candidates, [row for row in rows if row.id is not None])
    if order.status == OrderStatus.SHIPPED:
        return ScanResult(order.id, order.tracking_no, shipped=False, count=pickup.scanned)
    if order.status == OrderStatus.CANCELLED:
        raise ConflictError(_("%(no)s is CANCELLED: do not take it.", no=order.tracking_no))
    if order.status == OrderStatus.PENDING:
        raise ConflictError(_("%(no)s has no label yet.", no=order.tracking_no or order.platform_order_no))
    action = "ship" if pickup.require_packed_for_pickup else "ship_unpacked"
    if action == "ship" and order.status != OrderStatus.PACKED:
        raise ConflictError(_("%(no)s is not packed yet: the shop packs before pickup.", no=order.tracking_no))
    try:
        orders.transition_row(order, action, actor_id=actor_id, shipped_at=utcnow())
    except ConflictError:
        if connection.execute(_STATUS, {"order_id": order.id}).scalar() == OrderStatus.SHIPPED:
            # someone else shipped it a moment ago
            return ScanResult(order.id, order.tracking_no, shipped=False, count=scanned_count(pickup_id))
        raise
    connection.execute(_ADD_SCAN, {"pickup_id": pickup_id, "order_id": order.id})
    count = connection.execute(_COUNT_UP, {"pickup_id": pickup_id}).scalar()
    if count is None:  # ended by another request since the read above: the caller rolls the scan back
        raise _pickup_ended()
    return ScanResult(order.id, order.tracking_no, shipped=True, count=count)


def pickups_of(shop: Shop):
    """A select of the shop's pickups, newest first."""
    return select(Pickup).where(Pickup.shop_id == shop.id).order_by(Pickup.id.desc())


def end_pickup(pickup: Pickup, *, actor: User) -> None:
    if pickup.ended_at is None:
        pickup.ended_at = utcnow()
        audit.record(
            "pickup_ended",
            actor=actor,
            shop=pickup.shop,
            target=f"pickup {pickup.id}",
            parcels=scanned_count(pickup.id),
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


@dataclass(frozen=True)
class ShipOutcome:
    order_id: int
    result: str  # shipped, already_shipped, refused, not_found
    status: str | None
    detail: str


def ship_orders(order_ids: list[int], *, actor: User, via: str) -> list[ShipOutcome]:
    """Mark each order shipped where it may ship now; one outcome per order, in the order given. The queue's
    "mark selected shipped" and the API's shipOrders both come here (``via``: "page" or "api").

    Idempotent: an order already shipped says so and changes nothing. An order of a shop where the
    actor holds no active grant is ``not_found``; one where the grant lacks "mark shipped" is ``refused``
    (the actor's grants as they are now). Each shipment is its own savepoint, so one refusal does not undo
    the others. One audit event per shop names what shipped. The caller commits.
    """
    grants = shops.active_grants(actor)
    visible_shop_ids = {grant.shop_id for grant in grants}
    allowed_shop_ids = {grant.shop_id for grant in grants if grant.allows("mark_shipped")}
    wanted = list(dict.fromkeys(order_ids))
    found = {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_(wanted)))}
    outcomes, shipped = [], []
    for order_id in wanted:
        order = found.get(order_id)
        if order is None or order.shop_id not in visible_shop_ids:
            outcomes.append(ShipOutcome(order_id, "not_found", None, _("No such order in your shops.")))
            continue
        if order.shop_id not in allowed_shop_ids:
            detail = _("Your sub-account in this shop may not mark parcels shipped.")
            outcomes.append(ShipOutcome(order_id, "refused", order.status, detail))
            continue
        if order.status == OrderStatus.SHIPPED:
            outcomes.append(ShipOutcome(order_id, "already_shipped", order.status, _("Already shipped.")))
            continue
        action = "ship" if order.shop.require_packed_for_pickup else "ship_unpacked"
        try:
            with db.session.begin_nested():
                orders.transition(order, action, actor=actor, shipped_at=utcnow())
        except ConflictError as error:
            db.session.refresh(order)
            if order.status == OrderStatus.SHIPPED:  # someone else shipped it a moment ago
                outcomes.append(ShipOutcome(order_id, "already_shipped", order.status, _("Already shipped.")))
            else:
                outcomes.append(ShipOutcome(order_id, "refused", order.status, error.message))
            continue
        outcomes.append(ShipOutcome(order_id, "shipped", order.status, ""))
        shipped.append(order)
    audit.record_per_shop("orders_shipped", shipped, actor=actor, via=via)
    return outcomes
