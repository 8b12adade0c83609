"""Exemptions, through the service: anomaly regions, automatic exemption, one-click and manual reports, review."""

import io
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models import (
    AnomalyRegion,
    AuditEvent,
    Evidence,
    ExemptionReport,
    ExemptionReportOrder,
    Order,
    OrderSource,
    OrderStatus,
    Shop,
    User,
)
from portal.models.base import utcnow
from portal.services import exemptions, imports, orders, region_import, storage
from portal.services.errors import ConflictError, InvalidDataError
from tests.exemption_samples import DAOLI, EXE, JPEG, LONGSHA, NANGANG, PDF, PNG


def shop_of(world, owner: str) -> Shop:
    return db.session.get(Shop, world["shops"][owner])


def user(world, name: str) -> User:
    return db.session.get(User, world["users"][name])


def add_orders(shop: Shop, specs: list[tuple[str, str, datetime]]) -> dict[str, int]:
    """New pending orders (number, address, paid at) through orders.save_orders; returns their ids by number."""
    inputs = []
    for number, address, paid_at in specs:
        order_input, errors = orders.validate_order(
            {
                "platform_order_no": number,
                "recipient_name": "王芳",
                "recipient_phone": "13900001111",
                "address": address,
                "paid_at": paid_at,
                "item_title": "茶",
            }
        )
        assert not errors, errors
        inputs.append(order_input)
    orders.save_orders(shop, inputs, actor=None, source=OrderSource.API)
    db.session.flush()
    return {o.platform_order_no: o.id for o in db.session.scalars(select(Order).where(Order.shop_id == shop.id))}


def order(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.platform_order_no == number))


