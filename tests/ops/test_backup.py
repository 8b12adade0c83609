"""``flask backup PATH`` / ``flask restore PATH``: a consistent copy, restored into a new database,
holds every order (SQLite's online backup API; pg_dump/pg_restore in the PostgreSQL pass)."""

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import AuditEvent, Order, OrderEvent, OrderItem, Shop, User
from tests.conftest import PG_URL

TABLES = (User, Shop, Order, OrderItem, OrderEvent, AuditEvent)


def contents(app) -> tuple[dict, set]:
    with app.app_context():
        counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}
        orders = set(
            db.session.execute(select(Order.shop_id, Order.platform_order_no, Order.tracking_no, Order.status))
        )
        db.session.remove()
    return counts, orders


def test_backup_then_restore_into_a_new_database_finds_every_order(app, world, tmp_path, empty_database):
    counts, orders = contents(app)
    assert counts["Order"] > 0
    backup_file = tmp_path / "backups" / "portal.backup"

    made = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
    assert made.exit_code == 0, made.output
    assert backup_file.stat().st_size > 0 and "backup written to" in made.output

    restored_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    restored = restored_app.test_cli_runner().invoke(args=["restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    assert contents(restored_app) == (counts, orders)
    with restored_app.app_context():
        db.engine.dispose()


def test_backup_will_not_overwrite_a_file(app, world, tmp_path):
    existing = tmp_path / "there.backup"
    existing.write_text("keep me")
    result = app.test_cli_runner().invoke(args=["backup", str(existing)])
    assert result.exit_code == 1
    assert "exists: choose a new file" in result.output
    assert existing.read_text() == "keep me"


def test_restore_refuses_a_database_with_tables(app, world, tmp_path):
    backup_file = tmp_path / "portal.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_file)]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["restore", str(backup_file)])
    assert result.exit_code == 1
    assert "is not empty: restore into a new database, or pass --replace" in result.output
    assert contents(app)[0]["Order"] > 0


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, empty_database):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    result = app.test_cli_runner().invoke(args=["restore", str(junk)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
    with app.app_context():
        db.engine.dispose()


def test_the_database_password_is_never_on_a_command_line_nor_in_a_message(monkeypatch, tmp_path):
    """pg_dump/pg_restore get the password in PGPASSWORD: a command line is readable by every local user."""
    import subprocess

    from portal.services import backup as backups

    seen = []

    def run(command, **kwargs):
        seen.append((command, kwargs.get("env") or {}))
        return subprocess.CompletedProcess(command, 1, "", 'pg_dump: error: FATAL: password "s3cr@t" refused\n')

    monkeypatch.setattr(backups.subprocess, "run", run)
    monkeypatch.setattr(backups, "_pg_tool", lambda name: name)
    uri = "postgresql+psycopg://portal:s3cr%40t@db.example:5432/portal"
    with pytest.raises(backups.BackupError) as failed:
        backups.backup(uri, tmp_path / "portal.dump")
    assert "s3cr@t" not in str(failed.value) and "***" in str(failed.value)
    command, env = seen[-1]
    assert "postgresql://portal@db.example:5432/portal" in command
    assert not any("s3cr" in part for part in command) and env["PGPASSWORD"] == "s3cr@t"


def test_replace_refuses_a_database_with_tables_the_backup_lacks(app, world, tmp_path):
    """PostgreSQL: pg_restore --clean would leave the extra table beside the restored ones, so nothing is
    touched. SQLite: the backup API copies the whole file, so the extra table is simply gone."""
    from sqlalchemy import inspect, text

    backup_file = tmp_path / "portal.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_file)]).exit_code == 0
    with app.app_context():
        db.session.execute(text("CREATE TABLE leftover (id integer)"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["restore", "--replace", str(backup_file)])
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        if PG_URL:
            db.session.execute(text("DROP TABLE leftover"))
            db.session.commit()
        db.session.remove()
    if PG_URL:
        assert result.exit_code == 1
        assert "has tables the backup does not (leftover): restore into a new database" in result.output
        assert "leftover" in tables
    else:
        assert result.exit_code == 0, result.output
        assert "leftover" not in tables
    assert contents(app)[0]["Order"] > 0
