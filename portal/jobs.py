"""Background jobs: one Huey queue, configured from the app, for work too long for one request.

An import (an order export, a tracking-number sheet) is checked and applied by jobs, not in the request: 200,000
rows take about 12 s each way. The upload only stores the files, commits the batch ("checking") and enqueues; the
seller's page shows the job's progress. Each job pushes an app context of its own, calls the service a page would,
and owns its transaction as a view does: one commit for everything it writes, or a rollback and the batch marked
failed with a reason the seller can read. A failed or discarded batch loses its files at once.

Only this module assigns ``ImportBatch.status`` (``ImportStatus``: checking → preview → applying → applied, or
failed, or discarded), each time with an UPDATE conditional on the status it expects, so a job that finds its
batch discarded meanwhile writes nothing.

Where the queue lives (``init_app``): Redis when ``PORTAL_JOBS_URL`` (or else ``REDIS_URL``) is a ``redis://``
URL; otherwise a SQLite file, ``instance/jobs.sqlite3`` (or the file a ``sqlite:///`` URL names). The queue is
named after the portal's database, so portals on other databases that share the file or the Redis (a test server
beside ``make run``, staging beside production) never take each other's jobs. Under tests (``app.testing``, or
``PORTAL_JOBS_IMMEDIATE``) Huey's immediate mode runs each job inside the request that enqueues it.

Progress is not kept on the batch row: while an import runs, its transaction holds SQLite's one write lock until
it commits, so no other connection could write a progress update into the portal's database. It goes to the
queue's own storage instead (``huey.put``: the jobs SQLite file, or Redis), which every web worker reads.

The consumer runs beside the web server: ``flask --app wsgi jobs-consumer``; ``make run`` and gunicorn.conf.py
start it. A periodic job sweeps stale uploads daily, so no cron entry is needed for them.
"""

import contextlib
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from huey import Huey, crontab
from huey.signals import SIGNAL_INTERRUPTED
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import ImportBatch, Shop, User
from portal.models.base import utcnow
from portal.models.order import ImportStatus
from portal.services import imports, retention, storage, tracking_import, waybills
from portal.services.errors import ConflictError, DomainError, InvalidDataError

# The queue. init_app() gives it its storage; until then (no app yet) it would run a job inline.
huey = Huey("portal", immediate=True, results=False)

RUNNING = frozenset({ImportStatus.CHECKING, ImportStatus.APPLYING})
# A job writes its progress at most this often (seconds): each update is a write to the queue's storage.
PROGRESS_EVERY = 0.5


class _Binding:
    """The app jobs run in: the one whose init_app() configured the queue (the consumer's, or a test's)."""

    app: Flask | None = None


def init_app(app: Flask) -> None:
    """Give the queue the storage the app's settings name; jobs run in this app from now on.

    :raise RuntimeError: ``PORTAL_JOBS_URL`` is neither a redis:// nor a sqlite:/// URL.
    """
    config = app.config
    immediate = bool(config.get("PORTAL_JOBS_IMMEDIATE", app.testing))
    url = config.get("PORTAL_JOBS_URL") or os.environ.get("PORTAL_JOBS_URL") or os.environ.get("REDIS_URL") or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        # blocking: a worker waits on the list, so a job starts as soon as it is enqueued.
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": url, "blocking": True, "read_timeout": 1}
    elif not url or url.startswith("sqlite:///"):
        path = Path(app.instance_path, url.removeprefix("sqlite:///") or "jobs.sqlite3")  # relative: in instance/
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": str(path), "timeout": 10}
    else:
        raise RuntimeError("PORTAL_JOBS_URL is neither redis://host:6379/0 nor sqlite:////path/to/jobs.sqlite3")
    database = config["SQLALCHEMY_DATABASE_URI"]
    huey.name = "portal-" + hashlib.sha256(database.encode()).hexdigest()[:12]  # see the module doc
    previous = huey.storage
    huey.immediate = immediate
    huey.storage = huey.create_storage()  # a fresh one, even in immediate mode: nothing leaks from another app
    previous.close()
    _Binding.app = app
    app.extensions["portal.jobs"] = huey
    app.cli.add_command(consumer_command)


def _app() -> Flask:
    """The app of the request that runs a job inline (immediate mode), else the one the queue was set up in."""
    if has_app_context():
        return current_app._get_current_object()
    if _Binding.app is None:
        raise RuntimeError("portal.jobs.init_app() was not called: create the app first")
    return _Binding.app


