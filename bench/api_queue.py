"""Benchmark API queue pulls: pulls/s for a courier with 5 shops and 100,000 orders, page of 100.

    .venv/bin/python bench/api_queue.py [--orders 100000] [--pulls 300]

A SQLite world: 5 shops, --orders pending orders spread over them, a courier with a grant in each
(recipient details on) and a token with every scope. Times, through the same kind of test client,
(a) a bare Flask route answering a small JSON object, (b) a bare Flask route reading the same page of
100 orders with one SQL query and answering them as JSON (no auth, no policy, no masking, no audit),
and (c) GET /api/v1/queue?limit=100 with the token, following next_cursor (token lookup, policy and
scope checks, grants read fresh once, one keyset statement over each shop's index range, spectree, the
audit events of full recipient details (one per shop, one statement) and their commit). Target: (c)
within 4x of (a). Prints the figures and ratios. (b) sorts every pending order (no index on status
alone), so it is slower than (c): it is no ceiling. A labelled extra line, GET /api/v1/shops with the
same token, shows the API's fixed cost per request (token, policy, grants, spectree) without a page.

The machine may be shared: each route is timed in --rounds rounds taken in turn (a, b, c, shops, a, ...),
and each figure is its best round, so a burst of someone else's work does not land on one route only.
The queue pull follows next_cursor and starts again after the last page. The last line gives the same
ratio by this process's CPU time, steadier when other work shares the cores (it leaves out waits for
I/O, which the wall-time figures, the target's, include).
"""

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Order, OrderStatus  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.services import accounts, shops, tokens  # noqa: E402

PAGE = 100


def build(app, n_orders: int) -> str:
    """5 shops, n_orders pending orders, a courier with grants everywhere; returns the token."""
    with app.app_context():
        db.create_all()
        seller = accounts.create_user("bench-seller", "bench-password-1")
        courier = accounts.create_user("bench-courier", "bench-password-1")
        db.session.flush()
        terms = shops.GrantTerms(view_recipient=True, print_labels=True, mark_shipped=True)
        shop_ids = []
        for n in range(5):
            shop = shops.create_shop(seller, f"Shop {n}")
            db.session.flush()
            shop_ids.append(shop.id)
            grant = shops.CourierGrant(shop_id=shop.id, user_id=courier.id, created_by_id=seller.id)
            for name, value in terms.permissions().items():
                setattr(grant, name, value)
            db.session.add(grant)
        db.session.commit()
        rng, now = random.Random(7), utcnow()  # noqa: S311  (spreads paid times, no secret)
        rows = []
        for i in range(n_orders):
            paid = now - timedelta(minutes=rng.randrange(1, 60 * 72))
            rows.append(
                {
                    "shop_id": shop_ids[i % 5],
                    "platform_order_no": f"B{i:012d}",
                    "status": OrderStatus.PENDING,
                    "source": "import",
                    "buyer_nick": f"tb{i}",
                    "recipient_name": "张伟",
                    "recipient_phone": f"138{i % 10**8:08d}",
                    "address_raw": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "address_detail": "文三路 90 号 5 幢 302 室",
                    "postcode": "310012",
                    "item_summary": "西湖龙井 250g",
                    "item_count": 1,
                    "paid_at": paid,
                    "ship_by": paid + timedelta(hours=48),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) == 10_000:
                db.session.execute(insert(Order.__table__), rows)
                rows = []
        if rows:
            db.session.execute(insert(Order.__table__), rows)
        secret = tokens.create_token(courier, name="bench", scopes=tokens.available_scopes(courier)).secret
        db.session.commit()
        return secret


def bare_clients(uri: str):
    bare = Flask("bare")
    engine = create_engine(uri)
    query = text(
        "SELECT id, shop_id, platform_order_no, status, recipient_name, recipient_phone, province, city, "
        'district, address_detail, ship_by FROM "order" WHERE status = :status ORDER BY ship_by, id LIMIT :n'
    )

    @bare.get("/hello")
    def hello():
        return jsonify(ok=True)

    @bare.get("/orders")
    def orders():
        with engine.connect() as conn:
            rows = conn.execute(query, {"status": "pending", "n": PAGE}).mappings().all()
        return jsonify(orders=[{**row, "ship_by": str(row["ship_by"])} for row in rows])

    return bare.test_client()


def rate(call, count: int) -> tuple[float, float]:
    """Calls per second of wall time, and per second of this process's CPU time."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - start), count / (time.process_time() - cpu)


def best_rates(calls: dict, counts: dict, rounds: int) -> tuple[dict, dict]:
    """Each call's best wall-time rate and best CPU-time rate over ``rounds`` rounds taken in turn."""
    for name, call in calls.items():
        for _ in range(min(20, counts[name])):  # warm up
            call()
    wall, cpu = dict.fromkeys(calls, 0.0), dict.fromkeys(calls, 0.0)
    for _ in range(rounds):
        for name, call in calls.items():
            by_wall, by_cpu = rate(call, counts[name])
            wall[name], cpu[name] = max(wall[name], by_wall), max(cpu[name], by_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--pulls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
        started = time.perf_counter()
        secret = build(app, args.orders)
        print(f"world: 5 shops, {args.orders:,} pending orders, built in {time.perf_counter() - started:.1f} s")
        bare = bare_clients(uri)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        state = {"cursor": None}

        def pull():
            url = f"/api/v1/queue?limit={PAGE}" + (f"&cursor={state['cursor']}" if state["cursor"] else "")
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            assert len(body["orders"]) == PAGE and not body["orders"][0]["recipient"]["masked"]
            state["cursor"] = body["next_cursor"]  # None after the last page: start again

        def shops_list():
            assert client.get("/api/v1/shops", headers=headers).status_code == 200

        def bare_hello():
            assert bare.get("/hello").status_code == 200

        def bare_orders():
            response = bare.get("/orders")
            assert response.status_code == 200 and len(response.get_json()["orders"]) == PAGE

        calls = {"hello": bare_hello, "orders": bare_orders, "queue": pull, "shops": shops_list}
        counts = {"hello": args.pulls * 5, "orders": max(1, args.pulls // 5), "queue": args.pulls, "shops": args.pulls}
        rates, cpu_rates = best_rates(calls, counts, args.rounds)
        hello_rate, orders_rate, api_rate = rates["hello"], rates["orders"], rates["queue"]
        print(f"bare Flask JSON route (small object):       {hello_rate:8.0f} req/s")
        print(f"bare Flask JSON route (100 orders, 1 query): {orders_rate:8.0f} req/s")
        print(f"GET /api/v1/queue (page of 100, token):      {api_rate:8.0f} pulls/s")
        print(f"ratio to the bare small-object route:        {hello_rate / api_rate:8.1f}x  (target within 4x)")
        print(f"ratio to the bare 100-order route:           {orders_rate / api_rate:8.1f}x")
        shops_rate = rates["shops"]
        print(f"reference, GET /api/v1/shops (same token):   {shops_rate:8.0f} req/s  (the API's fixed cost)")
        print(f"  its ratio to the bare small-object route:  {hello_rate / shops_rate:8.1f}x")
        cpu_ratio = cpu_rates["hello"] / cpu_rates["queue"]
        print(f"by CPU time (less noisy when shared): queue {cpu_rates['queue']:.0f} pulls/s, ratio {cpu_ratio:.1f}x")


if __name__ == "__main__":
    main()
