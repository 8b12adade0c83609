"""Benchmark pickup scans: scans/s through the test client against their lean twin and a bare route, same run.

    .venv/bin/python bench/pickup_scan.py [--parcels 2000]

A SQLite world with one shop, 2 x --parcels packed parcels with tracking numbers, courier1 with the ship
switch and an open pickup. Times, alternating in slices of 100, (a) a bare Flask route doing nothing, called
as often, through the same kind of test client, (b) one POST /courier/pickups/<id>/scan per parcel (session,
policy check, grant read, order lookup, conditional UPDATE, history and pickup rows, commit, HTML answer) and
(c) bench/lean.py's scan twin on the other half of the parcels (session, CSRF, one conditional UPDATE with the
pickup and grant checks in it, commit, a short answer). Every scan ships a parcel. Prints each rate and the
scan's share of its twin's (issue #18: >= 65 %).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

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
    from lean import create_lean_app, signed_in_client

    with tempfile.TemporaryDirectory() as tmp:
        client, pickup_id, numbers = world(Path(tmp), 2 * args.parcels)
        app = client.application
        with app.app_context():
            session_id = accounts.find_user("courier1").get_id()
        twin = create_lean_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SECRET_KEY"])
        lean_client, token = signed_in_client(twin, session_id)
        bare = bare_client()
        ours, theirs = numbers[: args.parcels], numbers[args.parcels :]

        def portal_scan(number):
            response = client.post(
                f"/courier/pickups/{pickup_id}/scan", data={"code": number}, headers={"HX-Request": "true"}
            )
            assert response.status_code == 200 and b"shipped." in response.data, response.status_code

        def lean_scan(number):
            response = lean_client.post(f"/_lean/pickups/{pickup_id}/scan", data={"code": number, "csrf_token": token})
            assert response.status_code == 200 and b" shipped." in response.data, response.data

        def bare_call(number):
            bare.post("/scan", data={"code": number})

        seconds = {"bare": 0.0, "scan": 0.0, "twin": 0.0}
        for start in range(0, args.parcels, 100):
            for name, call, parcels in (
                ("bare", bare_call, ours),
                ("scan", portal_scan, ours),
                ("twin", lean_scan, theirs),
            ):
                started = time.perf_counter()
                for number in parcels[start : start + 100]:
                    call(number)
                seconds[name] += time.perf_counter() - started
        twin.extensions["lean_engine"].dispose()
    rates = {name: args.parcels / spent for name, spent in seconds.items()}
    print(f"parcels: {args.parcels} each")
    print(f"bare Flask route:     {rates['bare']:8,.0f} requests/s  ({1000 / rates['bare']:.3f} ms)")
    print(f"lean twin (UPDATE):   {rates['twin']:8,.0f} scans/s     ({1000 / rates['twin']:.3f} ms)")
    print(
        f"pickup scans:         {rates['scan']:8,.0f} scans/s     ({1000 / rates['scan']:.3f} ms): "
        f"{rates['scan'] / rates['twin']:.0%} of the twin, {rates['bare'] / rates['scan']:.1f}x the bare route's time"
    )


if __name__ == "__main__":
    main()
