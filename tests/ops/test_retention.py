"""``flask purge-details``: buyer details go a shop-set number of days after shipping (or cancelling);
the order, its tracking number, its history and the audit log stay (DESIGN: multi-account access)."""

import io
from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderEvent, OrderStatus, Shop
from portal.models.base import utcnow

DETAILS = {
    "buyer_nick": "tb_buyer",
    "recipient_name": "欧阳娜娜",
    "recipient_phone": "13912345678",
    "address_raw": "浙江省 杭州市 西湖区 文三路 90 号 (310012)",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "address_detail": "文三路 90 号",
    "postcode": "310012",
    "buyer_message": "请放门卫",
    "seller_memo": "送小样",
}


def add_orders(app, world) -> None:
    """Orders of seller1's shop (retention 90 days) and seller2's (365 days), shipped or cancelled long ago."""
    now = utcnow()
    shop1, shop2 = world["shops"]["seller1"], world["shops"]["seller2"]
    plan = [  # (shop, number, status, days ago)
        (shop1, "OLD-SHIPPED", OrderStatus.SHIPPED, 100),
        (shop1, "NEW-SHIPPED", OrderStatus.SHIPPED, 80),
        (shop1, "OLD-CANCELLED", OrderStatus.CANCELLED, 100),
        (shop1, "NEW-CANCELLED", OrderStatus.CANCELLED, 10),
        (shop1, "OLD-PENDING", OrderStatus.PENDING, 400),
        (shop2, "LONG-KEPT", OrderStatus.SHIPPED, 100),
        (shop2, "VERY-OLD", OrderStatus.SHIPPED, 400),
    ]
    with app.app_context():
        db.session.get(Shop, shop2).retention_days = 365
        for shop_id, number, status, days in plan:
            at = now - timedelta(days=days)
            order = Order(
                shop_id=shop_id,
                platform_order_no=number,
                status=status,
                tracking_no=f"TN{number}",
                paid_at=at - timedelta(days=1),
                ship_by=at,
                created_at=at,
                updated_at=at,
                shipped_at=at if status == OrderStatus.SHIPPED else None,
                **DETAILS,
            )
            db.session.add(order)
            db.session.flush()
            db.session.add(OrderEvent(order_id=order.id, at=at, action="ship", to_status=status))
        db.session.commit()


def order(app, number: str) -> Order:
    with app.app_context():
        return db.session.scalar(select(Order).where(Order.platform_order_no == number))


def purge_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "details_purged")))


def test_purge_blanks_buyer_details_past_the_shops_retention(app, world):
    add_orders(app, world)
    with app.app_context():
        audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    result = app.test_cli_runner().invoke(args=["purge-details"])
    assert result.exit_code == 0, result.output
    assert "buyer details purged from 3 orders in 2 shops" in result.output

    for number in ("OLD-SHIPPED", "OLD-CANCELLED", "VERY-OLD"):
        purged = order(app, number)
        assert purged.details_purged_at is not None
        assert (purged.recipient_name, purged.recipient_phone, purged.address_detail, purged.address_raw) == (
            "",
            "",
            "",
            "",
        )
        assert (purged.buyer_nick, purged.buyer_message, purged.seller_memo, purged.postcode) == ("", "", "", "")
        # The order stays, with its number, tracking number, state, region and history.
        assert purged.tracking_no == f"TN{number}" and purged.province == "浙江省" and purged.district == "西湖区"
        with app.app_context():
            assert db.session.scalar(select(func.count()).where(OrderEvent.order_id == purged.id)) == 1
    for number in ("NEW-SHIPPED", "NEW-CANCELLED", "OLD-PENDING", "LONG-KEPT"):
        kept = order(app, number)
        assert kept.details_purged_at is None
        assert (kept.recipient_name, kept.recipient_phone, kept.buyer_message) == (
            "欧阳娜娜",
            "13912345678",
            "请放门卫",
        )

    events = {event.shop_id: event for event in purge_events(app)}
    assert set(events) == {world["shops"]["seller1"], world["shops"]["seller2"]}
    assert events[world["shops"]["seller1"]].details == {"orders": 2, "evidence_files": 0, "retention_days": 90}
    assert events[world["shops"]["seller2"]].details == {"orders": 1, "evidence_files": 0, "retention_days": 365}
    with app.app_context():  # nothing in the audit log was removed
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before + 2


def test_purge_twice_changes_nothing_the_second_time(app, world):
    add_orders(app, world)
    assert app.test_cli_runner().invoke(args=["purge-details"]).exit_code == 0
    first_at = order(app, "OLD-SHIPPED").details_purged_at
    again = app.test_cli_runner().invoke(args=["purge-details"])
    assert again.exit_code == 0
    assert "buyer details purged from 0 orders in 0 shops" in again.output
    assert order(app, "OLD-SHIPPED").details_purged_at == first_at
    assert len(purge_events(app)) == 2


def test_a_longer_retention_keeps_details_longer(app, world):
    add_orders(app, world)
    with app.app_context():
        db.session.get(Shop, world["shops"]["seller1"]).retention_days = 120
        db.session.commit()
    assert "purged from 1 orders in 1 shops" in app.test_cli_runner().invoke(args=["purge-details"]).output
    assert order(app, "OLD-SHIPPED").details_purged_at is None
    assert order(app, "VERY-OLD").details_purged_at is not None


def settings(**changes) -> dict:
    form = {"name": "Seller One", "promise_hours": "48", "detail_days": "7", "retention_days": "90"}
    form.update(changes)
    return form


