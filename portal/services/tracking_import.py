"""Importing a courier company's reply to an address export: a sheet of order number → tracking number.

The file is read by the order import's own reader (``spreadsheets.open_rows``: CSV in UTF-8 or GBK, or
XLSX, told apart by content; ``spreadsheets.read_header``: headings in any order, unknown columns ignored).
Every row is checked before anything is written; ``apply_tracking`` then labels all the orders at once
through ``orders.label_orders``, or none of them.

Each number becomes a ``Waybill`` row without a range (the company's unique number constraint
guards it, and the label can be reprinted or voided like any other) and goes on its order.
"""

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import insert, or_, select, update

from portal.extensions import db
from portal.models import CourierCompany, Order, OrderStatus, Shop, User, Waybill, WaybillRange, WaybillStatus
from portal.models.base import utcnow
from portal.services import audit, imports, orders, spreadsheets, waybills
from portal.services.errors import InvalidDataError
from portal.services.orders import clean_text

FilePath = str | os.PathLike[str]

# The form field of the uploaded file, named by errors that refuse the whole file.
FILE_FIELD = "tracking_file"
# Rows checked against the database together.
CHUNK_ROWS = 1000
# Problems kept in a report (the total is always counted).
MAX_ERRORS = imports.MAX_INVALID

TRACKING_COLUMNS = (
    spreadsheets.Column("order_no", "订单编号", ("order number", "order no", "platform order no")),
    # 运单号 is the courier's word, 物流单号 the seller centre's, 快递单号 everyone else's.
    spreadsheets.Column(
        "tracking_no",
        "运单号",
        ("tracking number", "tracking no", "waybill number", "waybill no", "物流单号", "快递单号", "运单编号"),
    ),
)
TRACKING_REQUIRED = (("order_no",), ("tracking_no",))


# The report -------------------------------------------------------------------------------------


@dataclass
class TrackingProblem:
    """One problem: the row as the seller sees it in Excel (the header is row 1) and the column heading."""

    row: int
    column: str
    message: str


