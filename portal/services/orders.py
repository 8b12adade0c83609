"""Orders: validation of incoming orders, saving them in bulk, queries, and the one state machine.

Only this module assigns ``Order.status``. Every transition is a single conditional UPDATE, so a
double click, a second tab or two couriers scanning the same parcel cannot corrupt an order.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, update

from portal.extensions import db
from portal.models import Order, OrderEvent, OrderItem, OrderSource, OrderStatus, PrintBatchOrder, Shop, User
from portal.models.base import UTCDateTime, utcnow
from portal.services import exemptions, regions
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

CHINA = ZoneInfo("Asia/Shanghai")
ORDER_NO_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")
# Order fields that are user text, with their length limits.
TEXT_LIMITS = {
    "buyer_nick": 80,
    "recipient_name": 80,
    "address": 400,
    "item_summary": 300,
    "buyer_message": 2000,
    "seller_memo": 2000,
}
# The text fields validate_order reads, with their limits (item_summary is made from the items).
_INPUT_TEXTS = tuple((key, limit) for key, limit in TEXT_LIMITS.items() if key != "item_summary")

# Not shipped and not cancelled: the states a deadline runs in (overdue, due soon, exemptions).
OPEN_STATES = frozenset({OrderStatus.PENDING, OrderStatus.LABELLED, OrderStatus.PACKED})

# action -> (states it may start from, state it ends in)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "label": (frozenset({OrderStatus.PENDING}), OrderStatus.LABELLED),
    "pack": (frozenset({OrderStatus.LABELLED}), OrderStatus.PACKED),
    "ship": (frozenset({OrderStatus.PACKED}), OrderStatus.SHIPPED),
    "ship_unpacked": (frozenset({OrderStatus.LABELLED, OrderStatus.PACKED}), OrderStatus.SHIPPED),
    # A voided label sends the order back for a new number.
    "unlabel": (frozenset({OrderStatus.LABELLED, OrderStatus.PACKED}), OrderStatus.PENDING),
    "cancel": (OPEN_STATES, OrderStatus.CANCELLED),
}


@dataclass
class ItemInput:
    title: str
    quantity: int = 1
    sku: str = ""
    attributes: str = ""
    price_cents: int = 0


@dataclass
class OrderInput:
    """One validated incoming order, whatever it came from (export row, API object, form)."""

    platform_order_no: str
    recipient_name: str
    recipient_phone: str
    address: str
    paid_at: datetime
    buyer_nick: str = ""
    items: list[ItemInput] = field(default_factory=list)
    amount_cents: int = 0
    buyer_message: str = ""
    seller_memo: str = ""

    @property
    def item_summary(self) -> str:
        parts = [f"{item.title} ×{item.quantity}" if item.quantity != 1 else item.title for item in self.items]
        return "; ".join(parts)[:300]

    @property
    def item_count(self) -> int:
        return sum(item.quantity for item in self.items)


@dataclass
class SaveResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0  # known and no longer pending: left as they are
    unchanged: int = 0  # known, pending, and sent again as they are: not written (updated_at stays)
    order_ids: list[int] = field(default_factory=list)


# Validation ------------------------------------------------------------------------------------


def clean_text(value) -> str:
    """Text as a spreadsheet gives it: ``="123"`` and a leading ``'`` unwrapped, spaces trimmed."""
    if value.__class__ is str:  # nearly every call (each cell of an import, several times): no str() call
        text = value.strip()
    elif value is None:
        return ""
    else:
        text = str(value).strip()
    if text[:1] not in _WRAPPERS:
        return text
    if text[0] == "'":
        return text[1:].strip()
    if text.startswith('="') and text.endswith('"'):
        return text[2:-1].strip()
    return text


# First characters clean_text looks further at.
_WRAPPERS = frozenset("='")
_PHONE_NOISE = re.compile(r"[\s()（）]")


def normalize_phone(value: str) -> str:
    phone = clean_text(value)
    if not phone.isdigit():  # most phones are plain digits: nothing to remove
        phone = _PHONE_NOISE.sub("", phone)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone.lstrip("-")


def parse_time(value) -> datetime | None:
    """A paid time between the years 2000 and 2100: aware, or China time when none is given."""
    if isinstance(value, datetime):
        return _plausible(value)
    text = clean_text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            return None
    return _plausible(parsed)


def _plausible(moment: datetime) -> datetime | None:
    if not 2000 <= moment.year <= 2100:  # also keeps deadline arithmetic inside datetime's range
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=CHINA).astimezone(UTC)


