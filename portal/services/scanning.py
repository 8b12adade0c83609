"""What a barcode scanner types at the packing desk and at pickup: reading it, packing, shipping.

Every change goes through services/orders.py's conditional transitions, so a double scan, a second
tab or two couriers scanning the same parcel change an order once; the second gets a clear answer.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Order, OrderEvent, OrderItem, OrderStatus, Pickup, PickupLeft, PickupScan, Shop, User
from portal.models.base import utcnow
from portal.services import audit, orders, shops
from portal.services.errors import ConflictError, DomainError, InvalidDataError, NotFoundError

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
    if _is_ean(candidates[0]):
        raise NotFoundError(_("%(no)s is a product barcode (EAN), not a parcel label.", no=candidates[0]))
    raise NotFoundError(_("%(no)s is not a known tracking number.", no=candidates[0]))


def _is_ean(code: str) -> bool:
    """An EAN-8 or EAN-13 with a valid check digit: the barcode on a product, not a label of ours."""
    if len(code) not in (8, 13) or not code.isdigit():
        return False
    digits = [int(c) for c in code]
    weights = (3, 1) if len(code) == 8 else (1, 3)
    total = sum(d * weights[i % 2] for i, d in enumerate(digits[:-1]))
    return (10 - total % 10) % 10 == digits[-1]


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


def pack(order: Order, *, actor: User, scanned: list[str] | None = None) -> None:
    """Mark a scanned parcel packed. Where the goods are checked (``goods_of``), ``scanned`` (the item barcodes
    scanned so far, one per piece) must match every quantity.

    :raise ConflictError: see check_packable (also when someone was first); goods still missing.
    :raise InvalidDataError: a scanned barcode that is not this parcel's, or one too many.
    """
    check_packable(order)
    lines = goods_of(order)
    if lines is not None:
        counted = count_goods(lines, scanned or [])
        missing = [line for line in counted if line.sku and line.scanned < line.quantity]
        if missing:
            names = ", ".join(f"{line.sku} ×{line.quantity - line.scanned}" for line in missing)
            raise ConflictError(_("Not every item is in the box yet: %(missing)s still to scan.", missing=names))
    orders.transition(order, "pack", actor=actor)


# Checking the goods (验货) ------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodsLine:
    """One line of a parcel's goods: what to put in and how many are scanned so far ("" sku: check by eye)."""

    sku: str
    title: str
    attributes: str
    quantity: int
    scanned: int = 0

    @property
    def done(self) -> bool:
        return not self.sku or self.scanned >= self.quantity


def _barcode(code: str) -> str:
    """A SKU as a scanner or a person types it: no spaces around, case ignored."""
    return (code or "").strip().upper()


def goods_of(order: Order) -> list[GoodsLine] | None:
    """The parcel's lines to scan, or None when the desk packs with one scan: the shop does not check the goods,
    or no item of the order has a SKU (商家编码). Items without a SKU are listed, to be checked by eye."""
    if not order.shop.check_goods or not any(_barcode(item.sku) for item in order.items):
        return None
    lines: dict[str, GoodsLine] = {}
    unlabelled = []
    for item in order.items:
        sku = _barcode(item.sku)
        if not sku:
            unlabelled.append(GoodsLine("", item.title, item.attributes, item.quantity))
        elif sku in lines:  # the same SKU on two lines: one count
            line = lines[sku]
            lines[sku] = GoodsLine(sku, line.title, line.attributes, line.quantity + item.quantity)
        else:
            lines[sku] = GoodsLine(sku, item.title, item.attributes, item.quantity)
    return [*lines.values(), *unlabelled]


def count_goods(lines: list[GoodsLine], scanned: list[str]) -> list[GoodsLine]:
    """The lines with the scanned pieces counted.

    :raise InvalidDataError: a barcode not on these lines, or more pieces than the parcel holds.
    """
    counts: dict[str, int] = {}
    for code in scanned:
        counts[_barcode(code)] = counts.get(_barcode(code), 0) + 1
    quantities = {line.sku: line.quantity for line in lines if line.sku}
    for code, n in counts.items():
        if code not in quantities:
            message = _("%(code)s is not an item of this parcel.", code=code[:40])
            raise InvalidDataError(message, {"item": message})
        if n > quantities[code]:
            message = _("Only %(n)d × %(code)s go in this parcel.", n=quantities[code], code=code)
            raise InvalidDataError(message, {"item": message})
    return [GoodsLine(line.sku, line.title, line.attributes, line.quantity, counts.get(line.sku, 0)) for line in lines]


