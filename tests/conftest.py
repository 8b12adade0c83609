"""Fixtures: an app on a fresh database per test (SQLite file, or PostgreSQL from DATABASE_URL)."""

import os
import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")  # set by `make test` for the PostgreSQL pass


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (temporary file per test)'}"


_pg_schema_ready = False


@pytest.fixture
def app(tmp_path):
    """SQLite: a new file per test. PostgreSQL: the schema is built once, and emptied after each test."""
    global _pg_schema_ready
    uri = PG_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri, PORTAL_UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        if not PG_URL:
            db.create_all()
        elif not _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready = True
    yield app
    with app.app_context():
        db.session.remove()
        if PG_URL:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context(request):
    """Override pytest-flask's: it pushes one request context per test, which Flask 3.1 then reuses
    for every test-client request, leaking ``g`` (Flask-Login's user) and ``db.session`` across
    requests. Tests push their own contexts where they need one."""
    yield


@pytest.fixture
def client(app):
    """A test client used without ``with``: pytest-flask's keeps the last request's contexts pushed,
    so the next client's requests would share its ``g`` and signed-in user."""
    return app.test_client()


@pytest.fixture
def world(app):
    """The demo world (operator, seller1/2 with a shop each, packer1, courier1 in both, courier2 in one)."""
    from portal.services import demo

    with app.app_context():
        demo.seed(DEMO_PASSWORD)
        db.session.commit()
        return ids(app)


DEMO_PASSWORD = "demo-password-1"


def ids(app) -> dict:
    """Ids of the demo objects, by name: users by username, shops by owner, grants by courier:owner."""
    from sqlalchemy import select

    from portal.models import CourierGrant, Shop, ShopStaff, User

    with app.app_context():
        users = {u.username: u.id for u in db.session.scalars(select(User))}
        shops = {s.owner.username: s.id for s in db.session.scalars(select(Shop))}
        grants = {f"{g.user.username}:{g.shop.owner.username}": g.id for g in db.session.scalars(select(CourierGrant))}
        staff = {f"{s.user.username}:{s.shop.owner.username}": s.id for s in db.session.scalars(select(ShopStaff))}
    return {"users": users, "shops": shops, "grants": grants, "staff": staff}


@pytest.fixture
def login(app):
    """login(username) -> a test client signed in as that user (through the session, no form)."""

    def _login(username: str):
        from portal.services.accounts import find_user

        client = app.test_client()
        with app.app_context():
            user = find_user(username)
            session_id = user.get_id()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        return client

    return _login


@pytest.fixture
def empty_database(tmp_path):
    """The URI of a database that does not exist yet (a SQLite file) or is empty (a new one on the PostgreSQL
    test server, dropped afterwards)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    url = make_url(PG_URL)
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"portal_empty_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
