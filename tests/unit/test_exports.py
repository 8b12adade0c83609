"""The address export for courier companies: CSV that Excel opens correctly, XLSX, and what they re-import as."""

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, Shop, User
from portal.services import exports, imports, tracking_import, waybills
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError
from portal.services.orders import CHINA
from tests.data.make_tracking_samples import demo_order_no

BOM = b"\xef\xbb\xbf"
# Text a buyer may type that a spreadsheet would run as a formula (OWASP's triggers).
FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+86 138", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def seller(world) -> tuple[Shop, User]:
    return db.session.get(Shop, world["shops"]["seller1"]), db.session.get(User, world["users"]["seller1"])


def shop_orders(shop: Shop) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.shop_id == shop.id).order_by(Order.id)))


def by_no(number: str) -> Order:
    return db.session.scalar(select(Order).where(Order.platform_order_no == number))


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def hostile_row(order_no: str = "20261126000000000911") -> dict:
    row = dict.fromkeys(exports.EXPORT_COLUMNS, "")
    row.update({"订单编号": order_no, "收件人": FORMULAS[0], "手机": "13800138000", "数量": 2})
    for column, text in zip(("省", "市", "区", "详细地址", "宝贝"), FORMULAS[1:], strict=True):
        row[column] = text
    return row


# The rows ---------------------------------------------------------------------------------------


def test_rows_carry_the_real_details_in_the_courier_columns(app, world):
    with app.app_context():
        shop, _user = seller(world)
        rows = exports.export_rows(shop_orders(shop))
        assert len(rows) == 150
        assert all(list(row) == list(exports.EXPORT_COLUMNS) for row in rows)
        first, order = rows[0], shop_orders(shop)[0]
        assert first["订单编号"] == order.platform_order_no and len(first["订单编号"]) == 20
        assert first["收件人"] == order.recipient_name and first["手机"] == order.recipient_phone
        assert (first["省"], first["市"], first["区"], first["邮编"]) == ("浙江省", "杭州市", "西湖区", "310012")
        assert first["详细地址"] == "文三路 90 号东部软件园 5 幢 302 室"  # unit and room in full
        assert first["数量"] == order.item_count and first["宝贝"] == order.item_summary
        assert not any("*" in str(value) for row in rows for value in row.values()), "nothing masked"

        by_number = {row["订单编号"]: row for row in rows}
        shanghai = by_number[demo_order_no(2)]
        assert (shanghai["省"], shanghai["市"], shanghai["区"]) == ("上海市", "上海市", "浦东新区")
        xiantao = by_number[demo_order_no(11)]  # a county-level city under its province
        assert (xiantao["省"], xiantao["市"], xiantao["区"]) == ("湖北省", "仙桃市", "")
        mars = by_number[demo_order_no(24)]  # could not be placed: all of it in 详细地址
        assert (mars["省"], mars["市"], mars["详细地址"]) == ("", "", "火星 乌托邦 平原 基地 1 号舱")


def test_purged_or_masked_details_are_never_exported(app, world):
    with app.app_context():
        shop, _user = seller(world)
        order = shop_orders(shop)[0]
        order.details_purged_at = datetime.now(UTC)
        with pytest.raises(ConflictError, match=order.platform_order_no):
            exports.export_rows([order])
        order.details_purged_at = None
        order.recipient_phone = "138******00"
        with pytest.raises(ConflictError, match="masked"):
            exports.export_rows([order])


# CSV --------------------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_and_crlf_and_keeps_chinese(app, world):
    with app.app_context():
        shop, _user = seller(world)
        rows = exports.export_rows(shop_orders(shop))
        content = exports.to_csv(rows)
    assert content.startswith(BOM) and not content.startswith(BOM * 2)
    assert content.count(b"\n") == content.count(b"\r\n") == 151  # no line feed without its CR
    text = content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(exports.EXPORT_COLUMNS)
    read = read_csv(content)
    assert read[1][1] == rows[0]["收件人"] and read[1][6] == rows[0]["详细地址"]
    assert "浙江省" in text and "上海市" in text
    assert exports.to_csv([]) == BOM + (",".join(exports.EXPORT_COLUMNS) + "\r\n").encode()


