"""The seller's order list at volume: page sizes, sorts, filters, and the bulk actions on the ticked orders or on
all orders matching the filter."""

import csv
import io
import re
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderEvent, OrderItem, OrderStatus
from tests.functional.test_seller_printing import pending_ids, seller_print

CHINA = ZoneInfo("Asia/Shanghai")
ROW = re.compile(r'name="order_ids" value="(\d+)"')


def listed(client, shop_id, query=""):
    response = client.get(f"/shops/{shop_id}/orders?{query}")
    assert response.status_code == 200
    return [int(i) for i in ROW.findall(response.get_data(as_text=True))]


def bulk(client, shop_id, action, order_ids=(), **extra):
    data = {"scope": "selected", "order_ids": [str(i) for i in order_ids], **extra}
    return client.post(f"/shops/{shop_id}/orders/{action}", data=data)


def test_page_sizes_50_to_500(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    assert len(listed(seller, shop)) == 50
    assert len(listed(seller, shop, "per_page=100")) == 100
    assert len(listed(seller, shop, "per_page=500")) == 150  # the whole shop
    assert len(listed(seller, shop, "per_page=7")) == 50  # not offered: the default
    second = listed(seller, shop, "per_page=100&page=2")
    assert len(second) == 50 and not set(second) & set(listed(seller, shop, "per_page=100"))


def test_sorts(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    with app.app_context():

        def order_of(*columns):
            return list(db.session.scalars(select(Order.id).where(Order.shop_id == shop).order_by(*columns)))

        by_ship = order_of(Order.ship_by, Order.id)
        by_paid = order_of(Order.paid_at, Order.id)
        by_dest = order_of(Order.province_code, Order.city_code, Order.id)
        first_sku = select(func.min(OrderItem.sku)).where(OrderItem.order_id == Order.id).scalar_subquery()
        by_sku = order_of(first_sku, Order.id)
    assert listed(seller, shop, "per_page=500") == by_ship
    assert listed(seller, shop, "per_page=500&sort=paid") == by_paid
    assert listed(seller, shop, "per_page=500&sort=destination") == by_dest
    assert listed(seller, shop, "per_page=500&sort=sku") == by_sku
    assert by_dest != by_ship


def test_filters_sku_paid_before_flagged(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    with app.app_context():
        with_sku = set(
            db.session.scalars(select(Order.id).join(OrderItem).where(Order.shop_id == shop, OrderItem.sku == "LJ-250"))
        )
        paid = sorted(db.session.scalars(select(Order.paid_at).where(Order.shop_id == shop)))
        cut = paid[len(paid) // 2].replace(second=0, microsecond=0)
        before = set(db.session.scalars(select(Order.id).where(Order.shop_id == shop, Order.paid_at < cut)))
    assert with_sku and set(listed(seller, shop, "sku=LJ-250&per_page=500")) == with_sku
    stamp = (cut.replace(tzinfo=UTC) if cut.tzinfo is None else cut).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    assert before and set(listed(seller, shop, f"paid_before={stamp}&per_page=500")) == before
    assert len(listed(seller, shop, "flagged=yes&per_page=500")) == 6
    assert len(listed(seller, shop, "flagged=no&per_page=500")) == 144
    bad = seller.get(f"/shops/{shop}/orders?paid_before=yesterday")
    assert bad.status_code == 200 and "Paid before (China time):" in bad.get_data(as_text=True)


def test_bulk_cancel_needs_a_reason_and_keeps_history(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 3)
    refused = bulk(seller, shop, "cancel", ids, per_page="500")
    assert refused.status_code == 422 and "Say why these orders are cancelled." in refused.get_data(as_text=True)
    # the selection is kept on the page that says why
    assert all(f'value="{i}" aria-label' in refused.get_data(as_text=True) for i in ids)
    done = bulk(seller, shop, "cancel", ids, reason="buyer asked")
    assert done.status_code == 303
    assert "Cancelled: 3." in seller.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(select(Order.status).where(Order.id.in_(ids)))) == {OrderStatus.CANCELLED}
        events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids))).all()
        assert {(e.action, e.note) for e in events} >= {("cancel", "buyer asked")}
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "order_cancelled"))
        assert audit.details["reason"] == "buyer asked" and len(audit.details["order_nos"]) == 3


