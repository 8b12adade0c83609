"""Hostile and huge sheets through every upload path: a 422 naming what is wrong, the worker's memory barely
moves, and nothing is left behind (no order, no file under the upload folder). Every file is made here."""

import codecs
import html
import io
import os
import re
import struct
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order
from portal.services import spreadsheets
from tests.data.make_samples import PENDING, SIMPLE_HEADER

HEADER = ",".join(SIMPLE_HEADER)
ROW = (
    "2024070100000000{n:03d},茶友,陈晨,福建省 福州市 鼓楼区 五四路158号(350003),13512345678,{status},"
    "2024-07-01 09:30:00,大红袍,1,98"
)
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = b"</sheetData></worksheet>"
MB = 1 << 20


# Files ------------------------------------------------------------------------------------------


def workbook(path: Path, sheet_parts, extra: int = 0, shared: bytes = b"") -> Path:
    """An XLSX whose first sheet's XML is written from ``sheet_parts`` (bytes, streamed), plus ``extra`` sheets
    and the shared strings' XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if shared:
            archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD)
            for part in sheet_parts:
                sheet.write(part)
            sheet.write(SHEET_TAIL)
        for number in range(2, extra + 2):
            archive.writestr(f"xl/worksheets/sheet{number}.xml", SHEET_HEAD + SHEET_TAIL)
    return path


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def header_row() -> bytes:
    cells = b"".join(inline(spreadsheets.column_letters(i) + "1", h) for i, h in enumerate(SIMPLE_HEADER))
    return b'<row r="1">' + cells + b"</row>"


def one_cell_bomb(path: Path) -> Path:
    """One cell of 200 MB of "A": about 200 KB stored."""

    def parts():
        yield header_row() + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
        block = b"A" * MB
        for _ in range(200):
            yield block
        yield b"</t></is></c></row>"

    return workbook(path, parts())


def row_bomb(path: Path) -> Path:
    """2,000,000 rows of one shared cell."""

    def parts():
        yield header_row()
        for start in range(2, 2_000_002, 100_000):
            yield "".join(
                f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(start, start + 100_000)
            ).encode()

    return workbook(path, parts())


def far_corner(path: Path) -> Path:
    """Two cells, A1 and XFD1048576: calamine would hold the 17 billion cells between them."""
    return workbook(path, [header_row(), b'<row r="1048576">' + inline("XFD1048576", "x") + b"</row>"])


def wide_row(path: Path) -> Path:
    return workbook(path, [header_row(), b'<row r="2">' + inline("XFD2", "x") + b"</row>"])


def many_sheets(path: Path) -> Path:
    return workbook(path, [header_row()], extra=10_000)


def lying_entry(path: Path) -> Path:
    """A sheet that claims 1,000 bytes but inflates to 2 MB (the central directory and local header both lie)."""
    workbook(path, [header_row(), b"<!--" + b"x" * 2 * MB + b"-->"])
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    central = _central_record(data, name)
    struct.pack_into("<I", data, central + 24, 1000)
    local = struct.unpack_from("<I", data, central + 42)[0]
    struct.pack_into("<I", data, local + 22, 1000)
    path.write_bytes(bytes(data))
    return path


def _central_record(data: bytearray, name: bytes) -> int:
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + name_length]) == name:
            return at
        at += 4


def fan_out(path: Path) -> Path:
    """One 30,000-character shared string shown in 20,000 cells: 100 KB stored, 600 MB once every cell holds it."""
    shared = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + b"x" * 30_000
    shared += b"</t></si></sst>"
    rows = b"".join(f'<row r="{n}"><c r="D{n}" t="s"><v>0</v></c></row>'.encode() for n in range(2, 20_002))
    return workbook(path, [header_row(), rows], shared=shared)


def long_cell(path: Path) -> Path:
    """One 2 MB cell of text that compresses only 4 times: no ratio or size limit stops it before the scan."""
    random = bytes(os.urandom(2 * MB)).translate(bytes(b"ACGT"[byte % 4] for byte in range(256)))
    return workbook(path, [header_row(), b'<row r="2"><c r="A2" t="inlineStr"><is><t>', random, b"</t></is></c></row>"])


def html_page(path: Path) -> Path:
    path.write_text("<!DOCTYPE html><html><body><table><tr><td>订单编号</td></tr></table></body></html>")
    return path


def honest_workbook(path: Path, rows: list[list]) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, SIMPLE_HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    book.close()
    return path


def protected(path: Path, tmp_path: Path) -> Path:
    plain = honest_workbook(tmp_path / "plain.xlsx", [row_values(1)])
    with plain.open("rb") as source, path.open("wb") as out:
        OOXMLFile(source).encrypt("secret", out)
    return path


def old_xls(path: Path) -> Path:
    """The start of an OLE compound file holding a BIFF "Workbook" stream, as Excel 97-2003 writes it."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(2000))
    return path


