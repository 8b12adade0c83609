"""Where a small request's time goes: the floor under the pickup scan and the API pull, step by step.

    .venv/bin/python bench/request_floor.py [--requests 2000] [--rounds 3]

The issues compare small requests with a bare Flask route. This script measures, in one run and through
the same kind of test client, what each layer of the portal adds on its way to a pickup scan, so that a
ratio can be read against what the stack itself costs:

1. a bare Flask route doing nothing (the issues' baseline);
2. the portal's ``/healthz`` (the app with its extensions, no session, one ``SELECT 1``);
3. a signed-in request whose view does nothing (session cookie, user row, access policy, security headers);
4. the same plus one prepared SQLAlchemy Core ``SELECT`` by primary key;
5. the same plus one prepared Core ``UPDATE`` by primary key and its commit;
6. a real pickup scan (policy row, scan read, conditional UPDATE, history row, scan row, commit, HTML answer).

Each figure is the best of ``--rounds`` rounds (least disturbed by other work on the machine).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pickup_scan  # noqa: E402
from sqlalchemy import bindparam, select, update  # noqa: E402

from portal import permissions  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Shop  # noqa: E402

_shop = Shop.__table__
_READ = select(_shop.c.name).where(_shop.c.id == bindparam("shop_id"))
_WRITE = update(_shop).where(_shop.c.id == bindparam("shop_id")).values(promise_hours=bindparam("hours"))


def add_probe_routes(app) -> None:
    """Signed-in routes for steps 3–5, behind the real access policy (added here, never in the portal)."""

    def nothing():
        return ""

    def one_read():
        db.session.connection().execute(_READ, {"shop_id": 1}).scalar()
        return ""

    def read_and_write():
        connection = db.session.connection()
        connection.execute(_READ, {"shop_id": 1}).scalar()
        connection.execute(_WRITE, {"shop_id": 1, "hours": 48})
        db.session.commit()
        return ""

    for name, view in (("probe_nothing", nothing), ("probe_read", one_read), ("probe_write", read_and_write)):
        app.add_url_rule(f"/{name}", name, view, methods=["POST"])
        permissions.POLICY[name] = permissions.Rule(permissions.SIGNED_IN)


def best_ms(call, count: int, rounds: int) -> float:
    """Milliseconds per call, best round of ``rounds``."""
    best = float("inf")
    for _round in range(rounds):
        started = time.perf_counter()
        for index in range(count):
            call(index)
        best = min(best, (time.perf_counter() - started) / count)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count, rounds = args.requests, args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        client, pickup_id, numbers = pickup_scan.world(Path(tmp), count * rounds)
        app = client.application
        add_probe_routes(app)
        anonymous, bare = app.test_client(), pickup_scan.bare_client()
        parcels = iter(numbers)
        steps = [
            ("bare Flask route", lambda i: bare.post("/scan", data={"code": "x"})),
            ("portal /healthz (no session)", lambda i: anonymous.get("/healthz")),
            ("signed in, view does nothing", lambda i: client.post("/probe_nothing", data={"code": "x"})),
            ("  + one Core SELECT", lambda i: client.post("/probe_read", data={"code": "x"})),
            ("  + one Core UPDATE and commit", lambda i: client.post("/probe_write", data={"code": "x"})),
            (
                "pickup scan",
                lambda i: client.post(
                    f"/courier/pickups/{pickup_id}/scan", data={"code": next(parcels)}, headers={"HX-Request": "true"}
                ),
            ),
        ]
        figures = [(label, best_ms(call, count, rounds)) for label, call in steps]
    base = figures[0][1]
    print(f"{count:,} requests per round, best of {rounds} rounds")
    for label, ms in figures:
        print(f"{label:34s} {ms:6.3f} ms  {1 / ms * 1000:8,.0f} req/s  {ms / base:5.1f}x the bare route")


if __name__ == "__main__":
    main()