# What pages call -----------------------------------------------------------------------------------


def enqueue_check(batch: ImportBatch) -> None:
    """Queue the check (the preview) of a batch the caller has just committed in "checking"."""
    task = check_orders if batch.kind == "orders" else check_tracking
    _enqueue(batch, lambda: task(batch.id, _locale()))


def confirm(batch: ImportBatch) -> None:
    """Mark a checked batch to be applied; the caller commits, then calls ``enqueue_apply``.

    :raise ConflictError: it is not waiting for confirmation (still checking, applied, discarded, failed), or
        another request confirmed it meanwhile.
    :raise InvalidDataError: its preview found problems, or nothing to import.
    """
    if batch.status in RUNNING:
        raise ConflictError(_("This import is still running: wait for it to finish."))
    if batch.status != ImportStatus.PREVIEW:
        raise ConflictError(_("This import has already been applied or discarded."))
    if not batch.report.get("ok"):
        raise InvalidDataError(_("This file has problems or nothing to import: fix it and upload it again."))
    if not _move(batch.id, (ImportStatus.PREVIEW,), {"status": ImportStatus.APPLYING, "finished_at": None}):
        raise ConflictError(_("This import has already been applied or discarded."))
    set_committed_value(batch, "status", ImportStatus.APPLYING)  # as the UPDATE left it: nothing more to flush


def enqueue_apply(batch: ImportBatch, actor: User) -> None:
    """Queue the apply of a batch the caller has just committed in "applying"; ``actor`` is audited as its author."""
    task = apply_orders if batch.kind == "orders" else apply_tracking
    _enqueue(batch, lambda: task(batch.id, actor.id, _locale()))


def discard(batch: ImportBatch) -> bool:
    """Discard a batch still checking or waiting for confirmation (the caller commits, then removes the files).
    Returns False when there was nothing to discard (it failed or was discarded already).

    :raise ConflictError: it is being applied, or was.
    """
    if batch.status in (ImportStatus.FAILED, ImportStatus.DISCARDED):
        return False
    values = {"status": ImportStatus.DISCARDED, "finished_at": utcnow()}
    if not _move(batch.id, (ImportStatus.CHECKING, ImportStatus.PREVIEW), values):
        raise ConflictError(_("This import is being applied or has been applied: it cannot be discarded."))
    set_committed_value(batch, "status", ImportStatus.DISCARDED)
    return True


def progress_of(batch: ImportBatch) -> float | None:
    """How far the batch's running job has read its file (0 to 1); None while it waits for a worker, 1 once ended."""
    if batch.status not in RUNNING:
        return 1.0
    try:
        return huey.get(_progress_key(batch.id), peek=True)
    except Exception:  # the queue's storage is unreachable: the bar waits, the page still answers
        _app().logger.warning("import %s: progress unreadable", batch.id, exc_info=True)
        return None


def _locale() -> str:
    """The language of the request that enqueues: a job's messages (report rows, errors) are stored in it."""
    return str(get_locale() or "en")


def _enqueue(batch: ImportBatch, send: Callable[[], Any]) -> None:
    try:
        send()
    except Exception:  # Redis or the jobs file is unreachable: say so on the batch rather than leave it waiting
        current_app.logger.exception("import %s: could not enqueue its job", batch.id)
        _fail(batch, (batch.status,), _("The job queue is not answering: upload the file again in a moment."))


# The jobs ------------------------------------------------------------------------------------------


@huey.task()
def check_orders(batch_id: int, locale: str) -> None:
    """Preview an order export: the report goes on the batch, which then waits for the seller."""
    _run(batch_id, ImportStatus.CHECKING, locale, _check_orders)


@huey.task()
def apply_orders(batch_id: int, actor_id: int, locale: str) -> None:
    """Import a confirmed order export: every valid row or nothing."""
    _run(batch_id, ImportStatus.APPLYING, locale, _apply_orders, actor_id)


@huey.task()
def check_tracking(batch_id: int, locale: str) -> None:
    """Preview a courier company's tracking-number sheet."""
    _run(batch_id, ImportStatus.CHECKING, locale, _check_tracking)


@huey.task()
def apply_tracking(batch_id: int, actor_id: int, locale: str) -> None:
    """Label a confirmed sheet's orders with their tracking numbers: all of them or none."""
    _run(batch_id, ImportStatus.APPLYING, locale, _apply_tracking, actor_id)


