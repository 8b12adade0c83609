"""Uploaded spreadsheets (CSV or XLSX), read with stated limits that are checked before the content is parsed.

Every upload path that takes a sheet (the order export and its items file, the courier's tracking-number
reply, the operator's anomaly-region sheet) reads it through ``open_rows``. The limits are settings
(``Limits.configured``); a file past one is refused with a message that names the limit and how far the
file went past it, before it costs the worker more than a pass over its bytes:

- CSV: the whole file is checked as text first (UTF-8 or GBK, no NUL byte), its lines counted as it goes;
  when there are more lines than the row limit allows, the records are counted exactly (a quoted cell may
  span lines) before anything is parsed for real. A cell over the length limit or a quote that is never
  closed refuses the file, naming the row.
- XLSX: the zip's directory is checked (entries, each entry's inflated size, their total, the ratio of
  inflated to stored size), then every entry is inflated once as a stream, which checks its CRC and that it
  inflates to no more than it claims, while the worksheets are scanned for how many rows and columns they
  span. Only then does calamine (Rust) read the first sheet: it holds the whole rectangle of cells from A1
  to the last cell in memory, so that rectangle is bounded too (``cells``). A cell over the length limit is
  a row problem (``Rows.problems``), not a refusal.
"""

import codecs
import csv
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from portal.services.errors import InvalidDataError

READ_BLOCK = 1 << 20
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls files, and password-protected .xlsx (an OLE container)
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")  # the stream an encrypted .xlsx keeps its workbook in
_ZIP_SIGNATURE = b"PK\x03\x04"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<table", b"<head", b"<meta", b"mime-version:")
# Entries smaller than this may compress as well as they like (a repetitive style sheet): the ratio is not checked.
_RATIO_FROM_BYTES = 1 << 20
# In a worksheet's XML, every row tag with its number if it has one ("" if not), and every cell tag with its
# column letters if it has a reference ("" if not): one pass each.
_ROW_TAG = re.compile(rb'<row(?=[\s>/])(?:[^>]*?\sr="(\d+)")?')
_CELL_TAG = re.compile(rb'<c(?=[\s>/])(?:[^>]*?\sr="([A-Z]+)\d)?')
# A cell's own text (<v> value, <t> of an inline or rich string), a shared string, a cell naming one by number.
# The pieces scanned end just before a "<": a text runs to the next "<" or to the piece's end.
_CELL_TEXT = re.compile(rb"<(?:v|t)\b[^>]*>([^<]*)")
_SHARED_STRING = re.compile(rb"<si(?:/>|>(.*?)</si>)", re.DOTALL)
_SHARED_REF = re.compile(rb't="s"[^>]*>\s*<v>(\d{1,9})')  # starts with a literal: fast to find
_SHARED_STRINGS = "xl/sharedStrings.xml"
# Room for a tag around a cell's text.
_TAG_OVERLAP = 256


@dataclass(frozen=True)
class Limits:
    """What one uploaded sheet may hold; from the PORTAL_UPLOAD_* settings."""

    rows: int = 200_000
    columns: int = 200
    cell_chars: int = 32_767
    cells: int = 5_000_000
    text_bytes: int = 256 << 20
    uncompressed_bytes: int = 1024 << 20
    zip_entries: int = 1_000
    zip_ratio: int = 200

    @classmethod
    def configured(cls) -> "Limits":
        config = current_app.config
        return cls(
            rows=config["PORTAL_UPLOAD_MAX_ROWS"],
            columns=config["PORTAL_UPLOAD_MAX_COLUMNS"],
            cell_chars=config["PORTAL_UPLOAD_MAX_CELL_CHARS"],
            cells=config["PORTAL_UPLOAD_MAX_CELLS"],
            text_bytes=config["PORTAL_UPLOAD_MAX_TEXT_MB"] << 20,
            uncompressed_bytes=config["PORTAL_UPLOAD_MAX_UNCOMPRESSED_MB"] << 20,
            zip_entries=config["PORTAL_UPLOAD_MAX_ZIP_ENTRIES"],
            zip_ratio=config["PORTAL_UPLOAD_MAX_ZIP_RATIO"],
        )


# Headings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str  # Taobao's heading
    en: tuple[str, ...]  # English headings, normalised (lower case, "_" as space); the first is shown


