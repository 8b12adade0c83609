"""Importing a seller centre's order export (orders file, optional items file): preview it, then apply it.

Both files are read as streams, CSV (UTF-8 with or without BOM, or GBK/GB18030) or XLSX, told apart by
their content. Rows are handled in chunks of ``CHUNK_ROWS``: each chunk is mapped to the fields of
``orders.validate_order``, validated by it and saved by ``orders.save_orders`` (which places the chunk's
addresses in one ``regions.parse_addresses`` call). Only small counters span the file in memory: the order
numbers seen so far (for duplicates) go to a private temporary SQLite file, a chunk at a time, so memory does
not grow with the file. The items file is first checked row by row into another such file keyed by order
number; each chunk of orders takes its items from there.
"""

import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Order, OrderSource, OrderStatus, Shop, User
from portal.services import audit, orders, privacy, regions
from portal.services.errors import InvalidDataError
from portal.services.orders import clean_text
from portal.services.spreadsheets import Column, Header, Rows, open_rows, read_header

# Rows validated, address-parsed and saved together: bounds memory and keeps the statements bulk.
CHUNK_ROWS = 2000
# Invalid rows kept in a report (the total is always counted).
MAX_INVALID = 500
# Row numbers kept for a note such as "items for orders not in the orders file".
MAX_NOTE_ROWS = 20
# Distinct statuses counted one by one in a report; the rest are counted together as "…".
MAX_STATUSES = 50
# Orders the preview shows as they will be stored, for the seller to check before confirming.
PREVIEW_ROWS = 100

FilePath = str | os.PathLike[str]
# Called as an import goes with the share of the file read so far (0 to 1), for a progress bar.
Progress = Callable[[float], None]

# Statuses that mean "paid, waiting to be shipped", compared after _status_key().
PENDING_STATUSES = frozenset({"买家已付款，等待卖家发货", "paid", "pending", "wait_seller_send_goods"})
# Excel turned a long order number into a number and lost its last digits: 2.02406E+18.
_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")


ORDER_COLUMNS = (
    Column("order_no", "订单编号", ("order no", "order number", "platform order no")),
    Column("buyer_nick", "买家会员名", ("buyer nick", "buyer")),
    Column("recipient_name", "收货人姓名", ("recipient name", "recipient")),
    Column("address", "收货地址", ("address",)),
    Column("address_modified", "修改后的收货地址", ("modified address",)),
    Column("mobile", "联系手机", ("phone", "mobile")),
    Column("landline", "联系电话", ("landline", "telephone")),
    Column("status", "订单状态", ("status",)),
    Column("paid_at", "订单付款时间", ("paid at", "paid time")),
    Column("item_title", "宝贝标题", ("item title", "title")),
    Column("quantity", "宝贝总数量", ("quantity",)),
    Column("buyer_message", "买家留言", ("buyer message",)),
    Column("seller_memo", "订单备注", ("seller memo",)),
    Column("amount", "买家实际支付金额", ("amount",)),
)
# Each group needs one of its columns.
ORDER_REQUIRED = (("order_no",), ("recipient_name",), ("address",), ("mobile", "landline"), ("paid_at",))

ITEM_COLUMNS = (
    Column("order_no", "订单编号", ("order no", "order number", "platform order no")),
    Column("title", "标题", ("title", "item title")),
    Column("price", "价格", ("price",)),
    Column("quantity", "购买数量", ("quantity",)),
    Column("outer_id", "外部系统编号", ("outer id",)),
    Column("attributes", "商品属性", ("attributes",)),
    Column("package", "套餐信息", ("package",)),
    Column("note", "备注", ("note",)),
    Column("status", "订单状态", ("status",)),
    Column("sku", "商家编码", ("sku",)),
)
ITEM_REQUIRED = (("order_no",), ("title",))

# validate_order's field -> our column key, where they differ (phone and address depend on the row).
_FIELD_COLUMN = {"platform_order_no": "order_no", "items": "item_title"}


# The report -------------------------------------------------------------------------------------