def row_values(n: int) -> list:
    return ROW.format(n=n, status=PENDING).split(",")


def csv_file(path: Path, body: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(body.encode(encoding))
    return path


XLSX_CASES = {
    "one-cell bomb": (one_cell_bomb, "inflates 1,"),
    "row bomb": (row_bomb, "200,000"),
    "far corner": (far_corner, "1,048,575 rows"),
    "wide row": (wide_row, "16,384 columns"),
    "10,000 sheets": (many_sheets, "10,005 files inside"),
    "lying entry": (lying_entry, "more than the 1,000 bytes it claims"),
    "shared string fan-out": (fan_out, "more than 256 MB of text"),
    "2 MB cell": (long_cell, "KB of text; at most 32,767 characters are read from one cell"),
    "html as xlsx": (html_page, "web page"),
    "old xls": (old_xls, ".xls"),
}
# Per upload path: a header and a good row of its sheet.
SHEETS = {
    "orders": (HEADER, ROW.format(n=1, status=PENDING)),
    "items": ("订单编号,标题,价格,购买数量", "2024070100000000001,大红袍,98,1"),
    "tracking": ("订单编号,运单号", "2024070100000000001,73100000000001"),
    "regions": (
        "区划代码,适用于,级别,开始时间,结束时间,来源,备注",
        "330106,destination,auto,2024-07-01 00:00,2024-07-10 00:00,health_notice,x",
    ),
}
CSV_CASES = {
    "300,000-character field": (lambda head, row: f"{head}\n{row},{'x' * 300_000}\n", "Row 2"),
    "unterminated quote": (lambda head, row: f'{head}\n{row}\n"2024,unclosed\n2,3\n', "never closed"),
    "2,000,000 short rows": (lambda head, row: f"{head}\n" + "1,a\n" * 2_000_000, "2,000,000 rows"),
    "NUL byte": (lambda head, row: f"{head}\n{row}\x00\n", "NUL"),
}


# Checks -----------------------------------------------------------------------------------------


def peak_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024


def reset_peak() -> int:
    """Reset this process's peak RSS to its current RSS (Linux: clear_refs 5); returns it."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_mb()


def uploads(app) -> list[Path]:
    root = Path(app.config["PORTAL_UPLOAD_DIR"])
    return sorted(root.rglob("*")) if root.exists() else []


def state(app) -> tuple[int, list[Path]]:
    """The orders and the files under the upload folder (the demo world's evidence among them)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order)), uploads(app)


def refused(app, client, response, fragment: str, before: tuple[int, list[Path]]) -> None:
    text = html.unescape(response.get_data(as_text=True))
    shown = " ".join(re.sub(r"<[^>]+>", " ", text[text.find("<main") :]).split())[:1000]
    assert response.status_code == 422, shown
    assert fragment in text, shown
    assert client.get("/healthz").status_code == 200
    assert state(app) == before


def post_orders(client, shop, path: Path, items: Path | None = None, name: str | None = None):
    data = {"orders_file": (io.BytesIO(path.read_bytes()), name or path.name)}
    if items is not None:
        good = HEADER + "\n" + ROW.format(n=1, status=PENDING) + "\n"
        data = {
            "orders_file": (io.BytesIO(good.encode()), "orders.csv"),
            "items_file": (io.BytesIO(path.read_bytes()), items.name),
        }
    return client.post(f"/shops/{shop}/imports", data=data, content_type="multipart/form-data")


def post_tracking(client, shop, path: Path):
    data = {"company": "ZTO", "tracking_file": (io.BytesIO(path.read_bytes()), path.name)}
    return client.post(f"/shops/{shop}/tracking-import", data=data, content_type="multipart/form-data")


def post_regions(client, path: Path):
    data = {"regions_file": (io.BytesIO(path.read_bytes()), path.name)}
    return client.post("/operator/regions/import", data=data, content_type="multipart/form-data")


# Tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", XLSX_CASES)
def test_hostile_workbooks_are_refused_before_they_are_read(app, world, login, tmp_path, case):
    make, fragment = XLSX_CASES[case]
    path = make(tmp_path / "export.xlsx")
    seller, shop = login("seller1"), world["shops"]["seller1"]
    before = state(app)
    baseline = reset_peak()
    response = post_orders(seller, shop, path)
    growth = peak_mb() - baseline
    refused(app, seller, response, fragment, before)
    assert growth < 100, f"the worker grew by {growth} MB"


def test_password_protected_workbook(app, world, login, tmp_path):
    path = protected(tmp_path / "locked.xlsx", tmp_path)
    seller, shop = login("seller1"), world["shops"]["seller1"]
    refused(app, seller, post_orders(seller, shop, path), "password", state(app))


@pytest.mark.parametrize("case", CSV_CASES)
@pytest.mark.parametrize("route", ["orders", "items", "tracking", "regions"])
def test_hostile_csv_on_every_upload_path(app, world, login, tmp_path, case, route):
    body, fragment = CSV_CASES[case]
    path = csv_file(tmp_path / "sheet.csv", body(*SHEETS[route]))
    before = state(app)
    baseline = reset_peak()
    if route == "regions":
        client = login("operator")
        response = post_regions(client, path)
    else:
        client, shop = login("seller1"), world["shops"]["seller1"]
        post = {"orders": post_orders, "tracking": post_tracking}.get(route)
        response = post(client, shop, path) if post else post_orders(client, shop, path, items=path)
    growth = peak_mb() - baseline
    refused(app, client, response, fragment, before)
    assert growth < 100, f"the worker grew by {growth} MB"


def test_utf16_csv_is_refused_with_or_without_its_bom(app, world, login, tmp_path):
    seller, shop = login("seller1"), world["shops"]["seller1"]
    text = HEADER + "\r\n" + ROW.format(n=1, status=PENDING) + "\r\n"
    with_bom = csv_file(tmp_path / "bom.csv", text, "utf-16")
    without = tmp_path / "le.csv"
    without.write_bytes(text.encode("utf-16-le"))
    assert with_bom.read_bytes().startswith(codecs.BOM_UTF16_LE)
    refused(app, seller, post_orders(seller, shop, with_bom), "UTF-16", state(app))
    refused(app, seller, post_orders(seller, shop, without), "NUL", state(app))


def test_mixed_line_endings_import(app, world, login, tmp_path):
    """\\r\\n, \\n and a quoted cell over two lines in one file: read as Excel shows it, three orders."""
    rows = [ROW.format(n=n, status=PENDING) for n in (1, 2)]
    quoted = ROW.format(n=3, status=PENDING).replace("大红袍", '"大红袍\r\n礼盒"')
    path = csv_file(tmp_path / "mixed.csv", HEADER + "\r\n" + rows[0] + "\n" + rows[1] + "\r\n" + quoted + "\n")
    seller, shop = login("seller1"), world["shops"]["seller1"]
    response = post_orders(seller, shop, path)
    assert response.status_code == 302
    preview = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert "mixed.csv" in preview
    with app.app_context():
        from portal.models import ImportBatch

        report = db.session.scalar(select(ImportBatch.report))
    assert (report["new"], report["invalid_count"]) == (3, 0)


def test_limits_are_settings_and_the_message_names_them(app, world, login, tmp_path):
    """Lowered limits: rows, cells, columns and cell length each refuse with the limit and the excess."""
    seller, shop = login("seller1"), world["shops"]["seller1"]
    rows = [row_values(n) for n in range(1, 21)]
    book = honest_workbook(tmp_path / "twenty.xlsx", rows)
    text = csv_file(tmp_path / "twenty.csv", HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    before = state(app)
    app.config["PORTAL_UPLOAD_MAX_ROWS"] = 15
    refused(
        app, seller, post_orders(seller, shop, book), "20 rows; at most 15 are read from one file (5 too many)", before
    )
    refused(
        app, seller, post_orders(seller, shop, text), "20 rows; at most 15 are read from one file (5 too many)", before
    )
    app.config["PORTAL_UPLOAD_MAX_ROWS"] = 200_000
    app.config["PORTAL_UPLOAD_MAX_CELLS"] = 100
    refused(app, seller, post_orders(seller, shop, book), "21 rows by 10 columns, 210 cells; at most 100", before)
    app.config["PORTAL_UPLOAD_MAX_CELLS"] = 5_000_000
    app.config["PORTAL_UPLOAD_MAX_COLUMNS"] = 8
    refused(app, seller, post_orders(seller, shop, book), "10 columns (to J); at most 8", before)
    refused(
        app, seller, post_orders(seller, shop, text), "Row 1 has 10 columns; at most 8 are read (2 too many)", before
    )
    app.config["PORTAL_UPLOAD_MAX_COLUMNS"] = 200
    app.config["PORTAL_UPLOAD_MAX_UNCOMPRESSED_MB"] = 0
    refused(app, seller, post_orders(seller, shop, book), "at most 0 MB is read", before)


def test_a_cell_over_the_length_limit_is_a_row_problem_in_a_workbook(app, world, login, tmp_path):
    app.config["PORTAL_UPLOAD_MAX_CELL_CHARS"] = 40
    rows = [row_values(1), row_values(2)]
    rows[1][3] = "福建省 福州市 鼓楼区 五四路158号" + "很长" * 30
    path = honest_workbook(tmp_path / "long.xlsx", rows)
    seller, shop = login("seller1"), world["shops"]["seller1"]
    response = post_orders(seller, shop, path)
    assert response.status_code == 302  # the file is read; the row is listed as a problem
    page = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert "The cell holds 79 characters; at most 40 are read." in page
    with app.app_context():
        from portal.models import ImportBatch

        report = db.session.scalar(select(ImportBatch.report))
    assert report["invalid_count"] == 1 and report["errors"][0]["row"] == 3
    assert report["errors"][0]["column"] == "收货地址"


def test_zip_checks_pass_honest_workbooks_and_count_their_span(app, tmp_path):
    path = honest_workbook(tmp_path / "ok.xlsx", [row_values(n) for n in range(1, 6)])
    with app.app_context():
        assert spreadsheets._check_zip(path, "orders_file", spreadsheets.Limits.configured()) == (6, 10)
    # A tag cut across the 1 MB blocks the scan reads is still counted once.
    rows = [f'<row r="{n}">'.encode() + inline(f"C{n}", "y" * 700) + b"</row>" for n in range(1, 3001)]
    path = workbook(tmp_path / "blocks.xlsx", rows)
    with app.app_context():
        assert spreadsheets._check_zip(path, "orders_file", spreadsheets.Limits.configured()) == (3000, 3)


def test_column_letters():
    assert [spreadsheets.column_letters(n) for n in (0, 25, 26, 51, 701, 702, 16383)] == [
        "A", "Z", "AA", "AZ", "ZZ", "AAA", "XFD"
    ]  # fmt: skip


def test_a_crash_while_reading_leaves_no_file(app, world, login, tmp_path, monkeypatch):
    """Not a refusal but a bug in the upload's own request: its files still go, in the request's finally."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(spreadsheets, "check_file", broken)
    seller, shop = login("seller1"), world["shops"]["seller1"]
    path = csv_file(tmp_path / "ok.csv", HEADER + "\n" + ROW.format(n=1, status=PENDING) + "\n")
    before = state(app)
    with pytest.raises(RuntimeError):
        post_orders(seller, shop, path)
    assert state(app) == before
