"""Address export from the courier's queue: only with the export switch, always audited."""

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order


def some_orders(app, shop_id, n=3):
    with app.app_context():
        rows = db.session.execute(
            select(Order.id, Order.recipient_phone).where(Order.shop_id == shop_id).order_by(Order.id).limit(n)
        ).all()
    return [r.id for r in rows], [r.recipient_phone for r in rows]


def test_export_csv_and_xlsx(app, world, login):
    shop = world["shops"]["seller1"]
    ids, phones = some_orders(app, shop)
    courier = login("courier1")
    csv = courier.post("/courier/exports", data={"order_ids": [str(i) for i in ids], "format": "csv"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    text = csv.data.decode("utf-8-sig")
    assert "收件人" in text and all(phone in text for phone in phones)  # full details: the courier's own system
    xlsx = courier.post("/courier/exports", data={"order_ids": [str(i) for i in ids], "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == len(ids) + 1
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "addresses_exported")).all()
        assert [(e.shop_id, e.details["format"]) for e in events] == [(shop, "csv"), (shop, "xlsx")]


def test_export_needs_the_switch(app, world, login):
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    ids, _phones = some_orders(app, shop_a)
    # courier2's grant in shop A has no export switch; courier1's grant in shop B neither.
    assert login("courier2").post("/courier/exports", data={"order_ids": [str(i) for i in ids]}).status_code == 404
    ids_b, _ = some_orders(app, shop_b)
    assert login("courier1").post("/courier/exports", data={"order_ids": [str(i) for i in ids_b]}).status_code == 404
    assert login("courier1").post("/courier/exports", data={}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "addresses_exported")) == 0


def test_export_closes_after_the_shops_days(app, world, login):
    from datetime import timedelta

    from sqlalchemy import update

    from portal.models import OrderStatus
    from portal.models.base import utcnow

    shop = world["shops"]["seller1"]
    ids, _phones = some_orders(app, shop, 2)
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.id == ids[0])
            .values(status=OrderStatus.SHIPPED, shipped_at=utcnow() - timedelta(days=8))
        )
        db.session.commit()
    response = login("courier1").post("/courier/exports", data={"order_ids": [str(i) for i in ids]})
    assert response.status_code == 409 and "no longer open to couriers" in response.get_data(as_text=True)
    detail = login("courier1").get(f"/courier/shops/{shop}/orders/{ids[0]}").get_data(as_text=True)
    assert "masked" in detail