def test_csv_order_numbers_are_text_with_all_digits(app, world):
    with app.app_context():
        shop, _user = seller(world)
        rows = exports.export_rows(shop_orders(shop))
    read = read_csv(exports.to_csv(rows))
    assert [line[0] for line in read[1:]] == ["'" + row["订单编号"] for row in rows]
    assert read[1][2] == rows[0]["手机"], "an 11-digit mobile is safe in Excel: left as it is"
    assert exports.csv_cell("010010") == "'010010", "a leading 0 would be dropped"
    assert exports.csv_cell("12345678901") == "12345678901"
    assert exports.csv_cell(2) == "2" and exports.csv_cell(None) == ""


def test_csv_neutralises_formulas():
    read = read_csv(exports.to_csv([hostile_row()]))
    cells = dict(zip(read[0], read[1], strict=True))
    assert cells["收件人"] == "'" + FORMULAS[0]
    for column, text in zip(("省", "市", "区", "详细地址", "宝贝"), FORMULAS[1:], strict=True):
        assert cells[column] == "'" + text, column
    assert not any(cell.startswith(exports.FORMULA_TRIGGERS) for line in read for cell in line)
    assert cells["手机"] == "13800138000" and cells["数量"] == "2"


def test_csv_round_trip_through_the_order_import_gives_the_same_orders(app, world, tmp_path):
    """Written as a seller-centre export, every one of the 150 orders is found again by its number."""
    with app.app_context():
        shop, _user = seller(world)
        path = tmp_path / "again.csv"
        path.write_bytes(exports.to_csv(as_taobao_rows(shop_orders(shop))))
        report = imports.preview_import(shop, path)
        assert (report.rows, report.updated, report.new, report.invalid_count) == (150, 150, 0, 0)


def as_taobao_rows(orders: list[Order]) -> list[dict]:
    """The export's rows under the seller centre's headings, which the order import requires."""
    rows = []
    for row, order in zip(exports.export_rows(orders), orders, strict=True):
        address = " ".join(part for part in (row["省"], row["市"], row["区"], row["详细地址"]) if part)
        rows.append(
            {
                "订单编号": row["订单编号"],
                "收货人姓名": row["收件人"],
                "联系手机": row["手机"],
                "收货地址": f"{address}({row['邮编'] or '000000'})",
                "订单付款时间": order.paid_at.replace(tzinfo=UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "宝贝标题": row["宝贝"],
                "宝贝总数量": row["数量"],
                "买家留言": row["买家留言"],
            }
        )
    return rows


def test_the_export_comes_back_with_tracking_numbers(app, world, tmp_path):
    """The courier adds a 运单号 column to our CSV and saves it: the tracking import reads it as is."""
    with app.app_context():
        shop, user = seller(world)
        chosen = shop_orders(shop)[:3]
        read = read_csv(exports.to_csv(exports.export_rows(chosen)))
        numbers = ["75000000000001", "75000000000002", "75000000000003"]
        reply = [
            dict(zip([*read[0], "运单号"], [*line, number], strict=True))
            for line, number in zip(read[1:], numbers, strict=True)
        ]
        path = tmp_path / "reply.csv"
        path.write_bytes(exports.to_csv(reply))
        company = waybills.company_by_code("ZTO")
        assert tracking_import.preview_tracking(shop, path, company).ok
        assert tracking_import.apply_tracking(shop, path, company, actor=user) == 3
        db.session.commit()
        db.session.expire_all()
        assert [(o.status, o.tracking_no) for o in chosen] == [(OrderStatus.LABELLED, n) for n in numbers]


# XLSX -------------------------------------------------------------------------------------------


def load(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]


def test_xlsx_has_text_cells_bold_header_and_widths(app, world):
    with app.app_context():
        shop, _user = seller(world)
        rows = exports.export_rows(shop_orders(shop))
        sheet = load(exports.to_xlsx(rows))
    header = [cell.value for cell in sheet[1]]
    assert header == list(exports.EXPORT_COLUMNS)
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.max_row == 151 and sheet.freeze_panes == "A2"
    order_no, phone = sheet["A2"], sheet["C2"]
    assert order_no.value == rows[0]["订单编号"] and order_no.data_type == "s" and len(order_no.value) == 20
    assert phone.value == rows[0]["手机"] and phone.data_type == "s" and order_no.number_format == "@"
    assert sheet["J2"].value == rows[0]["数量"] and sheet["J2"].data_type == "n"
    assert sheet["G2"].value == rows[0]["详细地址"]
    assert sheet.column_dimensions["A"].width >= 20  # wide enough for the 20 digits
    assert sheet.column_dimensions["G"].width > sheet.column_dimensions["D"].width


def test_xlsx_stores_formula_text_as_text():
    sheet = load(exports.to_xlsx([hostile_row()]))
    cells = dict(zip((cell.value for cell in sheet[1]), sheet[2], strict=True))
    for column, text in zip(("收件人", "省", "市", "区", "详细地址", "宝贝"), FORMULAS, strict=True):
        cell = cells[column]
        # XML has no bare CR: it reads as a line feed.
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text.replace("\r", "\n"), "s", True), column
    assert cells["手机"].quotePrefix is False