@dataclass
class Header:
    index: dict[str, int]  # column key -> position
    heading: dict[str, str]  # column key -> heading as written (trimmed)
    keys: tuple[str, ...]  # every column key of the file kind, found or not

    def __post_init__(self) -> None:
        self.width = max(self.index.values()) + 1
        # Missing columns read the "" appended to each row by row().
        self._get = itemgetter(*(self.index.get(key, -1) for key in self.keys))
        self._at = {position: self.heading[key] for key, position in self.index.items()}

    def row(self, cells: list[Any]) -> tuple[Any, ...]:
        """The row's cells in ``keys`` order ("" when the row is short or the file has no such column).

        Pads ``cells`` in place (each row is a fresh list).
        """
        if len(cells) < self.width:
            cells.extend([""] * (self.width - len(cells)))
        cells.append("")
        return self._get(cells)

    def values(self, cells: list[Any]) -> dict[str, Any]:
        """column key -> the row's cell, as ``row`` reads it."""
        return dict(zip(self.keys, self.row(cells), strict=True))

    def heading_at(self, position: int) -> str:
        """The heading of the column at a position: as written for a known column, else its Excel letters."""
        return self._at.get(position) or column_letters(position)


def heading_key(heading: Any) -> str:
    """Headings compare without case, surrounding spaces, and with "_" and runs of spaces as one space."""
    text = "" if heading is None else str(heading)
    return " ".join(text.replace("\ufeff", "").replace("_", " ").split()).lower()


def read_header(
    rows: Iterator[tuple[int, list[Any]]],
    columns: tuple[Column, ...],
    required: tuple[tuple[str, ...], ...],
    file_field: str,
) -> Header:
    """Map the first non-blank row's headings to column keys.

    :raise InvalidDataError: no rows, no known heading, or required columns missing (all named).
    """
    lookup: dict[str, str] = {}
    for column in columns:
        for name in (column.zh, *column.en):
            lookup.setdefault(heading_key(name), column.key)
    for _number, cells in rows:
        index: dict[str, int] = {}
        heading: dict[str, str] = {}
        for position, cell in enumerate(cells):
            key = lookup.get(heading_key(cell))
            if key is not None and key not in index:
                index[key] = position
                heading[key] = str(cell).replace("\ufeff", "").strip()
        if not index:
            raise refusal(
                file_field,
                _(
                    "The first row holds none of the column headings this sheet needs (such as %(zh)s or %(en)s).",
                    zh=columns[0].zh,
                    en=columns[0].en[0].replace(" ", "_"),
                ),
            )
        by_key = {column.key: column for column in columns}
        missing = [by_key[group[0]] for group in required if not any(key in index for key in group)]
        if missing:
            names = ", ".join(f"{column.zh} ({column.en[0].replace(' ', '_')})" for column in missing)
            raise refusal(file_field, _("Required columns are missing: %(columns)s.", columns=names))
        return Header(index, heading, tuple(column.key for column in columns))
    raise refusal(file_field, _("The file is empty."))


def refusal(file_field: str, message: str) -> InvalidDataError:
    """The error refusing a whole file; ``field_errors`` names the form field of that file."""
    if file_field == "items_file":
        message = _("Items file: %(message)s", message=message)
    return InvalidDataError(message, {file_field: message})


def column_letters(position: int) -> str:
    """0 -> "A", 26 -> "AA": the column as Excel names it."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_number(letters: bytes) -> int:
    """b"A" -> 1, b"AA" -> 27."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _n(number: int) -> str:
    return format_decimal(number)


# Rows -------------------------------------------------------------------------------------------


