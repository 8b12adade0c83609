"""The courier's reply: order number → tracking number sheets from tests/data (make_tracking_samples.py)."""

import json
import threading

import openpyxl
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderEvent, OrderStatus, Shop, User, Waybill
from portal.services import orders, tracking_import, waybills
from portal.services.errors import ConflictError, InvalidDataError
from tests.data import make_tracking_samples as samples
from tests.data.make_tracking_samples import demo_order_no, zto

DATA = samples.HERE


def seller(world, owner: str = "seller1") -> tuple[Shop, User]:
    return db.session.get(Shop, world["shops"][owner]), db.session.get(User, world["users"][owner])


def order(n: int, owner: str = "seller1") -> Order:
    return db.session.scalar(select(Order).where(Order.platform_order_no == demo_order_no(n, owner)))


def preview(world, name: str, code: str = "ZTO") -> tracking_import.TrackingReport:
    shop, _user = seller(world)
    return tracking_import.preview_tracking(shop, DATA / name, waybills.company_by_code(code))


def apply(world, name: str, code: str = "ZTO") -> int:
    shop, user = seller(world)
    count = tracking_import.apply_tracking(shop, DATA / name, waybills.company_by_code(code), actor=user)
    db.session.commit()
    return count


def snapshot() -> tuple:
    """Everything an import could write: order states and numbers, order history, audit log."""
    states = db.session.execute(select(Order.id, Order.status, Order.tracking_no).order_by(Order.id)).all()
    events = db.session.scalar(select(func.count()).select_from(OrderEvent))
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return states, events, audits


def problems(report) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in report.errors]


def assert_labelled(numbers: dict[int, str]) -> None:
    db.session.expire_all()
    for n, tracking_no in numbers.items():
        got = order(n)
        assert (got.status, got.tracking_no, got.courier_company) == (OrderStatus.LABELLED, tracking_no, "ZTO"), n


# Valid sheets -----------------------------------------------------------------------------------


def test_the_samples_are_for_the_demo_orders(app, world):
    with app.app_context():
        shop, _user = seller(world)
        numbers = set(db.session.scalars(select(Order.platform_order_no).where(Order.shop_id == shop.id)))
        assert {demo_order_no(n) for n in range(150)} == numbers


def test_utf8_csv_labels_the_orders(app, world):
    with app.app_context():
        report = preview(world, "tracking_zto_utf8.csv")
        assert (report.rows, report.ok_count, report.error_count, report.ok) == (5, 5, 0, True)
        before = snapshot()
        assert snapshot() == before, "a preview writes nothing"

        assert apply(world, "tracking_zto_utf8.csv") == 5
        assert_labelled({n: zto(n + 1) for n in range(5)})
        assert order(5).status == OrderStatus.PENDING
        history = orders.history(order(0))
        assert (history[-1].action, history[-1].note, history[-1].to_status) == ("label", zto(1), "labelled")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tracking_imported"))
        shop, user = seller(world)
        assert (event.actor_id, event.shop_id, event.target) == (user.id, shop.id, "tracking_zto_utf8.csv")
        assert event.details == {"company": "ZTO", "count": 5}


def test_gbk_csv_with_other_headings_and_unknown_columns(app, world):
    with app.app_context():
        report = preview(world, "tracking_zto_gbk.csv")
        assert (report.rows, report.ok_count, report.errors) == (5, 5, [])
        assert apply(world, "tracking_zto_gbk.csv") == 5
        assert_labelled({n: zto(n + 1) for n in range(5, 10)})


def test_xlsx_with_english_headings_and_number_cells(app, world):
    with app.app_context():
        report = preview(world, "tracking_zto.xlsx")
        assert (report.rows, report.ok_count, report.errors) == (5, 5, [])
        shop, user = seller(world)
        count = tracking_import.apply_tracking(
            shop, DATA / "tracking_zto.xlsx", waybills.company_by_code("ZTO"), actor=user, file_name="回单.xlsx"
        )
        db.session.commit()
        assert count == 5
        assert_labelled({n: zto(n + 1) for n in range(10, 15)})
        assert (
            db.session.scalar(select(AuditEvent.target).where(AuditEvent.action == "tracking_imported")) == "回单.xlsx"
        )


def test_applying_again_is_refused_because_the_orders_are_labelled(app, world):
    with app.app_context():
        apply(world, "tracking_zto_utf8.csv")
        before = snapshot()
        with pytest.raises(tracking_import.InvalidTrackingError) as error:
            apply(world, "tracking_zto_utf8.csv")
        db.session.rollback()
        report = error.value.report
        assert report.error_count == 5 and not report.ok
        assert problems(report)[0] == (
            2,
            "订单编号",
            f"Order {demo_order_no(0)} is already labelled (tracking number {zto(1)}): "
            "only pending orders take a tracking number.",
        )
        assert {column for _row, column, _message in problems(report)} == {"订单编号"}, "the order says it all"
        assert "tracking_file" in error.value.field_errors
        assert snapshot() == before


