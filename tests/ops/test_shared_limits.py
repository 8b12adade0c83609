"""Sign-in throttling shared between gunicorn workers through Redis (REDIS_URL), as the README promises.

Three workers on one SQLite database and a throwaway redis-server: each failed sign-in goes in on a
new connection, so it lands on any worker; the sixth for the same account is refused whichever
worker takes it, because every worker counts in Redis.
"""

import os
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import AuditEvent
from tests.ops.servers import Browser, Gunicorn, free_port, production_env

PASSWORD = "ops-password-1"


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (make system-deps installs it)")
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def seeded_sqlite(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    from portal.services import demo

    with app.app_context():
        db.create_all()
        demo.seed(PASSWORD, with_orders=False)
        db.session.commit()
        db.engine.dispose()
    return url


def test_failed_sign_ins_are_counted_across_workers(tmp_path, redis_url):
    url = seeded_sqlite(tmp_path)
    port = free_port()
    server = Gunicorn(production_env(url, port, REDIS_URL=redis_url, WEB_CONCURRENCY="3"), tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        assert len(server.wait_workers(3)) == 3
        answers = []
        for _attempt in range(8):
            browser = Browser(port)  # a new connection each time: any worker may take it
            browser.get("/login")
            status, headers, _text = browser.post("/login", {"username": "courier1", "password": "not-the-password"})
            answers.append((status, headers.get("Retry-After")))
        # The right password is refused too while the account is throttled.
        browser = Browser(port)
        browser.get("/login")
        throttled, _headers, _text = browser.post("/login", {"username": "courier1", "password": PASSWORD})
    finally:
        server.stop()
    assert [status for status, _retry in answers] == [401] * 5 + [429] * 3, answers
    assert all(retry and int(retry) > 0 for status, retry in answers if status == 429)
    assert throttled == 429
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        failed = db.session.scalar(select(func.count()).where(AuditEvent.action == "login_failed"))
        db.engine.dispose()
    assert failed == 5  # refused attempts never reached the password check
