"""bench/lean.py's twins answer what the portal's routes answer: the same rows, masked alike, the same audit."""

import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus
from portal.models.base import utcnow

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import lean

ROW_LINK = re.compile(r'href="(/courier/shops/\d+/orders/\d+)">([^<]+)</a>')
NAMES = ["欧阳娜娜", "张伟", "<b>Li</b>", "王芳", "李娜"]


@pytest.fixture
def twin(app):
    """The lean app over the test database, reading the portal's session cookies."""
    lean_app = lean.create_lean_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SECRET_KEY"])
    yield lean_app
    lean_app.extensions["lean_engine"].dispose()


def signed_in(lean_app, session_id: str):
    client = lean_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def waiting(app, world) -> tuple[int, int]:
    """Only these orders wait: 70 in two shops, deadlines apart, names and phones of every kind, one flagged."""
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    now = utcnow()
    with app.app_context():
        db.session.execute(
            update(Order).where(Order.status == OrderStatus.PENDING).values(status=OrderStatus.CANCELLED)
        )
        for n in range(70):
            db.session.add(
                Order(
                    shop_id=(shop_a, shop_b)[n % 2],
                    platform_order_no=f"L{n:04d}",
                    status=OrderStatus.PENDING,
                    recipient_name=NAMES[n % len(NAMES)],
                    recipient_phone=f"139{n:08d}" if n % 3 else "0571-8888 1234",
                    province="浙江省",
                    city="杭州市",
                    district="西湖区",
                    address_detail=f"文三路{n}号",
                    address_flagged=n == 7,
                    paid_at=now - timedelta(days=1),
                    ship_by=now + timedelta(hours=1, minutes=n) - timedelta(hours=3 * (n % 5 == 0)),
                )
            )
        db.session.commit()
    return shop_a, shop_b


def session_id(app, username: str) -> str:
    from portal.services import accounts

    with app.app_context():
        return accounts.find_user(username).get_id()


def rows_of(html: str) -> list[tuple[str, str]]:
    return ROW_LINK.findall(html)


def total_of(html: str) -> str:
    return re.search(r"(\d+) orders", html).group(1)


@pytest.mark.parametrize("query", ["", "?page=2", "?shop=A", "?shop=B"])
def test_the_queue_twin_lists_the_rows_the_queue_page_lists(app, world, login, twin, query):
    shop_a, shop_b = waiting(app, world)
    query = query.replace("=A", f"={shop_a}").replace("=B", f"={shop_b}")
    portal = login("courier1").get(f"/courier/queue{query}")
    mine = signed_in(twin, session_id(app, "courier1")).get(f"/_lean/queue{query}")
    assert portal.status_code == mine.status_code == 200
    portal_html, lean_html = portal.get_data(as_text=True), mine.get_data(as_text=True)
    assert rows_of(lean_html) == rows_of(portal_html)
    assert len(rows_of(portal_html)) == (20 if query == "?page=2" else 35 if "shop" in query else 50)
    assert total_of(lean_html) == total_of(portal_html)
    for html in (portal_html, lean_html):  # masked alike, escaped alike
        assert re.search(r"139\*{6}\d\d", html) and not re.search(r"139\d{8}", html)
        assert "&lt;********" in html and "<b>Li" not in html


def test_the_queue_twin_refuses_what_the_policy_refuses(app, world, login, twin):
    waiting(app, world)
    lean_client = signed_in(twin, session_id(app, "courier2"))  # a grant in one shop only
    with app.app_context():
        from portal.services import accounts, shops

        courier2 = accounts.find_user("courier2")
        theirs = {grant.shop_id for grant in shops.active_grants(courier2)}
    other = next(shop for shop in world["shops"].values() if shop not in theirs)
    assert login("courier2").get(f"/courier/queue?shop={other}").status_code == 404
    assert lean_client.get(f"/_lean/queue?shop={other}").status_code == 404
    assert twin.test_client().get("/_lean/queue").status_code == 401  # no session
    assert lean_client.get("/_lean/bare").get_data(as_text=True) == "ok"