# Every problem ----------------------------------------------------------------------------------


def make_states(world) -> None:
    """The states tracking_errors.csv expects (see make_tracking_samples.ERROR_ROWS)."""
    shop, user = seller(world)
    orders.label_orders({order(21).id: zto(901)}, courier_code="ZTO", actor=user)
    orders.label_orders({order(22).id: zto(902)}, courier_code="ZTO", actor=user)
    db.session.expire_all()
    orders.transition(order(22), "pack", actor=user)
    orders.transition(order(22), "ship", actor=user)
    orders.cancel_order(order(23), actor=user, reason="buyer asked")
    _other_shop, other_user = seller(world, "seller2")
    orders.label_orders({order(0, "seller2").id: zto(500)}, courier_code="ZTO", actor=other_user)
    zto_range = waybills.ranges_of(shop, waybills.company_by_code("ZTO"))[0]
    [row] = waybills.allocate_numbers(zto_range, 1, shop=shop, order_ids=[order(32).id], actor=user)
    waybills.void(db.session.get(Waybill, row.id), actor=user, reason="printer jammed")
    db.session.commit()


EXPECTED = [
    (3, "订单编号", "Order 9999999999999999999 is not in this shop."),
    (4, "订单编号", f"is already labelled (tracking number {zto(901)})"),
    (5, "订单编号", f"is already shipped (tracking number {zto(902)})"),
    (6, "订单编号", f"Order {demo_order_no(23)} is cancelled"),
    (7, "订单编号", f"Order {demo_order_no(20)} is also in row 2."),
    (8, "运单号", f"Tracking number {zto(101)} is also in row 2."),
    (9, "运单号", f"Tracking number {zto(500)} is already on another shop's order"),
    (10, "运单号", "The tracking number is missing."),
    (11, "订单编号", "The order number is missing."),
    (12, "运单号", "ABC123 is not a ZTO tracking number"),
    (13, "运单号", "73100000000010 is in this shop's range 73100000000001–73100000005000"),
    (14, "运单号", "Excel turned tracking number 7.5E+13 into a number"),
    (15, "运单号", f"Tracking number {zto(902)} is already on order {demo_order_no(22)}."),
    (16, "运单号", "Tracking number 73100000000001 was voided"),
]


def test_each_problem_has_its_row_column_and_reason_and_nothing_is_written(app, world):
    with app.app_context():
        make_states(world)
        report = preview(world, "tracking_errors.csv")
        assert (report.rows, report.ok_count, report.error_count, report.ok) == (15, 1, 14, False)
        found = problems(report)
        assert [(row, column) for row, column, _message in found] == [(row, column) for row, column, _ in EXPECTED]
        for (_row, _column, message), (row, _, fragment) in zip(found, EXPECTED, strict=True):
            assert fragment in message, (row, message)

        before = snapshot()
        with pytest.raises(tracking_import.InvalidTrackingError) as error:
            apply(world, "tracking_errors.csv")
        db.session.rollback()
        assert problems(error.value.report) == found
        assert snapshot() == before
        assert order(20).status == OrderStatus.PENDING, "not even the valid row"


def test_report_survives_json(app, world):
    with app.app_context():
        make_states(world)
        report = preview(world, "tracking_errors.csv")
        stored = json.loads(json.dumps(report.as_dict()))
        assert stored["ok"] is False and stored["company"] == "ZTO"
        again = tracking_import.TrackingReport.from_dict({**stored, "later": 1})
        assert again == report and not again.ok


def test_errors_are_capped_but_counted(app, world, tmp_path, monkeypatch):
    monkeypatch.setattr(tracking_import, "MAX_ERRORS", 3)
    path = tmp_path / "many.csv"
    path.write_text("订单编号,运单号\n" + "".join(f"{n},\n" for n in range(10)), encoding="utf-8")
    with app.app_context():
        shop, _user = seller(world)
        report = tracking_import.preview_tracking(shop, path, waybills.company_by_code("ZTO"))
        assert (report.rows, report.error_count, len(report.errors)) == (10, 20, 3)


def test_chunks_keep_duplicates_across_them(app, world, monkeypatch):
    monkeypatch.setattr(tracking_import, "CHUNK_ROWS", 2)
    with app.app_context():
        make_states(world)
        assert problems(preview(world, "tracking_errors.csv"))[4][:2] == (7, "订单编号")


