"""Imports run as background jobs: the upload stores and enqueues, a job checks, confirm enqueues the apply.

Under TestConfig the queue runs each job inline (Huey's immediate mode), inside the request that enqueues it.
The tests at the end run a real consumer instead, a thread and then ``flask jobs-consumer`` in a process, over a
SQLite queue in tmp_path and over Redis, and read the progress bar while a job is held half-way through its file.
"""

import importlib.util
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import jobs
from portal.extensions import db
from portal.models import ImportBatch, Order, OrderStatus
from portal.models.base import utcnow
from portal.services import imports, storage, tracking_import
from portal.services.errors import InvalidDataError
from tests.ops.test_shared_limits import redis_url  # noqa: F401  (a fixture: a throwaway redis-server)

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data"
ROWS = 5000  # the check reports its progress after every 2,000 rows: twice before the end


def _bench_export():
    spec = importlib.util.spec_from_file_location("bench_import_orders", ROOT / "bench" / "import_orders.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_export


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, Path]:
    """A 5,000-row order export and its items file, as bench/import_orders.py writes them."""
    return _bench_export()(tmp_path_factory.mktemp("export"), ROWS, 7)


@pytest.fixture
def progress_log(monkeypatch) -> dict[str, list[float]]:
    """Every progress value the jobs write, by key; each one is written (no throttling in tests)."""
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0)
    written: dict[str, list[float]] = defaultdict(list)
    put = jobs.huey.put

    def spy(key, value):
        written[key].append(value)
        return put(key, value)

    monkeypatch.setattr(jobs.huey, "put", spy)
    return written


def upload_orders(client, shop: int, orders: Path, items: Path | None = None):
    data = {"orders_file": (io.BytesIO(orders.read_bytes()), orders.name)}
    if items is not None:
        data["items_file"] = (io.BytesIO(items.read_bytes()), items.name)
    return client.post(f"/shops/{shop}/imports", data=data, content_type="multipart/form-data")


def upload_tracking(client, shop: int, name: str = "tracking_zto_utf8.csv"):
    data = {"company": "ZTO", "tracking_file": (io.BytesIO((DATA / name).read_bytes()), name)}
    return client.post(f"/shops/{shop}/tracking-import", data=data, content_type="multipart/form-data")


def batch_of(app, batch_id: int) -> ImportBatch:
    with app.app_context():
        return db.session.get(ImportBatch, batch_id)


def last_batch(app) -> ImportBatch:
    with app.app_context():
        return db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()


def count_orders(app, shop: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop))


def files_kept(app, batch: ImportBatch) -> bool:
    return (Path(app.config["PORTAL_UPLOAD_DIR"]) / batch.storage_key).exists()


# The flow, with jobs run inline ------------------------------------------------------------------


