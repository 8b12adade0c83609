"""Numbers out of any range, and scans that only look like digits: a clear 4xx, never a 500."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order

HUGE = "9" * 23


def test_huge_ids_and_pages(app, world, login):
    seller = login("seller1")
    shop = world["shops"]["seller1"]
    assert seller.get(f"/shops/{HUGE}").status_code == 404
    assert seller.get(f"/shops/{shop}/orders/{HUGE}").status_code == 404
    assert seller.get(f"/shops/{shop}/orders/{2**40}").status_code == 404  # beyond a 32-bit id
    page = seller.get(f"/shops/{shop}/orders?page={HUGE}")
    assert page.status_code == 200 and "No orders match." in page.get_data(as_text=True)
    assert seller.get(f"/shops/{shop}/orders?due=²").status_code == 200
    assert seller.get(f"/shops/{shop}/orders?due=99999999999999").status_code == 200


def test_ids_in_forms_that_are_not_ids(app, world, login):
    courier = login("courier1")
    for url in ("/courier/ship-selected", "/courier/exports", "/courier/print-jobs"):
        data = {"order_ids": ["²", HUGE, str(2**40)], "company": "ZTO", "scope": "selected"}
        response = courier.post(url, data=data)
        assert response.status_code < 500, url
    pick = login("packer1").get(f"/staff/shops/{world['shops']['seller1']}/pick-list?order_ids=²")
    assert pick.status_code == 200


def test_dates_and_amounts_beyond_range(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    far = seller.post(f"/shops/{shop}/invitations/new", data={"invite-expires_on": "9999-12-31"})
    assert far.status_code == 422 and "before 2100" in far.get_data(as_text=True)
    order = {
        "platform_order_no": "HUGE-1",
        "recipient_name": "王芳",
        "recipient_phone": "13900001111",
        "address": "上海 上海市 浦东新区 张杨路 500 号",
        "paid_at": "2026-11-25 08:00:00",
    }
    for bad in (
        {"amount": "1e400"},
        {"items": [{"title": "x", "quantity": "1e400"}]},
        {"items": [{"title": "x", "price": "inf"}]},
        {"paid_at": "0001-01-01 00:00:00"},
        {"paid_at": "9999-12-31 23:00:00"},
    ):
        response = seller.post(f"/api/v1/shops/{shop}/orders", json=[{**order, **bad}])
        assert response.status_code == 422, bad
    form = seller.post(
        f"/shops/{shop}/orders/new",
        data={
            "platform_order_no": "HUGE-2",
            "recipient_name": "王芳",
            "recipient_phone": "13900001111",
            "address": order["address"],
            "item_title": "x",
            "quantity": "1",
            "paid_at": "0001-01-01T00:00",
        },
    )
    assert form.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.platform_order_no.like("HUGE-%"))) == 0


def test_queue_search_keeps_masked_phones_masked(app, world, login):
    shop = world["shops"]["seller1"]
    with app.app_context():
        phone = db.session.scalar(select(Order.recipient_phone).where(Order.shop_id == shop).order_by(Order.id))
    # courier2's grant in shop A does not show recipients: searching by phone must not answer.
    masked = login("courier2").get(f"/courier/queue?shop={shop}&q={phone}").get_data(as_text=True)
    assert "0 orders" in masked
    full = login("courier1").get(f"/courier/queue?shop={shop}&q={phone}").get_data(as_text=True)
    assert "0 orders" not in full
