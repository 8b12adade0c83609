"""Orders by hand and through the JSON API; the order list's filters; cancelling."""

from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus
from portal.models.base import utcnow

FORM = {
    "platform_order_no": "3921000000000000001",
    "buyer_nick": "tb_buyer",
    "recipient_name": "张伟",
    "recipient_phone": "138 1234 5678",
    "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
    "item_title": "西湖龙井 250g",
    "quantity": "2",
    "paid_at": "2026-11-25T10:00",
}


def orders_in(app, shop_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))


def test_add_an_order_by_hand(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    response = seller.post(f"/shops/{shop}/orders/new", data=FORM)
    assert response.status_code == 302
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.platform_order_no == FORM["platform_order_no"]))
        assert (order.province_code, order.city_code, order.district_code) == ("330000", "330100", "330106")
        assert order.address_detail.startswith("文三路")
        assert order.postcode == "310012"
        assert order.recipient_phone == "13812345678"
        assert order.item_count == 2 and order.items[0].title == "西湖龙井 250g"
        # 2026-11-25 10:00 China time is 02:00 UTC; the default promise is 48 h.
        assert order.paid_at.isoformat() == "2026-11-25T02:00:00+00:00"
        assert order.ship_by - order.paid_at == timedelta(hours=48)
        order_id = order.id
    assert response.headers["Location"].endswith(f"/shops/{shop}/orders/{order_id}")

    detail = seller.get(f"/shops/{shop}/orders/{order_id}").get_data(as_text=True)
    assert "13812345678" in detail and "张伟" in detail
    listing = seller.get(f"/shops/{shop}/orders?q={FORM['platform_order_no']}").get_data(as_text=True)
    assert "138******78" in listing and "13812345678" not in listing and "张*" in listing
    with app.app_context():
        viewed = db.session.scalar(select(func.count()).where(AuditEvent.action == "recipient_viewed"))
        assert viewed == 1


def test_bad_orders_by_hand_change_nothing(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    assert seller.post(f"/shops/{shop}/orders/new", data=FORM).status_code == 302
    before = orders_in(app, shop)
    cases = [
        ({**FORM, "platform_order_no": "X1", "recipient_phone": "12345"}, 422, "12345 is not a mobile or landline"),
        ({**FORM, "platform_order_no": "X2", "recipient_phone": "138****5678"}, 422, "masked"),
        ({**FORM, "platform_order_no": "bad no!"}, 422, "letters, digits"),
        ({**FORM, "quantity": "0"}, 422, "Quantity"),
        (FORM, 409, "already in this shop"),
    ]
    for data, status, message in cases:
        response = seller.post(f"/shops/{shop}/orders/new", data=data)
        assert response.status_code == status, message
        assert message in response.get_data(as_text=True)
    assert orders_in(app, shop) == before


def test_recipient_text_is_escaped(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    data = {**FORM, "recipient_name": "<script>alert(1)</script>", "seller_memo": "<b>x</b>"}
    seller.post(f"/shops/{shop}/orders/new", data=data)
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.platform_order_no == FORM["platform_order_no"]))
    page = seller.get(f"/shops/{shop}/orders/{order_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page


def test_order_list_filters_and_pages(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    total = orders_in(app, shop)
    assert total == 150  # the demo world
    first_page = seller.get(f"/shops/{shop}/orders").get_data(as_text=True)
    assert f"{total} orders" in first_page and "page=2" in first_page

    now = utcnow()
    with app.app_context():
        rows = db.session.scalars(select(Order).where(Order.shop_id == shop).order_by(Order.id)).all()
        overdue = sum(1 for o in rows if o.ship_by < now)
        due_6h = sum(1 for o in rows if now <= o.ship_by < now + timedelta(hours=6))
        zhejiang = sum(1 for o in rows if o.province_code == "330000")
        flagged = sum(1 for o in rows if o.address_flagged)
        sample = rows[0]
    assert overdue and due_6h and zhejiang and flagged

    def shown(query: str) -> int:
        page = seller.get(f"/shops/{shop}/orders?{query}").get_data(as_text=True)
        return int(page.split(" orders</p>")[0].rsplit(">", 1)[1])

    assert shown("due=overdue") == overdue
    assert shown("due=6") == due_6h
    assert shown("province=330000") == zhejiang
    assert shown("flagged=y") == flagged
    assert shown(f"q={sample.platform_order_no}") == 1
    assert shown("q=%25") == 0  # a literal %, not a wildcard
    assert shown("status=shipped") == 0
    assert shown("status=pending") == total


def test_cancel_once(app, world, login):
    shop = world["shops"]["seller1"]
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.shop_id == shop).order_by(Order.id))
    seller = login("seller1")
    assert seller.post(f"/shops/{shop}/orders/{order_id}/cancel", data={"reason": "buyer asked"}).status_code == 302
    again = seller.post(f"/shops/{shop}/orders/{order_id}/cancel", data={"reason": "twice"})
    assert again.status_code == 409
    assert "cancelled" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.CANCELLED


