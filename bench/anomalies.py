"""Anomaly detection (services/anomalies.detect) over many orders, against one COUNT(*) of the same rows.

    .venv/bin/python bench/anomalies.py --orders 200000                      # SQLite file in /tmp
    tests/with_postgres.sh sh -c '.venv/bin/python bench/anomalies.py --database "$TEST_DATABASE_URL" --orders 1000000'

Builds its own world: 500 shops shipping from 50 districts (30 from 西湖区), orders whose ship-by deadlines
spread over the last 180 days and the next 2 (every state; 6 % of the past ones picked up late), and one
district (西湖区) where nothing was picked up in the last day. Then, in the same run: one COUNT(*) over the
rows detection reads (ship-by in the last 15 days, labelled, packed or shipped) and over the whole table; the
detection itself (the median of 5 runs, each rolled back); and on PostgreSQL the plan of its statistics query,
which must not scan "order" sequentially.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from seed_world import copy_rows, insert_rows  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Order, Shop, User  # noqa: E402
from portal.services import anomalies, regions  # noqa: E402

XIHU = "330106"
SHOPS = 500
RUNS = 5


def districts(count: int) -> list[str]:
    """``count`` real district codes (GB/T 2260), 西湖区 first."""
    found = [XIHU]
    for province in regions.children(None):
        for city in regions.children(province.code):
            for district in regions.children(city.code)[:2]:
                if district.code != XIHU and district.level == "district":
                    found.append(district.code)
                if len(found) >= count:
                    return found
    return found


def order_rows(shop_ids: list[int], shop_district: dict[int, str], total: int, now: datetime, seed: int = 17):
    rng = random.Random(seed)  # noqa: S311  (a repeatable world, not a secret)
    span = 182 * 24 * 3600
    for n in range(total):
        shop_id = shop_ids[n % len(shop_ids)]
        ship_by = now + timedelta(days=2) - timedelta(seconds=rng.randrange(span))
        past = ship_by <= now
        shipped_at = None
        roll = rng.random()
        if not past:
            status = ("pending", "labelled", "packed")[n % 3]
        elif roll < 0.03:
            status = "cancelled"
        elif shop_district[shop_id] == XIHU and ship_by > now - timedelta(days=1):
            status = "packed"  # pickups stopped here in the last day
        elif roll < 0.035 and ship_by > now - timedelta(days=15):
            status = "labelled"  # a few forgotten everywhere
        else:
            status = "shipped"
            shipped_at = ship_by + (timedelta(hours=3) if roll > 0.94 else -timedelta(hours=rng.randrange(1, 30)))
        yield {
            "shop_id": shop_id,
            "platform_order_no": f"A{n:09d}",
            "status": status,
            "source": "import",
            "paid_at": ship_by - timedelta(hours=48),
            "ship_by": ship_by,
            "shipped_at": shipped_at,
            "province_code": "110000",
            "city_code": "110100",
            "district_code": "110108",
            "created_at": ship_by - timedelta(hours=48),
            "updated_at": shipped_at or ship_by - timedelta(hours=48),
            "exemption": "",
        }


def seed(total: int, now: datetime) -> None:
    owner = User(username="bench-owner", password_hash="x")  # noqa: S106  (nobody signs in)
    db.session.add(owner)
    db.session.flush()
    codes = districts(50)
    # 西湖区 has 30 shops (enough orders to cross the minimum at 200,000 orders); the rest share 49 districts.
    shops = [
        Shop(
            name=f"shop {i}", owner_id=owner.id, sender_region_code=XIHU if i < 30 else codes[1 + i % (len(codes) - 1)]
        )
        for i in range(SHOPS)
    ]
    db.session.add_all(shops)
    db.session.commit()
    shop_district = {shop.id: shop.sender_region_code for shop in shops}
    postgres = db.engine.dialect.name == "postgresql"
    write = copy_rows if postgres else insert_rows
    chunk = []
    with db.engine.begin() as connection:
        for row in order_rows(list(shop_district), shop_district, total, now):
            chunk.append(row)
            if len(chunk) >= 100_000:
                write(connection, Order.__table__, chunk)
                chunk = []
        if chunk:
            write(connection, Order.__table__, chunk)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="default: a new SQLite file in /tmp")
    parser.add_argument("--orders", type=int, default=200_000)
    args = parser.parse_args()
    uri = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='anomalies-')}/bench.sqlite3"
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    now = datetime.now(UTC)
    with app.app_context():
        db.drop_all()
        db.create_all()
        postgres = db.engine.dialect.name == "postgresql"
        seconds, _ = timed(lambda: seed(args.orders, now))
        print(f"{db.engine.dialect.name}: {args.orders:,} orders in {SHOPS} shops seeded in {seconds:.1f} s")
        settings = anomalies.Settings()
        day = timedelta(hours=settings.day_hours)
        same_rows = (
            select(func.count())
            .select_from(Order)
            .where(
                Order.ship_by > now - day * (anomalies.BASELINE_DAYS + 1),
                Order.ship_by <= now,
                Order.status.in_(("labelled", "packed", "shipped")),
            )
        )
        counts, totals, detections = [], [], []
        result = None
        for _ in range(RUNS):
            seconds, rows = timed(lambda: db.session.scalar(same_rows))
            counts.append(seconds)
            seconds, everything = timed(lambda: db.session.scalar(select(func.count()).select_from(Order)))
            totals.append(seconds)
            seconds, result = timed(lambda: anomalies.detect(now, settings))
            detections.append(seconds)
            db.session.rollback()
        count, total, detection = (statistics.median(x) for x in (counts, totals, detections))
        print(f"  rows detection reads: {rows:,} of {everything:,}")
        print(f"  COUNT(*) over those rows        {count * 1000:8.1f} ms")
        print(f"  COUNT(*) over the whole table   {total * 1000:8.1f} ms")
        print(f"  detect() (median of {RUNS})          {detection * 1000:8.1f} ms")
        print(f"  ratio detect / COUNT(same rows)  {detection / count:7.1f}x")
        print(f"  ratio detect / COUNT(table)      {detection / total:7.1f}x")
        print(f"  flagged: {', '.join(result.flagged) or 'none'} (expected {XIHU}); proposals: {len(result.opened)}")
        limit = 2.0 if postgres else 1.0
        print(f"  under {limit:.0f} s: {'yes' if detection < limit else 'NO'}")
        if postgres:
            query = anomalies.statistics_query(now, settings)
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = [row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}"))]
            print("  EXPLAIN of the statistics query:")
            for line in plan:
                print("    " + line)
            seq = any("Seq Scan on order" in line or 'Seq Scan on "order"' in line for line in plan)
            print(f"  sequential scan of order: {'YES' if seq else 'no'}")
            if seq:
                sys.exit(1)


if __name__ == "__main__":
    main()
