"""Packing desk and pickup: scans, refusals with their reasons, the handover list, the dashboard."""

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, Shop, User
from portal.services import printing, waybills


def labelled(app, world, owner="seller1", n=3, company="ZTO"):
    """Print n labels in the owner's shop as courier1; returns the tracking numbers in order."""
    shop_id = world["shops"][owner]
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop_id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
                .order_by(Order.id)
                .limit(n)
            )
        )
        courier = db.session.scalar(select(User).where(User.username == "courier1"))
        printing.create_print_job(
            courier, ids, allowed_shop_ids={shop_id}, company=waybills.company_by_code(company), size="100x150"
        )
        db.session.commit()
        return [db.session.get(Order, i).tracking_no for i in ids]


def status_of(app, number):
    with app.app_context():
        return db.session.scalar(select(Order.status).where(Order.tracking_no == number))


def test_packing_desk(app, world, login):
    shop = world["shops"]["seller1"]
    numbers = labelled(app, world)
    other_shop_number = labelled(app, world, owner="seller2", n=1, company="JT")[0]
    packer = login("packer1")
    assert "scan-input" in packer.get(f"/staff/shops/{shop}/packing").get_data(as_text=True)

    found = packer.post(f"/staff/shops/{shop}/packing/scan", data={"code": numbers[0]})
    assert found.status_code == 200
    page = found.get_data(as_text=True)
    assert 'id="pack-items"' in page and "confirm-button" in page
    assert status_of(app, numbers[0]) == OrderStatus.LABELLED  # a scan alone changes nothing
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.tracking_no == numbers[0]))
    packed = packer.post(f"/staff/shops/{shop}/packing/{order_id}/pack")
    assert packed.status_code == 200 and "packed" in packed.get_data(as_text=True)
    assert status_of(app, numbers[0]) == OrderStatus.PACKED

    refusals = [
        (numbers[0], 409, "already packed"),
        ("73999999999999", 404, "not a known tracking number"),
        (other_shop_number, 404, "another shop"),
        ("", 422, "Scan or type"),
        ("x" * 10_000, 422, "not a tracking number"),
    ]
    for code, status, message in refusals:
        response = packer.post(f"/staff/shops/{shop}/packing/scan", data={"code": code})
        assert response.status_code == status, code[:20]
        assert message in response.get_data(as_text=True)
        assert "scan-error" in response.get_data(as_text=True)
    assert packer.post(f"/staff/shops/{shop}/packing/{order_id}/pack").status_code == 409  # double click

    with app.app_context():
        db.session.execute(update(Order).where(Order.tracking_no == numbers[1]).values(status=OrderStatus.CANCELLED))
        db.session.commit()
    cancelled = packer.post(f"/staff/shops/{shop}/packing/scan", data={"code": numbers[1]})
    assert cancelled.status_code == 409 and "CANCELLED" in cancelled.get_data(as_text=True)


@pytest.mark.parametrize(
    "typed",
    ["{n}", " {n} ", "{n}\r", "]C0{n}", "https://track.example/?no={n}&src=qr", '{{"waybill":"{n}"}}', "{lower}"],
)
def test_what_a_scanner_types(app, world, login, typed):
    shop = world["shops"]["seller2"]
    number = labelled(app, world, owner="seller2", n=1, company="JT")[0]
    code = typed.format(n=number, lower=number.lower())
    response = login("seller2").post(f"/staff/shops/{shop}/packing/scan", data={"code": code})
    assert response.status_code == 200, code
    assert number in response.get_data(as_text=True)


