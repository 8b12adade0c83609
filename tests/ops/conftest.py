"""Operations tests: real gunicorn, a PostgreSQL cluster they may stop and start.

The tests marked ``postgres_server`` start their own cluster (tests/ops/servers.py) and run in the
PostgreSQL pass (``make test-postgres``, where tests/with_postgres.sh has found the server). In the
SQLite pass under CI=true they are deselected, since the PostgreSQL pass runs them; elsewhere they
skip with a message when no PostgreSQL pass is running.
"""

import os

import pytest

from tests.conftest import PG_URL
from tests.ops.servers import ThrowawayPostgres, postgres_bindir


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_server: starts and stops its own PostgreSQL cluster")


def pytest_collection_modifyitems(config, items):
    if PG_URL or os.environ.get("CI") != "true":
        return
    deselected = [item for item in items if item.get_closest_marker("postgres_server")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_server")]


@pytest.fixture
def postgres_server():
    """A running throwaway cluster; stopped and removed afterwards."""
    bindir = postgres_bindir()
    if not PG_URL:
        pytest.skip("runs in the PostgreSQL pass: make test-postgres (or tests/with_postgres.sh pytest tests/ops)")
    if bindir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found")
    server = ThrowawayPostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.destroy()