# Amounts are kept in 32-bit integer columns (PostgreSQL ``integer``): ¥21,474,836.47 at most.
MAX_CENTS = 2**31 - 1


def parse_money(value) -> int | None:
    """Yuan as text or number → cents; None when it is not an amount."""
    text = clean_text(value).replace(",", "").replace("¥", "").replace("￥", "")
    if not text:
        return 0
    try:
        yuan = float(text)
    except ValueError:
        return None
    if not math.isfinite(yuan) or not 0 <= yuan <= MAX_CENTS / 100:
        return None
    return round(yuan * 100)


def validate_order(data: dict) -> tuple[OrderInput | None, list[tuple[str, str]]]:
    """Check one incoming order given as a dict of field → raw value.

    Fields: platform_order_no, recipient_name, recipient_phone, address, paid_at (all required),
    buyer_nick, items (list of dicts title/quantity/sku/attributes/price) or item_title + quantity,
    amount, buyer_message, seller_memo. Returns the order, or None and every (field, message).
    """
    errors: list[tuple[str, str]] = []
    order_no = clean_text(data.get("platform_order_no"))
    if not order_no:
        errors.append(("platform_order_no", _("The order number is missing.")))
    elif not ORDER_NO_RE.match(order_no):
        errors.append(("platform_order_no", _("The order number may only hold letters, digits, - and _.")))
    texts = {key: clean_text(data.get(key)) for key, _limit in _INPUT_TEXTS}
    for key in ("recipient_name", "address"):
        if not texts[key]:
            errors.append((key, _("This field is required.")))
    for key, limit in _INPUT_TEXTS:
        if len(texts[key]) > limit:
            errors.append((key, _("Longer than %(n)d characters.", n=limit)))
    phone = normalize_phone(data.get("recipient_phone", ""))
    if not phone:
        errors.append(("recipient_phone", _("The phone number is missing.")))
    elif "*" in phone:
        errors.append(
            ("recipient_phone", _("The phone number is masked (%(phone)s): export with full details.", phone=phone))
        )
    elif not (MOBILE_RE.match(phone) or LANDLINE_RE.match(phone)):
        errors.append(("recipient_phone", _("%(phone)s is not a mobile or landline number.", phone=phone[:20])))
    paid_raw = data.get("paid_at")
    paid_at = parse_time(paid_raw)
    if paid_at is None:
        if clean_text(paid_raw):
            errors.append(
                ("paid_at", _("%(value)s is not a time (use 2024-06-18 20:15:00).", value=clean_text(paid_raw)[:30]))
            )
        else:
            errors.append(("paid_at", _("The paid time is missing.")))
    items, item_errors = validate_items(data)
    errors.extend(item_errors)
    amount = parse_money(data.get("amount"))
    if amount is None:
        errors.append(("amount", _("%(value)s is not an amount.", value=clean_text(data.get("amount"))[:20])))
    if errors:
        return None, errors
    return (
        OrderInput(
            platform_order_no=order_no,
            recipient_name=texts["recipient_name"],
            recipient_phone=phone,
            address=texts["address"],
            paid_at=paid_at,
            buyer_nick=texts["buyer_nick"],
            items=items,
            amount_cents=amount or 0,
            buyer_message=texts["buyer_message"],
            seller_memo=texts["seller_memo"],
        ),
        [],
    )


def _quantity(value) -> int | None:
    text = clean_text(value)
    if not text:
        return 1
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or not 0 < number <= 100_000:
        return None
    return int(number)


def validate_items(data: dict) -> tuple[list[ItemInput], list[tuple[str, str]]]:
    raw_items = data.get("items")
    errors: list[tuple[str, str]] = []
    if raw_items is None:
        # One item from item_title + quantity (an export row): no price, SKU or attributes.
        title = clean_text(data.get("item_title"))
        item = _validate_item(errors, 1, title, data.get("quantity")) if title else None
        return ([item] if item else []), errors
    if not isinstance(raw_items, list):
        return [], [("items", _("Items must be a list."))]
    items = []
    for index, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, dict):
            errors.append(("items", _("Item %(n)d is not an object.", n=index)))
            continue
        get = raw.get
        item = _validate_item(errors, index, get("title"), get("quantity"), get("price"), get("sku"), get("attributes"))
        if item:
            items.append(item)
    return items, errors


