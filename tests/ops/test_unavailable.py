"""While the database cannot be reached: a clean 503 page or problem+json with Retry-After, never a 500;
and a start that says so in one line (flask check-db, gunicorn)."""

import subprocess
import sys

import pytest

from portal import create_app
from portal.config import TestConfig
from tests.ops.servers import ROOT, free_port, production_env

# Nothing listens on port 1: connections are refused at once, as with a stopped server.
UNREACHABLE = "postgresql+psycopg://portal@127.0.0.1:1/portal"


@pytest.fixture
def down_app():
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE)


def signed_in(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:whatever"
    return client


def test_a_page_is_a_clean_503_with_retry_after(down_app):
    response = signed_in(down_app).get("/courier/queue")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    text = response.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "cannot reach its database" in text
    assert 'href="/courier/queue"' in text  # try again: the same page


def test_the_page_speaks_the_browsers_language(down_app):
    response = signed_in(down_app).get("/courier/queue", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 503
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)


def test_the_api_answers_problem_json(down_app):
    response = down_app.test_client().post(
        "/api/v1/shops/1/orders", json={"orders": []}, headers={"Authorization": "Bearer cpp_" + "0" * 40}
    )
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert response.json["status"] == 503 and response.json["title"] == "Service Unavailable"


def test_a_scan_while_down_is_a_503(down_app):
    response = signed_in(down_app).post("/courier/pickups/1/scan", data={"code": "73100000000001"})
    assert response.status_code == 503 and response.headers["Retry-After"]


def flask_cli(*args: str, database_url: str):
    env = production_env(database_url, free_port())
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_db_says_an_unreachable_database_in_one_line():
    result = flask_cli("check-db", database_url=UNREACHABLE)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "portal@127.0.0.1:1/portal is unreachable" in lines[0]


def test_check_db_says_a_missing_database_in_one_line(tmp_path):
    result = flask_cli("check-db", database_url=f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: database sqlite:///{tmp_path / 'none.sqlite3'} does not exist: "
        "run `flask --app wsgi db upgrade` to create it"
    ]


def test_check_db_accepts_a_migrated_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    upgrade = flask_cli("db", "upgrade", database_url=url)
    assert upgrade.returncode == 0, upgrade.stderr
    result = flask_cli("check-db", database_url=url)
    assert result.returncode == 0, result.stderr
    assert "reachable" in result.stdout


def start_gunicorn(database_url: str) -> subprocess.CompletedProcess:
    """gunicorn with the production settings on this database, expected to stop on its own."""
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=production_env(database_url, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gunicorn_refuses_to_start_without_its_database():
    result = start_gunicorn(UNREACHABLE)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    problem = result.stderr.strip().splitlines()  # stdout has gunicorn's "Starting gunicorn" line
    assert len(problem) == 1, result.stderr
    assert problem[0].startswith(f"portal: database {UNREACHABLE} is unreachable: ")
    assert "Connection refused" in problem[0]


@pytest.mark.parametrize("url", ["not a database url", "postgresql://portal:secret@db.internal:notaport/portal"])
def test_gunicorn_refuses_a_malformed_database_url_in_one_line_without_the_password(url):
    result = start_gunicorn(url)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "secret" not in result.stderr + result.stdout
    # gunicorn loads the app first (preload) and prints why it could not, in one line.
    assert result.stderr.strip().splitlines() == [
        "Error: DATABASE_URL is not a database URL (postgresql://user:password@host/name or sqlite:////path/to/file)"
    ]


def test_a_postgres_url_as_hosting_providers_write_it_uses_psycopg():
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgres://portal:secret@db.internal/portal")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://portal:secret@db.internal/portal"
