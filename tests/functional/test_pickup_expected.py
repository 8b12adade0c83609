"""Pickup: scanned against expected, ending with parcels waiting, and the phone's offline queue replayed."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderEvent, OrderStatus, Pickup, PickupLeft, PickupScan, Shop
from portal.models.base import utcnow


def parcels(app, shop_id, n, status=OrderStatus.PACKED, prefix="7399"):
    """n parcels of the shop with tracking numbers, in this status; returns the numbers."""
    rows = [
        {
            "shop_id": shop_id,
            "platform_order_no": f"Q{prefix}{k:08d}",
            "status": status,
            "recipient_name": "张伟",
            "recipient_phone": "13800000000",
            "province": "浙江省",
            "city": "杭州市",
            "tracking_no": f"{prefix}{k:010d}",
            "paid_at": utcnow(),
            "ship_by": utcnow(),
        }
        for k in range(n)
    ]
    with app.app_context():
        db.session.execute(Order.__table__.insert(), rows)
        db.session.commit()
    return [row["tracking_no"] for row in rows]


def packed_first(app, shop_id, value=True):
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == shop_id).values(require_packed_for_pickup=value))
        db.session.commit()


def start(courier, shop_id):
    response = courier.post("/courier/pickup", data={"shop": shop_id})
    assert response.status_code in (302, 303)
    return response.headers["Location"]


def waiting_on_start_page(courier, shop_id) -> int:
    page = courier.get("/courier/pickup").get_data(as_text=True)
    form = re.search(rf'name="shop" value="{shop_id}">(.*?)</form>', page, re.S).group(1)
    return int(re.search(r"(\d+) parcels waiting", form).group(1))


def status_of(app, number):
    with app.app_context():
        return db.session.scalar(select(Order.status).where(Order.tracking_no == number))


def test_start_page_counts_only_parcels_the_pickup_accepts(app, world, login):
    shop = world["shops"]["seller1"]
    parcels(app, shop, 4, status=OrderStatus.LABELLED, prefix="7391")
    parcels(app, shop, 1, status=OrderStatus.PACKED, prefix="7392")
    courier = login("courier1")
    packed_first(app, shop, True)
    assert waiting_on_start_page(courier, shop) == 1  # the 4 labelled ones would each be refused "not packed"
    packed_first(app, shop, False)
    assert waiting_on_start_page(courier, shop) == 5


def test_pickup_shows_scanned_of_expected_and_what_is_waiting(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    numbers = parcels(app, shop, 3)
    unpacked = parcels(app, shop, 1, status=OrderStatus.LABELLED, prefix="7393")[0]
    courier = login("courier1")
    pickup_url = start(courier, shop)
    page = courier.get(pickup_url).get_data(as_text=True)
    assert 'id="pickup-count">0<' in page and "of 3" in page
    assert all(n in page for n in numbers) and unpacked not in page

    assert 'name="expected" value="3"' in page  # the scan form carries N for the scan's answer
    answer = courier.post(
        f"{pickup_url}/scan", data={"code": numbers[0], "expected": "3"}, headers={"HX-Request": "true"}
    )
    assert 'id="pickup-count">1<' in answer.get_data(as_text=True) and "of 3" in answer.get_data(as_text=True)
    page = courier.get(pickup_url).get_data(as_text=True)
    waiting = page[page.index('id="pickup-waiting"') :]
    assert numbers[0] not in waiting and numbers[1] in waiting and numbers[2] in waiting


def test_ending_with_parcels_waiting_asks_first_then_lists_them(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    numbers = parcels(app, shop, 3)
    courier = login("courier1")
    pickup_url = start(courier, shop)
    pickup_id = int(pickup_url.rsplit("/", 1)[1])
    courier.post(f"{pickup_url}/scan", data={"code": numbers[0]})

    asked = courier.post(f"{pickup_url}/end")
    assert asked.status_code == 200
    text = asked.get_data(as_text=True)
    assert 'id="confirm-end"' in text and "2 parcels are still waiting" in text
    assert 'name="confirm" value="1"' in text and numbers[1] in text and numbers[2] in text
    with app.app_context():
        assert db.session.get(Pickup, pickup_id).ended_at is None  # nothing ended yet

    ended = courier.post(f"{pickup_url}/end", data={"confirm": "1"})
    assert ended.headers["Location"].endswith("/handover")
    handover = courier.get(ended.headers["Location"]).get_data(as_text=True)
    assert 'id="handover-count">1<' in handover and 'id="not-handed-over"' in handover
    left = handover[handover.index('id="not-handed-over"') :]
    assert numbers[1] in left and numbers[2] in left and numbers[0] not in left
    assert "not handed over" in left
    # The seller's copy of the handover list says the same.
    seller_copy = login("seller1").get(f"/shops/{shop}/pickups/{pickup_id}").get_data(as_text=True)
    assert 'id="not-handed-over"' in seller_copy and numbers[1] in seller_copy and numbers[2] in seller_copy
    with app.app_context():
        assert db.session.get(Pickup, pickup_id).ended_at is not None
        assert db.session.scalar(select(func.count()).select_from(PickupLeft)) == 2
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pickup_ended"))
        assert event.details["parcels"] == 1 and event.details["not_handed_over"] == 2
    assert status_of(app, numbers[1]) == OrderStatus.PACKED  # left as it was


def test_ending_with_nothing_waiting_needs_no_confirmation(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    number = parcels(app, shop, 1)[0]
    courier = login("courier1")
    pickup_url = start(courier, shop)
    courier.post(f"{pickup_url}/scan", data={"code": number})
    ended = courier.post(f"{pickup_url}/end")
    assert ended.headers["Location"].endswith("/handover")
    assert 'id="not-handed-over"' not in courier.get(ended.headers["Location"]).get_data(as_text=True)


def test_offline_queue_of_500_with_retries_ships_each_parcel_once(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    numbers = parcels(app, shop, 498)
    courier = login("courier1")
    pickup_url = start(courier, shop)
    pickup_id = int(pickup_url.rsplit("/", 1)[1])
    scans = [{"id": f"scan-{k}", "code": n, "scanned_at": utcnow().isoformat()} for k, n in enumerate(numbers)]
    scans[1:1] = [dict(scans[0]), dict(scans[0])]  # the phone retried the first scan twice
    assert len(scans) == 500

    response = courier.post(f"{pickup_url}/scans", json={"scans": scans})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["id"] for r in results] == [s["id"] for s in scans]  # in order
    assert [r["status"] for r in results[:3]] == ["shipped", "duplicate", "duplicate"]
    assert results[1]["tracking_no"] == numbers[0] and results[1]["shop"]
    assert sum(r["status"] == "shipped" for r in results) == 498

    again = courier.post(f"{pickup_url}/scans", json={"scans": scans[:10]}).get_json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}  # the whole batch sent again changes nothing
    with app.app_context():
        assert db.session.get(Pickup, pickup_id).scanned == 498
        assert db.session.scalar(select(func.count()).select_from(PickupScan)) == 498
        ships = db.session.execute(
            select(OrderEvent.order_id, func.count()).where(OrderEvent.action == "ship").group_by(OrderEvent.order_id)
        ).all()
        assert len(ships) == 498 and {count for _id, count in ships} == {1}
    assert 'id="pickup-count">498<' in courier.get(pickup_url).get_data(as_text=True)

    too_many = courier.post(
        f"{pickup_url}/scans", json={"scans": scans + scans[:1]}, headers={"Accept": "application/json"}
    )
    assert too_many.status_code == 422 and "At most 500" in too_many.get_json()["title"]
    assert courier.post(f"{pickup_url}/scans", json={"nope": 1}).status_code == 422


def test_scan_id_reused_for_another_parcel_is_refused_and_the_first_kept(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    first, second = parcels(app, shop, 2)
    courier = login("courier1")
    pickup_url = start(courier, shop)
    with app.app_context():  # offline, a moment after the pickup started
        earlier = db.session.get(Pickup, int(pickup_url.rsplit("/", 1)[1])).started_at + timedelta(milliseconds=1)
    scans = [
        {"id": "a1", "code": first, "scanned_at": earlier.isoformat()},
        {"id": "a1", "code": second, "scanned_at": utcnow().isoformat()},
    ]
    results = courier.post(f"{pickup_url}/scans", json={"scans": scans}).get_json()["results"]
    assert [r["status"] for r in results] == ["shipped", "refused"]
    assert first in results[1]["message"] and "refused" in results[1]["message"]
    assert status_of(app, first) == OrderStatus.SHIPPED and status_of(app, second) == OrderStatus.PACKED
    with app.app_context():
        scan = db.session.scalar(select(PickupScan).where(PickupScan.client_scan_id == "a1"))
        assert scan.order.tracking_no == first
        assert scan.at == earlier  # dated when the phone scanned it, offline
        assert db.session.scalar(select(Order.shipped_at).where(Order.tracking_no == first)) == earlier
    courier.post(f"{pickup_url}/end", data={"confirm": "1"})
    late = courier.post(f"{pickup_url}/scans", json={"scans": scans}).get_json()["results"]
    assert [r["status"] for r in late] == ["duplicate", "refused"]  # a retry after the end is still the same scan


def test_single_scan_with_a_scan_id_is_idempotent(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    number = parcels(app, shop, 1)[0]
    courier = login("courier1")
    pickup_url = start(courier, shop)
    for _try in range(2):
        answer = courier.post(f"{pickup_url}/scan", data={"code": number, "scan_id": "u-1"})
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert f"{number} shipped." in text and 'id="pickup-count">1<' in text


def test_codes_that_are_not_our_parcels_are_refused_with_a_reason(app, world, login):
    shop = world["shops"]["seller1"]
    other = parcels(app, world["shops"]["seller2"], 1, prefix="7394")[0]
    courier = login("courier1")
    pickup_url = start(courier, shop)
    cases = [
        ("SF1234567890123", "not a known tracking number"),  # another courier company's label
        ("https://weixin.qq.com/r/abc", "No tracking number"),  # a QR that is not ours
        ("6901234567892", "product barcode (EAN)"),
        (other, "another shop"),
        ("", "Scan or type"),
    ]
    scans = [{"id": f"x{k}", "code": code} for k, (code, _message) in enumerate(cases)]
    results = courier.post(f"{pickup_url}/scans", json={"scans": scans}).get_json()["results"]
    for result, (code, message) in zip(results, cases, strict=True):
        assert result["status"] == "refused", code
        assert message in result["message"], (code, result["message"])
    assert status_of(app, other) == OrderStatus.PACKED
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PickupScan)) == 0


def test_batch_needs_the_csrf_header_when_csrf_is_on(app, world, login):
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    number = parcels(app, shop, 1)[0]
    courier = login("courier1")
    pickup_url = start(courier, shop)
    app.config["WTF_CSRF_ENABLED"] = True
    page = courier.get(pickup_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = {"scans": [{"id": "c1", "code": number, "scanned_at": datetime.now(UTC).isoformat()}]}
    assert courier.post(f"{pickup_url}/scans", json=body).status_code == 400
    sent = courier.post(f"{pickup_url}/scans", json=body, headers={"X-CSRFToken": token})
    assert sent.status_code == 200 and sent.get_json()["results"][0]["status"] == "shipped"


def test_a_scan_answers_in_the_couriers_language_whichever_answered_before(app, world, login):
    """The answer's texts are kept per language: English, Chinese and English again each read their own."""
    shop = world["shops"]["seller1"]
    packed_first(app, shop, True)
    first, second, third = parcels(app, shop, 3)
    courier = login("courier1")
    pickup_url = start(courier, shop)
    answers = {
        "en": ("en", first, [f"{first} shipped.", "parcels in this pickup", "of 3"]),
        "zh": ("zh-CN,zh;q=0.9", second, [f"{second} 发货成功。", "个包裹（本次揽收）", "/ 3"]),
        "en again": ("en", third, [f"{third} shipped.", "parcels in this pickup", "of 3"]),
        "zh, the same parcel": ("zh-CN", third, [f"{third} 重复扫描：已发货。", "个包裹（本次揽收）"]),
    }
    for name, (language, number, expected) in answers.items():
        answer = courier.post(
            f"{pickup_url}/scan",
            data={"code": number, "expected": "3"},
            headers={"HX-Request": "true", "Accept-Language": language},
        )
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200, name
        assert all(part in text for part in expected), (name, text)
        assert ("shipped." in text) == name.startswith("en"), (name, text)
    page = courier.get(pickup_url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "个包裹（本次揽收）" in page and "/ 3" in page and "parcels in this pickup" not in page
