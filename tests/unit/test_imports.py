"""The order import: real sample exports from tests/data (written by tests/data/make_samples.py)."""

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, ImportBatch, Order, OrderItem, OrderStatus, Shop, User
from portal.services import imports, orders
from portal.services.errors import InvalidDataError
from tests.data import make_samples

DATA = make_samples.HERE
TAOBAO = DATA / "taobao_2017_gbk.csv"
PENDING_IN_TAOBAO = [f"202406181234567890{n}" for n in (1, 2, 7, 8, 9)]


def seller(world) -> tuple[Shop, User]:
    return db.session.get(Shop, world["shops"]["seller1"]), db.session.get(User, world["users"]["seller1"])


def preview(world, name, items=None) -> imports.ImportReport:
    shop, _user = seller(world)
    return imports.preview_import(shop, DATA / name, DATA / items if items else None)


def apply(world, name, items=None, **kwargs):
    shop, user = seller(world)
    result = imports.apply_import(shop, DATA / name, DATA / items if items else None, actor=user, **kwargs)
    db.session.commit()
    return result


def order(number: str) -> Order:
    return db.session.scalar(select(Order).where(Order.platform_order_no == number))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> tuple[int, int, int]:
    """Orders, items and audit events in the database (the demo world has orders of its own)."""
    return count(Order), count(OrderItem), count(AuditEvent)


