"""Real servers for the operations tests: a throwaway PostgreSQL cluster that a test may stop and
start, gunicorn with the production settings (gunicorn.conf.py), and a small HTTP client with a
cookie and the CSRF token, as a browser would send them."""

import contextlib
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are (as tests/with_postgres.sh looks for them), or None."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if (candidate / "initdb").exists():
            return candidate
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free port; as root it runs as the postgres user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="portal-ops-pg."))  # not under pytest's 0700 tmp
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def production_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment `make serve` gives gunicorn, on plain http for the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(
        PORTAL_ENV="production",
        DATABASE_URL=database_url,
        FLASK_SQLALCHEMY_DATABASE_URI=database_url,  # wins over an instance/config.py of this machine
        SECRET_KEY="ops-test-" + "x" * 32,
        FLASK_SECRET_KEY="ops-test-" + "x" * 32,
        FLASK_SESSION_COOKIE_SECURE="false",
        FLASK_REMEMBER_COOKIE_SECURE="false",
        PORTAL_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        PORTAL_ACCESS_LOG="off",
    )
    env.update(extra)
    return env


class Gunicorn:
    """gunicorn -c gunicorn.conf.py in its own process group; output to a log file."""

    def __init__(self, env: dict[str, str], log: Path, app: str | None = None):
        self.port = int(env["PORTAL_BIND"].rsplit(":", 1)[1])
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *([app] if app else [])],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()}")
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.log.read_text()}")

    def wait_workers(self, count: int, timeout: float = 30) -> set[int]:
        """The worker PIDs once ``count`` are forked: /healthz answers as soon as the first one is."""
        deadline = time.monotonic() + timeout
        while len(workers := self.workers()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return workers

    def workers(self) -> set[int]:
        """The master's children but the jobs consumer, which gunicorn.conf.py starts beside the workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {int(pid) for pid in children if not _is_jobs_consumer(int(pid))}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_file.close()


def _is_jobs_consumer(pid: int) -> bool:
    try:
        return b"jobs-consumer" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # gone meanwhile: not a worker either
        return True


def request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """(status, headers, text) of one request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = urlencode(body, doseq=True) if body is not None else None
        all_headers = {"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}
        all_headers.update(headers or {})
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


class Browser:
    """Keeps the session cookie and the page's CSRF token, as a browser does."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""
        self.csrf = ""

    def _send(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        all_headers = {"Cookie": self.cookie} if self.cookie else {}
        all_headers.update(headers or {})
        if body is not None and self.csrf:
            body = {"csrf_token": self.csrf, **body}
        status, response_headers, text = request(self.port, method, path, body, all_headers)
        cookie = response_headers.get("Set-Cookie", "")
        if cookie.startswith("session="):
            self.cookie = cookie.split(";", 1)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
        if token:
            self.csrf = token.group(1)
        return status, response_headers, text

    def get(self, path: str, **headers: str):
        return self._send("GET", path, headers=headers)

    def post(self, path: str, body: dict, **headers: str):
        return self._send("POST", path, body, headers)

    def sign_in(self, username: str, password: str) -> None:
        self.get("/login")
        status, _headers, text = self.post("/login", {"username": username, "password": password})
        if status != 302:
            raise RuntimeError(f"sign-in as {username} failed: {status} {text[:300]}")
