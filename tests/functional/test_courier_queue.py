"""The courier's queue page: the most urgent waiting orders of all their shops (or of one), masked, paged."""

import re
from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import Order, OrderStatus
from portal.models.base import utcnow

PER_SHOP = 40


def waiting_orders(app, world) -> tuple[int, int]:
    """Only these orders wait: Q0000..Q0079, deadlines a minute apart, alternating between the two shops."""
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    now = utcnow()
    with app.app_context():
        db.session.execute(
            update(Order).where(Order.status == OrderStatus.PENDING).values(status=OrderStatus.CANCELLED)
        )
        for n in range(2 * PER_SHOP):
            db.session.add(
                Order(
                    shop_id=(shop_a, shop_b)[n % 2],
                    platform_order_no=f"Q{n:04d}",
                    status=OrderStatus.PENDING,
                    recipient_name="欧阳娜娜",
                    recipient_phone="13912345678",
                    province="浙江省",
                    city="杭州市",
                    district="西湖区",
                    paid_at=now - timedelta(days=1),
                    ship_by=now + timedelta(hours=1, minutes=n),
                )
            )
        db.session.commit()
    return shop_a, shop_b


def listed(text: str) -> list[str]:
    return re.findall(r'<a class="handle" href="[^"]+">(Q\d{4})</a>', text)


def test_the_queue_lists_all_my_shops_most_urgent_first_in_pages(app, world, login):
    waiting_orders(app, world)
    courier = login("courier1")  # grants in both shops
    first = courier.get("/courier/queue").get_data(as_text=True)
    assert listed(first) == [f"Q{n:04d}" for n in range(50)]
    assert "80 orders" in first
    second = courier.get("/courier/queue?page=2").get_data(as_text=True)
    assert listed(second) == [f"Q{n:04d}" for n in range(50, 80)]
    assert "80 orders" in second
    beyond = courier.get("/courier/queue?page=9")
    assert beyond.status_code == 200
    assert listed(beyond.get_data(as_text=True)) == [] and "80 orders" in beyond.get_data(as_text=True)


def test_one_shop_and_the_masks(app, world, login):
    shop_a, _shop_b = waiting_orders(app, world)
    page = login("courier1").get(f"/courier/queue?shop={shop_a}").get_data(as_text=True)
    assert listed(page) == [f"Q{n:04d}" for n in range(0, 2 * PER_SHOP, 2)]
    assert f"{PER_SHOP} orders" in page
    assert "13912345678" not in page and "欧阳娜娜" not in page  # the list masks the buyer
    assert "139******78" in page and "浙江省 杭州市 西湖区" in page


def test_a_search_pages_and_counts_its_matches(app, world, login):
    waiting_orders(app, world)
    courier = login("courier1")
    found = courier.get("/courier/queue?status=&q=Q004").get_data(as_text=True)
    assert listed(found) == [f"Q{n:04d}" for n in range(40, 50)]
    assert "10 orders" in found
    beyond = courier.get("/courier/queue?status=&q=Q004&page=2").get_data(as_text=True)
    assert listed(beyond) == [] and "10 orders" in beyond