def test_bulk_cancel_refuses_shipped_orders_one_by_one_or_all(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 3)
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == ids[0]).values(status=OrderStatus.SHIPPED))
        db.session.commit()
        shipped_no = db.session.scalar(select(Order.platform_order_no).where(Order.id == ids[0]))
    # All or nothing: one shipped order, none cancelled.
    none = bulk(seller, shop, "cancel", ids, reason="oversold", all_or_nothing="1")
    html = none.get_data(as_text=True)
    assert none.status_code == 409
    assert "1 of the 3 orders cannot be cancelled, so none was" in html
    assert f"{shipped_no} is shipped: it cannot be cancelled." in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.id.in_(ids), Order.status == "cancelled")) == 0
    # Otherwise: the others are cancelled, the shipped one refused with its reason.
    some = bulk(seller, shop, "cancel", ids, reason="oversold")
    page = seller.get(some.headers["Location"]).get_data(as_text=True)
    assert "Cancelled: 2." in page and f"{shipped_no} is shipped: it cannot be cancelled." in page
    with app.app_context():
        statuses = dict(db.session.execute(select(Order.id, Order.status).where(Order.id.in_(ids))).all())
        assert statuses == {ids[0]: "shipped", ids[1]: "cancelled", ids[2]: "cancelled"}


def test_bulk_cancel_voids_the_numbers(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 2)
    seller_print(seller, shop, ids)
    assert bulk(seller, shop, "cancel", ids, reason="address wrong").status_code == 303
    with app.app_context():
        from portal.models import Waybill

        assert set(db.session.scalars(select(Waybill.status).where(Waybill.order_id.in_(ids)))) == {"voided"}


def test_bulk_mark_packed(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 3)
    seller_print(seller, shop, ids[:2])
    response = bulk(seller, shop, "pack", ids)
    page = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert "Packed: 2." in page and "is pending: it cannot be packed." in page
    with app.app_context():
        assert [db.session.get(Order, i).status for i in ids] == ["packed", "packed", "pending"]


def test_bulk_export_of_all_matching_the_filter(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    response = bulk(seller, shop, "export", scope="filter", sku="LJ-250", format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    with app.app_context():
        expected = db.session.scalar(
            select(func.count(func.distinct(OrderItem.order_id)))
            .join(Order)
            .where(Order.shop_id == shop, OrderItem.sku == "LJ-250")
        )
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "addresses_exported"))
    assert len(rows) - 1 == expected


def test_bulk_exemption_opens_the_report_with_the_orders(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 2)
    response = bulk(seller, shop, "exemption", ids)
    assert response.status_code == 303 and f"ids={ids[0]}" in response.headers["Location"]
    with app.app_context():
        numbers = db.session.scalars(select(Order.platform_order_no).where(Order.id.in_(ids))).all()
    form = seller.get(response.headers["Location"]).get_data(as_text=True)
    assert all(no in form for no in numbers)


def test_over_100_confirm_first_and_a_changed_count_asks_again(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    first = bulk(seller, shop, "cancel", scope="filter", status="pending", reason="closing the shop")
    assert first.status_code == 200 and "Cancel 150 orders?" in first.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.status == "cancelled")) == 0
    # One order fewer matches now: the old count is not a confirmation of the new one.
    bulk(seller, shop, "cancel", pending_ids(app, shop, 1), reason="one first")
    stale = bulk(seller, shop, "cancel", scope="filter", status="pending", reason="x", confirm_count="150")
    assert stale.status_code == 200 and "Cancel 149 orders?" in stale.get_data(as_text=True)
    done = bulk(seller, shop, "cancel", scope="filter", status="pending", reason="x", confirm_count="149")
    assert done.status_code == 303


def test_another_shops_ids_are_refused_whole(app, world, login):
    shop, other = world["shops"]["seller1"], world["shops"]["seller2"]
    seller = login("seller1")
    mixed = [*pending_ids(app, shop, 1), *pending_ids(app, other, 1)]
    for action in ("cancel", "pack", "export", "exemption", "print"):
        response = bulk(seller, shop, action, mixed, reason="r", company="ZTO", size="100x150")
        assert response.status_code == 404, action
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.status != "pending")) == 0


def test_user_text_is_escaped_in_the_list(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    order_id = pending_ids(app, shop, 1)[0]
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == order_id).values(item_summary="<script>x()</script>"))
        db.session.commit()
    html = seller.get(f"/shops/{shop}/orders?per_page=500").get_data(as_text=True)
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html


def test_the_list_in_chinese(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    html = seller.get(f"/shops/{shop}/orders", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for text in ("制作波次", "打印面单", "全部或全不", "每页"):
        assert text in html
