"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py`` (``make serve`` runs it).

Everything comes from the environment, so one file serves every machine:

    PORT / PORTAL_BIND        where to listen (default 0.0.0.0:8000; put a reverse proxy in front)
    WEB_CONCURRENCY           worker processes (default 2 x cores + 1)
    PORTAL_THREADS            threads per worker (default 1: sync workers)
    PORTAL_WORKER_TIMEOUT     seconds before a silent worker is replaced (default 30)
    PORTAL_ACCESS_LOG         "off" to drop the access log (benchmarks); errors are always logged
    PORTAL_LOG_LEVEL          gunicorn's and the portal's level (default info)
    FORWARDED_ALLOW_IPS       proxies trusted for X-Forwarded-* (default 127.0.0.1)
    PORTAL_JOBS_CONSUMER      "off" when the jobs consumer runs elsewhere (default: the master starts one)

Logs, the portal's included, go to stdout, one line each. The master checks the database before it
starts any worker and stops with one line if it is missing or unreachable. Once ready, it starts the jobs
consumer (``flask --app wsgi jobs-consumer``: imports are checked and applied there, not in a request) and
stops it on exit; the consumer also stops by itself if the master is killed.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

wsgi_app = "wsgi:app"
bind = os.environ.get("PORTAL_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("PORTAL_THREADS") or 1)
timeout = int(os.environ.get("PORTAL_WORKER_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5
# The app is built once in the master and forked: less memory per worker, and a broken
# configuration stops the master instead of every worker in turn.
preload_app = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_OFF = ("off", "0", "false", "no")
_level = os.environ.get("PORTAL_LOG_LEVEL", "info").upper()
_access = "WARNING" if os.environ.get("PORTAL_ACCESS_LOG", "on").lower() in _OFF else "INFO"
loglevel = _level.lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        "portal": {"level": _level},  # the app's own log (Flask's app.logger)
        "gunicorn.error": {"level": _level, "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": _access, "handlers": ["stdout"], "propagate": False},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"}},
    "formatters": {"line": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"}},
}


def on_starting(server) -> None:
    """Refuse to start, in one line, when the database is missing, unreachable or not migrated."""
    from portal.extensions import db
    from portal.services.backup import database_problem
    from wsgi import app

    with app.app_context():
        problem = database_problem(db.engine.url.render_as_string(hide_password=False))
    if problem:
        print(f"portal: {problem}", file=sys.stderr, flush=True)
        sys.exit(1)


def post_fork(server, worker) -> None:
    """Each worker opens its own connections: drop any the master's pool may hold."""
    from portal.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


# The jobs consumer, a child of the master (not a worker: gunicorn neither forks nor replaces it).
_jobs: subprocess.Popen | None = None


def when_ready(server) -> None:
    """Start the jobs consumer beside the workers. ``--parent``: it stops by itself once the master is gone."""
    global _jobs
    if os.environ.get("PORTAL_JOBS_CONSUMER", "on").lower() in _OFF:
        server.log.info("Jobs consumer not started (PORTAL_JOBS_CONSUMER=off)")
        return
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs-consumer", "--parent", str(os.getpid())]
    _jobs = subprocess.Popen(command, cwd=Path(__file__).resolve().parent)
    server.log.info("Started the jobs consumer: pid %s", _jobs.pid)


def on_exit(server) -> None:
    """Stop the consumer: a running import gets graceful_timeout seconds to finish, then it is cut short (its
    transaction rolls back and its batch fails)."""
    if _jobs is None or _jobs.poll() is not None:
        return
    _jobs.send_signal(signal.SIGINT)
    try:
        _jobs.wait(graceful_timeout)
    except subprocess.TimeoutExpired:
        server.log.warning("The jobs consumer is still busy after %s s: interrupting it", graceful_timeout)
        _jobs.terminate()
        try:
            _jobs.wait(15)
        except subprocess.TimeoutExpired:
            _jobs.kill()