def scan_item(order: Order, scanned: list[str], raw: str) -> tuple[list[GoodsLine], list[str]]:
    """One item barcode scanned at the desk, after the parcel's number: the lines and the scans with it counted.
    Nothing is stored: the desk's page carries the scans until it confirms (``pack`` checks them again).

    :raise InvalidDataError: empty; a barcode of another order of the shop, an unknown one, one piece too many
        (the scans so far stay as they were).
    """
    lines = goods_of(order)
    if lines is None:
        message = _("This parcel is packed with one scan: no item barcodes to check.")
        raise InvalidDataError(message, {"item": message})
    code = _barcode(raw)
    if not code:
        message = _("Scan the barcode of an item.")
        raise InvalidDataError(message, {"item": message})
    if len(code) > 80:
        message = _("That is %(n)d characters: not an item barcode.", n=len(code))
        raise InvalidDataError(message, {"item": message})
    counted = count_goods(lines, scanned)  # scans so far: the page could have been changed
    line = next((line for line in counted if line.sku == code), None)
    if line is None:
        if order.tracking_no and code == order.tracking_no:
            message = _("That is this parcel's label: scan the items now.")
        elif _belongs_elsewhere(order, code):
            message = _("%(code)s belongs to another order: it does not go in this parcel.", code=code)
        else:
            message = _("%(code)s is not a known item barcode.", code=code[:40])
        raise InvalidDataError(message, {"item": message})
    if line.scanned >= line.quantity:
        message = _("All %(n)d × %(code)s are already in: that one is extra.", n=line.quantity, code=code)
        raise InvalidDataError(message, {"item": message})
    return count_goods(lines, [*scanned, code]), [*scanned, code]


@dataclass(frozen=True)
class GoodsCheck:
    """The desk after an item scan: the lines counted, the scans so far, and why the last one was refused."""

    lines: list[GoodsLine]
    scanned: list[str]
    refused: InvalidDataError | None = None


def check_item(order: Order, scanned: list[str], raw: str) -> GoodsCheck:
    """An item scan at the desk: counted, or refused with the scans so far as they were (``refused``).

    :raise ConflictError: the parcel cannot be packed now (check_packable).
    :raise InvalidDataError: the parcel is packed with one scan, or the scans so far are not this parcel's (the
        page was changed): the packer starts the parcel again.
    """
    check_packable(order)
    lines = goods_of(order)
    if lines is None:
        message = _("This parcel is packed with one scan: no item barcodes to check.")
        raise InvalidDataError(message, {"item": message})
    counted = count_goods(lines, scanned)
    try:
        return GoodsCheck(*scan_item(order, scanned, raw))
    except InvalidDataError as error:
        return GoodsCheck(counted, scanned, error)


def _belongs_elsewhere(order: Order, code: str) -> bool:
    """Whether another order of the shop has an item with this SKU."""
    return (
        db.session.scalar(
            select(OrderItem.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.shop_id == order.shop_id, Order.id != order.id, func.upper(OrderItem.sku) == code)
            .limit(1)
        )
        is not None
    )


# Pickup ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    order_id: int
    tracking_no: str
    shipped: bool  # False: it had already shipped, nothing changed
    count: int
    duplicate: bool = False  # the phone sent this scan id before: the first scan's result, nothing changed

    @property
    def message(self) -> str:
        """What the scan says of its parcel: shipped now, or shipped before (a single scan and a replayed one)."""
        if self.shipped:
            return _("%(no)s shipped.", no=self.tracking_no)
        return _("%(no)s already shipped.", no=self.tracking_no)


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
_prior = _scan.alias("prior")  # the scan the phone sent before under the same id, if any
_SCAN_READ = (
    select(
        _pickup.c.shop_id.label("pickup_shop_id"),
        _pickup.c.started_at,
        _pickup.c.ended_at,
        _pickup.c.scanned,
        _shop.c.require_packed_for_pickup,
        _prior.c.order_id.label("prior_order_id"),
        _order.c.id,
        _order.c.shop_id,
        _order.c.status,
        _order.c.tracking_no,
        _order.c.platform_order_no,
    )
    .join(_shop, _shop.c.id == _pickup.c.shop_id)
    .outerjoin(_prior, and_(_prior.c.pickup_id == _pickup.c.id, _prior.c.client_scan_id == bindparam("client_scan_id")))
    .outerjoin(_order, _order.c.tracking_no.in_(bindparam("candidates", expanding=True)))
    .where(_pickup.c.id == bindparam("pickup_id"))
)
_TRACKING_NO = select(_order.c.tracking_no).where(_order.c.id == bindparam("order_id"))
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


