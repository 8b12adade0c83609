"""Start-up checks (no production start without a secret key) and the health check."""

import socket

import flask
import pytest

from portal import create_app
from portal.config import DEV_SECRET_KEY, TestConfig
from portal.extensions import db

REAL_KEY = "0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f"


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def production(monkeypatch, tmp_path):
    """PORTAL_ENV=production, no FLASK_SECRET_KEY, and an empty instance folder instead of this machine's
    instance/config.py (``make run`` writes a real key there). Returns that folder."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    instance.mkdir()
    from_pyfile = flask.Config.from_pyfile

    def from_test_instance(self, filename, silent=False):
        return from_pyfile(self, str(instance / filename), silent=silent)

    monkeypatch.setattr(flask.Config, "from_pyfile", from_test_instance)
    return instance


@pytest.fixture
def db_uri(tmp_path):
    return f"sqlite:///{tmp_path / 'production.sqlite3'}"


def test_production_refuses_to_start_without_a_secret_key(production, db_uri):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(SQLALCHEMY_DATABASE_URI=db_uri)


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, ""], ids=["dev key", "empty"])
def test_production_refuses_the_dev_or_an_empty_key_from_the_environment(production, db_uri, monkeypatch, key):
    monkeypatch.setenv("FLASK_SECRET_KEY", key)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(SQLALCHEMY_DATABASE_URI=db_uri)


def test_production_refuses_the_dev_key_from_instance_config(production, db_uri):
    (production / "config.py").write_text(f"SECRET_KEY = {DEV_SECRET_KEY!r}\n")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(SQLALCHEMY_DATABASE_URI=db_uri)


def test_production_starts_with_a_key_from_the_environment(production, db_uri, monkeypatch):
    monkeypatch.setenv("FLASK_SECRET_KEY", REAL_KEY)
    app = create_app(SQLALCHEMY_DATABASE_URI=db_uri)
    try:
        assert app.config["PORTAL_ENV"] == "production"
        assert app.config["SECRET_KEY"] == REAL_KEY
        assert not app.testing
        # Production's safe defaults stay on.
        assert app.config["WTF_CSRF_ENABLED"] is not False
        assert app.config["RATELIMIT_ENABLED"] is True
        # The session cookie (CSRF token on the sign-in page) only travels over https, not to scripts.
        response = app.test_client().get("/login")
        assert response.status_code == 200
        [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
        attributes = {part.strip().lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite=lax"} <= attributes
    finally:
        dispose(app)


def test_production_starts_with_a_key_from_instance_config(production, db_uri):
    (production / "config.py").write_text(f"SECRET_KEY = {REAL_KEY!r}\n")
    app = create_app(SQLALCHEMY_DATABASE_URI=db_uri)
    try:
        assert app.config["SECRET_KEY"] == REAL_KEY
    finally:
        dispose(app)


def test_a_hosting_providers_postgresql_url_uses_psycopg_3():
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgresql://portal@127.0.0.1:5432/portal")
    try:
        assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://portal@127.0.0.1:5432/portal"
    finally:
        dispose(app)


# Health check ---------------------------------------------------------------------------------


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_healthz_unavailable_without_the_database(tmp_path, database):
    if database == "sqlite":
        uri = f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.sqlite3'}"
    else:
        uri = f"postgresql+psycopg://portal@127.0.0.1:{closed_port()}/portal?connect_timeout=2"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] != "ok"
    finally:
        dispose(app)
