"""The seller imports the courier company's reply sheet: preview, then every order labelled or none."""

import io
from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ImportBatch, Order, OrderStatus

DATA = Path(__file__).parent.parent / "data"


def upload(client, shop, name, company="ZTO"):
    data = {"company": company, "tracking_file": (io.BytesIO((DATA / name).read_bytes()), name)}
    return client.post(f"/shops/{shop}/tracking-import", data=data, content_type="multipart/form-data")


def labelled(app, shop):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(Order.shop_id == shop, Order.status == OrderStatus.LABELLED)
        )


def test_preview_then_confirm(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    response = upload(seller, shop, "tracking_zto_utf8.csv")
    assert response.status_code == 302
    preview = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert "tracking_zto_utf8.csv" in preview and "/confirm" in preview
    assert labelled(app, shop) == 0
    with app.app_context():
        batch = db.session.scalar(select(ImportBatch).where(ImportBatch.kind == "tracking"))
        ready = batch.report["ok_count"]
    confirmed = seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm")
    assert confirmed.status_code == 302
    assert labelled(app, shop) == ready == 5
    with app.app_context():
        assert db.session.scalar(select(Order.tracking_no).where(Order.tracking_no == "75000000000001"))
    assert seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm").status_code == 409


def test_errors_are_listed_and_nothing_changes(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    response = upload(seller, shop, "tracking_errors.csv")
    page = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="tracking-errors"' in page and "/confirm" not in page
    with app.app_context():
        batch_id = db.session.scalar(select(ImportBatch.id).where(ImportBatch.kind == "tracking"))
    assert seller.post(f"/shops/{shop}/tracking-import/{batch_id}/confirm").status_code == 422
    assert labelled(app, shop) == 0
    # A sheet without the tracking-number column fails in its check job, and says why.
    refused = seller.get(upload(seller, shop, "tracking_no_number_column.csv").headers["Location"])
    assert 'id="tracking-failed"' in refused.text and "运单号" in refused.text
    # an order-import batch is not a tracking batch, and the other way round
    assert seller.get(f"/shops/{shop}/imports/{batch_id}").status_code == 404


def test_imported_numbers_can_be_reprinted_and_voided(app, world, login):
    from portal.models import Waybill, WaybillStatus

    shop = world["shops"]["seller1"]
    seller = login("seller1")
    upload(seller, shop, "tracking_zto_utf8.csv")
    with app.app_context():
        batch_id = db.session.scalar(select(ImportBatch.id).where(ImportBatch.kind == "tracking"))
    seller.post(f"/shops/{shop}/tracking-import/{batch_id}/confirm")
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.tracking_no == "75000000000001"))
        waybill = db.session.scalar(select(Waybill).where(Waybill.tracking_no == "75000000000001"))
        assert waybill.order_id == order_id and waybill.range_id is None
    courier = login("courier1")
    base = f"/courier/shops/{shop}/orders/{order_id}"
    reprint = courier.post(f"{base}/reprint", data={"size": "100x150", "reason": "first label lost"})
    labels_page = reprint.headers["Location"].removesuffix("/summary")  # the job's summary, then its labels
    assert "75000000000001" in courier.get(labels_page).get_data(as_text=True)
    assert courier.post(f"{base}/void", data={"reason": "parcel split"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Waybill.status).where(Waybill.id == waybill.id)) == WaybillStatus.VOIDED
        assert db.session.get(Order, order_id).status == OrderStatus.PENDING