def test_an_order_export_is_checked_then_applied_by_jobs(app, world, login, export, progress_log, monkeypatch):
    shop, seller = world["shops"]["seller2"], login("seller2")
    status_at_start = []
    check = imports.preview_import

    def watched_check(*args, **kwargs):
        # The upload committed the batch before the job read it.
        status_at_start.append(db.session.scalar(select(ImportBatch.status)))
        return check(*args, **kwargs)

    monkeypatch.setattr(imports, "preview_import", watched_check)
    before = count_orders(app, shop)
    response = upload_orders(seller, shop, *export)
    assert response.status_code == 302
    batch = last_batch(app)
    assert response.headers["Location"].endswith(f"/shops/{shop}/imports/{batch.id}")
    assert status_at_start == ["checking"]
    assert batch.status == "preview" and batch.report["ok"] and batch.finished_at is not None
    assert count_orders(app, shop) == before  # a check writes no order
    # Started (0), then after 2,000 and 4,000 of the 5,000 rows.
    fractions = progress_log[jobs._progress_key(batch.id)]
    assert fractions[0] == 0 and 0.35 < fractions[1] < 0.45 and 0.75 < fractions[2] < 0.85, fractions

    page = seller.get(response.headers["Location"]).text
    assert 'id="import-summary"' in page and f"/imports/{batch.id}/confirm" in page
    assert 'id="import-progress"' not in page and "htmx" not in page
    fragment = seller.get(f"/shops/{shop}/imports/{batch.id}/progress")
    assert 'aria-valuenow="100"' in fragment.text and "hx-get" not in fragment.text
    assert fragment.headers["HX-Refresh"] == "true"  # htmx reloads the page, which shows the preview

    confirmed = seller.post(f"/shops/{shop}/imports/{batch.id}/confirm")
    assert confirmed.headers["Location"].endswith(f"/shops/{shop}/imports/{batch.id}")
    batch = batch_of(app, batch.id)
    assert batch.status == "applied" and batch.applied_at is not None
    assert batch.result["created"] == batch.report["new"] > 0
    assert count_orders(app, shop) == before + batch.report["new"]
    assert not files_kept(app, batch)  # applied: the buyers' details in the file go
    result = seller.get(confirmed.headers["Location"]).text
    assert 'id="import-result"' in result and f'href="/shops/{shop}/orders"' in result
    assert len(progress_log[jobs._progress_key(batch.id)]) >= 6  # the apply reported too
    with app.app_context():
        assert jobs.huey.get(jobs._progress_key(batch.id), peek=True) is None  # cleared once ended
    assert seller.post(f"/shops/{shop}/imports/{batch.id}/confirm").status_code == 409


def test_a_tracking_sheet_is_checked_then_applied_by_jobs(app, world, login, progress_log):
    shop, seller = world["shops"]["seller1"], login("seller1")
    response = upload_tracking(seller, shop)
    batch = last_batch(app)
    assert response.headers["Location"].endswith(f"/shops/{shop}/tracking-import/{batch.id}")
    assert batch.kind == "tracking" and batch.status == "preview" and batch.report["ok_count"] == 5
    assert progress_log[jobs._progress_key(batch.id)][-1] > 0.5  # after its one (short) chunk
    page = seller.get(response.headers["Location"]).text
    assert "tracking_zto_utf8.csv" in page and f"/tracking-import/{batch.id}/confirm" in page
    assert 'aria-valuenow="100"' in seller.get(f"/shops/{shop}/imports/{batch.id}/progress").text

    confirmed = seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm")
    assert confirmed.headers["Location"].endswith(f"/shops/{shop}/tracking-import/{batch.id}")
    batch = batch_of(app, batch.id)
    assert batch.status == "applied" and batch.result == {"labelled": 5}
    assert not files_kept(app, batch)
    with app.app_context():
        labelled = db.session.scalar(
            select(func.count()).where(Order.shop_id == shop, Order.status == OrderStatus.LABELLED)
        )
    assert labelled == 5
    result = seller.get(confirmed.headers["Location"]).text
    assert 'id="tracking-result"' in result and "status=labelled" in result


def test_the_jobs_speak_the_sellers_language(app, world, login):
    """A job runs in the language of the request that enqueued it: its report rows and its errors are stored so."""
    shop, seller = world["shops"]["seller1"], login("seller1")
    data = {"company": "ZTO", "tracking_file": (io.BytesIO((DATA / "tracking_errors.csv").read_bytes()), "t.csv")}
    seller.post(
        f"/shops/{shop}/tracking-import",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "zh-CN"},
    )
    messages = " ".join(error["message"] for error in last_batch(app).report["errors"])
    assert "订单" in messages and "Order" not in messages