def test_the_seller_sets_the_retention(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    page = seller.get(f"/shops/{shop}/settings").get_data(as_text=True)
    assert 'name="retention_days"' in page and 'value="90"' in page
    saved = seller.post(f"/shops/{shop}/settings", data=settings(retention_days="180"))
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(Shop, shop).retention_days == 180
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "shop_settings")).all()[-1]
        assert event.details["retention_days"] == 180


def test_retention_must_cover_the_courier_details_window(app, world, login):
    shop = world["shops"]["seller1"]
    refused = login("seller1").post(f"/shops/{shop}/settings", data=settings(detail_days="30", retention_days="20"))
    assert refused.status_code == 422
    assert "at least as long as couriers may see them (30 days)" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Shop, shop).retention_days == 90


def test_an_order_export_left_in_preview_is_removed_with_its_buyer_details(app, world, login, tmp_path):
    """An uploaded export that was never confirmed holds every buyer's details in full: it does not stay forever."""
    import os
    from pathlib import Path

    from portal.models import ImportBatch

    shop = world["shops"]["seller1"]
    seller = login("seller1")
    export = "订单编号,买家会员名,收货人姓名,收货地址 ,联系手机,订单付款时间 \n"
    export += '="9001",tb_buyer,欧阳娜娜,浙江省 杭州市 西湖区 文三路 90 号(310012),13912345678,2026-01-02 10:00:00\n'
    uploaded = seller.post(
        f"/shops/{shop}/imports",
        data={"orders_file": (io.BytesIO(export.encode("gbk")), "ExportOrderList.csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    root = Path(app.config["PORTAL_UPLOAD_DIR"])
    with app.app_context():
        batch = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        folder = root / batch.storage_key
        assert folder.is_dir()
        # Uploaded two days ago and forgotten; another left just now still waits for its seller.
        two_days_ago = (utcnow() - timedelta(days=2)).timestamp()
        os.utime(folder, (two_days_ago, two_days_ago))
        batch.created_at = utcnow() - timedelta(days=2)
        fresh = root / ("f" * 32)
        fresh.mkdir()
        (fresh / "orders-new.csv").write_text("x")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge-details"])
    assert result.exit_code == 0, result.output
    assert not folder.exists() and fresh.exists()
    with app.app_context():
        assert db.session.get(ImportBatch, batch.id).status == "discarded"
    expired = seller.post(f"/shops/{shop}/imports/{batch.id}/confirm")
    assert expired.status_code == 409


def add_report(app, world, numbers: list[str], status: str) -> tuple[int, int, str]:
    """A manual report of seller1's shop on these orders, with one PNG of evidence: (report id, evidence id, key)."""
    from portal.models import Evidence, ExemptionReport, ReportKind
    from portal.services import storage
    from tests.exemption_samples import PNG

    with app.app_context():
        report = ExemptionReport(
            shop_id=world["shops"]["seller1"],
            kind=ReportKind.MANUAL,
            status=status,
            reason="快递网点停发",
            created_by_id=world["users"]["seller1"],
            orders=[order_ for number in numbers if (order_ := db.session.merge(order(app, number)))],
        )
        key = storage.put_bytes(PNG)
        report.evidence.append(
            Evidence(kind="outlet", file_name="网点通知.png", storage_key=key, content_type="image/png", size=72)
        )
        db.session.add(report)
        db.session.commit()
        return report.id, report.evidence[0].id, key


def test_evidence_goes_with_the_buyer_details_of_every_order_of_a_decided_report(app, world, login):
    from portal.models import Evidence
    from portal.services import storage

    add_orders(app, world)
    gone_id, gone_evidence, gone_key = add_report(app, world, ["OLD-SHIPPED", "OLD-CANCELLED"], "approved")
    _mixed, _, mixed_key = add_report(app, world, ["OLD-SHIPPED", "NEW-SHIPPED"], "rejected")  # one order kept
    _pending, _, pending_key = add_report(app, world, ["OLD-SHIPPED"], "pending")  # the operator has not read it

    result = app.test_cli_runner().invoke(args=["purge-details"])
    assert result.exit_code == 0, result.output
    assert "evidence files removed with them: 1" in result.output
    with app.app_context():
        assert not storage.bytes_path(gone_key).exists()
        assert storage.bytes_path(mixed_key).exists() and storage.bytes_path(pending_key).exists()
        evidence = db.session.get(Evidence, gone_evidence)
        assert evidence.purged_at is not None and evidence.file_name == "网点通知.png"  # the record stays
    assert {e.details["evidence_files"] for e in purge_events(app)} == {1, 0}

    # The report still lists the file, marked removed; asking for it says it is gone.
    seller = login("seller1")
    page = seller.get(f"/shops/{world['shops']['seller1']}/exemptions/{gone_id}")
    assert page.status_code == 200
    assert "网点通知.png" in page.text and "evidence-purged" in page.text
    assert f"/evidence/{gone_evidence}" not in page.text
    for url in (
        f"/shops/{world['shops']['seller1']}/exemptions/{gone_id}/evidence/{gone_evidence}",
        f"/operator/exemptions/{gone_id}/evidence/{gone_evidence}",
    ):
        client = seller if url.startswith("/shops") else login("operator")
        response = client.get(url)
        assert response.status_code == 410
        assert "retention period" in response.text
    with app.app_context():  # a refused view is no view: nothing audited
        assert not list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_viewed")))

    again = app.test_cli_runner().invoke(args=["purge-details"])
    assert "evidence files removed" not in again.output
