"""Benchmark the phone's offline queue: 500 queued scans replayed through the batch endpoint, in one run with
bench/pickup_scan.py's single-scan route for comparison.

    .venv/bin/python bench/pickup_replay.py [--scans 500]

The same SQLite world as bench/pickup_scan.py (one shop, packed parcels, courier1 with an open pickup) with
2 x --scans parcels. Times (a) one POST /courier/pickups/<id>/scan per parcel for the first half, and (b) one
POST /courier/pickups/<id>/scans carrying the second half as the phone's queue (each scan with its id and
time, each its own transaction), then (c) the same batch sent again, as a phone retrying after a lost answer
(every scan a duplicate). Target: (b) under 5 s.
"""

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pickup_scan import world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        client, pickup_id, numbers = world(Path(tmp), 2 * args.scans)
        single, queued = numbers[: args.scans], numbers[args.scans :]

        started = time.perf_counter()
        for number in single:
            response = client.post(
                f"/courier/pickups/{pickup_id}/scan", data={"code": number}, headers={"HX-Request": "true"}
            )
            assert response.status_code == 200, response.status_code
        single_seconds = time.perf_counter() - started

        now = datetime.now(UTC).isoformat()
        queue = {"scans": [{"id": str(uuid.uuid4()), "code": number, "scanned_at": now} for number in queued]}
        started = time.perf_counter()
        response = client.post(f"/courier/pickups/{pickup_id}/scans", json=queue)
        batch_seconds = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        statuses = [result["status"] for result in response.get_json()["results"]]
        assert statuses == ["shipped"] * len(queued), set(statuses)

        started = time.perf_counter()
        response = client.post(f"/courier/pickups/{pickup_id}/scans", json=queue)
        retry_seconds = time.perf_counter() - started
        assert {result["status"] for result in response.get_json()["results"]} == {"duplicate"}

    n = args.scans
    print(f"scans per run: {n}")
    print(f"single scans (POST .../scan each):  {single_seconds:6.2f} s  {1000 * single_seconds / n:6.2f} ms/scan")
    print(
        f"offline replay (one POST .../scans): {batch_seconds:6.2f} s  {1000 * batch_seconds / n:6.2f} ms/scan"
        f"  ({single_seconds / batch_seconds:.1f}x the single-scan rate; target under 5 s: "
        f"{'met' if batch_seconds < 5 else 'MISSED'})"
    )
    print(f"same batch again (all duplicates):   {retry_seconds:6.2f} s  {1000 * retry_seconds / n:6.2f} ms/scan")


if __name__ == "__main__":
    main()
