"""What the JSON API does with orders beyond the pages: paged pulls, batch shipping, tracking numbers by value.

Each function reuses the module that owns the rule (orders for transitions, tracking_import for the
checks of a courier company's number sheet, privacy for masking) and, like every service, does not
commit.
"""

import base64
import binascii
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import Dialect, Integer, String, TypeDecorator, bindparam, insert, or_, select, type_coerce, union_all

from portal.extensions import db
from portal.models import AuditEvent, CourierCompany, Order, OrderStatus, Shop, User
from portal.models.base import utcnow
from portal.services import audit, orders, privacy, tracking_import
from portal.services.errors import InvalidDataError

# Pages ------------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Page:
    orders: list  # Order objects, or plain rows with their columns as attributes (queue_page)
    next_cursor: str | None
    pulled_at: datetime


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _micros(moment: datetime) -> int:
    """A time as whole microseconds since 1970: short in a cursor, and exact."""
    return (_utc(moment) - EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def _encode(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """:raise InvalidDataError: not a cursor this API handed out."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, dict) or set(values) != set(keys):
            raise ValueError(cursor)
        if not all(isinstance(value, int) and 0 < value < 2**62 for value in values.values()):
            raise ValueError(cursor)
        if values["i"] >= 2**31:
            raise ValueError(cursor)
        values["t"] = _from_micros(values["t"])
        if "s" in values:
            values["s"] = _from_micros(values["s"])
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        message = _("This cursor is not valid: start again without one.")
        raise InvalidDataError(message, {"cursor": message}) from None
    return values


class _StoredUTC(TypeDecorator):
    """The queue's time columns as aware UTC datetimes, as UTCDateTime hands them back, for less.

    A page reads 400 of them. On SQLite UTCDateTime parses each stored string to a naive datetime, then
    ``replace``s its zone: about 1 µs a value, 0.3 ms a page. Here SQLAlchemy's stored form (UTC, no zone) is
    parsed once with its zone appended (0.2 µs). Any other value (a driver's datetime on PostgreSQL, a string
    with an offset, a date alone) ends as UTCDateTime leaves it. Read-only: used through ``type_coerce`` on
    selected columns, never to bind.
    """

    impl = String
    cache_ok = True

    def process_result_value(
        self, value: str | datetime | None, dialect: Dialect, _parse=datetime.fromisoformat
    ) -> datetime | None:
        if value.__class__ is str:
            try:
                value = _parse(value + "+00:00")  # SQLAlchemy's stored form: UTC without a zone
            except ValueError:  # a zone of its own
                value = _parse(value)
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


_QUEUE_TIMES = frozenset({"paid_at", "ship_by", "updated_at", "shipped_at"})

# What a queue pull answers with (schemas.OrderOut): read as plain rows, no ORM objects.
QUEUE_COLUMNS = (
    "id",
    "shop_id",
    "platform_order_no",
    "status",
    "paid_at",
    "ship_by",
    "updated_at",
    "shipped_at",
    "courier_company",
    "tracking_no",
    "exemption",
    "address_flagged",
    "item_summary",
    "item_count",
    "buyer_message",
    "recipient_name",
    "recipient_phone",
    "province",
    "city",
    "district",
    "address_detail",
    "postcode",
)


def queue_page(
    shop_ids: Iterable[int],
    *,
    status: str = OrderStatus.PENDING,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """One page of these shops' orders in a state, most urgent first (ship-by, then id), as plain rows
    (QUEUE_COLUMNS as attributes).

    Keyset pagination on (ship_by, id), one index range per shop merged in SQL, so page 1,000 costs what
    page 1 costs; one statement. ``since`` keeps orders changed at or after it (an incremental pull);
    ``pulled_at`` is when the first page of this pull was read, to pass as the next pull's ``since``.

    :raise InvalidDataError: a cursor this API did not hand out.
    """
    after = _decode(cursor, ("s", "i", "t")) if cursor else None
    pulled_at = after["t"] if after else utcnow()
    shop_ids = sorted(set(shop_ids))
    if not shop_ids:
        return Page([], None, pulled_at)
    params = {f"shop_{n}": shop_id for n, shop_id in enumerate(shop_ids)}
    params.update(status=status, limit=limit + 1)
    if since is not None:
        params["since"] = _utc(since)
    if after:
        params.update(after_ship_by=after["s"], after_id=after["i"])
    statement = _queue_statement(len(shop_ids), since is not None, bool(after), _merges_lazily())
    rows = db.session.execute(statement, params).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = _encode({"s": _micros(last.ship_by), "i": last.id, "t": _micros(pulled_at)})
    return Page(page, next_cursor, pulled_at)


def _merges_lazily() -> bool:
    """Whether the database reads a compound's ordered branches in step and stops at its LIMIT (SQLite)."""
    return db.session.get_bind().dialect.name == "sqlite"


@functools.lru_cache(maxsize=256)
def _queue_statement(shops: int, since: bool, after: bool, lazy_merge: bool):
    """queue_page's statement for this many shops, with or without ``since`` and a cursor: built once, with bound
    parameters (shop_0.., status, since, after_ship_by, after_id, limit), so a pull neither builds nor keys it.

    Each shop's next orders are a range of its (shop, status, ship_by) index, ids only; the page is the first
    ``limit`` of them all. ``lazy_merge`` (SQLite): the branches are merged by the compound's own ORDER BY and
    LIMIT, which SQLite runs as a merge of the index ranges that stops at the limit: no branch reads more than
    the page needs and nothing is sorted (a third of the statement's time, two thirds with ``since``).
    PostgreSQL plans that compound as whole ranges scanned and sorted (60 ms for 100,000 orders), so there each
    branch keeps its own limit and the page sorts their union: bounded work everywhere.
    """
    table = Order.__table__
    limit = bindparam("limit", type_=Integer)
    branches = []
    for n in range(shops):
        query = select(table.c.id, table.c.ship_by).where(
            table.c.shop_id == bindparam(f"shop_{n}"), table.c.status == bindparam("status")
        )
        if since:
            query = query.where(table.c.updated_at >= bindparam("since"))
        if after:
            query = query.where(
                table.c.ship_by >= bindparam("after_ship_by"),
                or_(table.c.ship_by > bindparam("after_ship_by"), table.c.id > bindparam("after_id")),
            )
        branches.append(query)
    if lazy_merge or shops == 1:
        compound = union_all(*branches) if shops > 1 else branches[0]
        key = compound.selected_columns
        page = compound.order_by(key.ship_by, key.id).limit(limit).subquery()
    else:
        ranges = [query.order_by(table.c.ship_by, table.c.id).limit(limit).subquery().select() for query in branches]
        merged = union_all(*ranges).subquery()
        page = select(merged.c.id).order_by(merged.c.ship_by, merged.c.id).limit(limit).subquery()
    # Then the columns of those orders only.
    columns = (
        type_coerce(table.c[name], _StoredUTC()).label(name) if name in _QUEUE_TIMES else table.c[name]
        for name in QUEUE_COLUMNS
    )
    return select(*columns).join_from(table, page, table.c.id == page.c.id).order_by(table.c.ship_by, table.c.id)


def shop_orders_page(
    shop: Shop,
    *,
    status: str | None = None,
    exemption: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """One page of a shop's orders, oldest first (by id), optionally by state and exemption.

    :raise InvalidDataError: a cursor this API did not hand out.
    """
    after = _decode(cursor, ("i", "t")) if cursor else None
    pulled_at = after["t"] if after else utcnow()
    query = select(Order).where(Order.shop_id == shop.id)
    if status:
        query = query.where(Order.status == status)
    if exemption is not None:
        query = query.where(Order.exemption == exemption)
    if since is not None:
        query = query.where(Order.updated_at >= _utc(since))
    if after:
        query = query.where(Order.id > after["i"])
    rows = list(db.session.scalars(query.order_by(Order.id).limit(limit + 1)))
    next_cursor = _encode({"i": rows[limit - 1].id, "t": _micros(pulled_at)}) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor, pulled_at)


def recipient(order: Order, *, full: bool) -> dict[str, Any]:
    """The recipient as the caller may see them: in full, or masked as lists mask them."""
    return recipient_of(
        order.recipient_name,
        order.recipient_phone,
        order.province,
        order.city,
        order.district,
        order.address_detail,
        order.postcode,
        full=full,
    )


def recipient_of(
    name: str, phone: str, province: str, city: str, district: str, detail: str, postcode: str, *, full: bool
) -> dict[str, Any]:
    """``recipient`` from the columns themselves (a queue row)."""
    if not full:
        name, phone, detail = privacy.mask_name(name), privacy.mask_phone(phone), privacy.mask_address_detail(detail)
    return {
        "masked": not full,
        "name": name,
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "detail": detail,
        "postcode": postcode,
    }


def queue_order_dict(row, *, full: bool) -> dict[str, Any]:
    """A queue_page row as the API's order object (schemas.OrderOut), recipient masked unless ``full``."""
    (
        order_id,
        shop_id,
        platform_order_no,
        status,
        paid_at,
        ship_by,
        updated_at,
        shipped_at,
        courier_company,
        tracking_no,
        exemption,
        address_flagged,
        item_summary,
        item_count,
        buyer_message,
        *place,
    ) = row  # in QUEUE_COLUMNS order
    return {
        "id": order_id,
        "shop_id": shop_id,
        "platform_order_no": platform_order_no,
        "status": status,
        "paid_at": paid_at,
        "ship_by": ship_by,
        "updated_at": updated_at,
        "shipped_at": shipped_at,
        "courier_company": courier_company,
        "tracking_no": tracking_no,
        "exemption": exemption,
        "address_flagged": address_flagged,
        "item_summary": item_summary,
        "item_count": item_count,
        "buyer_message": buyer_message,
        "recipient": recipient_of(*place, full=full),
    }


_SHOP_ID, _ORDER_NO = QUEUE_COLUMNS.index("shop_id"), QUEUE_COLUMNS.index("platform_order_no")


def queue_orders(rows: list, full_shop_ids: set[int]) -> tuple[list[dict[str, Any]], dict[int, list[str]]]:
    """A queue_page's rows as the API's order objects, and per shop the numbers of those shown in full.

    Recipients are in full in the shops of ``full_shop_ids`` while orders.details_open_to_couriers says so,
    masked everywhere else. One pass that reads a row's shop and number by position: a Row's attribute costs
    15 times its index (0.35 µs), and the page would ask 300 of them.
    """
    result = []
    shown: dict[int, list[str]] = {}
    for row in rows:
        shop_id = row[_SHOP_ID]
        full = shop_id in full_shop_ids and orders.details_open_to_couriers(row)
        if full:
            shown.setdefault(shop_id, []).append(row[_ORDER_NO])
        result.append(queue_order_dict(row, full=full))
    return result, shown


def record_recipients_pulled(shown: dict[int, list[str]], *, actor: User) -> None:
    """One audit event per shop whose recipients left in full: the order numbers, as an export records them.

    ``shown``: per shop, the numbers of the orders shown in full (queue_orders). The events are written at
    once, in one statement, with what audit.record gives an event (the request's address as the session
    stamps it).
    """
    if not shown:
        return
    now = utcnow()
    ip = (request.remote_addr or "")[:45] if has_request_context() else ""
    db.session.execute(
        _audit_insert(),
        [
            {
                "at": now,
                "actor_id": actor.id,
                "actor_name": actor.username,
                "shop_id": shop_id,
                "action": "recipients_pulled",
                "target": f"{len(order_nos)} orders"[:120],
                "details": {"via": "api", "order_nos": order_nos},
                "ip": ip,
            }
            for shop_id, order_nos in shown.items()
        ],
    )


@functools.cache
def _audit_insert():
    """record_recipients_pulled's statement, built once: a Core insert into the audit table. Every column is
    given, so the ORM's bulk path (its mapper and defaults, a fresh cache key per call) adds nothing but time."""
    return insert(AuditEvent.__table__)


# Shipping ---------------------------------------------------------------------------------------


# Tracking numbers -------------------------------------------------------------------------------


class _Header:
    """What tracking_import's checker needs of a sheet's header: each column's heading, for messages."""

    heading = {"order_no": "platform_order_no", "tracking_no": "tracking_no"}


@dataclass(frozen=True)
class TrackingResult:
    labelled: int
    unchanged: int


def register_tracking_numbers(
    shop: Shop, company: CourierCompany, pairs: list[tuple[str, str]], *, actor: User
) -> TrackingResult:
    """The spreadsheet flow's import, given as (order number, tracking number) pairs: all or nothing.

    The same checks as a courier company's reply sheet (``tracking_import``), item by item; a pair the
    order already carries (same company, same number) is ``unchanged``, so a repeated call is harmless.

    :raise InvalidDataError: any pair has a problem; ``field_errors`` maps the item index to its
        fields' messages. Nothing is written.
    :raise ConflictError: an order stopped being pending while this ran.
    """
    tracking_import._lock(company)
    order_nos = [order_no for order_no, _number in pairs]
    current = {
        row.platform_order_no: row
        for row in db.session.execute(
            select(Order.platform_order_no, Order.tracking_no, Order.courier_company).where(
                Order.shop_id == shop.id, Order.platform_order_no.in_(order_nos)
            )
        )
    }
    todo, unchanged = [], 0
    for index, (order_no, number) in enumerate(pairs):
        row = current.get(order_no)
        held = row is not None and row.courier_company == company.code and row.tracking_no == number
        if held and order_nos.index(order_no) == index:
            unchanged += 1
        else:
            todo.append((index, {"order_no": order_no, "tracking_no": number}))
    report = tracking_import.TrackingReport(company=company.code)
    checker = tracking_import._Checker(shop, company, _Header(), report)
    numbers: dict[int, str] = {}
    for start in range(0, len(todo), tracking_import.CHUNK_ROWS):
        numbers.update(checker.check(todo[start : start + tracking_import.CHUNK_ROWS]))
    if report.error_count:
        problems: dict[str, dict[str, str]] = {}
        for problem in report.errors:
            problems.setdefault(str(problem.row), {}).setdefault(problem.column, problem.message)
        message = _("%(n)d numbers have problems; nothing was registered.", n=len(problems))
        raise InvalidDataError(message, problems)
    if numbers:
        tracking_import.register_numbers(shop, company, numbers, actor=actor)
        audit.record(
            "tracking_imported",
            actor=actor,
            shop=shop,
            target="api",
            company=company.code,
            count=len(numbers),
            via="api",
        )
    return TrackingResult(len(numbers), unchanged)