@dataclass
class TrackingReport:
    """What importing this sheet does; stored as JSON (``as_dict``/``from_dict``) between preview and apply."""

    company: str = ""  # the courier company's code
    rows: int = 0  # data rows read (blank rows are not counted)
    ok_count: int = 0  # rows without a problem
    # The first MAX_ERRORS problems, in file order; error_count counts them all.
    errors: list[TrackingProblem] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        """No problem, and at least one order to label."""
        return self.error_count == 0 and self.ok_count > 0

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(TrackingProblem(row, column, message))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrackingReport":
        """The report stored by ``as_dict``; unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["errors"] = [TrackingProblem(**problem) for problem in values.get("errors", [])]
        return cls(**values)


class InvalidTrackingError(InvalidDataError):
    """``apply_tracking`` found problems and wrote nothing; ``report`` lists them."""

    def __init__(self, report: TrackingReport):
        if report.error_count:
            message = ngettext(
                "%(num)d problem found: no tracking number was imported.",
                "%(num)d problems found: no tracking number was imported.",
                report.error_count,
            )
        else:
            message = _("The file holds no order numbers and tracking numbers.")
        super().__init__(message, {FILE_FIELD: message})
        self.report = report


# Preview and apply ------------------------------------------------------------------------------


def preview_tracking(
    shop: Shop, path: FilePath, company: CourierCompany, *, progress: imports.Progress | None = None
) -> TrackingReport:
    """Check a reply sheet without writing anything: what ``apply_tracking`` would do. ``progress`` is called
    after each chunk with the share of the file read so far (0 to 1).

    :raise InvalidDataError: the file cannot be read as a sheet (empty, not a spreadsheet, neither UTF-8
        nor GBK, no header row, a required column missing); ``field_errors`` names ``tracking_file``.
        Problems in rows are not raised: they are in the report.
    """
    report, _numbers = _check_file(shop, path, company, progress)
    return report


def apply_tracking(
    shop: Shop,
    path: FilePath,
    company: CourierCompany,
    *,
    actor: User,
    file_name: str = "",
    progress: imports.Progress | None = None,
) -> int:
    """Give the sheet's orders their tracking numbers: each becomes ``labelled`` (all of them or none).

    Checks the file again first (as ``preview_tracking``, calling ``progress`` as it goes). Records a
    ``tracking_imported`` audit event for ``file_name`` (default: the file's name). No commit: the caller owns
    the transaction. Imports for one courier company wait for each other (its registry row is locked until the
    caller's transaction ends), so two shops cannot both take a number in flight.

    Returns how many orders were labelled.

    :raise InvalidDataError: the file cannot be read as a sheet (as in ``preview_tracking``).
    :raise InvalidTrackingError: (an InvalidDataError) a row has a problem, or there is no row;
        ``report`` lists the problems.
    :raise ConflictError: an order stopped being pending while this ran (nothing is written).
    """
    _lock(company)
    report, numbers = _check_file(shop, path, company, progress)
    if report.error_count or not numbers:
        raise InvalidTrackingError(report)
    register_numbers(shop, company, numbers, actor=actor)
    audit.record(
        "tracking_imported",
        actor=actor,
        shop=shop,
        target=file_name or Path(path).name,
        company=company.code,
        count=len(numbers),
    )
    return len(numbers)


def register_numbers(shop: Shop, company: CourierCompany, numbers: dict[int, str], *, actor: User) -> None:
    """Label checked orders with their numbers (order id -> number) and record the numbers as allocated.

    All or nothing: ``label_orders`` may fail half-way, so its first statement is rolled back too.
    :raise ConflictError: an order stopped being pending meanwhile.
    """
    with db.session.begin_nested():
        orders.label_orders(numbers, courier_code=company.code, actor=actor)
        now = utcnow()
        db.session.execute(
            insert(Waybill.__table__),
            [
                {
                    "shop_id": shop.id,
                    "company_id": company.id,
                    "tracking_no": number,
                    "order_id": order_id,
                    "status": WaybillStatus.ALLOCATED,
                    "allocated_at": now,
                    "allocated_by_id": actor.id,
                    "void_reason": "",
                }
                for order_id, number in numbers.items()
            ],
        )


def _lock(company: CourierCompany) -> None:
    """Lock the company's row until the caller's transaction ends, with a write that changes nothing.

    Concurrent imports of this company's numbers (into any shop) then check against each other's
    results. On SQLite it also opens the write transaction before the SAVEPOINT (see ``imports._lock``).
    """
    db.session.execute(
        update(CourierCompany)
        .where(CourierCompany.id == company.id)
        .values(code=CourierCompany.code)
        .execution_options(synchronize_session=False)
    )


def _check_file(
    shop: Shop, path: FilePath, company: CourierCompany, progress: imports.Progress | None = None
) -> tuple[TrackingReport, dict[int, str]]:
    """Every row checked; returns the report and order id → tracking number for the rows without problems."""
    report = TrackingReport(company=company.code)
    numbers: dict[int, str] = {}
    with spreadsheets.open_rows(path, FILE_FIELD) as rows:
        header = spreadsheets.read_header(rows, TRACKING_COLUMNS, TRACKING_REQUIRED, FILE_FIELD)
        checker = _Checker(shop, company, header, report)
        for chunk in _chunks(header, rows):
            numbers.update(checker.check(chunk))
            if progress:
                last = chunk[-1][0]  # the row number of the chunk's last row
                progress(last / max(rows.total, last))
        for number, position, message in rows.problems:
            report.add_error(number, header.heading_at(position), message)
    return report, numbers


def _chunks(header: Any, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    chunk = []
    for number, cells in rows:
        chunk.append((number, header.values(cells)))
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Row:
    number: int
    order_no: str = ""  # "" when the order number has a problem of its own
    tracking_no: str = ""  # normalised; "" when the number has a problem of its own
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column key, message)


class _Checker:
    """The checks of one file: the rows' own, then against the database a chunk at a time."""

    def __init__(self, shop: Shop, company: CourierCompany, header: Any, report: TrackingReport):
        self.shop = shop
        self.company = company
        self.heading = header.heading
        self.report = report
        # First row of each order number and tracking number: the only things that span the file.
        self.seen_orders: dict[str, int] = {}
        self.seen_numbers: dict[str, int] = {}
        self.ranges = list(db.session.scalars(select(WaybillRange).where(WaybillRange.company_id == company.id)))

    def check(self, chunk: list[tuple[int, dict[str, Any]]]) -> dict[int, str]:
        rows = [self._own_checks(number, values) for number, values in chunk]
        found = self._orders([row.order_no for row in rows if row.order_no])
        used = self._used_numbers([row.tracking_no for row in rows if row.tracking_no])
        valid: dict[int, str] = {}
        for row in rows:
            order = found.get(row.order_no) if row.order_no else None
            if row.order_no:
                problem = self._order_problem(row.order_no, order)
                if problem:
                    row.problems.append(("order_no", problem))
            if row.tracking_no:
                problem = used.get(row.tracking_no) or self._range_problem(row.tracking_no)
                # A number already on this very order: the order's own problem says so.
                if problem and not (order is not None and order.tracking_no == row.tracking_no):
                    row.problems.append(("tracking_no", problem))
            self.report.rows += 1
            for key, message in row.problems:
                self.report.add_error(row.number, self.heading[key], message)
            if not row.problems:
                self.report.ok_count += 1
                valid[order.id] = row.tracking_no
        return valid

    def _own_checks(self, number: int, values: dict[str, Any]) -> _Row:
        """Empty cells, numbers Excel mangled, the company's number rule, duplicates within the file."""
        row = _Row(number)
        order_no = clean_text(values["order_no"])
        if not order_no:
            row.problems.append(("order_no", _("The order number is missing.")))
        elif imports._EXCEL_NUMBER.match(order_no):
            row.problems.append(
                (
                    "order_no",
                    _(
                        "Excel turned order number %(no)s into a number and lost its last digits: "
                        "format the column as text, or use the file as the courier company sent it.",
                        no=order_no,
                    ),
                )
            )
        else:
            first = self.seen_orders.setdefault(order_no, number)
            if first == number:
                row.order_no = order_no
            else:
                row.problems.append(("order_no", _("Order %(no)s is also in row %(row)d.", no=order_no, row=first)))

        raw = clean_text(values["tracking_no"])
        if not raw:
            row.problems.append(("tracking_no", _("The tracking number is missing.")))
        elif imports._EXCEL_NUMBER.match(raw):
            row.problems.append(
                (
                    "tracking_no",
                    _(
                        "Excel turned tracking number %(no)s into a number and lost its last digits: "
                        "format the column as text, or use the file as the courier company sent it.",
                        no=raw,
                    ),
                )
            )
        else:
            try:
                tracking_no = waybills.validate_number(self.company, raw, field="tracking_no")
            except InvalidDataError as error:
                row.problems.append(("tracking_no", error.message))
            else:
                first = self.seen_numbers.setdefault(tracking_no, number)
                if first == number:
                    row.tracking_no = tracking_no
                else:
                    message = _("Tracking number %(number)s is also in row %(row)d.", number=tracking_no, row=first)
                    row.problems.append(("tracking_no", message))
        return row

    def _orders(self, order_nos: list[str]) -> dict[str, Any]:
        """Order number -> (id, status, tracking_no) of this shop's orders among them."""
        if not order_nos:
            return {}
        found = db.session.execute(
            select(Order.platform_order_no, Order.id, Order.status, Order.tracking_no).where(
                Order.shop_id == self.shop.id, Order.platform_order_no.in_(order_nos)
            )
        )
        return {order.platform_order_no: order for order in found}

    @staticmethod
    def _order_problem(order_no: str, order: Any) -> str:
        if order is None:
            return _("Order %(no)s is not in this shop.", no=order_no)
        if order.status == OrderStatus.PENDING:
            return ""
        if order.status == OrderStatus.CANCELLED:
            return _("Order %(no)s is cancelled: only pending orders take a tracking number.", no=order_no)
        return _(
            "Order %(no)s is already %(status)s (tracking number %(tracking)s): "
            "only pending orders take a tracking number.",
            no=order_no,
            status=orders.status_label(order.status),
            tracking=order.tracking_no or "—",
        )

    def _used_numbers(self, numbers: list[str]) -> dict[str, str]:
        """Number → why it cannot be used: it is on an order or was handed out from a range already.

        Numbers belong to the courier company: an order of any shop with this company's number counts. In
        this shop a number of another company counts too: the packing desk finds parcels by number alone.
        """
        if not numbers:
            return {}
        problems: dict[str, str] = {}
        waybill_rows = db.session.execute(
            select(Waybill.tracking_no, Waybill.status).where(
                Waybill.tracking_no.in_(numbers),
                or_(Waybill.company_id == self.company.id, Waybill.shop_id == self.shop.id),
            )
        ).all()
        for tracking_no, status in waybill_rows:
            if status == WaybillStatus.VOIDED:
                problems[tracking_no] = _(
                    "Tracking number %(number)s was voided: a number is never used twice.", number=tracking_no
                )
            else:
                problems[tracking_no] = _(
                    "Tracking number %(number)s was already handed out for a printed label.", number=tracking_no
                )
        order_rows = db.session.execute(
            select(Order.tracking_no, Order.shop_id, Order.platform_order_no)
            .where(
                Order.tracking_no.in_(numbers),
                or_(Order.courier_company == self.company.code, Order.shop_id == self.shop.id),
            )
            .order_by(Order.id)
        ).all()
        for tracking_no, shop_id, order_no in order_rows:
            if shop_id == self.shop.id:
                problems[tracking_no] = _(
                    "Tracking number %(number)s is already on order %(no)s.", number=tracking_no, no=order_no
                )
            else:  # another shop's: say so, without naming the shop or its order
                problems[tracking_no] = _(
                    "Tracking number %(number)s is already on another shop's order: check it with the courier company.",
                    number=tracking_no,
                )
        return problems

    def _range_problem(self, number: str) -> str:
        """A number inside a recorded range would be handed out again when labels are printed from it."""
        try:
            parts = waybills._split(self.company, number, "tracking_no")
        except InvalidDataError:  # letters among the digits, or too many digits: no range holds it
            return ""
        shape = (parts.prefix, parts.suffix, parts.digits, parts.check)
        for waybill_range in self.ranges:
            same_shape = shape == (
                waybill_range.prefix,
                waybill_range.suffix,
                waybill_range.serial_digits,
                waybill_range.check,
            )
            if same_shape and waybill_range.start_serial <= parts.serial <= waybill_range.end_serial:
                values = {"number": number, "range": waybills.range_label(waybill_range)}
                if waybill_range.shop_id == self.shop.id:
                    return _(
                        "Tracking number %(number)s is in this shop's range %(range)s, kept for printing labels: "
                        "printing would hand it out again.",
                        **values,
                    )
                return _(
                    "Tracking number %(number)s is in a number range another shop recorded: "
                    "check it with the courier company.",
                    **values,
                )
        return ""