@dataclass
class InvalidRow:
    """One problem: the row as the seller sees it in Excel (the header is row 1) and the column heading."""

    file: str  # "orders" or "items"
    row: int
    column: str
    message: str


@dataclass
class PreviewRow:
    """One order of the preview as it will be stored: buyer details masked (the report is kept as JSON)."""

    order_no: str
    buyer: str  # masked recipient name and phone
    province: str
    city: str
    district: str
    flagged: bool  # the address could not be placed: imported, flagged for the seller to fix
    address: str  # the address as written, unit and room hidden: shown for flagged rows
    items: str
    ship_by: str  # ISO 8601, UTC
    action: str  # "new", "update" or "skip", as counted

    @property
    def ship_by_at(self) -> datetime:
        return datetime.fromisoformat(self.ship_by)


@dataclass
class ImportReport:
    """What an import of these files does; stored as JSON on the ImportBatch row (``as_dict``/``from_dict``)."""

    rows: int = 0  # data rows read (blank rows are not counted)
    new: int = 0
    # Known orders still pending: their details are refreshed.
    updated: int = 0
    # Known orders already labelled, packed, shipped or cancelled: never overwritten.
    skipped: int = 0
    # Rows not waiting to be shipped, by status as written in the file: not imported, not errors.
    not_pending: dict[str, int] = field(default_factory=dict)
    # The first MAX_INVALID problems, in file order; invalid_count counts them all.
    errors: list[InvalidRow] = field(default_factory=list)
    invalid_count: int = 0
    # Addresses whose province and city could not be found: imported and flagged for the seller to fix.
    unplaced: int = 0
    item_rows: int = 0
    # Orders whose items come from the items file instead of 宝贝标题/宝贝总数量.
    orders_with_items: int = 0
    # Items-file rows for orders that are not in the orders file (a note, not an error).
    items_unmatched: int = 0
    items_unmatched_rows: list[int] = field(default_factory=list)
    # The first PREVIEW_ROWS valid orders, as they will be stored (preview only).
    sample: list[PreviewRow] = field(default_factory=list)

    @property
    def importable(self) -> int:
        return self.new + self.updated

    @property
    def ok(self) -> bool:
        """No invalid row and at least one order to create or refresh."""
        return self.invalid_count == 0 and self.importable > 0

    @property
    def notes(self) -> list[str]:
        """Remarks that are not errors, in the current language (call it where a request selects one)."""
        notes = []
        if self.items_unmatched:
            rows = ", ".join(map(str, self.items_unmatched_rows))
            if self.items_unmatched > len(self.items_unmatched_rows):
                rows += ", …"
            notes.append(
                ngettext(
                    "%(num)d row of the items file is for an order not in the orders file (row %(rows)s): ignored.",
                    "%(num)d rows of the items file are for orders not in the orders file (rows %(rows)s): ignored.",
                    self.items_unmatched,
                    rows=rows,
                )
            )
        return notes

    def add_invalid(self, file: str, row: int, column: str, message: str) -> None:
        self.invalid_count += 1
        if len(self.errors) < MAX_INVALID:
            self.errors.append(InvalidRow(file, row, column, message))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImportReport":
        """The report stored by ``as_dict``; unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["errors"] = [InvalidRow(**row) for row in values.get("errors", [])]
        values["sample"] = [PreviewRow(**row) for row in values.get("sample", [])]
        return cls(**values)


class InvalidImportError(InvalidDataError):
    """``apply_import`` found invalid rows and wrote nothing; ``report`` lists them."""

    def __init__(self, report: ImportReport):
        message = ngettext(
            "%(num)d problem found: nothing was imported.",
            "%(num)d problems found: nothing was imported.",
            report.invalid_count,
        )
        files = {f"{problem.file}_file" for problem in report.errors} or {"orders_file"}
        super().__init__(message, dict.fromkeys(sorted(files), message))
        self.report = report


# Preview and apply ------------------------------------------------------------------------------


def preview_import(
    shop: Shop, orders_path: FilePath, items_path: FilePath | None = None, *, progress: Progress | None = None
) -> ImportReport:
    """Read and validate an export without writing anything: what ``apply_import`` would do.

    :raise InvalidDataError: a file cannot be read as an export (empty, not a spreadsheet, neither UTF-8
        nor GBK, no header row, required columns missing); ``field_errors`` names ``orders_file`` or
        ``items_file``. Problems in rows are not raised: they are in the report.
    """
    report = ImportReport()
    for chunk in _OrderReader(orders_path, items_path, report, progress).chunks():
        _classify(shop, chunk, report)
    return report


def apply_import(
    shop: Shop,
    orders_path: FilePath,
    items_path: FilePath | None = None,
    *,
    actor: User,
    file_name: str = "",
    import_batch_id: int | None = None,
    progress: Progress | None = None,
) -> orders.SaveResult:
    """Import an export: new orders are created, known pending ones refreshed, the others left alone.

    Rows are validated and saved chunk by chunk inside a SAVEPOINT of the caller's transaction (no
    commit): after the first invalid row nothing more is saved, the rest is only checked, and the
    savepoint is rolled back, so it is all valid rows or nothing. Items from the items file replace the
    item made from 宝贝标题/宝贝总数量 for the orders they belong to. Records an ``orders_imported`` audit
    event for ``file_name`` (default: the orders file's name). Concurrent imports into one shop wait for
    each other (the shop's row is locked until the caller's transaction ends).

    :raise InvalidDataError: a file cannot be read as an export (as in ``preview_import``).
    :raise InvalidImportError: (an InvalidDataError) a row is invalid; ``report`` lists the problems.
    """
    result = orders.SaveResult()
    report = ImportReport()
    _lock(shop)
    with db.session.begin_nested():  # rolled back if anything below raises
        for chunk in _OrderReader(orders_path, items_path, report, progress).chunks():
            if not chunk or report.invalid_count:
                continue
            saved = orders.save_orders(
                shop, chunk, actor=actor, source=OrderSource.IMPORT, import_batch_id=import_batch_id
            )
            result.created += saved.created
            result.updated += saved.updated + saved.unchanged  # as the preview counts them: pending, refreshed
            result.skipped += saved.skipped
            result.order_ids.extend(saved.order_ids)
        if report.invalid_count:
            raise InvalidImportError(report)
    audit.record(
        "orders_imported",
        actor=actor,
        shop=shop,
        target=file_name or Path(orders_path).name,
        created=result.created,
        updated=result.updated,
        skipped=result.skipped,
    )
    return result


def _lock(shop: Shop) -> None:
    """Lock the shop's row until the caller's transaction ends, with a write that changes nothing.

    A second import into the shop waits, then finds the first one's orders known instead of failing on
    the unique order number. It also opens the write transaction on SQLite, where pysqlite would
    otherwise start it with our SAVEPOINT, and RELEASE would then commit it (measured).
    """
    db.session.execute(
        update(Shop).where(Shop.id == shop.id).values(name=Shop.name).execution_options(synchronize_session=False)
    )


def _classify(shop: Shop, chunk: list[orders.OrderInput], report: ImportReport) -> None:
    """Count a chunk's orders as new, refreshed or skipped, and the addresses that cannot be placed."""
    if not chunk:
        return
    status_of = dict(
        db.session.execute(
            select(Order.platform_order_no, Order.status).where(
                Order.shop_id == shop.id, Order.platform_order_no.in_([o.platform_order_no for o in chunk])
            )
        ).all()
    )
    addresses, kept = [], []
    for order in chunk:
        status = status_of.get(order.platform_order_no)
        if status is None:
            report.new += 1
            action = "new"
        elif status == OrderStatus.PENDING:
            report.updated += 1
            action = "update"
        else:
            report.skipped += 1
            if len(report.sample) < PREVIEW_ROWS:
                report.sample.append(_preview_row(shop, order, None, "skip"))
            continue
        addresses.append(order.address)
        kept.append((order, action))
    places = regions.parse_addresses(addresses)
    report.unplaced += sum(1 for place in places if not place.placed)
    for (order, action), place in zip(kept, places, strict=True):
        if len(report.sample) >= PREVIEW_ROWS:
            break
        report.sample.append(_preview_row(shop, order, place, action))


def _preview_row(shop: Shop, order: orders.OrderInput, place: regions.ParsedAddress | None, action: str) -> PreviewRow:
    """An order of the preview; ``place`` None: a known order the import leaves alone (not placed again)."""
    name, phone = privacy.mask_name(order.recipient_name), privacy.mask_phone(order.recipient_phone)
    flagged = place is not None and not place.placed
    return PreviewRow(
        order_no=order.platform_order_no,
        buyer=f"{name} {phone}".strip(),
        province=place.province if place else "",
        city=place.city if place else "",
        district=place.district if place else "",
        flagged=flagged,
        address=privacy.mask_address_detail(order.address)[:120] if flagged else "",
        items=order.item_summary,
        ship_by=orders.ship_by_for(shop, order.paid_at).isoformat(),
        action=action,
    )


def add_cell_problems(rows: Rows, header: Header, report: Any, file: str) -> None:
    """The cells the reader cut (over the length limit) as row problems of the report."""
    for number, position, message in rows.problems:
        report.add_invalid(file, number, header.heading_at(position), message)


# The orders file --------------------------------------------------------------------------------


class _OrderReader:
    """One pass over the export: chunks of valid pending orders; problems and counts go to the report."""

    def __init__(
        self, path: FilePath, items_path: FilePath | None, report: ImportReport, progress: Progress | None = None
    ):
        self.path = path
        self.progress = progress
        self.items_path = items_path
        self.items: _ItemStore | None = None
        self.report = report
        # Order number -> first row: the one thing that must span the file (on disk, not in memory).
        self.seen = _SeenStore()

    def chunks(self) -> Iterator[list[orders.OrderInput]]:
        """:raise InvalidDataError: a file cannot be read as an export (the orders file is checked first)."""
        with open_rows(self.path, "orders_file") as rows, closing(self.seen):
            self.header = read_header(rows, ORDER_COLUMNS, ORDER_REQUIRED, "orders_file")
            with _item_store(self.items_path, self.report) as self.items:
                row_of = self.header.row
                chunk: list[tuple[int, tuple[Any, ...]]] = []
                for number, cells in rows:
                    chunk.append((number, row_of(cells)))
                    if len(chunk) == CHUNK_ROWS:
                        yield self._validate(chunk)
                        chunk = []
                        if self.progress:
                            self.progress(number / max(rows.total, number))
                if chunk:
                    yield self._validate(chunk)
                add_cell_problems(rows, self.header, self.report, "orders")
                if self.items is not None:
                    self.items.note_unmatched(self.seen, self.report)

    def _validate(self, chunk: list[tuple[int, tuple[Any, ...]]]) -> list[orders.OrderInput]:
        """The chunk's valid pending orders. Rows are tuples in ORDER_COLUMNS order (``Header.row``), not dicts:
        this runs for every row of the file."""
        report, heading = self.report, self.header.heading
        cleaned = [(number, cells, clean_text(cells[_ORDER_NO])) for number, cells in chunk]
        # First rows of this chunk's numbers in earlier chunks, then in this one.
        first_rows = self.seen.first_rows([order_no for _, _, order_no in cleaned if order_no])
        new_rows: dict[str, int] = {}
        pending = []
        report.rows += len(cleaned)
        for number, cells, order_no in cleaned:
            status = clean_text(cells[_STATUS])
            is_pending = _is_pending(status)
            if _EXCEL_NUMBER.match(order_no):
                if is_pending:
                    report.add_invalid(
                        "orders",
                        number,
                        heading["order_no"],
                        _(
                            "Excel turned order number %(no)s into a number and lost its last digits: "
                            "use the file as exported.",
                            no=order_no,
                        ),
                    )
                continue
            if order_no:
                first = first_rows.get(order_no) or new_rows.setdefault(order_no, number)
                if first != number:
                    report.add_invalid(
                        "orders",
                        number,
                        heading["order_no"],
                        _("Order %(no)s is also on row %(row)d.", no=order_no, row=first),
                    )
                    continue
            if not is_pending:
                if status not in report.not_pending and len(report.not_pending) >= MAX_STATUSES:
                    status = "…"  # a file of made-up statuses must not grow the report without end
                report.not_pending[status] = report.not_pending.get(status, 0) + 1
                continue
            pending.append((number, order_no, cells))
        self.seen.add(new_rows)
        items_of = self.items.items_for([no for _, no, _ in pending if no]) if self.items is not None else {}
        valid = []
        for number, order_no, cells in pending:
            data = _order_data(cells)
            items = items_of.get(order_no)
            if items:
                data["items"] = items
            order, errors = orders.validate_order(data)
            if errors:
                for field_name, message in errors:
                    report.add_invalid("orders", number, self._column(field_name, cells), message)
                continue
            if items:
                report.orders_with_items += 1
            valid.append(order)
        return valid

    def _column(self, field_name: str, cells: tuple[Any, ...]) -> str:
        """The heading, as written in the file, of the column a validate_order field came from."""
        values = dict(zip(self.header.keys, cells, strict=True))
        if field_name == "recipient_phone":
            key = "landline" if not clean_text(values["mobile"]) and clean_text(values["landline"]) else "mobile"
            if key not in self.header.index:  # a file with 联系电话 only
                key = "landline"
        elif field_name == "address":
            key = "address_modified" if clean_text(values["address_modified"]) else "address"
        else:
            key = _FIELD_COLUMN.get(field_name, field_name)
        return self.header.heading.get(key, field_name)


# Positions in a row of the orders file as Header.row gives it (ORDER_COLUMNS order).
_ORDER_KEYS = tuple(column.key for column in ORDER_COLUMNS)
_ORDER_NO, _STATUS = _ORDER_KEYS.index("order_no"), _ORDER_KEYS.index("status")


def _order_data(cells: tuple[Any, ...]) -> dict[str, Any]:
    """A row's cells (in ORDER_COLUMNS order) as the dict validate_order takes."""
    (
        order_no,
        buyer_nick,
        recipient_name,
        address,
        address_modified,
        mobile,
        landline,
        _status,
        paid_at,
        item_title,
        quantity,
        buyer_message,
        seller_memo,
        amount,
    ) = cells
    return {
        "platform_order_no": order_no,
        "recipient_name": recipient_name,
        "recipient_phone": mobile if clean_text(mobile) else landline,
        "address": address_modified if clean_text(address_modified) else address,
        "paid_at": paid_at,
        "buyer_nick": buyer_nick,
        "item_title": item_title,
        "quantity": quantity,
        "amount": amount,
        "buyer_message": buyer_message,
        "seller_memo": seller_memo,
    }


def _status_key(status: str) -> str:
    return "".join(status.split()).replace(",", "，").lower()


def _is_pending(status: str) -> bool:
    """Paid and waiting to be shipped. A blank status (or no status column) counts as pending."""
    return not status or status in PENDING_STATUSES or _status_key(status) in PENDING_STATUSES


# The items file ---------------------------------------------------------------------------------


class _ItemStore:
    """The items file, checked row by row, in a private temporary SQLite file keyed by order number."""

    def __init__(self) -> None:
        # "" = a temporary database on disk, deleted on close: memory stays flat however long the file.
        self.db = sqlite3.connect("")
        self.db.execute(
            "CREATE TABLE item (row INTEGER PRIMARY KEY, order_no TEXT, title TEXT, quantity TEXT,"
            " sku TEXT, attributes TEXT, price TEXT)"
        )
        self.db.execute("CREATE TEMP TABLE wanted (order_no TEXT PRIMARY KEY)")

    def load(self, path: FilePath, report: ImportReport) -> None:
        """Check and store every row of the items file; problems go to the report.

        :raise InvalidDataError: the file cannot be read as an items file.
        """
        with open_rows(path, "items_file") as rows:
            header = read_header(rows, ITEM_COLUMNS, ITEM_REQUIRED, "items_file")
            batch = []
            for number, cells in rows:
                report.item_rows += 1
                values = header.values(cells)
                row = self._check(number, values, header, report)
                if row is not None:
                    batch.append(row)
                if len(batch) == CHUNK_ROWS:
                    self.db.executemany("INSERT INTO item VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                    batch = []
            self.db.executemany("INSERT INTO item VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            add_cell_problems(rows, header, report, "items")
        self.db.execute("CREATE INDEX item_order_no ON item (order_no)")

    @staticmethod
    def _check(number: int, values: dict[str, Any], header: Header, report: ImportReport) -> tuple | None:
        order_no = clean_text(values["order_no"])
        title = clean_text(values["title"])
        attributes = "; ".join(
            text for text in (clean_text(values[key]) for key in ("attributes", "package", "note")) if text
        )
        item = {
            "title": title,
            "quantity": _text(values["quantity"]),
            "price": _text(values["price"]),
            "sku": clean_text(values["sku"]) or clean_text(values["outer_id"]),
            "attributes": attributes,
        }
        problems = [] if order_no else [(header.heading["order_no"], _("The order number is missing."))]
        # validate_order's own item rules, one item at a time so each problem gets its row.
        _items, errors = orders.validate_items({"items": [item]})
        title_named = False
        for field_name, message in errors:
            if field_name == "quantity":
                key = "quantity"
            elif not title and not title_named:
                key, title_named = "title", True
            else:
                key = "price"
            problems.append((header.heading.get(key, key), message))
        for column, message in problems:
            report.add_invalid("items", number, column, message)
        if problems:
            return None
        return (number, order_no, title, item["quantity"], item["sku"], attributes, item["price"])

    def items_for(self, order_nos: list[str]) -> dict[str, list[dict[str, str]]]:
        """Order number -> its items (as validate_order takes them), in file order."""
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((no,) for no in order_nos))
        items: dict[str, list[dict[str, str]]] = {}
        for order_no, title, quantity, sku, attributes, price in self.db.execute(
            "SELECT order_no, title, quantity, sku, attributes, price FROM item"
            " WHERE order_no IN (SELECT order_no FROM wanted) ORDER BY row"
        ):
            items.setdefault(order_no, []).append(
                {"title": title, "quantity": quantity, "sku": sku, "attributes": attributes, "price": price}
            )
        return items

    def note_unmatched(self, seen: "_SeenStore", report: ImportReport) -> None:
        """Count the rows for orders that are not in the orders file (at any status)."""
        rows = self.db.execute("SELECT order_no, row FROM item ORDER BY row")
        while batch := rows.fetchmany(CHUNK_ROWS):
            known = seen.first_rows([order_no for order_no, _ in batch])
            for order_no, row in batch:
                if order_no not in known:
                    report.items_unmatched += 1
                    if len(report.items_unmatched_rows) < MAX_NOTE_ROWS:
                        report.items_unmatched_rows.append(row)

    def close(self) -> None:
        self.db.close()


class _SeenStore:
    """The order numbers read so far with their first row, in a private temporary SQLite file."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "" = on disk, deleted on close: memory stays flat however long the file
        self.db.execute("CREATE TABLE seen (order_no TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def first_rows(self, order_nos: list[str]) -> dict[str, int]:
        """Order number -> first row, for those of these numbers already added."""
        found: dict[str, int] = {}
        for start in range(0, len(order_nos), CHUNK_ROWS):
            part = order_nos[start : start + CHUNK_ROWS]
            query = f"SELECT order_no, row FROM seen WHERE order_no IN ({', '.join('?' * len(part))})"  # noqa: S608
            found.update(self.db.execute(query, part))
        return found

    def add(self, first_rows: dict[str, int]) -> None:
        self.db.executemany("INSERT INTO seen VALUES (?, ?)", first_rows.items())

    def close(self) -> None:
        self.db.close()


@contextmanager
def _item_store(path: FilePath | None, report: ImportReport) -> Iterator[_ItemStore | None]:
    if path is None:
        yield None
        return
    store = _ItemStore()
    try:
        store.load(path, report)
        yield store
    finally:
        store.close()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
