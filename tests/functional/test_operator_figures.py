"""The operator's per-shop figures: late-shipment rate, exempt orders left out, overdue now; sortable; CSV."""

import csv
import io
from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Order, OrderStatus, Shop
from portal.models.base import utcnow
from portal.services import figures


def _set_world(app, world):
    """Shop A: 4 shipped (1 late, 1 exempt and late), 2 overdue. Shop B: 2 shipped, both late; none overdue."""
    now = utcnow()
    a, b = world["shops"]["seller1"], world["shops"]["seller2"]
    with app.app_context():
        db.session.execute(update(Order).values(ship_by=now + timedelta(days=3)))  # nothing overdue, nothing shipped
        a_ids = db.session.scalars(select(Order.id).where(Order.shop_id == a).order_by(Order.id)).all()
        b_ids = db.session.scalars(select(Order.id).where(Order.shop_id == b).order_by(Order.id)).all()

        def ship(order_id, late, exemption=""):
            db.session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(
                    status=OrderStatus.SHIPPED,
                    ship_by=now - timedelta(hours=5),
                    shipped_at=now - timedelta(hours=1 if late else 10),
                    exemption=exemption,
                )
            )

        ship(a_ids[0], late=False)
        ship(a_ids[1], late=False)
        ship(a_ids[2], late=True)
        ship(a_ids[3], late=True, exemption="auto")
        for order_id in a_ids[4:6]:
            db.session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(status=OrderStatus.PENDING, ship_by=now - timedelta(hours=2), exemption="")
            )
        ship(b_ids[0], late=True)
        ship(b_ids[1], late=True)
        db.session.commit()
    return a, b


def test_figures_per_shop(app, world):
    a, b = _set_world(app, world)
    with app.app_context():
        rows = {f.shop_id: f for f in figures.shop_figures()}
    assert (rows[a].shipped, rows[a].shipped_late, rows[a].exempt, rows[a].overdue) == (3, 1, 1, 2)
    assert abs(rows[a].late_rate - 1 / 3) < 1e-9
    assert (rows[b].shipped, rows[b].shipped_late, rows[b].exempt, rows[b].overdue) == (2, 2, 0, 0)
    assert rows[b].late_rate == 1.0


def test_the_page_sorts_by_each_column(app, world, login):
    a, b = _set_world(app, world)
    operator = login("operator")
    page = operator.get("/operator/figures")
    assert page.status_code == 200
    order = lambda text: [int(s.split('"')[0]) for s in text.split('<tr data-shop="')[1:]]  # noqa: E731
    assert order(page.text) == [b, a]  # highest late-shipment rate first
    assert "33.3 %" in page.text and "100.0 %" in page.text
    assert order(operator.get("/operator/figures?sort=overdue").text) == [a, b]
    assert order(operator.get("/operator/figures?sort=late_rate&dir=asc").text) == [a, b]
    assert order(operator.get("/operator/figures?sort=exempt").text) == [a, b]
    # An unknown sort key is the default order, not an error.
    assert order(operator.get("/operator/figures?sort=drop%20table").text) == [b, a]


def test_csv_download(app, world, login):
    _, b = _set_world(app, world)
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == b).values(name="=HYPERLINK(1)"))
        db.session.commit()
    response = login("operator").get("/operator/figures.csv?sort=overdue")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][0] == "Shop" and rows[0][4] == "Late-shipment rate (%)"
    assert rows[1][2:] == ["3", "1", "33.3", "1", "2"]
    assert rows[2][0] == "'=HYPERLINK(1)"  # never run as a formula in Excel
    chinese = login("operator").get("/operator/figures.csv", headers={"Accept-Language": "zh-CN"}).data.decode()
    assert "发货延迟率 (%)" in chinese


def test_only_the_operator(world, login):
    for user in ("seller1", "courier1", "packer1"):
        assert login(user).get("/operator/figures").status_code == 403
        assert login(user).get("/operator/figures.csv").status_code == 403
