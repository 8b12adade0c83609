"""Flask commands: ``flask --app wsgi seed-demo``, ``flask --app wsgi translate ...``."""

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.extensions import db

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105  (printed for the demo logins)


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(translate)
    app.cli.add_command(check_db)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(purge_details)
    app.cli.add_command(create_token)
    app.cli.add_command(detect_anomalies)


def _database_uri() -> str:
    """The URL the app really uses (a relative SQLite path resolved into instance/), password included."""
    return db.engine.url.render_as_string(hide_password=False)


@click.command("check-db")
@with_appcontext
@click.option("--connect-only", is_flag=True, help="Only check that the database answers (before `db upgrade`).")
def check_db(connect_only: bool) -> None:
    """Say in one line whether the database is there, reachable and migrated (exit 1 if not)."""
    from portal.services.backup import database_problem, shown

    problem = database_problem(_database_uri(), connect_only=connect_only)
    if problem:
        raise click.ClickException(problem)
    click.echo(f"database {shown(_database_uri())}: reachable")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Write a consistent backup of the database to PATH (SQLite copy, or pg_dump custom format)."""
    from portal.services import backup as backups

    try:
        backups.backup(_database_uri(), path)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {path} ({path.stat().st_size:,} bytes)")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already has tables.")
def restore(path: Path, replace: bool) -> None:
    """Load a backup made by `flask backup` into the (new, empty) database."""
    from portal.services import backup as backups

    db.session.remove()
    db.engine.dispose()
    try:
        backups.restore(_database_uri(), path, replace=replace)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {path} into {backups.shown(_database_uri())}")


@click.command("purge-details")
@with_appcontext
def purge_details() -> None:
    """Purge buyer details from orders past their shop's retention (for cron; safe to run again)."""
    from portal.services import retention

    result = retention.purge_details()
    db.session.commit()
    retention.discard_evidence(result)
    click.echo(f"buyer details purged from {result.purged} orders in {len(result.by_shop)} shops")
    if result.evidence_keys:
        click.echo(f"evidence files removed with them: {len(result.evidence_keys)}")
    if result.uploads:
        click.echo(f"unconfirmed uploads removed: {result.uploads}")


@click.command("detect-anomalies")
@with_appcontext
def detect_anomalies() -> None:
    """Propose anomaly regions from outlet declarations and pickup delays (for cron, every 15 minutes)."""
    from portal.services import anomalies

    result = anomalies.detect_and_commit()
    if result is None:
        raise click.ClickException("another detection run opened the same proposal first: nothing changed")
    click.echo(
        f"{result.districts} origin districts checked; flagged: {', '.join(result.flagged) or 'none'}; "
        f"proposals opened {len(result.opened)}, refreshed {len(result.updated)}, lapsed {result.lapsed}"
        + (f"; dismissed, not proposed again: {', '.join(result.suppressed)}" if result.suppressed else "")
    )


@click.command("seed-demo")
@with_appcontext
@click.option("--password", default=DEFAULT_DEMO_PASSWORD, show_default=True, help="Password of every demo login.")
@click.option("--force", is_flag=True, help="Seed even though the database holds real data.")
def seed_demo(password: str, force: bool) -> None:
    """Fill the database with the demo world and print the logins."""
    from portal.services import demo
    from portal.services.errors import DomainError

    try:
        result = demo.seed(password, force=force)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Demo world ready ({result.created} objects created). Sign in with password {password!r} as:")
    for username, role in demo.DEMO_USERS.items():
        click.echo(f"  {username:<10} {role}")


@click.group()
def translate() -> None:
    """Extract, update and compile the translation catalogues (pybabel)."""


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True)


@translate.command()
def update() -> None:
    """Extract messages and merge them into every catalogue."""
    root = TRANSLATIONS.parent.parent
    _pybabel(
        "extract",
        "-F",
        str(TRANSLATIONS / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        str(TRANSLATIONS / "messages.pot"),
        str(root / "portal"),
        str(root / "templates"),
    )
    _pybabel("update", "-i", str(TRANSLATIONS / "messages.pot"), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")


@translate.command()
def compile() -> None:  # noqa: A001  (the pybabel verb)
    """Compile the catalogues into .mo files."""
    _pybabel("compile", "-d", str(TRANSLATIONS))


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (shown in the user's token list).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="A scope (repeat for more); default: every scope the user may hold now.",
)
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Expire after this many days.")
def create_token(username: str, name: str, scopes: tuple[str, ...], days: int | None) -> None:
    """Create a personal access token for USERNAME; the token alone is printed on the last line."""
    from datetime import timedelta

    from portal.models.base import utcnow
    from portal.services import accounts, tokens
    from portal.services.errors import DomainError

    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    chosen = list(scopes) or tokens.available_scopes(user)
    expires_at = utcnow() + timedelta(days=days) if days else None
    try:
        new = tokens.create_token(user, name=name, scopes=chosen, expires_at=expires_at)
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{field}: {message}" for field, message in error.field_errors.items())
        raise click.ClickException(details or error.message) from error
    db.session.commit()
    click.echo(f"Token {name!r} for {user.username}, scopes: {' '.join(chosen)}", err=True)
    click.echo(new.secret)