def test_every_state_of_the_batch_pages_in_chinese(app, world, login, tmp_path):
    """The i18n sweep cannot reach pages that need a batch id: each state of both pages, and the fragment, here."""
    from tests.functional.test_i18n import ZH, english_strings, extract_messages, visible_texts

    english = english_strings(extract_messages(tmp_path))
    shop, seller, user = world["shops"]["seller1"], login("seller1"), world["users"]["seller1"]
    with app.app_context():
        batches = []
        for kind in ("orders", "tracking"):
            for status in ("checking", "applying", "preview", "applied", "failed", "discarded"):
                result = {"created": 1, "updated": 0, "skipped": 0, "labelled": 1} if status == "applied" else None
                batch = ImportBatch(
                    shop_id=shop, created_by_id=user, kind=kind, status=status, result=result, error="出错了"
                )
                db.session.add(batch)
                batches.append(batch)
        db.session.commit()
        urls = [
            f"/shops/{shop}/imports/{b.id}" if b.kind == "orders" else f"/shops/{shop}/tracking-import/{b.id}"
            for b in batches
        ]
        urls += [f"/shops/{shop}/imports/{b.id}/progress" for b in batches[:2]]
    for url in urls:
        page = seller.get(url, headers=ZH)
        assert page.status_code == 200, url
        assert not visible_texts(page.text) & english, (url, visible_texts(page.text) & english)


# Failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (InvalidDataError("The orders file is upside down."), "The orders file is upside down."),
        (RuntimeError("disk on fire"), "The import failed: nothing was changed. Upload the file again."),
    ],
)
def test_a_failed_check_says_why_and_leaves_no_files(app, world, login, monkeypatch, caplog, error, shown):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(imports, "preview_import", broken)
    shop, seller = world["shops"]["seller2"], login("seller2")
    response = upload_orders(seller, shop, DATA / "taobao_2017_gbk.csv")
    batch = last_batch(app)
    assert batch.status == "failed" and batch.error == shown and batch.finished_at is not None
    assert not files_kept(app, batch)
    page = seller.get(response.headers["Location"]).text
    assert 'id="import-failed"' in page and shown in page and "/confirm" not in page
    assert f'href="/shops/{shop}/imports"' in page  # upload again
    # The seller reads a sentence; the log keeps the real cause of the unexpected one.
    assert ("disk on fire" in caplog.text) == isinstance(error, RuntimeError)
    assert seller.post(f"/shops/{shop}/imports/{batch.id}/confirm").status_code == 409


def test_a_failed_apply_writes_nothing_and_leaves_no_files(app, world, login, monkeypatch):
    shop, seller = world["shops"]["seller2"], login("seller2")
    upload_orders(seller, shop, DATA / "taobao_2017_gbk.csv")
    batch = last_batch(app)
    before = count_orders(app, shop)
    apply = imports.apply_import

    def apply_then_break(*args, **kwargs):
        apply(*args, **kwargs)  # every order written in the job's transaction ...
        raise RuntimeError("connection lost")  # ... which then fails

    monkeypatch.setattr(imports, "apply_import", apply_then_break)
    seller.post(f"/shops/{shop}/imports/{batch.id}/confirm")
    batch = batch_of(app, batch.id)
    assert batch.status == "failed" and "nothing was changed" in batch.error
    assert count_orders(app, shop) == before
    assert not files_kept(app, batch)


def test_rows_that_went_bad_since_the_check_are_listed_when_the_apply_fails(app, world, login, monkeypatch):
    shop, seller = world["shops"]["seller1"], login("seller1")
    upload_tracking(seller, shop)
    batch = last_batch(app)
    report = tracking_import.TrackingReport(company="ZTO", rows=1)
    report.add_error(2, "运单号", "Tracking number 75000000000001 is already on order X.")

    def refused(*args, **kwargs):
        raise tracking_import.InvalidTrackingError(report)

    monkeypatch.setattr(tracking_import, "apply_tracking", refused)
    response = seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm")
    page = seller.get(response.headers["Location"]).text
    assert 'id="tracking-failed"' in page and 'id="tracking-errors"' in page
    assert "75000000000001 is already on order X." in page
    assert batch_of(app, batch.id).status == "failed"


def test_a_queue_that_does_not_answer_fails_the_upload_cleanly(app, world, login, monkeypatch):
    def unreachable(task):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(jobs.huey, "enqueue", unreachable)
    shop, seller = world["shops"]["seller2"], login("seller2")
    response = upload_orders(seller, shop, DATA / "taobao_2017_gbk.csv")
    assert response.status_code == 302
    batch = last_batch(app)
    assert batch.status == "failed" and "job queue" in batch.error
    assert not files_kept(app, batch)