def test_numbers_belong_to_their_company_but_one_shop_never_has_a_number_twice(app, world):
    with app.app_context():
        _other, other_user = seller(world, "seller2")
        # Another shop, another company: allowed. This shop, another company: the packing desk would be confused.
        orders.label_orders({order(1, "seller2").id: zto(1)}, courier_code="SF", actor=other_user)
        _shop, user = seller(world)
        orders.label_orders({order(40).id: zto(2)}, courier_code="SF", actor=user)
        db.session.commit()
        assert problems(preview(world, "tracking_zto_utf8.csv")) == [
            (3, "运单号", f"Tracking number {zto(2)} is already on order {demo_order_no(40)}.")
        ]


def test_the_company_rule_applies(app, world):
    with app.app_context():
        report = preview(world, "tracking_zto_utf8.csv", code="YTO")
        assert report.error_count == 5
        assert all(column == "运单号" and "is not a YTO tracking number" in m for _r, column, m in problems(report))


def test_a_file_without_a_tracking_column_is_refused(app, world):
    with app.app_context():
        with pytest.raises(InvalidDataError) as error:
            preview(world, "tracking_no_number_column.csv")
        assert "运单号 (tracking_number)" in error.value.message
        assert set(error.value.field_errors) == {"tracking_file"}


def test_an_empty_sheet_applies_nothing(app, world, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("订单编号,运单号\r\n", encoding="utf-8")
    with app.app_context():
        shop, user = seller(world)
        company = waybills.company_by_code("ZTO")
        assert not tracking_import.preview_tracking(shop, path, company).ok
        with pytest.raises(tracking_import.InvalidTrackingError):
            tracking_import.apply_tracking(shop, path, company, actor=user)


def test_an_order_labelled_meanwhile_stops_all_of_them(app, world, monkeypatch):
    """Checked, then someone prints a label for one of the orders before ours are written: none is labelled."""
    check = tracking_import._check_file

    def check_then_print(shop, path, company, *args):
        result = check(shop, path, company, *args)
        orders.label_orders({order(3).id: zto(903)}, courier_code="ZTO", actor=None)
        return result

    monkeypatch.setattr(tracking_import, "_check_file", check_then_print)
    with app.app_context():
        shop, user = seller(world)
        with pytest.raises(ConflictError):
            tracking_import.apply_tracking(
                shop, DATA / "tracking_zto_utf8.csv", waybills.company_by_code("ZTO"), actor=user
            )
        states = dict(
            db.session.execute(
                select(Order.platform_order_no, Order.status).where(
                    Order.platform_order_no.in_([demo_order_no(n) for n in range(5)])
                )
            ).all()
        )
        assert states.pop(demo_order_no(3)) == OrderStatus.LABELLED  # the other printer's
        assert set(states.values()) == {OrderStatus.PENDING}
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tracking_imported")) is None
        db.session.rollback()


def test_two_shops_importing_one_number_at_once_cannot_both_take_it(app, world, tmp_path):
    """The second import waits for the first to commit, then finds the number taken."""
    path = tmp_path / "seller2.csv"
    path.write_text(f"订单编号,运单号\r\n{demo_order_no(0, 'seller2')},{zto(1)}\r\n", encoding="utf-8")
    results = {}

    def second_import():
        with app.app_context():
            shop, user = seller(world, "seller2")
            try:
                results["second"] = tracking_import.apply_tracking(
                    shop, path, waybills.company_by_code("ZTO"), actor=user
                )
                db.session.commit()
            except Exception as error:  # checked below
                results["second"] = error
                db.session.rollback()

    with app.app_context():
        shop, user = seller(world)
        first = tracking_import.apply_tracking(
            shop, DATA / "tracking_zto_utf8.csv", waybills.company_by_code("ZTO"), actor=user
        )
        thread = threading.Thread(target=second_import)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second import waits for the first to commit"
        db.session.commit()
    thread.join(10)
    second = results["second"]
    assert first == 5 and isinstance(second, tracking_import.InvalidTrackingError), second
    assert "another shop's order" in second.report.errors[0].message


def test_samples_match_their_generator(tmp_path):
    """The committed files are what make_tracking_samples.py writes (the .xlsx by its cells: it holds a time)."""
    samples.main(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        if path.suffix == ".xlsx":
            made = [list(row) for row in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]
            kept = [list(row) for row in openpyxl.load_workbook(DATA / path.name).active.iter_rows(values_only=True)]
            assert made == kept, path.name
        else:
            assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name