Work = Callable[..., dict[str, Any]]


def _check_orders(batch: ImportBatch, shop: Shop, progress: "_Progress") -> dict[str, Any]:
    paths = _files(batch, "orders")
    report = imports.preview_import(shop, paths["orders"], paths.get("items"), progress=progress)
    return {"status": ImportStatus.PREVIEW, "report": report.as_dict()}


def _apply_orders(batch: ImportBatch, shop: Shop, progress: "_Progress", actor: User) -> dict[str, Any]:
    paths = _files(batch, "orders")
    result = imports.apply_import(
        shop,
        paths["orders"],
        paths.get("items"),
        actor=actor,
        import_batch_id=batch.id,
        file_name=batch.file_name,
        progress=progress,
    )
    counts = {"created": result.created, "updated": result.updated, "skipped": result.skipped}
    return {"status": ImportStatus.APPLIED, "applied_at": utcnow(), "result": counts}


def _check_tracking(batch: ImportBatch, shop: Shop, progress: "_Progress") -> dict[str, Any]:
    path = _files(batch, "tracking")["tracking"]
    company = waybills.chosen_company(batch.report.get("company", ""))
    report = tracking_import.preview_tracking(shop, path, company, progress=progress)
    return {"status": ImportStatus.PREVIEW, "report": report.as_dict()}


def _apply_tracking(batch: ImportBatch, shop: Shop, progress: "_Progress", actor: User) -> dict[str, Any]:
    path = _files(batch, "tracking")["tracking"]
    company = waybills.chosen_company(batch.report.get("company", ""))
    labelled = tracking_import.apply_tracking(
        shop, path, company, actor=actor, file_name=batch.file_name, progress=progress
    )
    return {"status": ImportStatus.APPLIED, "applied_at": utcnow(), "result": {"labelled": labelled}}


def _files(batch: ImportBatch, role: str) -> dict[str, Path]:
    """:raise ConflictError: the uploaded files are gone (swept after a day)."""
    paths = storage.files(batch.storage_key)
    if role not in paths:
        raise ConflictError(_("The uploaded files are no longer here. Upload them again."))
    return paths


def _run(batch_id: int, status: ImportStatus, locale: str, work: Work, actor_id: int | None = None) -> None:
    """Run one job on a batch in ``status``, in its own app context and transaction, in the seller's language."""
    app = _app()
    with app.app_context(), force_locale(locale):
        batch = db.session.get(ImportBatch, batch_id)
        if batch is None or batch.status != status:
            return  # discarded while it waited, or run already
        progress = _Progress(batch_id)
        progress(0.0)  # started: the page stops saying it waits for its turn
        try:
            shop = db.session.get(Shop, batch.shop_id)
            args = (db.session.get(User, actor_id),) if actor_id is not None else ()
            values = work(batch, shop, progress, *args)
            values["finished_at"] = utcnow()
            if not _move(batch_id, (status,), values):
                db.session.rollback()  # discarded meanwhile: nothing of this job stays
                return
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            report = getattr(error, "report", None)  # rows that became invalid since the preview: listed again
            _fail(batch, (status,), error.message, report.as_dict() if report is not None else None)
            return
        except Exception:
            db.session.rollback()
            if _fail(batch, (status,), _("The import failed: nothing was changed. Upload the file again.")):
                app.logger.exception("import %s: the job failed", batch_id)
            return
        finally:
            progress.clear()
        if values["status"] == ImportStatus.APPLIED:
            storage.discard(batch.storage_key)


