"""The migrations in portal/migrations build the schema the models describe (``flask db upgrade``)."""

import logging
from contextlib import contextmanager

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db


@pytest.fixture
def migration_app(empty_database):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def all_loggers() -> list[logging.Logger]:
    known = logging.Logger.manager.loggerDict.values()
    return [logging.getLogger(), *(logger for logger in known if isinstance(logger, logging.Logger))]


@contextmanager
def alembic_logging():
    """env.py runs ``logging.config.fileConfig(alembic.ini)``: it disables every logger the file does not
    name and replaces handlers and levels. Put everything back so later tests still see their logs."""
    saved = {id(lg): (lg.disabled, lg.level, lg.propagate, lg.handlers[:]) for lg in all_loggers()}
    try:
        yield
    finally:
        for logger in all_loggers():
            disabled, level, propagate, handlers = saved.get(id(logger), (False, logging.NOTSET, True, []))
            logger.disabled, logger.propagate = disabled, propagate
            logger.setLevel(level)
            logger.handlers[:] = handlers


def upgrade() -> None:
    with alembic_logging():
        flask_migrate.upgrade()


def schema() -> dict[str, list[str]]:
    inspector = inspect(db.engine)
    return {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in inspector.get_table_names()}


def current_revisions() -> tuple[str, ...]:
    with db.engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    config = current_app.extensions["migrate"].migrate.get_config()
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def test_there_is_one_head():
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        assert len(head_revisions()) == 1, "the migrations branch: merge them (flask db merge heads)"


def test_upgrade_builds_the_schema_on_an_empty_database(migration_app):
    assert schema() == {}
    upgrade()
    built = schema()
    assert set(built) == set(db.metadata.tables) | {"alembic_version"}
    for name, table in db.metadata.tables.items():
        assert built[name] == sorted(table.columns.keys()), name
    assert current_revisions() == head_revisions()


def test_a_second_upgrade_changes_nothing(migration_app):
    upgrade()
    before = schema(), current_revisions()
    upgrade()
    assert (schema(), current_revisions()) == before


def test_the_migrations_match_the_models(migration_app):
    """What ``flask db migrate`` would write after ``upgrade``: nothing."""
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(str, differences)
    )
    with alembic_logging():
        try:
            flask_migrate.check()
        except SystemExit:  # Flask-Migrate exits on alembic's "New upgrade operations detected"
            pytest.fail("flask db check: models and migrations differ")


def test_downgrade_to_base_and_upgrade_again(migration_app):
    upgrade()
    with alembic_logging():
        flask_migrate.downgrade(revision="base")
    assert set(schema()) <= {"alembic_version"}
    upgrade()
    assert set(schema()) == set(db.metadata.tables) | {"alembic_version"}


def insert_row(connection, table_name: str, **values) -> None:
    """A row in a table as the schema stands at this revision: required columns not given get a plain value."""
    from datetime import datetime

    from sqlalchemy import Boolean, DateTime, Integer, MetaData, Table

    table = Table(table_name, MetaData(), autoload_with=connection)
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type
        values[column.name] = (
            False
            if isinstance(kind, Boolean)
            else 0
            if isinstance(kind, Integer)
            else datetime(2026, 1, 1)
            if isinstance(kind, DateTime)
            else ""
        )
    connection.execute(table.insert().values(**values))


def test_pickups_made_before_the_counter_get_their_count(migration_app):
    """4ebd19707ca9 adds pickup.scanned: pickups already there count their scans."""
    from sqlalchemy import text

    with alembic_logging():
        flask_migrate.upgrade(revision="bdd2f9a9800c")
    with db.engine.begin() as connection:
        insert_row(connection, "user", id=1, username="courier")
        insert_row(connection, "shop", id=1, name="shop", owner_id=1)
        for order_id in (1, 2, 3):
            insert_row(connection, "order", id=order_id, shop_id=1, platform_order_no=f"P{order_id}", status="shipped")
        for pickup_id in (1, 2):
            insert_row(connection, "pickup", id=pickup_id, shop_id=1, courier_id=1)
        for order_id in (1, 2, 3):
            insert_row(connection, "pickup_scan", pickup_id=1, order_id=order_id)
    upgrade()
    with db.engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT id, scanned FROM pickup ORDER BY id")).all())
    assert counts == {1: 3, 2: 0}