def test_htmx_gets_only_the_result(app, world, login):
    shop = world["shops"]["seller1"]
    number = labelled(app, world, n=1)[0]
    response = login("packer1").post(
        f"/staff/shops/{shop}/packing/scan", data={"code": number}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<html" not in text and 'data-outcome="found"' in text


def test_pickup_scan_ship_and_handover(app, world, login):
    shop = world["shops"]["seller1"]
    numbers = labelled(app, world, n=4)
    with app.app_context():
        db.session.execute(update(Order).where(Order.tracking_no.in_(numbers[:2])).values(status=OrderStatus.PACKED))
        db.session.execute(update(Order).where(Order.tracking_no == numbers[3]).values(status=OrderStatus.CANCELLED))
        db.session.commit()
    courier = login("courier1")
    assert "parcels waiting" in courier.get("/courier/pickup").get_data(as_text=True)
    started = courier.post("/courier/pickup", data={"shop": shop})
    assert started.status_code == 302
    pickup_url = started.headers["Location"]

    def scan(code):
        return courier.post(f"{pickup_url}/scan", data={"code": code})

    first = scan(numbers[0])
    assert first.status_code == 200 and "shipped" in first.get_data(as_text=True)
    assert status_of(app, numbers[0]) == OrderStatus.SHIPPED
    again = scan(numbers[0])
    assert again.status_code == 200 and "already shipped" in again.get_data(as_text=True)
    assert 'id="pickup-count">1<' in again.get_data(as_text=True)
    unpacked = scan(numbers[2])
    assert unpacked.status_code == 409 and "not packed" in unpacked.get_data(as_text=True)
    assert scan(numbers[3]).status_code == 409
    assert scan("").status_code == 422
    assert 'id="pickup-count">2<' in scan(numbers[1]).get_data(as_text=True)

    with app.app_context():  # the shop lets couriers take unpacked parcels
        db.session.get(Shop, shop).require_packed_for_pickup = False
        db.session.commit()
    assert scan(numbers[2]).status_code == 200
    assert status_of(app, numbers[2]) == OrderStatus.SHIPPED

    ended = courier.post(f"{pickup_url}/end")
    assert ended.headers["Location"].endswith("/handover")
    handover = courier.get(ended.headers["Location"]).get_data(as_text=True)
    assert all(n in handover for n in numbers[:3]) and numbers[3] not in handover
    assert 'id="handover-count">3<' in handover
    assert scan(numbers[1]).status_code == 422  # the pickup has ended
    pickup_id = pickup_url.rsplit("/", 1)[1]
    seller_view = login("seller1").get(f"/shops/{shop}/pickups/{pickup_id}").get_data(as_text=True)
    assert numbers[0] in seller_view
    listing = login("seller1").get(f"/shops/{shop}/pickups").get_data(as_text=True)
    assert '<td class="text-end">3</td>' in listing  # the parcels the pickup took
    # courier2 holds no ship switch... it does in shop A; but this pickup is not theirs.
    assert login("courier2").get(pickup_url).status_code == 404


def test_batch_mark_shipped_and_dashboard(app, world, login):
    shop = world["shops"]["seller1"]
    numbers = labelled(app, world, n=3)
    with app.app_context():
        db.session.execute(update(Order).where(Order.tracking_no.in_(numbers[:2])).values(status=OrderStatus.PACKED))
        db.session.commit()
        ids = list(db.session.scalars(select(Order.id).where(Order.tracking_no.in_(numbers))))
    courier = login("courier1")
    response = courier.post("/courier/ship-selected", data={"order_ids": [str(i) for i in ids]})
    assert response.status_code == 302
    assert [status_of(app, n) for n in numbers] == [OrderStatus.SHIPPED, OrderStatus.SHIPPED, OrderStatus.LABELLED]
    message = courier.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 shipped, 0 had already shipped, 1 could not ship" in message
    with app.app_context():  # audited as the API's shipOrders is: the shop, who, which orders
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "orders_shipped"))
        assert event.shop_id == shop and event.details["via"] == "page"
        assert sorted(event.details["order_nos"]) == sorted(
            db.session.scalars(select(Order.platform_order_no).where(Order.tracking_no.in_(numbers[:2])))
        )
    board = login("seller1").get(f"/shops/{shop}").get_data(as_text=True)
    assert 'id="dashboard"' in board and 'id="late-rate"' in board
    with app.app_context():
        from portal.services import orders

        figures = orders.dashboard(shop)
        assert figures.shipped_today == 2 and figures.shipped == 2
        assert figures.counts["shipped"] == 2