def region_data(code: str, **overrides) -> dict:
    now = utcnow()
    return {
        "code": code,
        "applies_to": "destination",
        "level": "auto",
        "source": "health_notice",
        "valid_from": now - timedelta(days=1),
        "valid_to": now + timedelta(days=2),
        "note": "",
        **overrides,
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def stored_files(app) -> list[Path]:
    root = Path(app.config["PORTAL_UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(data: bytes, name: str = "notice.png", kind: str = "notice") -> exemptions.EvidenceUpload:
    return exemptions.EvidenceUpload(kind, FileStorage(io.BytesIO(data), filename=name))


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# Regions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"code": ""}, "code", "Give the division code"),
        ({"code": "999999"}, "code", "999999 is not a division code"),
        ({"code": "<script>"}, "code", "not a division code"),
        ({"applies_to": "everywhere"}, "applies_to", "destination, origin or both"),
        ({"level": "manual"}, "level", "auto or one_click"),
        ({"source": "rumour"}, "source", "health_notice"),
        ({"valid_from": "yesterday"}, "valid_from", "2026-11-26 08:00"),
        ({"valid_to": ""}, "valid_to", "2026-11-26 08:00"),
        ({"valid_from": "2026-12-02 08:00", "valid_to": "2026-12-01 08:00"}, "valid_to", "end after it starts"),
        ({"valid_from": "2026-12-01 08:00", "valid_to": "2026-12-01 08:00"}, "valid_to", "end after it starts"),
        ({"note": "x" * 501}, "note", "at most 500"),
    ],
)
def test_bad_regions_are_refused(app, overrides, field, text):
    with app.app_context():
        region_input, errors = exemptions.validate_region({**region_data("230100"), **overrides})
        assert region_input is None
        assert any(name == field and text in message for name, message in errors), errors


def test_a_refused_region_stores_nothing(app, world):
    with app.app_context():
        before = count(AnomalyRegion), count(AuditEvent)
        exempt_before = db.session.scalar(select(func.count()).where(Order.exemption != ""))
        bad = region_data("999999", valid_from="2026-12-02 08:00", valid_to="2026-12-01 08:00", level="x")
        with pytest.raises(InvalidDataError) as refused:
            exemptions.publish_region(bad, actor=user(world, "operator"))
        assert set(refused.value.field_errors) == {"code", "level", "valid_to"}
        assert refused.value.message == refused.value.field_errors["code"]
        db.session.rollback()
        assert (count(AnomalyRegion), count(AuditEvent)) == before
        assert db.session.scalar(select(func.count()).where(Order.exemption != "")) == exempt_before


def test_region_times_without_a_zone_are_china_time(app):
    with app.app_context():
        region_input, errors = exemptions.validate_region(
            region_data("230100", valid_from="2026-12-01 08:00", valid_to="2026-12-02T08:00", level="ONE_CLICK")
        )
        assert errors == []
        assert region_input.valid_from.isoformat() == "2026-12-01T00:00:00+00:00"
        assert region_input.valid_to.isoformat() == "2026-12-02T00:00:00+00:00"
        assert region_input.level == "one_click"


def test_auto_region_exempts_open_orders_by_destination_and_window(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        ids = add_orders(
            shop,
            [
                ("IN-DISTRICT", NANGANG, now - timedelta(hours=5)),
                ("OTHER-DISTRICT", DAOLI, now - timedelta(hours=5)),
                ("OTHER-CITY", LONGSHA, now - timedelta(hours=5)),
                # ship-by (48 h after payment) before the window starts: not touched
                ("BEFORE", NANGANG, now - timedelta(days=4)),
                # paid after the window ends: not touched
                ("AFTER", NANGANG, now + timedelta(days=3)),
                ("SHIPPED", NANGANG, now - timedelta(hours=5)),
                ("CANCELLED", NANGANG, now - timedelta(hours=5)),
                ("LABELLED", NANGANG, now - timedelta(hours=5)),
            ],
        )
        db.session.execute(
            update(Order).where(Order.id == ids["SHIPPED"]).values(status=OrderStatus.SHIPPED, shipped_at=now)
        )
        db.session.execute(update(Order).where(Order.id == ids["CANCELLED"]).values(status=OrderStatus.CANCELLED))
        db.session.execute(update(Order).where(Order.id == ids["LABELLED"]).values(status=OrderStatus.LABELLED))

        window = {"valid_from": now - timedelta(days=1), "valid_to": now + timedelta(days=1)}
        district = exemptions.publish_region(region_data("230103", **window), actor=user(world, "operator"))
        db.session.commit()
        assert order("IN-DISTRICT").exemption == "auto"
        assert order("IN-DISTRICT").exempt_region_id == district.id
        assert order("LABELLED").exemption == "auto"
        for untouched in ("OTHER-DISTRICT", "OTHER-CITY", "BEFORE", "AFTER", "SHIPPED", "CANCELLED"):
            assert order(untouched).exemption == "", untouched
            assert order(untouched).exempt_region_id is None
        event = audits("region_published")[-1]
        assert event.details["exempted"] == 2 and event.target == "230103"

        city = exemptions.publish_region(region_data("230100", **window), actor=user(world, "operator"))
        assert order("OTHER-DISTRICT").exempt_region_id == city.id
        assert order("IN-DISTRICT").exempt_region_id == district.id  # already exempt: left as it was
        assert order("OTHER-CITY").exemption == ""
        province = exemptions.publish_region(region_data("230000", **window), actor=user(world, "operator"))
        assert order("OTHER-CITY").exempt_region_id == province.id
        assert province.name == "黑龙江省" and city.name == "黑龙江省 哈尔滨市"
        for untouched in ("BEFORE", "AFTER", "SHIPPED", "CANCELLED"):
            assert order(untouched).exemption == "", untouched
        # Orders of shop A in other provinces are not touched.
        assert (
            db.session.scalar(
                select(func.count()).where(
                    Order.shop_id == world["shops"]["seller1"],
                    Order.exempt_region_id.in_([district.id, city.id, province.id]),
                )
            )
            == 0
        )


def test_origin_region_exempts_every_open_order_of_a_shop_shipping_from_inside(app, world):
    with app.app_context():
        shop_a, shop_b = shop_of(world, "seller1"), shop_of(world, "seller2")
        assert (shop_a.sender_region_code, shop_b.sender_region_code) == ("330106", "440305")
        open_a = db.session.scalar(
            select(func.count()).where(Order.shop_id == shop_a.id, Order.exemption.not_in(("auto", "one_click")))
        )
        exemption_of_b = dict(
            db.session.execute(select(Order.id, Order.exemption).where(Order.shop_id == shop_b.id)).all()
        )
        # Origin: every open order of shop A whose window overlaps (the demo's were all paid in the last 3 days).
        region = exemptions.publish_region(region_data("330000", applies_to="origin"), actor=user(world, "operator"))
        db.session.commit()
        left = db.session.scalars(
            select(Order.exemption).where(Order.shop_id == shop_a.id, Order.exemption.not_in(("auto", "one_click")))
        ).all()
        assert left == [] and open_a > 0
        assert audits("region_published")[-1].details["exempted"] == open_a
        assert db.session.scalar(select(func.count()).where(Order.exempt_region_id == region.id)) == open_a
        # Shop B ships from Shenzhen: not even its Hangzhou-bound orders are touched by an origin region.
        assert dict(db.session.execute(select(Order.id, Order.exemption).where(Order.shop_id == shop_b.id)).all()) == (
            exemption_of_b
        )
        assert db.session.scalar(select(func.count()).where(Order.shop_id == shop_b.id, Order.city_code == "330100"))


def test_destination_region_touches_only_orders_going_there(app, world):
    with app.app_context():
        before = dict(db.session.execute(select(Order.id, Order.exemption)).all())
        region = exemptions.publish_region(region_data("330100"), actor=user(world, "operator"))
        after = dict(db.session.execute(select(Order.id, Order.exemption)).all())
        changed = {i for i in after if after[i] != before[i]}
        inside = set(db.session.scalars(select(Order.id).where(Order.city_code == "330100")))
        assert changed and changed <= inside
        assert all(after[i] == "auto" for i in inside)
        assert {o.shop_id for o in db.session.scalars(select(Order).where(Order.id.in_(changed)))} == {
            world["shops"]["seller1"],
            world["shops"]["seller2"],
        }
        assert set(db.session.scalars(select(Order.id).where(Order.exempt_region_id == region.id))) == changed


def test_new_orders_in_an_auto_region_are_exempt_when_created(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        auto = exemptions.publish_region(region_data("230100"), actor=user(world, "operator"))
        one_click = exemptions.publish_region(region_data("230200", level="one_click"), actor=user(world, "operator"))
        origin = exemptions.publish_region(
            region_data(
                "440300", applies_to="origin", valid_from=now + timedelta(days=10), valid_to=now + timedelta(days=11)
            ),
            actor=user(world, "operator"),
        )
        db.session.commit()
        add_orders(
            shop,
            [
                ("NEW-IN", NANGANG, now - timedelta(hours=1)),
                ("NEW-ONE-CLICK", LONGSHA, now - timedelta(hours=1)),
                ("NEW-LATER", DAOLI, now + timedelta(days=3)),  # paid after the window
                ("NEW-ORIGIN", LONGSHA, now + timedelta(days=9, hours=12)),  # inside the origin window
            ],
        )
        assert (order("NEW-IN").exemption, order("NEW-IN").exempt_region_id) == ("auto", auto.id)
        assert order("NEW-ONE-CLICK").exemption == ""  # one-click regions wait for the seller
        assert order("NEW-LATER").exemption == ""
        assert (order("NEW-ORIGIN").exemption, order("NEW-ORIGIN").exempt_region_id) == ("auto", origin.id)
        assert one_click.id  # published, exempting nothing by itself

        created = orders.create_order(
            shop,
            {
                "platform_order_no": "BY-HAND",
                "recipient_name": "张伟",
                "recipient_phone": "13812345678",
                "address": DAOLI,
                "paid_at": now.isoformat(),
                "item_title": "茶",
            },
            actor=user(world, "seller2"),
        )
        assert (created.exemption, created.exempt_region_id) == ("auto", auto.id)


def test_the_order_import_exempts_new_orders_in_an_auto_region(app, world, tmp_path):
    with app.app_context():
        shop, seller = shop_of(world, "seller1"), user(world, "seller1")
        region = exemptions.publish_region(region_data("230103"), actor=user(world, "operator"))
        db.session.commit()
        paid = (utcnow() + timedelta(hours=8) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")  # China time
        path = tmp_path / "orders.csv"
        path.write_text(
            "order_no,recipient,address,phone,paid_at\n"
            f"IMP-1,陈晨,{NANGANG},13512345678,{paid}\n"
            f"IMP-2,林美,{LONGSHA},13612345678,{paid}\n",
            encoding="utf-8",
        )
        result = imports.apply_import(shop, path, actor=seller)
        db.session.commit()
        assert result.created == 2
        assert (order("IMP-1").exemption, order("IMP-1").exempt_region_id) == ("auto", region.id)
        assert order("IMP-2").exemption == ""


def test_ended_region_keeps_its_exemptions_and_touches_no_new_order(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("OLD", NANGANG, now - timedelta(hours=2))])
        region = exemptions.publish_region(region_data("230100"), actor=user(world, "operator"))
        exemptions.end_region(region, actor=user(world, "operator"))
        db.session.commit()
        assert region.valid_to <= utcnow()
        assert order("OLD").exemption == "auto"
        add_orders(shop, [("NEW", NANGANG, utcnow() + timedelta(minutes=1))])
        assert order("NEW").exemption == ""
        assert audits("region_ended")[-1].details["region_id"] == region.id
        upcoming = exemptions.publish_region(
            region_data("230200", valid_from=now + timedelta(days=5), valid_to=now + timedelta(days=6)),
            actor=user(world, "operator"),
        )
        exemptions.end_region(upcoming, actor=user(world, "operator"))
        assert upcoming.valid_to == upcoming.valid_from  # an empty window, never valid


def test_a_pending_manual_order_in_a_new_auto_region_stays_auto_when_the_report_is_decided(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("WAITING", NANGANG, now - timedelta(hours=2))])
        report = exemptions.file_manual(
            shop, ["WAITING"], "Road closed by snow", [upload(PNG)], actor=user(world, "seller2")
        )
        assert order("WAITING").exemption == "manual_pending"
        exemptions.publish_region(region_data("230103"), actor=user(world, "operator"))
        assert order("WAITING").exemption == "auto"
        exemptions.decide(report, approve=False, comment="not needed", actor=user(world, "operator"))
        assert order("WAITING").exemption == "auto"


# One-click --------------------------------------------------------------------------------------


def test_one_click_offer_and_confirmation(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(
            shop,
            [
                ("OC-1", LONGSHA, now - timedelta(hours=2)),
                ("OC-2", LONGSHA, now - timedelta(hours=3)),
                ("OC-SHIPPED-ON-TIME", LONGSHA, now - timedelta(hours=3)),
                ("OC-OUT", NANGANG, now - timedelta(hours=3)),
            ],
        )
        db.session.execute(
            update(Order)
            .where(Order.platform_order_no == "OC-SHIPPED-ON-TIME")
            .values(status=OrderStatus.SHIPPED, shipped_at=now)
        )
        region = exemptions.publish_region(region_data("230200", level="one_click"), actor=user(world, "operator"))
        db.session.commit()
        assert order("OC-1").exemption == ""
        offers = {o.region.id: o.order_count for o in exemptions.one_click_offers(shop)}
        assert offers[region.id] == 2
        assert region.id in {n.region.id for n in exemptions.regions_touching(shop)}

        report = exemptions.file_one_click(shop, region, actor=user(world, "seller2"))
        db.session.commit()
        assert (report.kind, report.status, report.region_id) == ("one_click", "approved", region.id)
        assert report.decided_at is not None
        assert sorted(o.platform_order_no for o in report.orders) == ["OC-1", "OC-2"]
        for number in ("OC-1", "OC-2"):
            assert (order(number).exemption, order(number).exempt_region_id) == ("one_click", region.id)
            assert order(number).exemption_report_id == report.id
        assert order("OC-SHIPPED-ON-TIME").exemption == ""
        assert order("OC-OUT").exemption == ""
        assert region.id not in {o.region.id for o in exemptions.one_click_offers(shop)}
        assert audits("exemption_one_click")[-1].details["orders"] == 2

        reports = count(ExemptionReport)
        with pytest.raises(ConflictError) as again:
            exemptions.file_one_click(shop, region, actor=user(world, "seller2"))
        assert again.value.status == 409 and "No order" in again.value.message
        db.session.rollback()
        assert count(ExemptionReport) == reports


def test_one_click_is_refused_for_auto_ended_and_upcoming_regions(app, world):
    with app.app_context():
        shop, now, operator = shop_of(world, "seller2"), utcnow(), user(world, "operator")
        add_orders(shop, [("R-1", LONGSHA, now - timedelta(days=5))])
        auto = exemptions.publish_region(region_data("230202", level="auto"), actor=operator)
        ended = exemptions.publish_region(
            region_data(
                "230200", level="one_click", valid_from=now - timedelta(days=6), valid_to=now - timedelta(days=1)
            ),
            actor=operator,
        )
        upcoming = exemptions.publish_region(
            region_data("230200", level="one_click", valid_from=now + timedelta(days=1)), actor=operator
        )
        db.session.commit()
        assert order("R-1").exemption == ""  # the ended one-click region touches it, but exempts nothing
        before = count(ExemptionReport)
        for region in (auto, ended, upcoming):
            with pytest.raises(ConflictError, match="not open for one-click"):
                exemptions.file_one_click(shop, region, actor=user(world, "seller2"))
            db.session.rollback()
        assert count(ExemptionReport) == before
        assert order("R-1").exemption == ""
        assert not {o.region.id for o in exemptions.one_click_offers(shop)} & {auto.id, ended.id, upcoming.id}


def test_regions_touching_a_shop_by_its_ship_from(app, world):
    with app.app_context():
        shop_a, shop_b = shop_of(world, "seller1"), shop_of(world, "seller2")
        now = utcnow()
        region = exemptions.publish_region(
            region_data("330106", applies_to="origin", level="one_click", valid_to=now + timedelta(hours=1)),
            actor=user(world, "operator"),
        )
        notice = next(n for n in exemptions.regions_touching(shop_a) if n.region.id == region.id)
        assert notice.origin is True and notice.open_orders > 0
        assert region.id not in {n.region.id for n in exemptions.regions_touching(shop_b)}
        # Once it ends, it is no longer current.
        assert region.id not in {n.region.id for n in exemptions.regions_touching(shop_a, now + timedelta(hours=2))}


# Manual reports ---------------------------------------------------------------------------------


def test_manual_report_is_filed_pending_with_its_evidence_stored_safely(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("M-1", NANGANG, now - timedelta(days=3)), ("M-2", DAOLI, now - timedelta(days=3))])
        files = [
            upload(PNG, "../../etc/passwd.png", "notice"),
            upload(JPEG, "C:\\Users\\me\\area.jpg", "area_data"),
            upload(PDF, "证明.pdf", "quarantine"),
        ]
        report = exemptions.file_manual(
            shop,
            exemptions.parse_order_numbers(" M-1,M-2\n M-1 "),
            "  Road closed  ",
            files,
            actor=user(world, "seller2"),
        )
        db.session.commit()
        assert (report.kind, report.status, report.reason) == ("manual", "pending", "Road closed")
        assert [o.platform_order_no for o in report.orders] == ["M-1", "M-2"]
        assert order("M-1").exemption == "manual_pending" and order("M-1").exemption_report_id == report.id
        evidence = report.evidence
        assert [(e.kind, e.file_name, e.content_type) for e in evidence] == [
            ("notice", "passwd.png", "image/png"),
            ("area_data", "area.jpg", "image/jpeg"),
            ("quarantine", "证明.pdf", "application/pdf"),
        ]
        root = Path(app.config["PORTAL_UPLOAD_DIR"]).resolve()
        for item, data in zip(evidence, (PNG, JPEG, PDF), strict=True):
            path = exemptions.evidence_path(item).resolve()
            assert path.parent == root / "files"
            assert len(path.name) == 32 and set(path.name) <= set("0123456789abcdef")
            assert path.read_bytes() == data and item.size == len(data) and item.sha256 == storage.digest(data)
        assert "static" not in str(root)
        assert audits("exemption_filed")[-1].details == {"orders": 2, "files": 3}
        assert report in db.session.scalars(exemptions.review_queue()).all()


def test_storage_keys_are_never_paths():
    for key in ("../../etc/passwd", "", "0" * 31, "G" * 32, "/" + "a" * 31):
        with pytest.raises(ValueError):
            storage.bytes_path(key)


BAD_REPORTS = {
    "no orders": ([], "Choose at least one order", "order_numbers"),
    "unknown order": (["NOPE-404"], "Not an order of this shop: NOPE-404", "order_numbers"),
    "another shop's order": (["OTHER"], "Not an order of this shop: OTHER", "order_numbers"),
    "cancelled order": (["GONE"], "cancelled, shipped on time, already exempt or under review: GONE", "order_numbers"),
    "shipped on time": (["ONTIME"], "already exempt or under review: ONTIME", "order_numbers"),
    "already exempt": (["EXEMPT"], "already exempt or under review: EXEMPT", "order_numbers"),
    "short reason": (["OK-1"], "at least 5 characters", "reason"),
    "no evidence": (["OK-1"], "Attach at least one evidence file", "evidence"),
    "executable renamed to .png": (["OK-1"], "evil.png is not a PNG, JPEG or PDF file", "evidence"),
    "too big": (["OK-1"], "big.png is larger than 10 MB", "evidence"),
    "too many files": (["OK-1"], "At most 10 evidence files", "evidence"),
    "kind not chosen": (["OK-1"], "what the file shows", "evidence"),
}


def test_bad_manual_reports_are_refused_and_nothing_is_stored(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop_of(world, "seller1"), [("OTHER", NANGANG, now - timedelta(days=3))])
        add_orders(
            shop,
            [
                ("OK-1", NANGANG, now - timedelta(days=3)),
                ("GONE", NANGANG, now - timedelta(days=3)),
                ("ONTIME", NANGANG, now - timedelta(days=3)),
                ("EXEMPT", NANGANG, now - timedelta(days=3)),
            ],
        )
        db.session.execute(update(Order).where(Order.platform_order_no == "GONE").values(status="cancelled"))
        db.session.execute(
            update(Order)
            .where(Order.platform_order_no == "ONTIME")
            .values(status="shipped", shipped_at=now - timedelta(days=2))
        )
        db.session.execute(update(Order).where(Order.platform_order_no == "EXEMPT").values(exemption="one_click"))
        db.session.commit()
        before = (count(ExemptionReport), count(ExemptionReportOrder), count(Evidence), count(AuditEvent))
        files_before = stored_files(app)
        assert len(files_before) == 1  # the demo's own report
        exemptions_before = dict(db.session.execute(select(Order.platform_order_no, Order.exemption)).all())
        for case, (numbers, text, field) in BAD_REPORTS.items():
            files = [upload(PNG)]
            reason = "Road closed by snow"
            if case == "short reason":
                reason = " abc "
            elif case == "no evidence":
                files = [exemptions.EvidenceUpload("notice", None), upload(b"", "")]
            elif case == "executable renamed to .png":
                files = [upload(PNG, "fine.png"), upload(EXE, "evil.png")]
            elif case == "too big":
                files = [upload(PNG + b"\x00" * exemptions.EVIDENCE_MAX_BYTES, "big.png")]
            elif case == "too many files":
                files = [upload(PNG, f"{n}.png") for n in range(11)]
            elif case == "kind not chosen":
                files = [upload(PNG, kind="")]
            with pytest.raises(InvalidDataError) as refused:
                exemptions.file_manual(shop, numbers, reason, files, actor=user(world, "seller2"))
            db.session.rollback()
            assert refused.value.status == 422, case
            assert text in refused.value.field_errors.get(field, ""), (case, refused.value.field_errors)
            assert (count(ExemptionReport), count(ExemptionReportOrder), count(Evidence), count(AuditEvent)) == before
            assert dict(db.session.execute(select(Order.platform_order_no, Order.exemption)).all()) == (
                exemptions_before
            ), case
            assert stored_files(app) == files_before, case


def test_late_shipped_and_rejected_orders_can_be_reported(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("LATE", NANGANG, now - timedelta(days=5)), ("AGAIN", NANGANG, now - timedelta(days=5))])
        db.session.execute(
            update(Order).where(Order.platform_order_no == "LATE").values(status="shipped", shipped_at=now)
        )
        first = exemptions.file_manual(shop, ["AGAIN"], "Road closed", [upload(PNG)], actor=user(world, "seller2"))
        exemptions.decide(first, approve=False, comment="No notice attached", actor=user(world, "operator"))
        assert order("AGAIN").exemption == "manual_rejected"
        second = exemptions.file_manual(
            shop, ["LATE", "AGAIN"], "Road closed again", [upload(JPEG, "a.jpg")], actor=user(world, "seller2")
        )
        assert {o.platform_order_no: o.exemption for o in second.orders} == {
            "LATE": "manual_pending",
            "AGAIN": "manual_pending",
        }


def test_parse_order_numbers():
    assert exemptions.parse_order_numbers('A1, A2;A3，A4\n="A5"\n  A1  \n\n') == ["A1", "A2", "A3", "A4", "A5"]
    assert exemptions.parse_order_numbers("   ") == []


# Review -----------------------------------------------------------------------------------------


def _pending_reports(world, n: int) -> list[ExemptionReport]:
    shop, now = shop_of(world, "seller2"), utcnow()
    add_orders(shop, [(f"Q-{i}", NANGANG, now - timedelta(days=3)) for i in range(n)])
    reports = [
        exemptions.file_manual(shop, [f"Q-{i}"], f"Reason {i} here", [upload(PNG)], actor=user(world, "seller2"))
        for i in range(n)
    ]
    db.session.commit()
    return reports


def test_review_queue_is_oldest_first(app, world):
    with app.app_context():
        reports = _pending_reports(world, 3)
        now = utcnow()
        for report, age in zip(reports, (1, 30, 5), strict=True):
            report.created_at = now - timedelta(days=age)
        db.session.commit()
        queue = db.session.scalars(exemptions.review_queue()).all()
        ours = [r.id for r in queue if r.id in {x.id for x in reports}]
        assert ours == [reports[1].id, reports[2].id, reports[0].id]
        assert all(r.status == "pending" for r in queue)
        # The demo's own report (filed now) is after the 1-day-old one.
        assert queue[-1].id not in {x.id for x in reports}


def test_approve_exempts_and_a_second_decision_is_a_conflict(app, world):
    with app.app_context():
        (report,) = _pending_reports(world, 1)
        operator = user(world, "operator")
        exemptions.decide(report, approve=True, comment="", actor=operator)
        db.session.commit()
        assert (report.status, report.decided_by_id) == ("approved", operator.id)
        assert order("Q-0").exemption == "manual_approved"
        assert audits("exemption_approved")[-1].details == {"orders": 1}
        decided_at = report.decided_at
        for approve in (True, False):
            with pytest.raises(ConflictError, match="already been decided") as again:
                exemptions.decide(report, approve=approve, comment="changed my mind", actor=operator)
            assert again.value.status == 409
            db.session.rollback()
        db.session.refresh(report)
        assert (report.status, report.decision_comment, report.decided_at) == ("approved", "", decided_at)
        assert order("Q-0").exemption == "manual_approved"
        assert len(audits("exemption_approved")) == 1 and audits("exemption_rejected") == []


def test_a_decision_made_meanwhile_wins(app, world):
    """Two operators: the report object in hand still says pending, but the row was decided meanwhile."""
    with app.app_context():
        (report,) = _pending_reports(world, 1)
        assert report.status == "pending"
        db.session.execute(
            update(ExemptionReport)
            .where(ExemptionReport.id == report.id)
            .values(status="rejected", decision_comment="first")
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(ConflictError):
            exemptions.decide(report, approve=True, comment="", actor=user(world, "operator"))
        db.session.rollback()
        db.session.refresh(report)
        assert (report.status, report.decision_comment) == ("pending", "")  # the update above was rolled back too
        assert order("Q-0").exemption == "manual_pending"


def test_reject_needs_a_comment(app, world):
    with app.app_context():
        (report,) = _pending_reports(world, 1)
        operator = user(world, "operator")
        for comment in ("", "   "):
            with pytest.raises(InvalidDataError, match="the seller reads the comment") as refused:
                exemptions.decide(report, approve=False, comment=comment, actor=operator)
            assert "comment" in refused.value.field_errors
        with pytest.raises(InvalidDataError, match="at most 2,000"):
            exemptions.decide(report, approve=True, comment="x" * 2001, actor=operator)
        db.session.rollback()
        db.session.refresh(report)
        assert report.status == "pending" and order("Q-0").exemption == "manual_pending"
        exemptions.decide(report, approve=False, comment="  The notice is for another city.  ", actor=operator)
        db.session.commit()
        assert (report.status, report.decision_comment) == ("rejected", "The notice is for another city.")
        assert order("Q-0").exemption == "manual_rejected"
        assert report not in db.session.scalars(exemptions.review_queue()).all()
        assert report in db.session.scalars(exemptions.decided_reports()).all()


# Figures ----------------------------------------------------------------------------------------


def test_late_shipment_rate_leaves_exempt_orders_out(app, world):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [(f"S-{i}", NANGANG, now - timedelta(days=5)) for i in range(4)])
        # S-0 on time, S-1..S-3 late; S-2 one-click exempt, S-3 under review (still counts as late).
        db.session.execute(
            update(Order)
            .where(Order.platform_order_no == "S-0")
            .values(status="shipped", shipped_at=now - timedelta(days=4))
        )
        db.session.execute(
            update(Order)
            .where(Order.platform_order_no.in_(["S-1", "S-2", "S-3"]))
            .values(status="shipped", shipped_at=now)
        )
        db.session.execute(update(Order).where(Order.platform_order_no == "S-2").values(exemption="one_click"))
        db.session.execute(update(Order).where(Order.platform_order_no == "S-3").values(exemption="manual_pending"))
        board = orders.dashboard(shop.id)
        # Exempt orders are out of both counts: S-0, S-1, S-3 shipped, S-1 and S-3 late.
        assert (board.shipped, board.shipped_late, board.exempt) == (3, 2, 1)
        assert board.late_rate == pytest.approx(2 / 3)
        db.session.execute(update(Order).where(Order.platform_order_no == "S-3").values(exemption="manual_approved"))
        board = orders.dashboard(shop.id)
        assert (board.shipped, board.shipped_late, board.exempt) == (2, 1, 2)
        assert board.late_rate == pytest.approx(0.5)
        counts = exemptions.exemption_counts(shop.id)
        assert counts["one_click"] == 1 and counts["manual_approved"] == 1 and "" not in counts


# Region sheets ----------------------------------------------------------------------------------

GOOD_CSV = (
    "code,applies_to,level,valid_from,valid_to,source,note\n"
    "230103,destination,auto,{start},{end},health_notice,南岗区封控\n"
    "230200,both,one_click,{start},{end},outlet_status,\n"
)


def _window() -> dict:
    china = utcnow() + timedelta(hours=8)
    return {
        "start": (china - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        "end": (china + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
    }


def test_region_sheet_is_checked_then_published_whole(app, world, tmp_path):
    with app.app_context():
        shop = shop_of(world, "seller2")
        add_orders(shop, [("CSV-1", NANGANG, utcnow() - timedelta(hours=3))])
        path = tmp_path / "regions.csv"
        path.write_text(GOOD_CSV.format(**_window()), encoding="utf-8")
        before = count(AnomalyRegion)
        checked = region_import.read_regions(path)
        assert checked.ok and [r.code for r in checked.rows] == ["230103", "230200"] and checked.errors == []
        assert count(AnomalyRegion) == before  # reading writes nothing
        published = region_import.import_regions(path, actor=user(world, "operator"), file_name="regions.csv")
        db.session.commit()
        assert [(r.code, r.level, r.applies_to) for r in published] == [
            ("230103", "auto", "destination"),
            ("230200", "one_click", "both"),
        ]
        assert count(AnomalyRegion) == before + 2
        assert order("CSV-1").exemption == "auto"
        event = audits("regions_imported")[-1]
        assert event.details == {"regions": 2, "exempted": 1} and event.target == "regions.csv"


def test_region_sheet_errors_name_row_and_column_and_publish_nothing(app, world, tmp_path):
    with app.app_context():
        path = tmp_path / "bad.csv"
        window = _window()
        path.write_text(
            "code,applies_to,level,valid_from,valid_to,source,note\n"
            f"230103,destination,auto,{window['start']},{window['end']},health_notice,ok\n"
            "999999,everywhere,auto,2026-12-02 08:00,2026-12-01 08:00,other,\n"
            "\n"
            f"230100,origin,sometimes,{window['start']},{window['end']},rumour,\n",
            encoding="utf-8",
        )
        checked = region_import.read_regions(path)
        assert not checked.ok and len(checked.rows) == 1
        assert [(e.row, e.column) for e in checked.errors] == [
            (3, "code"),
            (3, "applies_to"),
            (3, "valid_to"),
            (5, "level"),
            (5, "source"),
        ]
        assert "999999 is not a division code" in checked.errors[0].message
        before = count(AnomalyRegion), count(AuditEvent)
        exempt_before = db.session.scalar(select(func.count()).where(Order.exemption != ""))
        with pytest.raises(InvalidDataError, match=r"Row 3, column code: .*Nothing was imported"):
            region_import.import_regions(path, actor=user(world, "operator"))
        db.session.rollback()
        assert (count(AnomalyRegion), count(AuditEvent)) == before
        assert db.session.scalar(select(func.count()).where(Order.exemption != "")) == exempt_before


def test_region_sheet_in_gbk_with_chinese_headings_and_values(app, tmp_path):
    with app.app_context():
        window = _window()
        path = tmp_path / "地区.csv"
        path.write_bytes(
            (
                "区划代码,适用于,级别,开始时间,结束时间,来源,备注\n"
                f"230103,目的地,自动,{window['start']},{window['end']},卫健委通知,南岗区临时管控\n"
                f"230200,发货地,一键报备,{window['start']},{window['end']},揽派数据,\n"
            ).encode("gbk")
        )
        checked = region_import.read_regions(path)
        assert checked.errors == []
        assert [(r.code, r.applies_to, r.level, r.source, r.note) for r in checked.rows] == [
            ("230103", "destination", "auto", "health_notice", "南岗区临时管控"),
            ("230200", "origin", "one_click", "statistics", ""),
        ]
        path.write_bytes(
            "区划代码,适用于,级别,开始时间,结束时间,来源\n999999,目的地,自动,2026-12-01,2026-11-01,其他\n".encode("gbk")
        )
        bad = region_import.read_regions(path)
        assert [(e.row, e.column) for e in bad.errors] == [(2, "区划代码"), (2, "结束时间")]


def test_region_sheet_xlsx_with_number_and_date_cells(app, tmp_path):
    with app.app_context():
        now = utcnow() + timedelta(hours=8)
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["code", "applies_to", "level", "valid_from", "valid_to", "source", "note"])
        start = datetime(now.year, now.month, now.day) - timedelta(days=1)
        sheet.append([230103, "destination", "auto", start, start + timedelta(days=3), "other", None])
        path = tmp_path / "regions.xlsx"
        workbook.save(path)
        checked = region_import.read_regions(path)
        assert checked.errors == [] and checked.rows[0].code == "230103"
        assert checked.rows[0].valid_from == start.replace(tzinfo=orders.CHINA)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "empty"),
        (b"code,level\n230103,auto\n", "applies_to"),
        (b"code,applies_to,level,valid_from,valid_to,source\n", "no regions"),
        (b"MZ\x90\x00\x00\x00binary", "not a spreadsheet"),
    ],
)
def test_unreadable_region_sheets_are_refused(app, tmp_path, content, text):
    with app.app_context():
        path = tmp_path / "r.csv"
        path.write_bytes(content)
        with pytest.raises(InvalidDataError) as refused:
            region_import.import_regions(path, actor=User(username="nobody"))
        assert text in refused.value.message and region_import.REGION_FILE_FIELD in refused.value.field_errors
        assert count(AnomalyRegion) == 0