API_ORDER = {
    "platform_order_no": "API-1",
    "recipient_name": "王芳",
    "recipient_phone": "+86 139 0000 1111",
    "address": "上海 上海市 浦东新区 张杨路 500 号 1203 室",
    "paid_at": "2026-11-25T08:00:00+08:00",
    "items": [{"title": "蓝牙耳机", "sku": "BT-1", "quantity": 1, "price": "199.00"}],
}


def test_api_upsert_is_idempotent(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    response = seller.post(
        f"/api/v1/shops/{shop}/orders", json=[API_ORDER, {**API_ORDER, "platform_order_no": "API-2"}]
    )
    assert response.status_code == 200
    assert response.json == {"created": 2, "updated": 0, "skipped": 0, "unchanged": 0}
    again = seller.post(f"/api/v1/shops/{shop}/orders", json={"orders": [{**API_ORDER, "recipient_name": "王芳芳"}]})
    assert again.json == {"created": 0, "updated": 1, "skipped": 0, "unchanged": 0}
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.platform_order_no == "API-1"))
        assert order.recipient_name == "王芳芳"
        assert order.recipient_phone == "13900001111"
        assert order.items[0].price_cents == 19900 and order.items[0].sku == "BT-1"
        order.status = OrderStatus.LABELLED  # already in work: never overwritten
        db.session.commit()
    third = seller.post(f"/api/v1/shops/{shop}/orders", json=[API_ORDER])
    assert third.json == {"created": 0, "updated": 0, "skipped": 1, "unchanged": 0}


def test_api_rejects_bad_batches_whole(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    before = orders_in(app, shop)
    bad = {**API_ORDER, "platform_order_no": "API-3", "recipient_phone": "not a phone"}
    response = seller.post(f"/api/v1/shops/{shop}/orders", json=[API_ORDER, bad, API_ORDER])
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert set(response.json["errors"]) == {"1", "2"}
    assert "recipient_phone" in response.json["errors"]["1"]
    for payload in ("nonsense", [], {"orders": 3}, [1, 2]):
        assert seller.post(f"/api/v1/shops/{shop}/orders", json=payload).status_code == 422
    too_many = [{**API_ORDER, "platform_order_no": f"N{i}"} for i in range(1001)]
    assert seller.post(f"/api/v1/shops/{shop}/orders", json=too_many).status_code == 422
    assert orders_in(app, shop) == before
    anonymous = app.test_client().post(f"/api/v1/shops/{shop}/orders", json=[API_ORDER])
    assert anonymous.status_code == 401 and anonymous.content_type == "application/problem+json"


def test_security_headers_on_every_page(app, world, login):
    for response in (app.test_client().get("/login"), login("courier1").get("/courier/queue")):
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