def _validate_item(
    errors: list[tuple[str, str]],
    index: int,
    title_raw,
    quantity_raw,
    price_raw=None,
    sku_raw=None,
    attributes_raw=None,
) -> ItemInput | None:
    """Item ``index`` from its raw values, or None; its problems are appended to ``errors``.

    Positional values rather than a dict, and no parsing of absent values (an export row has no price, SKU or
    attributes): it runs once per row of an import.
    """
    title = clean_text(title_raw)[:300]
    quantity = _quantity(quantity_raw)
    price = 0 if price_raw is None else parse_money(price_raw)  # parse_money(None) is 0
    if not title:
        errors.append(("items", _("Item %(n)d has no title.", n=index)))
    if quantity is None:
        errors.append(("quantity", _("The quantity must be a whole number from 1 to 100000.")))
    if price is None:
        errors.append(("items", _("Item %(n)d has a price that is not an amount.", n=index)))
    if title and quantity and price is not None:
        sku = "" if sku_raw is None else clean_text(sku_raw)[:80]
        attributes = "" if attributes_raw is None else clean_text(attributes_raw)[:300]
        return ItemInput(title, quantity, sku, attributes, price)
    return None


# Saving ----------------------------------------------------------------------------------------


def ship_by_for(shop: Shop, paid_at: datetime) -> datetime:
    return paid_at + timedelta(hours=shop.promise_hours)


def save_orders(
    shop: Shop, inputs: list[OrderInput], *, actor: User | None, source: str, import_batch_id: int | None = None
) -> SaveResult:
    """Insert new orders and update known ones that are still pending; skip the rest.

    Idempotent on the platform order number. Bulk statements, no commit (the caller owns it).
    """
    result = SaveResult()
    if not inputs:
        return result
    # order number -> id; pending order id -> its stored columns (as ``_content`` builds them).
    known: dict[str, int] = {}
    pending: dict[int, tuple] = {}
    table = Order.__table__
    # Locked until the caller commits (PostgreSQL): a label printed meanwhile waits, so an order read as pending
    # is still pending when its new address is written.
    for order_no, order_id, status, *content in db.session.execute(
        select(table.c.platform_order_no, table.c.id, table.c.status, *(table.c[n] for n in _CONTENT_COLUMNS))
        .where(table.c.shop_id == shop.id, table.c.platform_order_no.in_([o.platform_order_no for o in inputs]))
        .with_for_update()
    ):
        known[order_no] = order_id
        if status == OrderStatus.PENDING:
            pending[order_id] = tuple(content)
    places = regions.parse_addresses([o.address for o in inputs])
    now = utcnow()
    promise = timedelta(hours=shop.promise_hours)  # ship_by_for, read from the shop once per batch
    auto = exemptions.AutoRegions.for_shop(shop)
    new_columns = {
        "shop_id": shop.id,
        "status": OrderStatus.PENDING,
        "source": source,
        "created_at": now,
        "import_batch_id": import_batch_id,
    }
    if not auto.regions:  # the usual case: no auto region to check, each new order is simply not exempt
        new_columns.update(auto.columns({}))
    new_rows, updates, items_of = [], [], {}
    for order, place in zip(inputs, places, strict=True):
        row = _order_row(order, place, promise, now)
        order_id = known.get(order.platform_order_no)
        if order_id is None:
            if auto.regions:
                row.update(auto.columns(row))
            row.update(new_columns)
            new_rows.append(row)
        elif order_id in pending:
            updates.append({**row, "id": order_id})
            items_of[order_id] = order.items
        else:
            result.skipped += 1
    if updates:
        # Orders sent again exactly as they are stay untouched, so incremental pulls (``since``) skip them.
        stored_items = _stored_items([u["id"] for u in updates])
        unchanged = {
            u["id"] for u in updates if (pending[u["id"]], stored_items[u["id"]]) == _content(u, items_of[u["id"]])
        }
        for order_id in unchanged:
            del items_of[order_id]
        result.unchanged = len(unchanged)
        updates = [u for u in updates if u["id"] not in unchanged]
    if new_rows:
        _insert_many(table, new_rows)
        inserted = db.session.execute(
            select(table.c.id, table.c.platform_order_no)
            .where(
                table.c.shop_id == shop.id,
                table.c.platform_order_no.in_([row["platform_order_no"] for row in new_rows]),
            )
            .order_by(table.c.id)
        ).all()
        by_no = {o.platform_order_no: o for o in inputs}
        for order_id, order_no in inserted:
            items_of[order_id] = by_no[order_no].items
            result.order_ids.append(order_id)
        result.created = len(inserted)
    if updates:
        db.session.execute(update(Order), updates)
        db.session.execute(delete(OrderItem).where(OrderItem.order_id.in_([u["id"] for u in updates])))
        result.updated = len(updates)
        result.order_ids.extend(u["id"] for u in updates)
    item_rows = [
        {
            "order_id": order_id,
            "title": i.title,
            "sku": i.sku,
            "attributes": i.attributes,
            "quantity": i.quantity,
            "price_cents": i.price_cents,
        }
        for order_id, items in items_of.items()
        for i in items
    ]
    if item_rows:
        _insert_many(OrderItem.__table__, item_rows)
    return result


