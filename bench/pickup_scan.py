"""Benchmark pickup scans: scans/s through the test client against a bare Flask route in the same run.

    .venv/bin/python bench/pickup_scan.py [--parcels 2000]

A SQLite world with one shop, --parcels packed parcels with tracking numbers, courier1 with the ship
switch and an open pickup. Times (a) a bare Flask route doing nothing, called as often, through the
same kind of test client, and (b) one POST /courier/pickups/<id>/scan per parcel (session, policy
check, grant read, order lookup, conditional UPDATE, pickup row, commit, HTML answer). Target: (b)
within 5x of (a).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Order, OrderStatus, Shop  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.services import accounts, demo, scanning  # noqa: E402


def bare_client():
    bare = Flask("bare")

    @bare.post("/scan")
    def scan():
        return ""

    return bare.test_client()


def world(tmp: Path, parcels: int):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}")
    with app.app_context():
        db.create_all()
        demo.seed("bench-password-1", with_orders=False)
        shop = db.session.scalar(select(Shop).order_by(Shop.id))
        courier = accounts.find_user("courier1")
        rows = [
            {
                "shop_id": shop.id,
                "platform_order_no": f"P{n:08d}",
                "status": OrderStatus.PACKED,
                "recipient_name": "张伟",
                "recipient_phone": "13800000000",
                "province": "浙江省",
                "city": "杭州市",
                "tracking_no": f"7310{n:010d}",
                "paid_at": utcnow(),
                "ship_by": utcnow(),
            }
            for n in range(parcels)
        ]
        db.session.execute(Order.__table__.insert(), rows)
        db.session.execute(update(Shop).values(require_packed_for_pickup=True))
        pickup = scanning.start_pickup(shop, courier=courier)
        db.session.commit()
        pickup_id, session_id = pickup.id, courier.get_id()
        numbers = [row["tracking_no"] for row in rows]
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    return client, pickup_id, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        client, pickup_id, numbers = world(Path(tmp), args.parcels)
        bare = bare_client()
        started = time.perf_counter()
        for number in numbers:
            bare.post("/scan", data={"code": number})
        bare_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for number in numbers:
            response = client.post(
                f"/courier/pickups/{pickup_id}/scan", data={"code": number}, headers={"HX-Request": "true"}
            )
            assert response.status_code == 200, response.status_code
        scan_seconds = time.perf_counter() - started
    bare_rate, scan_rate = len(numbers) / bare_seconds, len(numbers) / scan_seconds
    print(f"parcels: {len(numbers)}")
    print(f"bare Flask route:  {bare_rate:8,.0f} requests/s")
    print(f"pickup scans:      {scan_rate:8,.0f} scans/s  ({bare_rate / scan_rate:.1f}x slower than the bare route)")


if __name__ == "__main__":
    main()
