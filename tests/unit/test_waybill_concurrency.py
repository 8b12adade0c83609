"""Many couriers printing at once: OS processes allocate from one range of one database at the same time.

SQLite: the test's database file (WAL, busy_timeout from the app). PostgreSQL: TEST_DATABASE_URL.
Every number must be handed out once, none skipped, and next_serial must count them all.
"""

import itertools
import multiprocessing
import random
import time
import traceback

from flask_babel import force_locale
from sqlalchemy import func, select

import portal.models.waybill  # noqa: F401  (create_all must see the tables until models/__init__ imports them)
from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Shop, User
from portal.models.waybill import Waybill, WaybillRange
from portal.services import waybills

PROCESSES = 4
ALLOCATIONS = 50  # per process, of 1 to 3 numbers each
RANGE_SIZE = PROCESSES * ALLOCATIONS * 3


def allocate_many(
    uri: str, range_id: int, shop_id: int, user_id: int, seed: int, allocations: int, barrier, results
) -> None:
    """One courier's printing session in its own process, own app and own connection; reports what it got."""
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
        rng = random.Random(seed)
        got: list[tuple[int, str]] = []
        with app.app_context(), force_locale("en"):
            shop, actor = db.session.get(Shop, shop_id), db.session.get(User, user_id)
            db.session.commit()
            barrier.wait(timeout=60)
            for _ in range(allocations):
                # The range is re-read (expired by the last commit): a read before the write, as a view does.
                waybill_range = db.session.get(WaybillRange, range_id)
                allocated = waybills.allocate(waybill_range, rng.randint(1, 3), shop=shop, actor=actor)
                numbers = [(w.serial, w.tracking_no) for w in allocated]  # read before the commit expires them
                db.session.commit()
                got.extend(numbers)
            db.session.remove()
            db.engine.dispose()
        results.put(("ok", seed, got))
    except BaseException:
        results.put(("error", seed, traceback.format_exc()))


def test_concurrent_processes_never_share_or_skip_a_number(app, world):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context(), force_locale("en"):
        waybills.ensure_default_companies()
        shop = db.session.get(Shop, world["shops"]["seller1"])
        actor = db.session.get(User, world["users"]["courier1"])
        waybill_range = waybills.create_range(
            shop, waybills.company_by_code("EMS"), start="EA000000014CN", count=RANGE_SIZE, actor=actor
        )
        db.session.commit()
        range_id, start = waybill_range.id, waybill_range.start_serial

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(
            target=allocate_many,
            args=(
                uri,
                range_id,
                world["shops"]["seller1"],
                world["users"]["courier1"],
                seed,
                ALLOCATIONS,
                barrier,
                results,
            ),
        )
        for seed in range(PROCESSES)
    ]
    began = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        reports = [results.get(timeout=180) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
    elapsed = time.monotonic() - began

    errors = [report[2] for report in reports if report[0] == "error"]
    assert not errors, "\n".join(errors)
    got = [(serial, number, report[1]) for report in reports for serial, number in report[2]]
    got.sort()
    total = len(got)
    assert PROCESSES * ALLOCATIONS <= total <= RANGE_SIZE
    assert len({number for _serial, number, _worker in got}) == total, "a number was handed out twice"
    assert [serial for serial, _number, _worker in got] == list(range(start, start + total)), (
        "a number was skipped or given twice"
    )
    # The processes really ran at the same time: one after the other would give 3 changes of hands.
    changes = sum(1 for a, b in itertools.pairwise(got) if a[2] != b[2])
    assert changes > PROCESSES - 1, "the processes did not overlap: the test proved nothing"

    with app.app_context():
        db.session.expire_all()
        stored = db.session.get(WaybillRange, range_id)
        assert stored.next_serial - stored.start_serial == total
        rows = db.session.execute(select(func.count(), func.count(func.distinct(Waybill.tracking_no)))).one()
        assert tuple(rows) == (total, total)
        stored_numbers = set(db.session.scalars(select(Waybill.tracking_no)))
        assert stored_numbers == {number for _serial, number, _worker in got}
        company = waybills.company_by_code("EMS")
        with force_locale("en"):
            for number in stored_numbers:  # every S10 number carries its check digit
                waybills.validate_number(company, number)
    print(f"\n{PROCESSES} processes, {total} numbers, {changes} changes of hands, {elapsed:.1f}s: {uri}")
