"""``flask seed-demo``: the demo world, repeatable, refusing a database with real data."""

import pytest
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CourierGrant, Shop, ShopStaff, User
from portal.services import accounts, passwords
from portal.services.demo import DEMO_USERS

DEMO_USERNAMES = ["operator", "seller1", "seller2", "packer1", "courier1", "courier2"]
MODELS = (User, Shop, ShopStaff, CourierGrant)


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}


def usernames(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.username)))


def password_works(app, username: str, password: str) -> bool:
    with app.app_context():
        return passwords.verify_password(accounts.find_user(username).password_hash, password)


@pytest.fixture
def seed(app, monkeypatch):
    """seed(*args): run ``flask seed-demo`` as the ``flask`` command does (which pushes an app context)."""
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # FlaskGroup sets it; put it back afterwards
    runner = app.test_cli_runner()
    flask_command = FlaskGroup(add_default_commands=False, load_dotenv=False)

    def _seed(*args: str):
        script_info = ScriptInfo(create_app=lambda: app, load_dotenv_defaults=False)
        return runner.invoke(flask_command, ["seed-demo", *args], obj=script_info)

    return _seed


def test_the_demo_users_are_the_documented_ones():
    assert list(DEMO_USERS) == DEMO_USERNAMES


def test_seed_demo_runs_from_the_app_cli(app):
    """Through ``app.cli`` as Flask's test runner calls it, without an app context pushed by ``flask``."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, repr(result.exception)
    assert usernames(app) == set(DEMO_USERNAMES)


def test_seed_demo_creates_the_demo_world_and_prints_the_logins(app, seed):
    result = seed()
    assert result.exit_code == 0, result.output
    assert usernames(app) == set(DEMO_USERNAMES)
    assert counts(app) == {"User": 6, "Shop": 2, "ShopStaff": 1, "CourierGrant": 3}
    for username in DEMO_USERNAMES:
        assert username in result.output
    assert "portal-demo-2026" in result.output  # the default password, printed for the demo logins
    assert password_works(app, "seller1", "portal-demo-2026")
    with app.app_context():
        operator = accounts.find_user("operator")
        assert operator.is_operator and not operator.must_change_password
        assert not accounts.find_user("seller1").is_operator


def test_seed_demo_twice_creates_nothing_new(app, seed):
    assert seed().exit_code == 0
    before = counts(app)
    result = seed()
    assert result.exit_code == 0, result.output
    assert counts(app) == before
    assert "0 objects created" in result.output


def test_seed_demo_sets_the_given_password(app, seed):
    result = seed("--password", "first-demo-pass-1")
    assert result.exit_code == 0, result.output
    assert "first-demo-pass-1" in result.output
    for username in DEMO_USERNAMES:
        assert password_works(app, username, "first-demo-pass-1"), username
        assert not password_works(app, username, "portal-demo-2026"), username

    # Run again with another password: the existing demo logins get it.
    before = counts(app)
    assert seed("--password", "second-demo-pass-2").exit_code == 0
    assert counts(app) == before
    for username in DEMO_USERNAMES:
        assert password_works(app, username, "second-demo-pass-2"), username


def test_seed_demo_refuses_a_weak_password(app, seed):
    result = seed("--password", "short")
    assert result.exit_code != 0
    assert counts(app)["User"] == 0


def test_seed_demo_refuses_a_database_with_real_data(app, seed):
    with app.app_context():
        accounts.create_user("realseller", "a-real-password-1")
        db.session.commit()
    result = seed()
    assert result.exit_code != 0
    assert "--force" in result.output
    assert usernames(app) == {"realseller"}
    assert counts(app) == {"User": 1, "Shop": 0, "ShopStaff": 0, "CourierGrant": 0}

    result = seed("--force")
    assert result.exit_code == 0, result.output
    assert usernames(app) == {"realseller", *DEMO_USERNAMES}
    assert password_works(app, "realseller", "a-real-password-1")  # the real login is left alone