def test_discard_while_checking_and_after(app, world, login):
    shop, seller = world["shops"]["seller2"], login("seller2")
    with app.app_context():
        key = storage.new_key()
        folder = Path(app.config["PORTAL_UPLOAD_DIR"]) / key
        folder.mkdir(parents=True)
        (folder / "orders-x.csv").write_text("x")
        waiting = ImportBatch(shop_id=shop, created_by_id=world["users"]["seller2"], storage_key=key)
        db.session.add(waiting)
        db.session.commit()
        batch_id = waiting.id
    page = seller.get(f"/shops/{shop}/imports/{batch_id}").text
    assert 'id="import-progress"' in page and 'hx-trigger="every 1s"' in page
    assert 'http-equiv="refresh"' in page and "htmx-2.0.7/htmx.min.js" in page  # with and without JavaScript
    assert "Waiting for its turn" in page
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/discard").status_code == 302
    assert batch_of(app, batch_id).status == "discarded" and not folder.exists()
    # The job, when its turn comes, leaves the discarded batch alone.
    jobs.check_orders.call_local(batch_id, "en")
    assert batch_of(app, batch_id).status == "discarded"
    assert seller.post(f"/shops/{shop}/imports/{batch_id}/confirm").status_code == 409


def test_an_applied_import_cannot_be_discarded(app, world, login):
    shop, seller = world["shops"]["seller1"], login("seller1")
    upload_tracking(seller, shop)
    batch = last_batch(app)
    seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm")
    assert seller.post(f"/shops/{shop}/imports/{batch.id}/discard").status_code == 409
    assert batch_of(app, batch.id).status == "applied"


def test_the_daily_sweep_ends_stale_imports(app, world):
    seller = world["users"]["seller1"]
    shop = world["shops"]["seller1"]
    root = Path(app.config["PORTAL_UPLOAD_DIR"])
    two_days_ago = utcnow() - timedelta(days=2)
    with app.app_context():
        batches = {}
        for status in ("checking", "applying", "preview", "applied"):
            key = storage.new_key()
            (root / key).mkdir(parents=True)
            (root / key / "orders-x.csv").write_text("x")
            os.utime(root / key, (two_days_ago.timestamp(),) * 2)
            batch = ImportBatch(shop_id=shop, created_by_id=seller, storage_key=key, status=status)
            batch.created_at = two_days_ago
            db.session.add(batch)
            batches[status] = batch
        fresh = ImportBatch(shop_id=shop, created_by_id=seller, storage_key=storage.new_key())
        db.session.add(fresh)
        db.session.commit()
        ids = {status: batch.id for status, batch in batches.items()}
        keys = {status: batch.storage_key for status, batch in batches.items()}
    jobs.sweep_uploads.call_local()
    statuses = {status: batch_of(app, batch_id).status for status, batch_id in ids.items()}
    assert statuses == {"checking": "failed", "applying": "failed", "preview": "discarded", "applied": "applied"}
    assert batch_of(app, ids["checking"]).error == "The import did not finish: upload the file again."
    assert not any((root / key).exists() for key in keys.values())
    assert batch_of(app, fresh.id).status == "checking"  # a job may still be on it


def test_a_job_cut_short_by_a_stop_fails_its_batch(app, world, login):
    shop, seller = world["shops"]["seller2"], login("seller2")
    upload_orders(seller, shop, DATA / "taobao_2017_gbk.csv")
    batch = last_batch(app)
    with app.app_context():
        jobs.confirm(db.session.get(ImportBatch, batch.id))
        db.session.commit()
    # The consumer stopped abruptly in the middle of the apply: Huey reports the task as interrupted.
    jobs._interrupted("interrupted", jobs.apply_orders.s(batch.id, world["users"]["seller2"], "en"))
    batch = batch_of(app, batch.id)
    assert batch.status == "failed" and "stopped while this import ran" in batch.error
    assert not files_kept(app, batch)