# Review findings: races between two requests, and files left behind --------------------------------


def stale_first_check(monkeypatch) -> None:
    """The request's first check ran before another request wrote: it sees every order as reportable."""
    checked, calls = exemptions._reportable, []

    def check():
        calls.append(1)
        return checked() if len(calls) > 1 else Order.id.is_not(None)

    monkeypatch.setattr(exemptions, "_reportable", check)


def test_a_manual_report_does_not_take_orders_another_report_took_since_they_were_checked(app, world, monkeypatch):
    """Two tabs filing at once: both see the order reportable; only the first report may hold it."""
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("RACE-1", NANGANG, now - timedelta(days=3)), ("RACE-2", DAOLI, now - timedelta(days=3))])
        first = exemptions.file_manual(shop, ["RACE-1"], "Road closed", [upload(PNG)], actor=user(world, "seller2"))
        db.session.commit()
        files_before, reports_before = stored_files(app), count(ExemptionReport)
        stale_first_check(monkeypatch)
        with pytest.raises(ConflictError) as refused:
            exemptions.file_manual(
                shop, ["RACE-1", "RACE-2"], "Road closed too", [upload(PNG)], actor=user(world, "seller2")
            )
        db.session.rollback()
        assert "RACE-1" in refused.value.message and "RACE-2" not in refused.value.message
        assert order("RACE-1").exemption_report_id == first.id and order("RACE-2").exemption == ""
        assert count(ExemptionReport) == reports_before and stored_files(app) == files_before


def test_one_click_twice_at_once_files_one_report(app, world, monkeypatch):
    with app.app_context():
        shop, now = shop_of(world, "seller2"), utcnow()
        add_orders(shop, [("OC-1", NANGANG, now - timedelta(days=1))])
        region = exemptions.publish_region(region_data("230103", level="one_click"), actor=user(world, "operator"))
        db.session.commit()
        first = exemptions.file_one_click(shop, region, actor=user(world, "seller2"))
        db.session.commit()
        reports_before = count(ExemptionReport)
        stale_first_check(monkeypatch)  # the second click's select ran before the first click wrote
        with pytest.raises(ConflictError):
            exemptions.file_one_click(shop, region, actor=user(world, "seller2"))
        db.session.rollback()
        assert count(ExemptionReport) == reports_before
        assert order("OC-1").exemption == "one_click" and order("OC-1").exemption_report_id == first.id