def _move(batch_id: int, from_statuses: tuple[str, ...], values: dict[str, Any]) -> bool:
    """Change a batch that is still in one of ``from_statuses`` (no commit); False if it is not any more."""
    moved = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.status.in_(from_statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def _fail(batch: ImportBatch, from_statuses: tuple[str, ...], message: str, report: dict | None = None) -> bool:
    """Mark the batch failed with ``message`` and commit, then remove its files; False if it had moved on."""
    values: dict[str, Any] = {"status": ImportStatus.FAILED, "error": message, "finished_at": utcnow()}
    if report is not None:
        values["report"] = report
    failed = _move(batch.id, from_statuses, values)
    db.session.commit()
    if failed:
        storage.discard(batch.storage_key)
    return failed


def _progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


class _Progress:
    """The share of its file a job has read, in the queue's storage (not the batch row: see the module doc)."""

    def __init__(self, batch_id: int):
        self.key = _progress_key(batch_id)
        self.written_at = float("-inf")

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.written_at < PROGRESS_EVERY and fraction < 1:
            return
        self.written_at = now
        try:
            huey.put(self.key, round(fraction, 3))
        except Exception:  # a progress bar is not worth failing an import for
            _app().logger.warning("%s: not written", self.key, exc_info=True)

    def clear(self) -> None:
        with contextlib.suppress(Exception):
            huey.delete(self.key)


# Housekeeping --------------------------------------------------------------------------------------


@huey.periodic_task(crontab(minute="30", hour="19"))  # 03:30 in China: Huey's clock is UTC
def sweep_uploads() -> None:
    """Daily: imports whose job never ended fail, and uploads older than a day go (as ``flask purge-details``)."""
    with _app().app_context():
        now = utcnow()
        db.session.execute(
            update(ImportBatch)
            .where(ImportBatch.status.in_(RUNNING), ImportBatch.created_at < now - retention.UPLOAD_KEEP)
            .values(status=ImportStatus.FAILED, error=_("The import did not finish: upload the file again."))
            .values(finished_at=now)
            .execution_options(synchronize_session=False)
        )
        retention.discard_stale_uploads(now)
        db.session.commit()


@huey.periodic_task(crontab(minute="*/15"))
def detect_anomalies() -> None:
    """Every 15 minutes: propose anomaly regions (as ``flask detect-anomalies``; services/anomalies.py)."""
    from portal.services import anomalies

    with _app().app_context():
        anomalies.detect_and_commit()


# The stage each import job runs in, to say which batch an interrupted job leaves behind.
_STAGE = {
    check_orders.task_class: ImportStatus.CHECKING,
    check_tracking.task_class: ImportStatus.CHECKING,
    apply_orders.task_class: ImportStatus.APPLYING,
    apply_tracking.task_class: ImportStatus.APPLYING,
}


@huey.signal(SIGNAL_INTERRUPTED)
def _interrupted(_signal: str, task: Any) -> None:
    """The consumer was stopped in the middle of a job: its transaction is rolled back, so the batch fails."""
    status = _STAGE.get(type(task))
    if status is None:
        return
    batch_id, locale = task.args[0], task.args[-1]
    app = _app()
    try:
        with app.app_context(), force_locale(locale):
            batch = db.session.get(ImportBatch, batch_id)
            if batch is not None:
                _fail(batch, (status,), _("The portal stopped while this import ran: nothing was changed."))
    except Exception:  # on SQLite the interrupted job may still hold the write lock: the daily sweep will do it
        app.logger.exception("import %s: could not be marked failed after an interruption", batch_id)


# The consumer --------------------------------------------------------------------------------------


@click.command("jobs-consumer")
@click.option("--workers", type=int, help="Jobs run at once (default: 1 on SQLite, whose writes queue anyway; else 2).")
@click.option(
    "--parent",
    type=int,
    help="The server that started this consumer (make run, gunicorn.conf.py): stop once it is gone, "
    "and leave Ctrl-C to it.",
)
@with_appcontext
def consumer_command(workers: int | None, parent: int | None) -> None:
    """Run background jobs (imports, the daily upload sweep) until SIGINT, which lets running jobs finish first."""
    if huey.immediate:
        raise click.ClickException("jobs run inline here (PORTAL_JOBS_IMMEDIATE or testing): nothing to consume")
    level = os.environ.get("PORTAL_LOG_LEVEL", "info").upper()
    logging.basicConfig(
        stream=sys.stdout, level=level, format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
    )
    if workers is None:
        workers = 1 if db.engine.dialect.name == "sqlite" else 2
    # Thread workers: a job waits on the database and the files as much as it computes. max_delay: an idle
    # worker looks at the SQLite queue every second at most, so a seller's job starts within a second.
    consumer = huey.create_consumer(workers=workers, worker_type="thread", max_delay=1.0)
    if parent is not None:
        if os.getppid() != parent:
            logging.getLogger("huey.consumer").info("Consumer exiting: its server (pid %s) is gone", parent)
            return
        _follow(parent)
    consumer.run()


def _follow(parent: int) -> None:
    """Take this process out of the terminal's process group, so that Ctrl-C reaches only the server, which then
    sends one SIGINT (a second one would cut running jobs short); and stop gracefully once the server is no longer
    this process's parent, however it ended (even SIGKILL)."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
