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