# Access --------------------------------------------------------------------------------------------


def test_the_progress_fragment_is_the_shop_owners_only(app, world, login):
    shop = world["shops"]["seller2"]
    upload_tracking(login("seller2"), shop, "tracking_zto_utf8.csv")
    batch = last_batch(app)
    url = f"/shops/{shop}/imports/{batch.id}/progress"
    assert login("seller2").get(url).status_code == 200
    for other in ("seller1", "courier1", "packer1"):
        assert login(other).get(url).status_code == 404, other
    # Another shop in the URL with this shop's import: as if it did not exist.
    assert login("seller1").get(f"/shops/{world['shops']['seller1']}/imports/{batch.id}/progress").status_code == 404
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# A real consumer -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def queue(request, app, tmp_path) -> str:
    """The app enqueues into a real queue, immediate mode off: the default SQLite file (here in tmp_path), or a
    throwaway redis-server (PORTAL_JOBS_URL=redis://...). Returns the queue's URL."""
    redis = request.param == "redis"
    url = request.getfixturevalue("redis_url") if redis else f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    app.config.update(PORTAL_JOBS_IMMEDIATE=False, PORTAL_JOBS_URL=url)
    jobs.init_app(app)
    assert not jobs.huey.immediate
    assert type(jobs.huey.storage).__name__ == ("RedisStorage" if redis else "SqliteStorage")
    return url


@pytest.fixture
def consumer(queue):
    """A Huey consumer over that queue, with its worker in a thread of this process."""
    consumer = jobs.huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.1)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for signum, handler in handlers.items():  # start() takes the signals over: pytest keeps its own
        signal.signal(signum, handler)
    yield consumer
    consumer.stop(graceful=True)


def wait_for(app, batch_id: int, status: str, timeout: float = 60) -> ImportBatch:
    deadline = time.monotonic() + timeout
    while (batch := batch_of(app, batch_id)).status != status:
        assert time.monotonic() < deadline, f"batch {batch_id} still {batch.status}, not {status}"
        time.sleep(0.05)
    return batch


class HalfWay:
    """Wraps a service so that its job stops after its first progress report, until the test lets it go on."""

    def __init__(self, monkeypatch, module, name: str):
        self.reached, self.go_on = threading.Event(), threading.Event()
        service = getattr(module, name)

        def held(*args, progress, **kwargs):
            def report(fraction):
                progress(fraction)
                if fraction > 0 and not self.reached.is_set():
                    self.reached.set()
                    assert self.go_on.wait(60)

            return service(*args, progress=report, **kwargs)

        monkeypatch.setattr(module, name, held)


def progress_seen(client, shop: int, batch_id: int) -> tuple[str, int]:
    """The fragment's status and percentage, as htmx fetches it every second."""
    fragment = client.get(f"/shops/{shop}/imports/{batch_id}/progress")
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment.headers
    text = fragment.text
    status = text.split('data-status="', 1)[1].split('"', 1)[0]
    return status, int(text.split('aria-valuenow="', 1)[1].split('"', 1)[0])


