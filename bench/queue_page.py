"""Benchmark the courier queue page in process: req/s against a bare Flask route in the same run.

    .venv/bin/python bench/queue_page.py [--orders 200000] [--requests 300] [--profile 25]
        [--database sqlite:////tmp/queue.sqlite3] [--dump DIR]

A SQLite world made by bench/seed_world.py's own functions: 10 shops, --orders orders in every state
(10 % pending), courier1 with all four switches in all 10 shops (ZTO ranges, so the print form shows).
courier1 is signed in through the test client's session and CSRF is on, as in production (the
layout's forms carry a token). Times, through the same kind of test client, (a) a bare Flask route
answering a short text, (b) GET /courier/queue (all 10 shops, a page of 50 pending rows), (c) GET
/courier/queue?shop=S and (d) (b) in Chinese; prints req/s (wall clock), the process's CPU ms per
request (steadier than wall time on a shared machine), the part of it in SQLite's execute, the rest
(the page's own Python, what PostgreSQL would leave, as its plans cost ~2 ms) and the bare route's
CPU per request as a share of that rest (issue #8: the page at >= 25 % of the bare route's req/s
under load, on PostgreSQL). ``--profile N`` then runs (b) under cProfile and prints the top N
functions by own time and by cumulative time. ``--database`` keeps the world in that file and reuses
it on the next run (seeded only when empty); ``--dump DIR`` writes the four pages' HTML there (CSRF
tokens blanked) to diff the output before and after a change.
"""

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import seed_world  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import CourierGrant, Order, OrderItem, User  # noqa: E402

SHOPS = 10


def world(uri: str, n_orders: int):
    """The portal on a seeded SQLite file (seeded only when it holds no orders); courier1's session id and shops."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
        if not db.session.scalar(select(func.count()).select_from(Order)):
            started = time.perf_counter()
            shop_ids, _couriers = seed_world.people(SHOPS, 1)
            with db.engine.begin() as connection:
                orders, items = [], []
                for order, item in seed_world.order_rows(shop_ids, n_orders):
                    orders.append(order)
                    items.append(item)
                    if len(orders) >= 50_000:
                        seed_world.insert_rows(connection, Order.__table__, orders)
                        seed_world.insert_rows(connection, OrderItem.__table__, items)
                        orders, items = [], []
                if orders:
                    seed_world.insert_rows(connection, Order.__table__, orders)
                    seed_world.insert_rows(connection, OrderItem.__table__, items)
            print(f"world: {SHOPS} shops, {n_orders:,} orders, seeded in {time.perf_counter() - started:.1f} s")
        courier = db.session.scalar(select(User).where(User.username == "courier1"))
        shop_ids = sorted(db.session.scalars(select(CourierGrant.shop_id).where(CourierGrant.user_id == courier.id)))
        session_id = courier.get_id()
        db.session.remove()
    return app, session_id, shop_ids


def bare_client():
    bare = Flask("bare")

    @bare.get("/hello")
    def hello():
        return "ok"

    return bare.test_client()


class SqlClock:
    """CPU seconds spent in the database driver's execute: SQLite's plans are not PostgreSQL's (the all-shops
    page's count over 20,000 pending rows costs SQLite tens of ms, PostgreSQL ~2), so the figure to cut,
    the page's own Python, is the CPU time less this."""

    def __init__(self, engine) -> None:
        self.seconds = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:
        self._started = time.process_time()

    def _after(self, *_args) -> None:
        self.seconds += time.process_time() - self._started


def rate(call, count: int, clock: SqlClock | None = None) -> tuple[float, float, float]:
    """Calls per second over count calls (after a few to warm up); the process's CPU seconds per call (the
    machine is shared: CPU time is steadier than wall time); and the SQL seconds per call."""
    for _ in range(min(20, count)):
        call()
    sql_before = clock.seconds if clock else 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return count / elapsed, cpu / count, ((clock.seconds if clock else 0.0) - sql_before) / count


def getter(client, url: str, headers: dict | None = None):
    def call() -> bytes:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        return response.data

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N functions")
    parser.add_argument("--database", help="a sqlite:/// URL to keep (and reuse) the world in")
    parser.add_argument("--dump", type=Path, help="write the pages' HTML into this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, session_id, shop_ids = world(args.database or f"sqlite:///{tmp}/bench.sqlite3", args.orders)
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
        pages = {
            "queue (all 10 shops)": getter(client, "/courier/queue"),
            "queue?shop=S (one shop)": getter(client, f"/courier/queue?shop={shop_ids[0]}"),
            "queue, Chinese": getter(client, "/courier/queue", {"Accept-Language": "zh-CN,zh;q=0.9"}),
        }
        body = pages["queue (all 10 shops)"]()
        assert body.count(b'name="order_ids"') == 50, "expected a page of 50 selectable rows"
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            extra = {"queue-labelled": getter(client, "/courier/queue?status=labelled&page=2")}
            for n, (name, call) in enumerate({**pages, **extra}.items()):
                html = re.sub(rb'(name="csrf_token"[^>]*value=")[^"]*', rb"\1-", call())
                (args.dump / f"{n}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.html").write_bytes(html)
        bare = bare_client()
        with app.app_context():
            clock = SqlClock(db.engine)
        bare_rate, bare_cpu, _sql = rate(getter(bare, "/hello"), args.requests * 10)
        print(f"{'':<26} {'req/s':>7} {'CPU ms':>7} {'SQL ms':>7} {'rest ms':>7}  rest's share of bare's rate")
        print(f"{'bare Flask route':<26} {bare_rate:7.0f} {1000 * bare_cpu:7.2f}")
        for name, call in pages.items():
            page_rate, cpu, sql = rate(call, args.requests, clock)
            rest = cpu - sql
            print(
                f"{name:<26} {page_rate:7.0f} {1000 * cpu:7.2f} {1000 * sql:7.2f} {1000 * rest:7.2f}"
                f"  {100 * bare_cpu / rest:5.1f} % ({rest / bare_cpu:.0f}x the bare route)"
            )
        if args.profile:
            profiler = cProfile.Profile()
            call = pages["queue (all 10 shops)"]
            profiler.enable()
            for _ in range(args.requests):
                call()
            profiler.disable()
            for order in ("tottime", "cumulative"):
                print(f"\n--- {args.requests} requests of /courier/queue, by {order} ---")
                pstats.Stats(profiler).strip_dirs().sort_stats(order).print_stats(args.profile)


if __name__ == "__main__":
    main()
