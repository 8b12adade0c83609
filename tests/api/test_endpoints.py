"""The API's operations through the test client: queue paging, print jobs, shipping, seller orders, tracking."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, Shop
from tests.api.conftest import bearer


def _pull_all(client, url, headers):
    seen, cursor, pulled_at = [], None, None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.json
        seen += response.json["orders"]
        assert pulled_at in (None, response.json["pulled_at"])  # one pull, one time
        pulled_at = response.json["pulled_at"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen, pulled_at


def test_queue_pages_through_every_pending_order_once_most_urgent_first(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["courier1"])
    seen, pulled_at = _pull_all(client, "/api/v1/queue?limit=7", headers)
    with app.app_context():
        pending = db.session.scalar(select(func.count()).where(Order.status == OrderStatus.PENDING))
    assert len(seen) == pending == len({o["id"] for o in seen}) > 7
    assert [(o["ship_by"], o["id"]) for o in seen] == sorted((o["ship_by"], o["id"]) for o in seen)
    assert {o["shop_id"] for o in seen} == set(api_world["shops"].values())
    # nothing changed since: an incremental pull is empty; one changed order comes back alone
    assert client.get(f"/api/v1/queue?since={pulled_at}", headers=headers).json["orders"] == []
    from portal.services import orders

    with app.app_context():
        order = db.session.get(Order, seen[3]["id"])
        orders.save_orders(
            order.shop,
            [orders.validate_order({**_order_dict(order), "seller_memo": "changed"})[0]],
            actor=None,
            source="api",
        )
        db.session.commit()
    again = client.get(f"/api/v1/queue?since={pulled_at}", headers=headers).json["orders"]
    assert [o["id"] for o in again] == [seen[3]["id"]]


def _order_dict(order):
    return {
        "platform_order_no": order.platform_order_no,
        "recipient_name": order.recipient_name,
        "recipient_phone": order.recipient_phone,
        "address": order.address_raw,
        "paid_at": order.paid_at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "item_title": order.item_summary or "x",
    }


def test_queue_full_recipients_are_audited_masked_ones_are_not(app, api_world):
    client = app.test_client()
    shop_b = api_world["shops"]["seller2"]
    with app.app_context():
        before = db.session.scalar(select(func.count()).where(AuditEvent.action == "recipients_pulled"))
    page = client.get(f"/api/v1/queue?shop={shop_b}&limit=4", headers=bearer(api_world["tokens"]["courier2"]))
    assert page.status_code == 404  # courier2 has no grant in shop B: as if it did not exist
    page = client.get(f"/api/v1/queue?shop={shop_b}&limit=4", headers=bearer(api_world["tokens"]["courier1"]))
    assert all(not o["recipient"]["masked"] for o in page.json["orders"])
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recipients_pulled")).all()
        assert len(events) == before + 1
        assert events[-1].shop_id == shop_b and len(events[-1].details["order_nos"]) == 4
    shop_a = api_world["shops"]["seller1"]
    courier2 = client.get(f"/api/v1/queue?shop={shop_a}&limit=4", headers=bearer(api_world["tokens"]["courier2"]))
    assert courier2.status_code == 200 and all(o["recipient"]["masked"] for o in courier2.json["orders"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "recipients_pulled")) == before + 1


def test_print_job_then_ship_in_batch_idempotently(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["courier1"])
    shop_a = api_world["shops"]["seller1"]
    with app.app_context():
        db.session.get(Shop, shop_a).require_packed_for_pickup = False
        db.session.commit()
    ids = [o["id"] for o in client.get(f"/api/v1/queue?shop={shop_a}&limit=3", headers=headers).json["orders"]]
    job = client.post("/api/v1/print-jobs", json={"order_ids": ids, "company": "ZTO"}, headers=headers)
    assert job.status_code == 201, job.json
    labels = job.json["labels"]
    assert len(labels) == 3 and all(label["tracking_no"].startswith("731") for label in labels)
    links = job.json["links"]
    for kind, mimetype in (("html", "text/html"), ("pdf", "application/pdf"), ("zpl", "application/zpl")):
        rendered = client.get(links[kind], headers=headers)
        assert rendered.status_code == 200 and rendered.mimetype == mimetype
    assert client.get(links["pdf"]).status_code == 401  # no token, no labels
    fetched = client.get(f"/api/v1/print-jobs/{job.json['id']}", headers=headers)
    assert fetched.json["labels"] == labels
    other = client.get(f"/api/v1/print-jobs/{job.json['id']}", headers=bearer(api_world["tokens"]["courier2"]))
    assert other.status_code == 404
    twice = client.post("/api/v1/print-jobs", json={"order_ids": ids, "company": "ZTO"}, headers=headers)
    assert twice.status_code == 409 and twice.json["type"].endswith("/conflict")
    unknown = client.post("/api/v1/print-jobs", json={"order_ids": ids, "company": "NOPE"}, headers=headers)
    assert unknown.status_code == 422

    pending = client.get(f"/api/v1/queue?shop={shop_a}&limit=1", headers=headers).json["orders"][0]["id"]
    body = {"order_ids": [*ids, pending, 2**31 - 1]}
    shipped = client.post("/api/v1/shipments", json=body, headers=headers).json
    assert [r["result"] for r in shipped["results"]] == ["shipped"] * 3 + ["refused", "not_found"]
    assert shipped["results"][3]["status"] == "pending" and shipped["results"][3]["detail"]
    assert (shipped["shipped"], shipped["refused"], shipped["not_found"]) == (3, 1, 1)
    again = client.post("/api/v1/shipments", json=body, headers=headers).json
    assert [r["result"] for r in again["results"]][:3] == ["already_shipped"] * 3 and again["shipped"] == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "orders_shipped")) == 1
    bad = client.post("/api/v1/shipments", json={"order_ids": ["1"]}, headers=headers)
    assert bad.status_code == 422 and "order_ids.0" in bad.json["errors"]
    form = client.post("/api/v1/shipments", data={"order_ids": "1"}, headers=headers)
    assert form.status_code == 415 and form.content_type == "application/problem+json"


def test_print_job_company_comes_from_the_grant_and_no_other_is_taken(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["courier1"])
    shop_a, shop_b = api_world["shops"]["seller1"], api_world["shops"]["seller2"]
    shops = {shop["id"]: shop for shop in client.get("/api/v1/shops", headers=headers).json["shops"]}
    assert (shops[shop_a]["grant"]["company"], shops[shop_b]["grant"]["company"]) == ("ZTO", "JT")
    ids_a = [o["id"] for o in client.get(f"/api/v1/queue?shop={shop_a}&limit=2", headers=headers).json["orders"]]
    ids_b = [o["id"] for o in client.get(f"/api/v1/queue?shop={shop_b}&limit=2", headers=headers).json["orders"]]
    # Another company than the sub-account's: refused, naming the shop and both companies; nothing is taken.
    other = client.post("/api/v1/print-jobs", json={"order_ids": ids_a, "company": "JT"}, headers=headers)
    assert other.status_code == 422 and other.content_type == "application/problem+json"
    assert "Li's Tea prints with ZTO Express, not J&T Express" in other.json["errors"]["company"]
    # Omitted, across shops whose sub-accounts name different companies: refused, naming them.
    mixed = client.post("/api/v1/print-jobs", json={"order_ids": ids_a + ids_b}, headers=headers)
    assert mixed.status_code == 422
    assert "ZTO Express" in mixed.json["title"] and "J&T Express" in mixed.json["title"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.tracking_no.is_not(None))) == 0
    # Omitted: the sub-account's company in that shop.
    job = client.post("/api/v1/print-jobs", json={"order_ids": ids_b}, headers=headers)
    assert job.status_code == 201 and job.json["company"] == "JT"
    assert all(label["tracking_no"].startswith("JT") for label in job.json["labels"])
    job = client.post("/api/v1/print-jobs", json={"order_ids": ids_a, "company": None}, headers=headers)
    assert job.status_code == 201 and job.json["company"] == "ZTO"


def test_seller_lists_orders_and_registers_tracking_numbers(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["seller2"])
    shop_b = api_world["shops"]["seller2"]
    listed, _pulled = _pull_all(client, f"/api/v1/shops/{shop_b}/orders?status=pending&limit=50", headers)
    assert listed and all(o["shop_id"] == shop_b and o["status"] == "pending" for o in listed)
    assert {"tracking_no", "exemption", "recipient"} <= set(listed[0])
    first, second = listed[0]["platform_order_no"], listed[1]["platform_order_no"]
    pairs = [
        {"platform_order_no": first, "tracking_no": "JT7299999999901"},
        {"platform_order_no": second, "tracking_no": "JT7299999999902"},
    ]
    url = f"/api/v1/shops/{shop_b}/tracking-numbers"
    done = client.post(url, json={"company": "JT", "numbers": pairs}, headers=headers)
    assert done.status_code == 200, done.json
    assert done.json == {"labelled": 2, "unchanged": 0}
    assert client.post(url, json={"company": "JT", "numbers": pairs}, headers=headers).json == {
        "labelled": 0,
        "unchanged": 2,
    }
    labelled = client.get(f"/api/v1/shops/{shop_b}/orders?status=labelled", headers=headers).json["orders"]
    assert {(o["platform_order_no"], o["tracking_no"]) for o in labelled} >= {
        (first, "JT7299999999901"),
        (second, "JT7299999999902"),
    }
    third = listed[2]["platform_order_no"]
    bad = [
        {"platform_order_no": third, "tracking_no": "JT7299999999901"},  # already on another order
        {"platform_order_no": "no-such-order", "tracking_no": "JT7299999999903"},
    ]
    refused = client.post(url, json={"company": "JT", "numbers": bad}, headers=headers)
    assert refused.status_code == 422 and set(refused.json["errors"]) == {"0", "1"}
    assert "tracking_no" in refused.json["errors"]["0"] and "platform_order_no" in refused.json["errors"]["1"]
    with app.app_context():
        assert db.session.scalar(select(Order.status).where(Order.platform_order_no == third)) == "pending"
    # another shop's orders are not there, and a courier token has no seller scopes
    assert client.get(f"/api/v1/shops/{api_world['shops']['seller1']}/orders", headers=headers).status_code == 404
    courier = client.get(f"/api/v1/shops/{shop_b}/orders", headers=bearer(api_world["tokens"]["courier1"]))
    assert courier.status_code == 403
    exempt = client.get(f"/api/v1/shops/{shop_b}/orders?exemption=auto", headers=headers).json["orders"]
    assert all(o["exemption"] == "auto" for o in exempt)


def test_upsert_by_token_is_audited_and_keeps_its_checks(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["seller1"])
    shop_a = api_world["shops"]["seller1"]
    order = {
        "platform_order_no": "TOKEN-1",
        "recipient_name": "张伟",
        "recipient_phone": "13812345678",
        "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
        "paid_at": "2026-11-25 10:00:00",
        "item_title": "西湖龙井 250g",
    }
    response = client.post(f"/api/v1/shops/{shop_a}/orders", json={"orders": [order]}, headers=headers)
    assert response.json == {"created": 1, "updated": 0, "skipped": 0, "unchanged": 0}
    bad = client.post(f"/api/v1/shops/{shop_a}/orders", json=[{**order, "recipient_phone": "12"}], headers=headers)
    assert bad.status_code == 422 and "recipient_phone" in bad.json["errors"]["0"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "orders_upserted")).all()[-1]
        assert event.actor.username == "seller1" and event.details["created"] == 1


def test_openapi_document_and_docs_page(app, api_world):
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    operation_ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "listShops",
        "listQueue",
        "createPrintJob",
        "getPrintJob",
        "shipOrders",
        "upsertOrders",
        "listOrders",
        "registerTrackingNumbers",
    } <= operation_ids
    ship = document["paths"]["/api/v1/shipments"]["post"]
    assert ship["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ShipIn")
    assert "application/problem+json" in ship["responses"]["403"]["content"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "http" not in html.split("<body>")[1].replace("https://", "")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("vendor/swagger-ui-5.35.0/swagger-ui-bundle.js", "js/api-docs.js"):
        assert f"/static/{asset}" in html and client.get(f"/static/{asset}").status_code == 200