def test_existing_grants_take_the_company_they_printed_with(migration_app):
    """6b2dd04d86a0 names a courier company on each grant; 05851a788d90 fills existing grants once from the
    company of the numbers their courier last printed in their shop. A grant that never printed there stays
    NULL (the seller chooses); every grant keeps its switches."""
    from datetime import datetime

    from sqlalchemy import MetaData, String, Table, text

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with alembic_logging():
        flask_migrate.upgrade(revision=script.get_revision("6b2dd04d86a0").down_revision)

    def label(connection, **values) -> None:
        """A printed label, with a distinct value for any other required text column (a unique code, say)."""
        table = Table("printed_label", MetaData(), autoload_with=connection)
        for column in table.columns:
            if column.name not in values and not column.nullable and isinstance(column.type, String):
                values[column.name] = f"{column.name}-{values['id']}"
        insert_row(connection, "printed_label", **values)

    with db.engine.begin() as connection:
        company = dict(connection.execute(text("SELECT code, id FROM courier_company")).all())
        for user_id, name in ((1, "seller"), (2, "courier-a"), (3, "courier-b"), (4, "courier-c")):
            insert_row(connection, "user", id=user_id, username=name)
        for shop_id in (1, 2):
            insert_row(connection, "shop", id=shop_id, name=f"shop {shop_id}", owner_id=1)
        grants = {1: (2, 1), 2: (2, 2), 3: (3, 1), 4: (4, 1)}  # grant -> (courier, shop)
        for grant_id, (user_id, shop_id) in grants.items():
            insert_row(connection, "courier_grant", id=grant_id, user_id=user_id, shop_id=shop_id, print_labels=True)
        insert_row(connection, "invitation", id=1, shop_id=1, code_hash="h" * 64, created_by_id=1)
        # job -> (courier, shop, company, when): courier A printed ZTO then YTO in shop 1 and J&T in shop 2;
        # courier C printed only in shop 2, where they hold no grant.
        jobs = {
            1: (2, 1, "ZTO", datetime(2026, 3, 1)),
            2: (2, 1, "YTO", datetime(2026, 4, 1)),
            3: (2, 2, "JT", datetime(2026, 2, 1)),
            4: (4, 2, "ZTO", datetime(2026, 5, 1)),
        }
        for job_id, (user_id, shop_id, code, when) in jobs.items():
            insert_row(
                connection, "order", id=job_id, shop_id=shop_id, platform_order_no=f"P{job_id}", status="labelled"
            )
            insert_row(connection, "print_job", id=job_id, actor_id=user_id, company_id=company[code], created_at=when)
            insert_row(
                connection,
                "waybill",
                id=job_id,
                shop_id=shop_id,
                company_id=company[code],
                tracking_no=f"N{job_id}",
                order_id=job_id,
                status="allocated",
            )
            label(connection, id=job_id, job_id=job_id, order_id=job_id, shop_id=shop_id, waybill_id=job_id)
    upgrade()
    with db.engine.connect() as connection:
        filled = dict(connection.execute(text("SELECT id, company_id FROM courier_grant")).all())
        switches = dict(connection.execute(text("SELECT id, print_labels FROM courier_grant")).all())
        invitation = connection.execute(text("SELECT company_id FROM invitation")).scalar_one()
    assert filled == {1: company["YTO"], 2: company["JT"], 3: None, 4: None}
    assert all(switches[grant_id] for grant_id in grants) and invitation is None