def _insert_many(table, rows: list[dict]) -> None:
    """INSERT rows that all have the same keys, in the caller's transaction.

    The rows go to the driver as tuples, each value converted by its column type's own bind processor:
    SQLAlchemy's generic per-row parameter handling costs more than the insert itself (an import of 50,000
    orders). On SQLite by the driver's executemany; on PostgreSQL (psycopg) by COPY, faster than any
    executemany (bench/import_orders.py compares them). Columns left out take their scalar defaults. With
    another driver, or a non-scalar default to apply, a plain Core executemany.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    left_out = [column for column in table.columns if column.key not in rows[0] and column.default is not None]
    sqlite = dialect.name == "sqlite" and dialect.paramstyle == "qmark"
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if not (sqlite or copy) or any(not c.default.is_scalar for c in left_out):
        connection.execute(insert(table), rows)
        return
    columns = [table.c[key] for key in keys] + left_out
    processors = [_bind_processor(column, dialect) for column in columns]
    converted = [(i, _last_value_cached(process)) for i, process in enumerate(processors[: len(keys)]) if process]
    defaults = tuple(
        process(column.default.arg) if process else column.default.arg
        for column, process in zip(left_out, processors[len(keys) :], strict=True)
    )
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(column.name) for column in columns)
    values_of = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    params = []
    for row in rows:
        values = [*values_of(row), *defaults]
        for i, convert in converted:
            values[i] = convert(values[i])
        params.append(tuple(values))
    if copy:
        # The session's own connection, so the rows are in its transaction (and savepoint). Names from the
        # table's metadata; the values travel as COPY data, never as SQL.
        cursor = connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as stream:
            for values in params:
                stream.write_row(values)
        return
    # Names from the table's metadata, values bound.
    sql = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    connection.exec_driver_sql(sql, params)


# What an order's content is, for telling a re-sent order from a changed one.
_CONTENT_COLUMNS = (
    "buyer_nick",
    "recipient_name",
    "recipient_phone",
    "address_raw",
    "address_flagged",
    "item_summary",
    "item_count",
    "amount_cents",
    "buyer_message",
    "seller_memo",
    "paid_at",
    "ship_by",
)
_ITEM_COLUMNS = ("title", "sku", "attributes", "quantity", "price_cents")


def _content(row: dict, items: list[ItemInput]) -> tuple:
    return (
        tuple(row[name] for name in _CONTENT_COLUMNS),
        tuple(tuple(getattr(item, name) for name in _ITEM_COLUMNS) for item in items),
    )


def _stored_items(order_ids: list[int]) -> dict[int, tuple]:
    """The stored items of these orders, in order, as ``_content`` builds them from an input."""
    items = OrderItem.__table__
    stored: dict[int, list[tuple]] = {order_id: [] for order_id in order_ids}
    for order_id, *values in db.session.execute(
        select(items.c.order_id, *(items.c[name] for name in _ITEM_COLUMNS))
        .where(items.c.order_id.in_(order_ids))
        .order_by(items.c.id)
    ):
        stored[order_id].append(tuple(values))
    return {order_id: tuple(values) for order_id, values in stored.items()}


def _order_row(order: OrderInput, place: "regions.ParsedAddress", promise: timedelta, now: datetime) -> dict:
    """An order's columns from its input and parsed address; ``promise`` is the shop's (``ship_by_for``)."""
    return {
        "platform_order_no": order.platform_order_no,
        "buyer_nick": order.buyer_nick,
        "recipient_name": order.recipient_name,
        "recipient_phone": order.recipient_phone,
        "address_raw": order.address,
        "province": place.province,
        "city": place.city,
        "district": place.district,
        "address_detail": place.detail[:300],
        "postcode": place.postcode,
        "province_code": place.province_code,
        "city_code": place.city_code,
        "district_code": place.district_code,
        "address_flagged": not place.placed,
        "item_summary": order.item_summary,
        "item_count": order.item_count,
        "amount_cents": order.amount_cents,
        "buyer_message": order.buyer_message,
        "seller_memo": order.seller_memo,
        "paid_at": order.paid_at,
        "ship_by": order.paid_at + promise,
        "updated_at": now,
    }


def create_order(shop: Shop, data: dict, *, actor: User, source: str = OrderSource.MANUAL) -> Order:
    """One order from a form.

    :raise InvalidDataError: a field is invalid (all field errors given).
    :raise ConflictError: the shop already has an order with this number.
    """
    order_input, errors = validate_order(data)
    if errors:
        first = errors[0][1]
        raise InvalidDataError(first, dict(reversed(errors)))
    if db.session.scalar(
        select(Order.id).where(Order.shop_id == shop.id, Order.platform_order_no == order_input.platform_order_no)
    ):
        message = _("Order %(no)s is already in this shop.", no=order_input.platform_order_no)
        raise ConflictError(message, {"platform_order_no": message})
    result = save_orders(shop, [order_input], actor=actor, source=source)
    order = db.session.get(Order, result.order_ids[0])
    _event(order.id, actor, "created", "", OrderStatus.PENDING, source)
    return order


# The state machine -----------------------------------------------------------------------------


def transition(order: Order, action: str, *, actor: User | None, note: str = "", **values) -> None:
    """Move one order along; ``values`` are other columns set in the same UPDATE.

    :raise ConflictError: the order is not in a state this action starts from (someone was first).
    """
    sources, target = TRANSITIONS[action]
    previous = order.status
    changed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_(sources))
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.refresh(order)
        raise ConflictError(
            _(
                "Order %(no)s is %(status)s: it cannot be %(action)s.",
                no=order.platform_order_no,
                status=status_label(order.status),
                action=action_label(action),
            )
        )
    db.session.refresh(order)
    _event(order.id, actor, action, previous, target, note)


def _bind_processor(column, dialect):
    """The column's bind processor; for a UTC datetime, a faster equal one when the dialect's stores the text
    ``isoformat`` writes (SQLite's default storage format): one C call instead of a format with seven fields."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and isinstance(column.type, UTCDateTime):
        samples = (datetime(2024, 6, 18, 4, 5, 6, 7, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, tzinfo=CHINA))
        if all(process(sample) == _utc_text(sample) for sample in samples):
            return _utc_text
    return process


def _utc_text(value: datetime | None) -> str | None:
    """An aware datetime as SQLite's DATETIME text in UTC, ``2024-06-18 04:05:06.000007`` (see _bind_processor)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _last_value_cached(process):
    """``process`` that converts a value again only when it differs from the last one (the batch's timestamps)."""
    last: list = [object(), None]

    def convert(value):
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def transition_row(order, action: str, *, actor_id: int | None, note: str = "", **values) -> None:
    """``transition`` for an order read as a plain row (``id``, ``status`` as read, ``platform_order_no``):
    the same conditional UPDATE and history event, as two prepared Core statements, with no ORM object to
    load or refresh (objects of this order already in the session are not refreshed).

    :raise ConflictError: the order is not in a state this action starts from (someone was first).
    """
    sources, target = TRANSITIONS[action]
    now = utcnow()
    connection = db.session.connection()
    changed = connection.execute(
        _ROW_TRANSITION,
        {"order_id": order.id, "sources": list(sources), "status": target, "updated_at": now, **values},
    ).rowcount
    if changed != 1:
        status = db.session.scalar(select(Order.__table__.c.status).where(Order.__table__.c.id == order.id))
        raise ConflictError(
            _(
                "Order %(no)s is %(status)s: it cannot be %(action)s.",
                no=order.platform_order_no,
                status=status_label(status),
                action=action_label(action),
            )
        )
    connection.execute(
        _ROW_EVENT,
        {
            "order_id": order.id,
            "at": now,
            "actor_id": actor_id,
            "action": action,
            "from_status": order.status,
            "to_status": target,
            "note": note[:300],
        },
    )


# transition_row's statements, built once; the UPDATE's SET columns are the keys of the parameters it is given.
_ROW_TRANSITION = update(Order.__table__).where(
    Order.__table__.c.id == bindparam("order_id"), Order.__table__.c.status.in_(bindparam("sources", expanding=True))
)
_ROW_EVENT = insert(OrderEvent.__table__)


def cancel_order(order: Order, *, actor: User, reason: str = "") -> None:
    """Cancel; a tracking number the order holds is voided (never reused)."""
    from portal.services import waybills

    transition(order, "cancel", actor=actor, note=reason)
    for waybill in waybills.waybills_of(order):
        if waybill.status == "allocated":
            waybills.void(waybill, actor=actor, reason=reason or "order cancelled")


def label_orders(numbers: dict[int, str], *, courier_code: str, actor: User | None) -> None:
    """Many pending orders become labelled with their tracking numbers: all of them or none.

    :raise ConflictError: one of them is no longer pending (printed by someone else meanwhile).
    """
    if not numbers:
        return
    sources, target = TRANSITIONS["label"]
    now = utcnow()
    changed = db.session.execute(
        update(Order)
        .where(Order.id.in_(list(numbers)), Order.status.in_(sources))
        .values(status=target, courier_company=courier_code, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != len(numbers):
        raise ConflictError(_("Some of these orders were labelled by someone else meanwhile: nothing was printed."))
    db.session.execute(
        update(Order).execution_options(synchronize_session=False),
        [{"id": order_id, "tracking_no": tracking_no} for order_id, tracking_no in numbers.items()],
    )
    db.session.execute(
        insert(OrderEvent),
        [
            {
                "order_id": order_id,
                "at": now,
                "actor_id": actor.id if actor else None,
                "action": "label",
                "from_status": OrderStatus.PENDING,
                "to_status": target,
                "note": tracking_no,
            }
            for order_id, tracking_no in numbers.items()
        ],
    )


def _event(order_id: int, actor: User | None, action: str, from_status: str, to_status: str, note: str = "") -> None:
    db.session.add(
        OrderEvent(
            order_id=order_id,
            actor_id=actor.id if actor else None,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note[:300],
        )
    )


# Lazy: each is translated when shown, in the language of that request.
STATUS_LABELS = {
    OrderStatus.PENDING: _l("pending"),
    OrderStatus.LABELLED: _l("labelled"),
    OrderStatus.PACKED: _l("packed"),
    OrderStatus.SHIPPED: _l("shipped"),
    OrderStatus.CANCELLED: _l("cancelled"),
}


def status_label(status: str) -> str:
    """A state's name in the request's language (one lookup: list pages call this for every row)."""
    label = STATUS_LABELS.get(status)
    return status if label is None else str(label)


def action_label(action: str) -> str:
    return {
        "label": _("labelled"),
        "pack": _("packed"),
        "ship": _("shipped"),
        "ship_unpacked": _("shipped"),
        "cancel": _("cancelled"),
    }.get(action, action)


# Queries ---------------------------------------------------------------------------------------


@dataclass
class OrderFilter:
    status: str = ""
    due_within_hours: int | None = None
    overdue: bool = False
    province_code: str = ""
    q: str = ""
    flagged: bool = False
    # Whether text search looks into recipient names and phones: not for a courier who may not see them.
    search_recipient: bool = True
    unflagged: bool = False  # only orders whose address was placed
    sku: str = ""  # orders holding an item of this SKU (商家编码)
    batch_id: int | None = None  # orders of this print batch
    paid_before: datetime | None = None


def filtered_orders(shop_ids: list[int], f: OrderFilter, now: datetime | None = None) -> Select:
    """Orders of these shops matching the filter, most urgent first."""
    now = now or utcnow()
    query = select(Order).where(Order.shop_id.in_(shop_ids))
    if f.status:
        query = query.where(Order.status == f.status)
    if f.overdue:
        query = query.where(Order.status.in_(OPEN_STATES), Order.ship_by < now)
    if f.due_within_hours is not None:
        query = query.where(
            Order.status.in_(OPEN_STATES),
            Order.ship_by >= now,
            Order.ship_by < now + timedelta(hours=f.due_within_hours),
        )
    if f.province_code:
        query = query.where(Order.province_code == f.province_code)
    if f.flagged:
        query = query.where(Order.address_flagged.is_(True))
    if f.unflagged:
        query = query.where(Order.address_flagged.is_(False))
    if f.sku:
        query = query.where(Order.id.in_(select(OrderItem.order_id).where(OrderItem.sku == f.sku.strip()[:80])))
    if f.batch_id is not None:
        query = query.where(
            Order.id.in_(select(PrintBatchOrder.order_id).where(PrintBatchOrder.batch_id == f.batch_id))
        )
    if f.paid_before is not None:
        query = query.where(Order.paid_at < f.paid_before)
    if f.q:
        text = f.q.strip()[:100]
        columns = [Order.platform_order_no, Order.tracking_no, Order.item_summary, Order.buyer_nick]
        if f.search_recipient:
            columns += [Order.recipient_name, Order.recipient_phone]
        query = query.where(or_(*(column.contains(text, autoescape=True) for column in columns)))
    return query.order_by(Order.ship_by, Order.id)


def status_counts(shop_ids: list[int]) -> dict[str, int]:
    rows = db.session.execute(
        select(Order.status, func.count()).where(Order.shop_id.in_(shop_ids)).group_by(Order.status)
    ).all()
    return dict(rows)


def details_open_to_couriers(order: Order, now: datetime | None = None) -> bool:
    """Couriers see (and export) full recipient details while the order is unshipped and for the
    shop's number of days after shipping; after that, masked (DESIGN: multi-account access)."""
    if order.status != OrderStatus.SHIPPED or order.shipped_at is None:
        return True
    return (now or utcnow()) - order.shipped_at <= timedelta(days=order.shop.detail_days)


def history(order: Order) -> list[OrderEvent]:
    """The order's events, oldest first."""
    return list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)))


@dataclass(frozen=True)
class Dashboard:
    counts: dict[str, int]
    due_6h: int
    overdue: int
    shipped_today: int
    shipped: int  # shipped and not exempt
    shipped_late: int  # of those, shipped after the deadline
    exempt: int  # shipped orders left out of the figures as exempt

    @property
    def late_rate(self) -> float | None:
        """Share of the shipped, not exempt orders that shipped after their deadline (None before any shipped)."""
        return self.shipped_late / self.shipped if self.shipped else None


def dashboard(shop_id: int, now: datetime | None = None) -> Dashboard:
    """The seller's figures: orders by state, due within 6 h, overdue, shipped today, late-shipment rate."""
    now = now or utcnow()
    mine = Order.shop_id == shop_id

    def count(*where) -> int:
        return db.session.scalar(select(func.count()).select_from(Order).where(mine, *where))

    midnight = datetime.combine(now.astimezone(CHINA).date(), datetime.min.time(), tzinfo=CHINA).astimezone(UTC)
    return Dashboard(
        counts=status_counts([shop_id]),
        due_6h=count(Order.status.in_(OPEN_STATES), Order.ship_by >= now, Order.ship_by < now + timedelta(hours=6)),
        overdue=count(Order.status.in_(OPEN_STATES), Order.ship_by < now),
        shipped_today=count(Order.status == OrderStatus.SHIPPED, Order.shipped_at >= midnight),
        shipped=count(Order.status == OrderStatus.SHIPPED, ~exemptions.exempt_condition()),
        shipped_late=count(
            Order.status == OrderStatus.SHIPPED, Order.shipped_at > Order.ship_by, ~exemptions.exempt_condition()
        ),
        exempt=count(Order.status == OrderStatus.SHIPPED, exemptions.exempt_condition()),
    )


# The seller's order list at volume ------------------------------------------------------------

PAGE_SIZES = (50, 100, 200, 500)
MAX_LIST_PAGE = 100_000  # a larger page number (any integer a URL holds) reads as this one
# sort key -> the ORDER BY; each is read in order from an index (models/batch.py) except SKU, which sorts by an
# order's smallest SKU.
SORTS = {
    "ship_by": (Order.ship_by, Order.id),
    "paid": (Order.paid_at, Order.id),
    "destination": (Order.province_code, Order.city_code, Order.id),
}


def _sorted_ids(query: Select, sort: str) -> Select:
    """``query``'s order ids (and sort keys) in the list's order. SKU sorts by each order's smallest SKU, joined
    from one pass over the items grouped by order (a subquery per order cost 3x as much at 200,000 orders)."""
    if sort == "sku":
        skus = select(OrderItem.order_id, func.min(OrderItem.sku).label("sku")).group_by(OrderItem.order_id).subquery()
        return (
            query.with_only_columns(Order.id, skus.c.sku.label("sort_key"))
            .outerjoin(skus, skus.c.order_id == Order.id)
            .order_by(skus.c.sku, Order.id)
        )
    return query.with_only_columns(Order.id).order_by(*SORTS.get(sort, SORTS["ship_by"]))


# What a row of the list shows, read as plain rows: a 500-row page builds no ORM objects.
LIST_COLUMNS = (
    Order.id,
    Order.platform_order_no,
    Order.status,
    Order.ship_by,
    Order.recipient_name,
    Order.recipient_phone,
    Order.province,
    Order.city,
    Order.district,
    Order.address_flagged,
    Order.item_summary,
    Order.exemption,
    Order.tracking_no,
)


@dataclass(frozen=True)
class ListPage:
    rows: list  # LIST_COLUMNS rows
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def order_list(
    shop_id: int,
    f: OrderFilter,
    *,
    sort: str = "ship_by",
    page: int = 1,
    per_page: int = 50,
    counts: dict[str, int] | None = None,
) -> ListPage:
    """One page of the shop's orders matching the filter, sorted (SORTS), as plain rows, and the total.

    The page's ids come first from an index in sort order (limit and offset on ids alone), then the columns of
    those ids only. The total: with no filter, the sum of ``counts`` (status_counts, which the page shows anyway;
    a second pass over 200,000 index entries cost 40 ms); else a count the index answers.
    """
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[0]
    query = filtered_orders([shop_id], f).order_by(None)
    if counts is not None and f == OrderFilter(search_recipient=f.search_recipient):
        total = sum(counts.values())
    else:
        total = db.session.scalar(query.with_only_columns(func.count()))
    page = min(max(page, 1), MAX_LIST_PAGE)  # past the last page: an empty page, as the other lists answer
    ids = _sorted_ids(query, sort).limit(per_page).offset((page - 1) * per_page).subquery()
    order_by = (ids.c.sort_key, Order.id) if sort == "sku" else SORTS.get(sort, SORTS["ship_by"])
    rows = db.session.execute(select(*LIST_COLUMNS).join(ids, Order.id == ids.c.id).order_by(*order_by)).all()
    return ListPage(rows, total, page, per_page)


def matching_ids(shop_id: int, f: OrderFilter, *, sort: str = "ship_by", limit: int) -> list[int]:
    """Ids of the shop's orders matching the filter, in the list's order, at most ``limit`` (the server's own
    reading of "all orders matching this filter": never ids a page posted)."""
    query = filtered_orders([shop_id], f).order_by(None)
    return list(db.session.scalars(_sorted_ids(query, sort).limit(limit)))


def shop_order_ids(shop_id: int, order_ids: list[int]) -> list[int]:
    """The given ids, in the given order, if every one is an order of the shop.

    :raise NotFoundError: one is not (another shop's order does not exist for this shop).
    """
    order_ids = list(dict.fromkeys(order_ids))
    found = set(db.session.scalars(select(Order.id).where(Order.id.in_(order_ids), Order.shop_id == shop_id)))
    if len(found) != len(order_ids):
        raise NotFoundError(_("Some of these orders are not in this shop."))
    return order_ids


@dataclass
class BulkResult:
    """What a bulk action did: the orders done, and each refused order with the reason."""

    done: list[str] = field(default_factory=list)  # order numbers
    refused: list[tuple[str, str]] = field(default_factory=list)  # (order number, reason)


def _refusal(order: Order, action: str) -> str:
    return _(
        "%(no)s is %(status)s: it cannot be %(action)s.",
        no=order.platform_order_no,
        status=status_label(order.status),
        action=action_label(action),
    )


def _bulk(order_ids: list[int], action: str, *, all_or_nothing: bool, apply) -> BulkResult:
    """Run ``apply(order)`` on each order that may take ``action``; refuse the rest, each with its reason.
    With ``all_or_nothing``, one refusal refuses them all (ConflictError listing them; the caller rolls back)."""
    sources, _target = TRANSITIONS[action]
    selected = list(db.session.scalars(select(Order).where(Order.id.in_(order_ids))))
    position = {order_id: index for index, order_id in enumerate(order_ids)}
    selected.sort(key=lambda order: position[order.id])
    result = BulkResult()
    for order in selected:
        if order.status not in sources:
            result.refused.append((order.platform_order_no, _refusal(order, action)))
    if result.refused and all_or_nothing:
        error = ConflictError(
            _(
                "%(n)d of the %(count)d orders cannot be %(action)s, so none was: %(first)s",
                n=len(result.refused),
                count=len(selected),
                action=action_label(action),
                first=result.refused[0][1],
            )
        )
        error.refused = result.refused
        raise error
    refused = {no for no, _reason in result.refused}
    for order in selected:
        if order.platform_order_no not in refused:
            apply(order)
            result.done.append(order.platform_order_no)
    return result


def cancel_orders(order_ids: list[int], *, actor: User, reason: str, all_or_nothing: bool = False) -> BulkResult:
    """Cancel many orders of one shop, in one unit of work: each keeps its history, a number it holds is voided.
    Shipped or cancelled orders are refused one by one with the reason (all of them, with ``all_or_nothing``).

    :raise InvalidDataError: no reason given. :raise ConflictError: all or nothing, and one was refused.
    """
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why these orders are cancelled.")
        raise InvalidDataError(message, {"reason": message})
    return _bulk(
        order_ids,
        "cancel",
        all_or_nothing=all_or_nothing,
        apply=lambda order: cancel_order(order, actor=actor, reason=reason[:300]),
    )


def pack_orders(order_ids: list[int], *, actor: User, all_or_nothing: bool = False) -> BulkResult:
    """Mark many labelled orders packed (without the desk's scan); others are refused one by one."""
    return _bulk(
        order_ids,
        "pack",
        all_or_nothing=all_or_nothing,
        apply=lambda order: transition(order, "pack", actor=actor, note="bulk"),
    )