def test_xlsx_drops_control_characters_xml_cannot_hold():
    row = {**hostile_row(), "买家留言": "请\x00尽快\x1b发货\n谢谢"}
    sheet = load(exports.to_xlsx([row]))
    assert sheet["K2"].value == "请尽快发货\n谢谢"
    assert read_csv(exports.to_csv([row]))[1][10] == "请\x00尽快\x1b发货\n谢谢", "CSV keeps them"


def test_xlsx_round_trip_through_the_order_import_gives_the_same_orders(app, world, tmp_path):
    with app.app_context():
        shop, _user = seller(world)
        path = tmp_path / "again.xlsx"
        path.write_bytes(exports.to_xlsx(as_taobao_rows(shop_orders(shop))))
        report = imports.preview_import(shop, path)
        assert (report.rows, report.updated, report.new, report.invalid_count) == (150, 150, 0, 0)


# Export with audit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mimetype", "signature"),
    [("csv", "text/csv; charset=utf-8", BOM), ("xlsx", exports.FORMATS["xlsx"], b"PK\x03\x04")],
)
def test_export_orders_records_the_export(app, world, fmt, mimetype, signature):
    with app.app_context():
        shop, user = seller(world)
        chosen = shop_orders(shop)[:40]
        content, got_mimetype, name = exports.export_orders(chosen, actor=user, shop=shop, fmt=fmt)
        db.session.commit()
        assert content.startswith(signature) and got_mimetype == mimetype
        assert name.startswith(f"addresses-shop{shop.id}-") and name.endswith(f".{fmt}") and name.isascii()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "addresses_exported"))
        assert (event.actor_id, event.shop_id, event.target) == (user.id, shop.id, "40 orders")
        assert event.details["format"] == fmt
        assert event.details["order_nos"] == [order.platform_order_no for order in chosen]


def test_export_orders_refuses_other_shops_and_unknown_formats(app, world):
    with app.app_context():
        shop, user = seller(world)
        other = db.session.get(Shop, world["shops"]["seller2"])
        with pytest.raises(NotFoundError):
            exports.export_orders(shop_orders(other)[:1], actor=user, shop=shop, fmt="csv")
        with pytest.raises(InvalidDataError) as error:
            exports.export_orders(shop_orders(shop)[:1], actor=user, shop=shop, fmt="xls")
        assert "format" in error.value.field_errors
        with pytest.raises(InvalidDataError):
            exports.export_orders([], actor=user, shop=shop, fmt="csv")
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "addresses_exported")) is None


def test_file_name_is_in_china_time(app):
    with app.app_context():
        shop = Shop(id=7, name="x")
        name = exports.export_file_name(shop, "csv", datetime(2024, 6, 18, 12, 15, tzinfo=UTC))
    assert name == "addresses-shop7-20240618-2015.csv"