@dataclass
class Rows:
    """The non-blank rows of a sheet as (row number in Excel, cells), once.

    ``problems`` collects (row, column position, message) for cells the reader would not pass on whole (over the
    length limit: cut to it); a reader adds them to its report as row problems once it has read every row.
    ``total`` is how many rows the file spans (XLSX), or its lines (CSV): an estimate for progress.
    """

    source: Iterator[tuple[int, list[Any]]]
    total: int
    problems: list[tuple[int, int, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        return self.source

    def __next__(self) -> tuple[int, list[Any]]:
        return next(self.source)


@contextmanager
def open_rows(path: str | Path, file_field: str, limits: Limits | None = None) -> Iterator[Rows]:
    """The non-blank rows of a CSV file or of an XLSX file's first sheet, checked against ``limits`` first.

    :raise InvalidDataError: the file is empty, not a spreadsheet, text in neither UTF-8 nor GBK, or past a
        limit (the message names the limit, and the row where one is met while reading).
    """
    limits = limits or Limits.configured()
    kind, lines = _sniff(path, file_field)
    if kind == "xlsx":
        workbook, rows = _xlsx_rows(path, file_field, limits)
        try:
            yield rows
        finally:
            workbook.close()
    else:
        with _csv_open(path, kind, lines, file_field, limits) as rows:
            yield rows


@contextmanager
def _csv_open(path: str | Path, encoding: str, lines: int, file_field: str, limits: Limits) -> Iterator[Rows]:
    with open(path, encoding=encoding, newline="") as text:
        if lines > limits.rows:
            _count_records(text, file_field, limits)
            text.seek(0)
        yield Rows(_csv_rows(text, file_field, limits), total=lines)


def check_file(path: str | Path, file_field: str, limits: Limits | None = None) -> None:
    """What can be told of a file before its rows are worked on, fast enough for the upload's own request:
    everything ``open_rows`` checks before parsing, and for a CSV a pass of the csv module over every record
    (a cell over the length limit, a quote never closed, a row too wide). A workbook's cells are not read.

    :raise InvalidDataError: as ``open_rows`` would, naming the limit or the row.
    """
    limits = limits or Limits.configured()
    kind, lines = _sniff(path, file_field)
    if kind == "xlsx":
        _check_xlsx(path, file_field, limits)
        return
    with _csv_open(path, kind, lines, file_field, limits) as rows:
        for _row in rows:
            pass


def _sniff(path: str | Path, file_field: str) -> tuple[str, int]:
    """Tell XLSX from CSV by content: ("xlsx", 0), or (the CSV's encoding, its lines). The encoding is
    utf-8-sig, else gb18030 (GBK's superset).

    :raise InvalidDataError: empty, binary (NUL bytes, an .xls, encrypted or UTF-16 file), a web page, or
        neither encoding fits.
    """
    with open(path, "rb") as raw:
        head = raw.read(512)
        if not head:
            raise refusal(file_field, _("The file is empty."))
        if head.startswith(_ZIP_SIGNATURE):
            return "xlsx", 0
        if head.startswith(_OLE_SIGNATURE):
            raw.seek(0)
            if _ENCRYPTED_PACKAGE in raw.read(READ_BLOCK):
                raise refusal(
                    file_field,
                    _("This workbook is protected by a password: open it in Excel, remove the password, save, upload."),
                )
            raise refusal(file_field, _("This is an old Excel .xls file: save it as .xlsx or CSV, then upload that."))
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise refusal(
                file_field, _("This is UTF-16 text: save it as CSV (UTF-8 or GBK) or XLSX, then upload that.")
            )
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS):
            raise refusal(
                file_field,
                _("This is a web page (HTML), not a spreadsheet: save it as .xlsx or CSV in Excel, then upload that."),
            )
        for encoding in ("utf-8-sig", "gb18030"):
            raw.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            lines = 0
            try:
                while block := raw.read(READ_BLOCK):
                    if b"\x00" in block:
                        line = lines + block.count(b"\n", 0, block.index(b"\x00")) + 1
                        raise refusal(
                            file_field,
                            _(
                                "Line %(line)s holds a NUL byte, which text never does: %(hint)s",
                                line=_n(line),
                                hint=_not_spreadsheet(),
                            ),
                        )
                    lines += block.count(b"\n")
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding, lines
    raise refusal(
        file_field,
        _("Could not read the file as UTF-8 or GBK text: save it as CSV (UTF-8 or GBK) or XLSX, then upload that."),
    )


def _not_spreadsheet() -> str:
    return _("This is not a spreadsheet: upload the CSV or XLSX file from the seller centre.")


def _too_many_rows(file_field: str, rows: int, limits: Limits) -> InvalidDataError:
    return refusal(
        file_field,
        _(
            "The file has %(rows)s rows; at most %(limit)s are read from one file (%(over)s too many): "
            "split it and upload the parts one after the other.",
            rows=_n(rows),
            limit=_n(limits.rows),
            over=_n(rows - limits.rows),
        ),
    )


# CSV --------------------------------------------------------------------------------------------


def _delimiter(first: str) -> str:
    # Comma as exported; tab when the seller saved "text (tab delimited)" from Excel.
    return "\t" if first.count("\t") > first.count(",") else ","


def _csv_reader(text: Any) -> Any:
    """The csv reader over the text, its delimiter told from the first line."""
    lines = iter(text)
    first = next(lines, "")
    # strict: a quote never closed is an error at the end of the file, not a last cell that swallowed the rest.
    return csv.reader(chain([first], lines), delimiter=_delimiter(first), strict=True)


def _count_records(text: Any, file_field: str, limits: Limits) -> None:
    """More lines than rows allowed: count the records (a quoted cell may span lines) before parsing them.

    :raise InvalidDataError: more records than the limit (the header is not one of them).
    """
    csv.field_size_limit(limits.cell_chars)
    records = _csv_reader(text)
    count = -1  # the header row
    try:
        for _record in records:
            count += 1
    except csv.Error:
        return  # the reading pass names the row
    if count > limits.rows:
        raise _too_many_rows(file_field, count, limits)


def _csv_rows(text: Any, file_field: str, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    # Python's csv module has one field limit for the whole process: every reader here sets the same one.
    csv.field_size_limit(limits.cell_chars)
    reader = _csv_reader(text)
    number = 0
    try:
        # Numbered by record, not by line: a quoted cell may span lines, and Excel shows it as one row.
        for number, cells in enumerate(reader, start=1):
            if len(cells) > limits.columns:
                raise _too_many_columns(file_field, number, len(cells), limits)
            # Blank = no cell holds anything but spaces; a filled first cell (the order number) settles it.
            if cells and (cells[0].strip() or "".join(cells).strip()):
                yield number, cells
    except csv.Error as error:
        row = number + 1
        if "field larger than field limit" in str(error):
            message = _(
                "Row %(row)s: a cell is longer than %(limit)s characters, the most one cell may hold.",
                row=_n(row),
                limit=_n(limits.cell_chars),
            )
        elif "expected after" in str(error):  # "a"b: a quote inside a quoted cell, not doubled
            message = _(
                'Row %(row)s: a quoted cell has a quote (") inside it that is not doubled ("").',
                row=_n(row),
            )
        else:  # a quote opened and never closed runs to the end of the file
            message = _(
                'Row %(row)s: a cell opens a quote (") that is never closed '
                "(the file ends on line %(line)s inside it).",
                row=_n(row),
                line=_n(reader.line_num),
            )
        raise refusal(file_field, message) from error


def _too_many_columns(file_field: str, row: int, width: int, limits: Limits) -> InvalidDataError:
    return refusal(
        file_field,
        _(
            "Row %(row)s has %(columns)s columns; at most %(limit)s are read (%(over)s too many).",
            row=_n(row),
            columns=_n(width),
            limit=_n(limits.columns),
            over=_n(width - limits.columns),
        ),
    )


# XLSX -------------------------------------------------------------------------------------------


def _check_zip(path: str | Path, file_field: str, limits: Limits) -> tuple[int, int]:
    """Check the workbook's zip before any XML is parsed; returns the (rows, columns) its sheets span.

    :raise InvalidDataError: not a readable zip, encrypted, or past a limit (entries, sizes, ratio, span).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise refusal(file_field, _not_spreadsheet()) from error
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.zip_entries:
            raise refusal(
                file_field,
                _(
                    "The workbook holds %(count)s files inside; at most %(limit)s are read "
                    "(a workbook with that many sheets is not an export).",
                    count=_n(len(entries)),
                    limit=_n(limits.zip_entries),
                ),
            )
        total = sum(entry.file_size for entry in entries)
        if total > limits.uncompressed_bytes:
            raise _too_large(file_field, total, limits)
        for entry in entries:
            if entry.flag_bits & 0x1:
                raise refusal(
                    file_field,
                    _("This workbook is protected by a password: open it in Excel, remove the password, save, upload."),
                )
            if entry.file_size > _RATIO_FROM_BYTES and entry.file_size > limits.zip_ratio * max(entry.compress_size, 1):
                raise refusal(
                    file_field,
                    _(
                        "%(name)s inside the workbook inflates %(ratio)s times (%(size)s MB from %(stored)s KB); "
                        "at most %(limit)s times is read: this is not an export.",
                        name=entry.filename[:80],
                        ratio=_n(entry.file_size // max(entry.compress_size, 1)),
                        size=_n(entry.file_size >> 20),
                        stored=_n(max(entry.compress_size >> 10, 1)),
                        limit=_n(limits.zip_ratio),
                    ),
                )
        # Shared strings first: the sheets' cells are counted with the length of the string each one names.
        entries.sort(key=lambda entry: entry.filename != _SHARED_STRINGS)
        scan = _Scan(file_field, limits)
        try:
            for entry in entries:
                scan.entry(archive, entry)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as error:
            # A CRC error: the entry inflates to other bytes than it claims (more, cut short or changed).
            raise refusal(file_field, _not_spreadsheet()) from error
    return scan.rows, scan.columns


class _Scan:
    """One pass over a workbook's inflated entries, with no XML parser: how many rows and columns its sheets
    span, and how much text its cells hold once a shared string is copied into every cell that names it (as
    calamine copies it). The text is checked as it goes: a cell longer than the cell limit could be in
    bytes (4 per character), or more text in all than PORTAL_UPLOAD_MAX_TEXT_MB, refuses the file."""

    def __init__(self, file_field: str, limits: Limits):
        self.file_field, self.limits = file_field, limits
        self.longest = 4 * limits.cell_chars + _TAG_OVERLAP  # bytes of one cell's text, tags included
        self.shared: list[int] = []  # bytes of each shared string
        self.text = self.rows = self.columns = 0

    def entry(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
        if entry.filename == _SHARED_STRINGS:
            self._blocks(archive, entry, self._shared_strings, b"<si")
        elif entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
            self.sheet_rows = self.row_tags = self.sheet_columns = self.refs = self.cell_tags = 0
            self._blocks(archive, entry, self._sheet, b"<")
            # A row or cell without its number takes the next one: bound the span by how many there are.
            self.rows = max(self.rows, self.sheet_rows, self.row_tags)
            self.columns = max(self.columns, self.sheet_columns + max(self.cell_tags - self.refs, 0))
        else:
            for _block in _entry_blocks(archive, entry, self.file_field):
                pass  # inflated all the same: its size and CRC are checked

    def _blocks(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, scan: Callable[[bytes], None], cut_at: bytes):
        """Hand ``scan`` the entry's text in pieces that end where ``cut_at`` starts (a tag is never cut)."""
        tail = b""
        for block in _entry_blocks(archive, entry, self.file_field):
            text = tail + block
            cut = text.rfind(cut_at)
            if cut < 0 or len(text) - cut > self.longest + READ_BLOCK:
                self._too_long(len(text) - max(cut, 0))  # one string (or tag) longer than any cell may be
            scan(text[:cut])
            tail = text[cut:]
        scan(tail)

    def _shared_strings(self, text: bytes) -> None:
        lengths = [len(string) for string in _SHARED_STRING.findall(text)]
        if lengths and max(lengths) > self.longest:
            self._too_long(max(lengths))
        self.shared += lengths

    def _sheet(self, text: bytes) -> None:
        numbers = _ROW_TAG.findall(text)
        self.row_tags += len(numbers)
        self.sheet_rows = max(self.sheet_rows, max(map(int, filter(None, numbers)), default=0))
        letters = _CELL_TAG.findall(text)
        self.cell_tags += len(letters)
        kinds = set(letters)
        self.refs += len(letters) - letters.count(b"") if b"" in kinds else len(letters)
        self.sheet_columns = max(self.sheet_columns, max(map(_column_number, kinds), default=0))
        values = _CELL_TEXT.findall(text)
        if values:
            longest = max(map(len, values))
            if longest > self.longest:
                self._too_long(longest)
            self.text += sum(map(len, values))
        shared, count = self.shared, len(self.shared)
        self.text += sum(shared[i] for i in map(int, _SHARED_REF.findall(text)) if i < count)
        if self.text > self.limits.text_bytes:
            raise self._refusal(
                _(
                    "The cells of the workbook hold more than %(limit)s MB of text (a shared string counts once "
                    "for every cell that shows it): split it and upload the parts one after the other.",
                    limit=_n(self.limits.text_bytes >> 20),
                )
            )

    def _too_long(self, size: int) -> None:
        raise self._refusal(
            _(
                "A cell inside the workbook holds %(kb)s KB of text; at most %(limit)s characters are read from "
                "one cell.",
                kb=_n(size >> 10),
                limit=_n(self.limits.cell_chars),
            )
        )

    def _refusal(self, message: str) -> InvalidDataError:
        return refusal(self.file_field, message)


def _entry_blocks(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, file_field: str) -> Iterator[bytes]:
    """An entry's inflated bytes, a block at a time, from its stored bytes: never more than it claims (zipfile's
    own reader would cut an entry that inflates to more at its claimed size and hand calamine the rest).

    :raise InvalidDataError: the entry inflates to more than it claims.
    :raise zipfile.BadZipFile: the entry's bytes are not what it claims (CRC, size, cut short).
    """
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise zipfile.BadZipFile(f"compression {entry.compress_type}")  # Excel writes only these two
    raw = archive.fp
    assert raw is not None
    raw.seek(entry.header_offset)
    local = raw.read(30)
    if len(local) < 30 or not local.startswith(_ZIP_SIGNATURE):
        raise zipfile.BadZipFile("no local header")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    raw.seek(entry.header_offset + 30 + name_length + extra_length)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if entry.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced, crc = entry.compress_size, 0, 0
    while left:
        stored = raw.read(min(READ_BLOCK, left))
        if not stored:
            raise zipfile.BadZipFile("cut short")
        left -= len(stored)
        while stored:
            if inflater is None:
                block, stored = stored, b""
            else:
                block = inflater.decompress(stored, READ_BLOCK)
                stored = inflater.unconsumed_tail
            produced += len(block)
            if produced > entry.file_size:
                raise refusal(
                    file_field,
                    _(
                        "%(name)s inside the workbook inflates to more than the %(size)s bytes it claims: "
                        "this is not an export.",
                        name=entry.filename[:80],
                        size=_n(entry.file_size),
                    ),
                )
            crc = zlib.crc32(block, crc)
            yield block
    if produced != entry.file_size or crc != entry.CRC or (inflater is not None and not inflater.eof):
        raise zipfile.BadZipFile("size or CRC")


def _too_large(file_field: str, size: int, limits: Limits) -> InvalidDataError:
    return refusal(
        file_field,
        _(
            "The workbook inflates to %(size)s MB; at most %(limit)s MB is read (%(over)s MB too much).",
            size=_n(size >> 20),
            limit=_n(limits.uncompressed_bytes >> 20),
            over=_n(max((size - limits.uncompressed_bytes) >> 20, 1)),
        ),
    )


def _check_xlsx(path: str | Path, file_field: str, limits: Limits) -> None:
    """The zip's checks, then the span of its sheets against the row, column and cell limits."""
    rows, columns = _check_zip(path, file_field, limits)
    if rows - 1 > limits.rows:  # the header is not one of them
        raise _too_many_rows(file_field, rows - 1, limits)
    if columns > limits.columns:
        raise refusal(
            file_field,
            _(
                "The sheet spans %(columns)s columns (to %(letters)s); at most %(limit)s are read.",
                columns=_n(columns),
                letters=column_letters(columns - 1),
                limit=_n(limits.columns),
            ),
        )
    if rows * columns > limits.cells:
        raise refusal(
            file_field,
            _(
                "The sheet spans %(rows)s rows by %(columns)s columns, %(cells)s cells; at most %(limit)s cells "
                "are read from one file: split it and upload the parts one after the other.",
                rows=_n(rows),
                columns=_n(columns),
                cells=_n(rows * columns),
                limit=_n(limits.cells),
            ),
        )


def _xlsx_rows(path: str | Path, file_field: str, limits: Limits) -> tuple[CalamineWorkbook, Rows]:
    _check_xlsx(path, file_field, limits)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError) as error:  # a zip file, but not a workbook calamine can read
        raise refusal(file_field, _not_spreadsheet()) from error
    result = Rows(iter(()), total=sheet.height)
    result.source = _sheet_rows(sheet, result, limits)
    return workbook, result


def _sheet_rows(sheet: Any, result: Rows, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    first = (sheet.start or (0, 0))[0] + 1  # calamine starts at the first row that holds anything
    longest = limits.cell_chars
    for number, row in enumerate(sheet.iter_rows(), start=first):
        cells = [value if value.__class__ is str else _xlsx_value(value) for value in row]
        for position in [p for p, cell in enumerate(cells) if cell.__class__ is str and len(cell) > longest]:
            message = _(
                "The cell holds %(chars)s characters; at most %(limit)s are read.",
                chars=_n(len(cells[position])),
                limit=_n(longest),
            )
            result.problems.append((number, position, message))
            cells[position] = cells[position][:longest]
        if any(not isinstance(cell, str) or cell.strip() for cell in cells):
            yield number, cells


def _xlsx_value(value: Any) -> Any:
    """A cell as text, the way the seller sees it; datetimes stay datetimes for parse_time."""
    if isinstance(value, str | datetime):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)  # naive = China time, for parse_time
    if isinstance(value, float):
        # Whole numbers (phones, quantities) without ".0"; beyond 2**53 digits are already lost: keep the
        # exponent so the order-number check can say so.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, time | timedelta):
        return str(value)
    return "" if value is None else str(value)