def ship_scan(
    pickup_id: int,
    raw: str,
    *,
    actor_id: int,
    client_scan_id: str | None = None,
    scanned_at: datetime | None = None,
) -> ScanResult:
    """Ship the scanned parcel in this pickup; a second scan says "already shipped" and changes nothing.

    ``client_scan_id`` (made on the phone) makes a retry the same scan: the same id for the same parcel
    returns the first result as a duplicate, even after the pickup ended. ``scanned_at`` (when the phone
    scanned it, offline) dates the shipment if it lies between the pickup's start and now.

    :raise InvalidDataError: unreadable scan, or the pickup has ended.
    :raise NotFoundError: not a known number, another shop's parcel, or a product barcode.
    :raise ConflictError: cancelled, no label yet, not packed when the shop requires packing, or the scan
        id was used before for another parcel (the first scan stands).
    """
    connection = db.session.connection()
    try:
        candidates = read_scan(raw)
    except InvalidDataError:
        if connection.execute(_ENDED, {"pickup_id": pickup_id}).scalar() is not None:
            raise _pickup_ended() from None
        raise
    rows = connection.execute(
        _SCAN_READ, {"pickup_id": pickup_id, "candidates": candidates, "client_scan_id": client_scan_id}
    ).all()
    pickup = rows[0]
    if pickup.prior_order_id is not None:
        return _replayed(connection, pickup, rows, client_scan_id)
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
    now = utcnow()
    at = scanned_at if scanned_at is not None and pickup.started_at <= scanned_at <= now else now
    try:
        orders.transition_row(order, action, actor_id=actor_id, shipped_at=at)
    except ConflictError:
        if connection.execute(_STATUS, {"order_id": order.id}).scalar() == OrderStatus.SHIPPED:
            # someone else shipped it a moment ago
            return ScanResult(order.id, order.tracking_no, shipped=False, count=scanned_count(pickup_id))
        raise
    try:
        connection.execute(
            _ADD_SCAN, {"pickup_id": pickup_id, "order_id": order.id, "at": at, "client_scan_id": client_scan_id}
        )
    except IntegrityError:  # the same id, sent for another parcel at the same moment: the other one stands
        raise ConflictError(_("Scan %(id)s was already sent for another parcel.", id=client_scan_id)) from None
    count = connection.execute(_COUNT_UP, {"pickup_id": pickup_id}).scalar()
    if count is None:  # ended by another request since the read above: the caller rolls the scan back
        raise _pickup_ended()
    return ScanResult(order.id, order.tracking_no, shipped=True, count=count)


def _replayed(connection, pickup, rows, client_scan_id: str) -> ScanResult:
    """A scan id seen before in this pickup: the first scan's result if it is the same parcel, else refused."""
    for row in rows:
        if row.id == pickup.prior_order_id:
            return ScanResult(row.id, row.tracking_no, shipped=True, count=pickup.scanned, duplicate=True)
    first = connection.execute(_TRACKING_NO, {"order_id": pickup.prior_order_id}).scalar()
    raise ConflictError(
        _(
            "Scan %(id)s was already sent for %(no)s: this one is refused, the first scan stands.",
            id=client_scan_id,
            no=first,
        )
    )


# Offline replay --------------------------------------------------------------------------------

MAX_REPLAY = 500
MAX_SCAN_ID_CHARS = 64


@dataclass(frozen=True)
class QueuedScan:
    """One scan the phone kept while offline."""

    id: str
    code: str
    scanned_at: datetime | None


@dataclass(frozen=True)
class ReplayResult:
    id: str
    status: str  # shipped, duplicate, refused
    message: str
    tracking_no: str | None
    shop: str


def read_queue(payload) -> list[QueuedScan]:
    """The scans of a phone's offline queue, ``{"scans": [{"id", "code", "scanned_at"}]}``, in order.

    :raise InvalidDataError: not that shape, more than MAX_REPLAY scans, or a scan without an id or code.
    """
    scans = payload.get("scans") if isinstance(payload, dict) else None
    if not isinstance(scans, list):
        raise InvalidDataError(_('Send {"scans": [...]}: a list of scans.'), {"scans": _("A list of scans.")})
    if len(scans) > MAX_REPLAY:
        message = _("At most %(n)d scans per request.", n=MAX_REPLAY)
        raise InvalidDataError(message, {"scans": message})
    queue = []
    for index, scan in enumerate(scans):
        scan_id = scan.get("id") if isinstance(scan, dict) else None
        code = scan.get("code") if isinstance(scan, dict) else None
        if (
            not isinstance(scan_id, str)
            or not 0 < len(scan_id.strip()) <= MAX_SCAN_ID_CHARS
            or not isinstance(code, str)
        ):
            message = _(
                "Scan %(n)d needs an id (up to %(max)d characters) and a code.", n=index + 1, max=MAX_SCAN_ID_CHARS
            )
            raise InvalidDataError(message, {f"scans.{index}": message})
        queue.append(QueuedScan(scan_id.strip(), code, _read_time(scan.get("scanned_at"))))
    return queue