def test_a_consumer_thread_runs_the_jobs_and_the_page_follows(app, world, login, export, consumer, monkeypatch):
    """The upload and the confirmation return at once; the fragment shows each job half-way through its file,
    while the apply's transaction is open (on SQLite it holds the only write lock then)."""
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0)
    shop, seller = world["shops"]["seller2"], login("seller2")
    checking = HalfWay(monkeypatch, imports, "preview_import")
    applying = HalfWay(monkeypatch, imports, "apply_import")
    try:
        response = upload_orders(seller, shop, *export)
        batch_id = last_batch(app).id
        assert checking.reached.wait(60)
        page = seller.get(response.headers["Location"]).text
        assert 'id="import-progress"' in page and 'hx-trigger="every 1s"' in page
        status, percent = progress_seen(seller, shop, batch_id)
        assert status == "checking" and 35 <= percent <= 45  # 2,000 of the 5,000 rows
        checking.go_on.set()
        batch = wait_for(app, batch_id, "preview")
        assert batch.report["ok"] and f"/imports/{batch_id}/confirm" in seller.get(response.headers["Location"]).text

        before = count_orders(app, shop)
        confirmed = seller.post(f"/shops/{shop}/imports/{batch_id}/confirm")
        assert confirmed.status_code == 302
        assert applying.reached.wait(60)
        status, percent = progress_seen(seller, shop, batch_id)
        assert status == "applying" and 35 <= percent <= 45
        assert count_orders(app, shop) == before  # nothing is visible before the job commits
        applying.go_on.set()
        batch = wait_for(app, batch_id, "applied")
    finally:  # a failed assertion must not leave the worker waiting
        checking.go_on.set()
        applying.go_on.set()
    assert count_orders(app, shop) == before + batch.result["created"]
    deadline = time.monotonic() + 10
    while files_kept(app, batch):  # removed by the job right after its commit
        assert time.monotonic() < deadline, "the applied import's files are still there"
        time.sleep(0.05)
    fragment = seller.get(f"/shops/{shop}/imports/{batch_id}/progress")
    assert fragment.headers["HX-Refresh"] == "true" and 'aria-valuenow="100"' in fragment.text


def test_a_consumer_thread_runs_a_tracking_import(app, world, login, consumer):
    shop, seller = world["shops"]["seller1"], login("seller1")
    upload_tracking(seller, shop)
    batch = wait_for(app, last_batch(app).id, "preview")
    seller.post(f"/shops/{shop}/tracking-import/{batch.id}/confirm")
    assert wait_for(app, batch.id, "applied").result == {"labelled": 5}


def consumer_env(app, queue: str, **extra: str) -> dict[str, str]:
    """``flask --app wsgi jobs-consumer`` with the production settings on the test's database and queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(
        PORTAL_ENV="production",
        FLASK_SECRET_KEY="jobs-test-" + "x" * 32,
        FLASK_SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        FLASK_PORTAL_UPLOAD_DIR=app.config["PORTAL_UPLOAD_DIR"],
        FLASK_PORTAL_JOBS_URL=queue,
        **extra,
    )
    return env


def test_the_consumer_command_runs_queued_jobs_and_stops_on_sigint(app, world, login, queue, tmp_path):
    shop, seller = world["shops"]["seller1"], login("seller1")
    upload_tracking(seller, shop)  # queued before any consumer runs: it waits in the SQLite file
    batch_id = last_batch(app).id
    log = (tmp_path / "consumer.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs-consumer"],
        cwd=ROOT,
        env=consumer_env(app, queue),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(app, batch_id, "preview")
        seller.post(f"/shops/{shop}/tracking-import/{batch_id}/confirm")
        assert wait_for(app, batch_id, "applied").result == {"labelled": 5}
    finally:
        process.send_signal(signal.SIGINT)  # graceful: running jobs finish first
        assert process.wait(30) == 0, (tmp_path / "consumer.log").read_text()
    assert "Consumer exiting" in (tmp_path / "consumer.log").read_text()


def test_the_consumer_stops_when_the_server_that_started_it_is_gone(app, queue, tmp_path):
    """``--parent`` (make run, gunicorn.conf.py): however the server ends, even killed, the consumer ends too. Here
    the shell that starts it exits at once, before the consumer has even loaded the app."""
    command = f"{sys.executable} -m flask --app wsgi jobs-consumer --parent $$ >{tmp_path / 'consumer.log'} 2>&1 &"
    parent = subprocess.run(
        ["/bin/sh", "-c", command + " echo $!"], cwd=ROOT, env=consumer_env(app, queue), capture_output=True, check=True
    )
    pid = int(parent.stdout)
    deadline = time.monotonic() + 60
    while _alive(pid):
        assert time.monotonic() < deadline, (tmp_path / "consumer.log").read_text()
        time.sleep(0.2)
    assert "Consumer exiting" in (tmp_path / "consumer.log").read_text()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