def numbers_added(before: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(now - then for now, then in zip(counts(), before, strict=True))


def problems(report: imports.ImportReport) -> list[tuple]:
    return [(p.file, p.row, p.column, p.message) for p in report.errors]


# Files as the seller centre writes them ---------------------------------------------------------


def test_taobao_gbk_csv_with_every_quirk(app, world):
    with app.app_context():
        before = counts()
        report = preview(world, TAOBAO.name)
        assert (report.rows, report.new, report.updated, report.skipped) == (9, 5, 0, 0)
        assert report.errors == [] and report.ok
        assert counts() == before, "a preview writes nothing"

        result = apply(world, TAOBAO.name)
        assert (result.created, result.updated, result.skipped) == (5, 0, 0)
        assert numbers_added(before) == (5, 5, 1)
        new = db.session.scalars(select(Order.platform_order_no).where(Order.id.in_(result.order_ids)))
        assert sorted(new) == PENDING_IN_TAOBAO

        first = order("2024061812345678901")  # ="…" unwrapped
        assert first.recipient_phone == "13800138000"  # leading ' dropped
        assert first.address_raw == "浙江省 杭州市 西湖区 文三路90号东部软件园3号楼(310012)"
        assert (first.province, first.city, first.district, first.postcode) == ("浙江省", "杭州市", "西湖区", "310012")
        assert first.paid_at == datetime(2024, 6, 18, 12, 15, tzinfo=UTC)  # China time in the file
        assert first.ship_by == first.paid_at + timedelta(hours=48)
        assert (first.item_summary, first.item_count, first.amount_cents) == ("西湖龙井 明前特级 250g ×2", 2, 35600)
        assert (first.buyer_nick, first.buyer_message, first.source) == ("tb_lily88", "请周一前发货", "import")

        second = order("2024061812345678902")
        assert second.recipient_phone == "021-58889999", '联系电话 when 联系手机 is =""'
        assert second.address_raw == "上海 上海市 浦东新区 世纪大道100号(200120)", "修改后的收货地址 wins"
        assert second.district == "浦东新区"

        last = order("2024061812345678909")
        assert last.amount_cents == 0 and last.item_count == 3  # amount =""
        assert last.address_raw.endswith("（环球中心）(610041)")


def test_statuses_other_than_paid_are_counted_not_imported(app, world):
    with app.app_context():
        report = preview(world, TAOBAO.name)
        assert report.not_pending == {"等待买家付款": 1, "卖家已发货，等待买家确认": 1, "交易成功": 1, "交易关闭": 1}
        # The 等待买家付款 row has a masked phone and no paid time: not an error, it is not imported.
        assert report.invalid_count == 0
        apply(world, TAOBAO.name)
        assert order("2024061812345678903") is None and order("2024061812345678906") is None


def test_formula_text_is_stored_literally(app, world):
    with app.app_context():
        assert preview(world, TAOBAO.name).errors == []
        apply(world, TAOBAO.name)
        row = order("2024061812345678907")
        assert row.recipient_name == '=HYPERLINK("http://x","y")'
        assert row.seller_memo == '=HYPERLINK("http://evil.example","点我")'
        assert row.buyer_message == "早点发货\n谢谢"


def test_unplaceable_address_is_imported_and_flagged(app, world):
    with app.app_context():
        assert preview(world, TAOBAO.name).unplaced == 1
        apply(world, TAOBAO.name)
        mars = order("2024061812345678908")
        assert mars.address_flagged and mars.address_raw == "火星 奥林帕斯山 北坡1号(000000)"
        assert not order("2024061812345678901").address_flagged


@pytest.mark.parametrize("name", ["orders_utf8_bom.csv", "orders_utf8.csv", "shuffled_unknown.csv"])
def test_utf8_with_or_without_bom_and_shuffled_columns(app, world, name):
    with app.app_context():
        report = preview(world, name)
        assert (report.rows, report.new, report.not_pending, report.errors) == (3, 2, {"交易成功": 1}, [])
        apply(world, name)
        row = order("2024070100000000002")
        assert (row.recipient_name, row.recipient_phone, row.buyer_nick) == ("林美", "13612345678", "阿May")
        assert (row.item_summary, row.amount_cents, row.city) == ("安溪铁观音 清香型 250g ×2", 13600, "广州市")
        assert row.paid_at == datetime(2024, 7, 1, 2, 5, 12, tzinfo=UTC)


def test_xlsx(app, world):
    with app.app_context():
        report = preview(world, "orders.xlsx")
        assert (report.rows, report.new, report.not_pending, report.errors) == (3, 2, {"交易关闭": 1}, [])
        apply(world, "orders.xlsx")
        typed = order("2024070200000000001")  # phone, quantity and amount are numbers, the time a date
        assert (typed.recipient_phone, typed.amount_cents, typed.item_count) == ("13512345678", 9850, 1)
        assert typed.paid_at == datetime(2024, 7, 2, 1, 30, tzinfo=UTC)
        assert typed.seller_memo == '=HYPERLINK("http://x","y")'
        assert order("2024070200000000002").recipient_name == "林美"  # after a blank row


def test_the_kind_of_file_is_told_by_content_not_name(app, world, tmp_path):
    shutil.copy(DATA / "orders.xlsx", tmp_path / "export.csv")
    shutil.copy(TAOBAO, tmp_path / "export.xlsx")
    with app.app_context():
        shop, _user = seller(world)
        assert imports.preview_import(shop, tmp_path / "export.csv").new == 2
        assert imports.preview_import(shop, tmp_path / "export.xlsx").new == 5


def test_english_headings(app, world):
    with app.app_context():
        report = preview(world, "english.csv")
        assert (report.new, report.not_pending, report.errors) == (3, {"TRADE_FINISHED": 1}, [])
        apply(world, "english.csv")
        amy = order("E-1001")
        assert (amy.recipient_name, amy.recipient_phone, amy.seller_memo) == ("Amy Li", "13512345678", "gift wrap")
        assert order("E-1002").paid_at == datetime(2024, 7, 3, 4, 30, tzinfo=UTC)
        assert order("E-1003").item_count == 1  # blank quantity
        assert order("E-1004") is None


def test_no_status_column_means_every_row_is_pending(app, world, tmp_path):
    path = tmp_path / "plain.csv"
    lines = [
        "order_no,recipient,address,phone,paid_at",
        "N1,陈晨,福建省 福州市 鼓楼区 五四路158号,13512345678,2024-07-01 09:30",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    with app.app_context():
        shop, _user = seller(world)
        report = imports.preview_import(shop, path)
        assert (report.new, report.not_pending, report.ok) == (1, {}, True)


def test_orders_and_items_files(app, world):
    with app.app_context():
        batch = ImportBatch(shop_id=world["shops"]["seller1"], created_by_id=world["users"]["seller1"])
        db.session.add(batch)
        db.session.flush()
        report = preview(world, "pair_orders.csv", "pair_items.csv")
        assert (report.new, report.item_rows, report.orders_with_items, report.errors) == (2, 5, 2, [])
        # The row for an order that is not in the orders file is a note, not an error.
        assert (report.items_unmatched, report.items_unmatched_rows, report.ok) == (1, [5], True)
        assert report.notes == ["1 row of the items file is for an order not in the orders file (row 5): ignored."]

        before = counts()
        result = apply(world, "pair_orders.csv", "pair_items.csv", import_batch_id=batch.id)
        assert result.created == 2
        first = order("2024080100000000001")
        items = [(i.title, i.quantity, i.price_cents, i.sku, i.attributes) for i in first.items]
        assert items == [
            ("西湖龙井 明前特级 250g", 1, 17800, "LJ-001", "净含量：250g"),
            ("福鼎白茶 白牡丹 100g", 2, 6100, "EXT-9", "颜色分类：散装; 送小样"),  # 外部系统编号 when no 商家编码
        ]
        assert (first.item_summary, first.item_count) == ("西湖龙井 明前特级 250g; 福鼎白茶 白牡丹 100g ×2", 3)
        assert first.import_batch_id == batch.id
        second = order("2024080100000000002")
        assert [(i.title, i.quantity, i.price_cents, i.sku) for i in second.items] == [
            ("祁门红茶 罐装", 3, 1250, "QM-3")
        ]
        assert numbers_added(before) == (2, 3, 1)


def test_invalid_items_file_row(app, world):
    with app.app_context():
        report = preview(world, "pair_orders.csv", "pair_items_bad.csv")
        assert problems(report) == [
            ("items", 3, "购买数量", "The quantity must be a whole number from 1 to 100000."),
        ]
        with pytest.raises(InvalidDataError) as error:
            apply(world, "pair_orders.csv", "pair_items_bad.csv")
        assert set(error.value.field_errors) == {"items_file"}


# Files that are refused -------------------------------------------------------------------------


def test_missing_required_columns_are_named_in_one_error(app, world):
    with app.app_context():
        with pytest.raises(InvalidDataError) as error:
            preview(world, "missing_columns.csv")
        assert "收货人姓名" in error.value.message and "联系手机" in error.value.message
        assert "订单编号" not in error.value.message
        assert set(error.value.field_errors) == {"orders_file"}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("empty.csv", "the file is empty"),
        ("image.csv", "not a spreadsheet"),  # a PNG
        ("program.csv", "not a spreadsheet"),  # an ELF executable
        ("zip_not_workbook.xlsx", "not a spreadsheet"),
        ("utf16.csv", "utf-16"),
        ("random_bytes.csv", "could not read the file as utf-8 or gbk text"),
        ("no_header.csv", "column headings"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(app, world, name, expected):
    with app.app_context():
        shop, user = seller(world)
        before = counts()
        with pytest.raises(InvalidDataError) as error:
            imports.preview_import(shop, DATA / name, DATA / "empty.csv")  # the orders file is checked first
        assert expected in error.value.message.lower()
        assert set(error.value.field_errors) == {"orders_file"}
        with pytest.raises(InvalidDataError) as error:
            imports.apply_import(shop, TAOBAO, DATA / name, actor=user)
        assert set(error.value.field_errors) == {"items_file"}
        assert error.value.message.startswith("Items file:")
        assert counts() == before


# Rows that are refused --------------------------------------------------------------------------


def test_duplicate_order_number_names_both_rows(app, world):
    with app.app_context():
        report = preview(world, "duplicates.csv")
        assert problems(report) == [("orders", 4, "订单编号", "Order 2024090100000000001 is also on row 2.")]
        assert not report.ok


def test_phone_that_is_not_a_phone_and_masked_phone(app, world):
    with app.app_context():
        report = preview(world, "bad_rows.csv")
        # Row 2 spans two lines of the file; Excel (and the report) still count it as one row.
        assert problems(report) == [
            ("orders", 3, "联系手机", "12345 is not a mobile or landline number."),
            ("orders", 4, "联系手机", "The phone number is masked (138****8000): export with full details."),
        ]
        assert (report.invalid_count, report.new) == (2, 2)


def test_number_spoilt_by_excel(app, world):
    with app.app_context():
        [problem] = preview(world, "excel_mangled.csv").errors
        assert (problem.row, problem.column) == (2, "订单编号")
        assert "lost its last digits" in problem.message


@pytest.mark.parametrize("chunk_rows", [2000, 1])
def test_an_invalid_row_makes_apply_write_nothing(app, world, monkeypatch, chunk_rows):
    """With one-row chunks, row 2 is saved before row 3 is found invalid: the savepoint takes it back,
    even when the caller goes on to commit."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", chunk_rows)
    with app.app_context():
        shop, user = seller(world)
        before = counts()
        with pytest.raises(InvalidDataError) as error:
            imports.apply_import(shop, DATA / "bad_rows.csv", actor=user)
        assert isinstance(error.value, imports.InvalidImportError)
        assert error.value.report.invalid_count == 2
        assert "2 problems" in error.value.message
        assert counts() == before, "nothing flushed either"
        db.session.commit()
        assert counts() == before


def test_apply_does_not_commit_the_caller_does(app, world):
    """On SQLite the SAVEPOINT must not open the transaction, or its RELEASE would commit the import."""
    with app.app_context():
        shop, user = seller(world)
        before = counts()
        assert imports.apply_import(shop, TAOBAO, actor=user).created == 5
        db.session.rollback()
        assert counts() == before


# Importing again ----------------------------------------------------------------------------------


def test_reimport_refreshes_pending_orders_and_skips_the_others(app, world):
    with app.app_context():
        apply(world, TAOBAO.name)
        before = counts()
        report = preview(world, TAOBAO.name)
        assert (report.new, report.updated, report.skipped, report.ok) == (0, 5, 0, True)

        labelled, pending = order(PENDING_IN_TAOBAO[0]), order(PENDING_IN_TAOBAO[1])
        # Labelling is not built yet: set the state directly.
        db.session.execute(
            update(Order).where(Order.id == labelled.id).values(status=OrderStatus.LABELLED, recipient_name="改过")
        )
        db.session.execute(update(Order).where(Order.id == pending.id).values(recipient_name="改过"))
        db.session.commit()

        report = preview(world, TAOBAO.name)
        assert (report.new, report.updated, report.skipped) == (0, 4, 1)
        result = apply(world, TAOBAO.name, file_name="ExportOrderList202406181200.csv")
        assert (result.created, result.updated, result.skipped) == (0, 4, 1)
        db.session.expire_all()
        assert (labelled.status, labelled.recipient_name) == (OrderStatus.LABELLED, "改过"), "never overwritten"
        assert pending.recipient_name == "王芳", "pending orders are refreshed"
        assert numbers_added(before) == (0, 0, 1)  # the items of refreshed orders are replaced

        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "orders_imported")).all()
        assert [(e.target, e.details, e.shop_id) for e in events] == [
            (TAOBAO.name, {"created": 5, "updated": 0, "skipped": 0}, world["shops"]["seller1"]),
            ("ExportOrderList202406181200.csv", {"created": 0, "updated": 4, "skipped": 1}, world["shops"]["seller1"]),
        ]


def test_other_shops_orders_are_not_touched(app, world):
    with app.app_context():
        other = db.session.get(Shop, world["shops"]["seller2"])
        imports.apply_import(other, TAOBAO, actor=db.session.get(User, world["users"]["seller2"]))
        db.session.commit()
        report = preview(world, TAOBAO.name)
        assert (report.new, report.updated) == (5, 0)


def test_concurrent_imports_into_one_shop_wait_for_each_other(app, world):
    """Without the wait both would see the orders as new, and the second would fail on the unique number."""
    results = {}

    def second_import():
        with app.app_context():
            shop, user = seller(world)
            try:
                results["second"] = imports.apply_import(shop, TAOBAO, actor=user)
                db.session.commit()
            except Exception as error:  # reported by the assertion below
                results["second"] = error

    with app.app_context():
        shop, user = seller(world)
        first = imports.apply_import(shop, TAOBAO, actor=user)
        thread = threading.Thread(target=second_import)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second import waits for the first to commit"
        db.session.commit()
    thread.join(10)
    second = results["second"]
    assert (first.created, second.created, second.updated) == (5, 0, 5), second


# The report and the chunking ----------------------------------------------------------------------


def test_report_round_trips_through_json_on_the_batch(app, world):
    with app.app_context():
        report = preview(world, "bad_rows.csv")
        batch = ImportBatch(
            shop_id=world["shops"]["seller1"],
            created_by_id=world["users"]["seller1"],
            file_name="bad_rows.csv",
            report=report.as_dict(),
        )
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    with app.app_context():
        stored = db.session.get(ImportBatch, batch_id).report
        assert stored["ok"] is False
        again = imports.ImportReport.from_dict(json.loads(json.dumps(stored)))
        assert again == report and not again.ok


def test_invalid_rows_and_statuses_are_capped_but_counted(app, world, monkeypatch):
    monkeypatch.setattr(imports, "MAX_INVALID", 1)
    monkeypatch.setattr(imports, "MAX_STATUSES", 2)
    with app.app_context():
        report = preview(world, "bad_rows.csv")
        assert (len(report.errors), report.invalid_count) == (1, 2)
        report = preview(world, TAOBAO.name)
        assert report.not_pending == {"等待买家付款": 1, "卖家已发货，等待买家确认": 1, "…": 2}


def test_small_chunks_give_the_same_result(app, world, monkeypatch):
    """Duplicates and items are found across chunk boundaries."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    with app.app_context():
        assert problems(preview(world, "duplicates.csv"))[0][1:3] == (4, "订单编号")
        report = preview(world, TAOBAO.name)
        assert (report.new, report.unplaced, sum(report.not_pending.values())) == (5, 1, 4)
        assert apply(world, TAOBAO.name).created == 5
        assert apply(world, "pair_orders.csv", "pair_items.csv").created == 2
        assert [i.sku for i in order("2024080100000000001").items] == ["LJ-001", "EXT-9"]


def test_samples_match_their_generator(tmp_path):
    """The committed files are what make_samples.py writes (the .xlsx holds a timestamp: not compared)."""
    make_samples.main(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        if path.suffix == ".xlsx" and path.name != "zip_not_workbook.xlsx":
            continue
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("21474836.47", 2**31 - 1),
        ("¥1,234.50", 123450),
        ("", 0),
        ("21474836.48", None),
        ("9999999999", None),
        ("-1", None),
    ],
)
def test_amounts_fit_the_32_bit_column(text, cents):
    """PostgreSQL keeps cents in an integer column: a larger amount is refused as an amount, not a 500."""
    assert orders.parse_money(text) == cents
