"""The import pages: upload, preview, confirm or discard, and refusals."""

import io
from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, ImportBatch, Order

DATA = Path(__file__).parent.parent / "data"


def upload(client, shop_id, name, content=None, items=None):
    data = {"orders_file": (io.BytesIO(content if content is not None else (DATA / name).read_bytes()), name)}
    if items:
        data["items_file"] = (io.BytesIO((DATA / items).read_bytes()), items)
    return client.post(f"/shops/{shop_id}/imports", data=data, content_type="multipart/form-data")


def count_orders(app, shop_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))


def test_upload_preview_confirm(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    before = count_orders(app, shop)
    response = upload(seller, shop, "taobao_2017_gbk.csv")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert count_orders(app, shop) == before  # a preview writes no order

    page = seller.get(preview_url).get_data(as_text=True)
    assert "taobao_2017_gbk.csv" in page
    assert "等待买家付款" in page  # reported as not waiting to ship
    with app.app_context():
        batch = db.session.scalar(select(ImportBatch))
        new = batch.report["new"]
        assert new > 0 and batch.report["ok"]
        batch_id = batch.id
    confirmed = seller.post(f"/shops/{shop}/imports/{batch_id}/confirm")
    assert confirmed.status_code == 302
    # The import runs as a job (inline under tests); the batch's page then shows what it did and the orders' link.
    assert confirmed.headers["Location"].endswith(f"/shops/{shop}/imports/{batch_id}")
    result = seller.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert f"Imported: {new} new" in result and f'href="/shops/{shop}/orders"' in result
    assert count_orders(app, shop) == before + new
    with app.app_context():
        assert db.session.get(ImportBatch, batch_id).status == "applied"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "orders_imported"))
        assert event.target == "taobao_2017_gbk.csv" and event.details["created"] == new
    # Confirming twice is refused and changes nothing.
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/confirm").status_code == 409
    assert count_orders(app, shop) == before + new


def test_invalid_rows_are_listed_and_cannot_be_confirmed(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    response = upload(seller, shop, "bad_rows.csv")
    page = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-errors"' in page
    assert "/confirm" not in page
    with app.app_context():
        batch_id = db.session.scalar(select(ImportBatch.id))
    before = count_orders(app, shop)
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/confirm").status_code == 422
    assert count_orders(app, shop) == before


def test_files_that_are_not_exports_are_refused(app, world, login):
    """What can be told before the rows are read is refused in the upload's own request: no batch, no file."""
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    for name, message in (("image.csv", "not a spreadsheet"), ("empty.csv", "empty")):
        response = upload(seller, shop, name)
        assert response.status_code == 422, name
        assert message in response.get_data(as_text=True)
    wrong_type = upload(seller, shop, "orders.exe", content=b"MZ\x90\x00")
    assert wrong_type.status_code == 422
    assert "CSV or XLSX" in wrong_type.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    assert not [folder for folder in Path(app.config["PORTAL_UPLOAD_DIR"]).glob("*") if len(folder.name) == 32]


def test_huge_upload_is_refused_before_reading(app, world, login):
    shop = world["shops"]["seller2"]
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    big = b"a," * (600 * 1024)
    response = upload(login("seller2"), shop, "big.csv", content=big)
    assert response.status_code == 413


def test_discard(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    upload(seller, shop, "taobao_2017_gbk.csv")
    with app.app_context():
        batch_id = db.session.scalar(select(ImportBatch.id))
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/discard").status_code == 302
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/confirm").status_code == 409