def _read_time(value) -> datetime | None:
    """An ISO time with its zone (a naive one is taken as UTC); anything else is ignored (the server's time)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_scan(pickup_id: int, shop: str, scan: QueuedScan, *, actor_id: int) -> ReplayResult:
    """One queued scan through ship_scan, its refusal as a result rather than an exception. The caller commits
    when the status is "shipped" and rolls back otherwise, one transaction per scan.
    """
    try:
        result = ship_scan(pickup_id, scan.code, actor_id=actor_id, client_scan_id=scan.id, scanned_at=scan.scanned_at)
    except DomainError as error:
        return ReplayResult(scan.id, "refused", error.message, None, shop)
    if result.duplicate:
        message = _("%(no)s was already counted (sent again).", no=result.tracking_no)
        return ReplayResult(scan.id, "duplicate", message, result.tracking_no, shop)
    return ReplayResult(scan.id, "shipped" if result.shipped else "duplicate", result.message, result.tracking_no, shop)


def pickups_of(shop: Shop):
    """A select of the shop's pickups, newest first."""
    return select(Pickup).where(Pickup.shop_id == shop.id).order_by(Pickup.id.desc())


def end_pickup(pickup: Pickup, *, actor: User, confirmed: bool = False) -> list["WaitingLine"]:
    """End the pickup, unless parcels it would accept are still waiting and the courier has not confirmed.

    Returns those parcels; when it ends with some waiting, they are kept as "not handed over". Check
    ``pickup.ended_at`` to know whether it ended (ending twice changes nothing).
    """
    if pickup.ended_at is not None:
        return []
    waiting = waiting_parcels(pickup.shop_id)
    if waiting and not confirmed:
        return waiting
    pickup.ended_at = utcnow()
    if waiting:
        db.session.execute(insert(PickupLeft), [{"pickup_id": pickup.id, "order_id": w.order_id} for w in waiting])
    audit.record(
        "pickup_ended",
        actor=actor,
        shop=pickup.shop,
        target=f"pickup {pickup.id}",
        parcels=scanned_count(pickup.id),
        not_handed_over=len(waiting),
    )
    return waiting


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


# What a pickup at the shop would accept now: packed parcels, and labelled ones where the shop does not pack first.
_ACCEPTED = or_(
    Order.status == OrderStatus.PACKED,
    and_(Order.status == OrderStatus.LABELLED, Shop.require_packed_for_pickup.is_(False)),
)


def waiting_by_shop(shop_ids: set[int]) -> dict[int, int]:
    """Parcels waiting for today's pickup, per shop: only those a pickup there would accept."""
    rows = db.session.execute(
        select(Order.shop_id, func.count())
        .join(Shop, Shop.id == Order.shop_id)
        .where(Order.shop_id.in_(shop_ids), _ACCEPTED)
        .group_by(Order.shop_id)
    ).all()
    return dict(rows)


@dataclass(frozen=True)
class WaitingLine:
    order_id: int
    tracking_no: str
    order_no: str
    destination: str
    packed: bool
    packed_at: datetime | None  # None also for a parcel marked packed without a packing scan


_PACKED_AT = (
    select(func.max(OrderEvent.at))
    .where(OrderEvent.order_id == Order.id, OrderEvent.action == "pack")
    .correlate(Order)
    .scalar_subquery()
)


def _waiting_lines(query) -> list[WaitingLine]:
    rows = db.session.execute(
        query.add_columns(
            Order.id,
            Order.tracking_no,
            Order.platform_order_no,
            Order.province,
            Order.city,
            Order.status,
            _PACKED_AT.label("packed_at"),
        ).order_by(Order.id)
    ).all()
    return [
        WaitingLine(
            r.id,
            r.tracking_no or "",
            r.platform_order_no,
            f"{r.province} {r.city}".strip(),
            r.status == OrderStatus.PACKED,
            r.packed_at,
        )
        for r in rows
    ]


def waiting_parcels(shop_id: int) -> list[WaitingLine]:
    """The shop's parcels a pickup would accept now and that have not shipped, oldest order first."""
    return _waiting_lines(
        select().select_from(Order).join(Shop, Shop.id == Order.shop_id).where(Order.shop_id == shop_id, _ACCEPTED)
    )


@dataclass(frozen=True)
class PickupProgress:
    scanned: int
    waiting: list[WaitingLine]  # still waiting (open pickup) or left behind (ended)

    @property
    def expected(self) -> int:
        return self.scanned + len(self.waiting)


def pickup_progress(pickup: Pickup) -> PickupProgress:
    """Scanned against expected: an open pickup's parcels still waiting, an ended one's not handed over."""
    if pickup.ended_at is None:
        waiting = waiting_parcels(pickup.shop_id)
    else:
        waiting = _waiting_lines(
            select()
            .select_from(PickupLeft)
            .join(Order, Order.id == PickupLeft.order_id)
            .where(PickupLeft.pickup_id == pickup.id)
        )
    return PickupProgress(scanned_count(pickup.id), waiting)


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
    grants = shops.active_grant_rows(actor)
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