@pytest.mark.parametrize("scopes", ["all", "queue:read"])
def test_the_json_twin_answers_the_orders_and_audit_of_list_queue(app, world, twin, scopes):
    waiting(app, world)
    from portal.services import accounts, tokens

    with app.app_context():
        courier = accounts.find_user("courier1")
        granted = tokens.available_scopes(courier) if scopes == "all" else [scopes]
        secret = tokens.create_token(courier, name="lean", scopes=granted).secret
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}

    def pulled() -> int:
        with app.app_context():
            return db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "recipients_pulled")
            )

    portal = app.test_client().get("/api/v1/queue?limit=60", headers=headers)
    after_portal = pulled()
    mine = twin.test_client().get("/_lean/queue.json?limit=60", headers=headers)
    assert portal.status_code == mine.status_code == 200
    expected, got = portal.get_json()["orders"], mine.get_json()["orders"]
    assert len(expected) == 60
    keys = ("id", "shop_id", "platform_order_no", "status", "tracking_no", "address_flagged", "recipient")
    assert [{key: order[key] for key in keys} for order in got] == [
        {key: order[key] for key in keys} for order in expected
    ]
    assert all(order["recipient"]["masked"] is (scopes != "all") for order in got)
    assert (portal.get_json()["next_cursor"] is None) == (mine.get_json()["next_cursor"] is None)
    # One audit event per shop shown in full, in both; none when masked.
    assert after_portal == (2 if scopes == "all" else 0)
    assert pulled() == 2 * after_portal
    assert twin.test_client().get("/_lean/queue.json", headers={"Authorization": "Bearer cpp_nope"}).status_code == 401


def test_the_scan_twin_ships_what_the_scan_ships(app, world, login, twin):
    from portal.models import Shop
    from portal.services import accounts, scanning

    shop_a = world["shops"]["seller1"]
    with app.app_context():
        courier = accounts.find_user("courier1")
        pickup = scanning.start_pickup(db.session.get(Shop, shop_a), courier=courier)
        for n, status in enumerate((OrderStatus.PACKED, OrderStatus.PACKED, OrderStatus.LABELLED)):
            db.session.add(
                Order(
                    shop_id=shop_a,
                    platform_order_no=f"S{n}",
                    status=status,
                    recipient_name="张伟",
                    recipient_phone="13900000000",
                    tracking_no=f"ZT{n:012d}",
                    courier_company="ZTO",
                    paid_at=utcnow(),
                    ship_by=utcnow() + timedelta(days=1),
                )
            )
        db.session.commit()
        pickup_id = pickup.id

    def status_of(number: str) -> str:
        with app.app_context():
            return db.session.scalar(select(Order.status).where(Order.platform_order_no == number))

    def lean_scan(signed: tuple, code: str):
        client, token = signed
        return client.post(f"/_lean/pickups/{pickup_id}/scan", data={"code": code, "csrf_token": token})

    mine = lean.signed_in_client(twin, session_id(app, "courier1"))
    assert lean_scan(mine, "zt000000000000").get_data(as_text=True).endswith("ZT000000000000 shipped.</div>")
    assert status_of("S0") == OrderStatus.SHIPPED
    portal = login("courier1").post(
        f"/courier/pickups/{pickup_id}/scan", data={"code": "ZT000000000001"}, headers={"HX-Request": "true"}
    )
    assert portal.status_code == 200 and status_of("S1") == OrderStatus.SHIPPED
    # Again, not packed, another courier's pickup, no CSRF token: nothing ships.
    assert "not shipped" in lean_scan(mine, "ZT000000000000").get_data(as_text=True)
    assert "not shipped" in lean_scan(mine, "ZT000000000002").get_data(as_text=True)
    assert status_of("S2") == OrderStatus.LABELLED
    other = lean.signed_in_client(twin, session_id(app, "courier2"))
    with app.app_context():
        db.session.execute(update(Order).where(Order.platform_order_no == "S2").values(status=OrderStatus.PACKED))
        db.session.commit()
    assert "not shipped" in lean_scan(other, "ZT000000000002").get_data(as_text=True)
    assert status_of("S2") == OrderStatus.PACKED
    refused = mine[0].post(f"/_lean/pickups/{pickup_id}/scan", data={"code": "ZT000000000002"})  # no CSRF token
    assert refused.status_code == 400 and status_of("S2") == OrderStatus.PACKED
