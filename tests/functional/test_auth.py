"""Sign-in, throttling, CSRF, one-time passwords, registration, disabling and signing out, through the client."""

import html
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import AuditEvent, Shop, User
from portal.services import accounts, passwords
from tests.conftest import DEMO_PASSWORD

WRONG_CREDENTIALS = "Wrong username or password."
TOO_MANY = "Too many failed sign-ins. Wait a few minutes, then try again."
ONE_TIME_PASSWORD = "one-time-pass-1"
NEW_PASSWORD = "my-own-secret-77"


def sign_in(client, username: str, password: str, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def location(response) -> str:
    """The redirect target's path; fails unless the response is a redirect to this site."""
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    parts = urlsplit(response.headers["Location"])
    assert not parts.scheme and not parts.netloc, response.headers["Location"]
    return parts.path


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def audit_events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        events = list(db.session.scalars(query))
        db.session.expunge_all()
        return events


def users_state(app) -> list[tuple]:
    with app.app_context():
        return [
            (u.id, u.username, u.password_hash, u.last_login_at, u.session_version, u.is_disabled, u.locale)
            for u in db.session.scalars(select(User).order_by(User.id))
        ]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def get_user(app, username: str) -> User:
    with app.app_context():
        user = accounts.find_user(username)
        db.session.expunge(user)
        return user


@pytest.fixture
def make_app(app):
    """make_app(**overrides): another app on the ``app`` fixture's database (which that fixture creates and
    empties), for settings that extensions read once at init_app (Flask-Limiter)."""
    made = []

    def _make(**overrides):
        new_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], **overrides)
        made.append(new_app)
        return new_app

    yield _make
    for new_app in made:
        with new_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def limited_app(make_app):
    return make_app(
        RATELIMIT_ENABLED=True,
        PORTAL_LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes",
        PORTAL_LOGIN_LIMIT_PER_ADDRESS="5 per 15 minutes",
    )


@pytest.fixture
def member(app):
    """One ordinary login, for tests that need nobody else (cheaper than the demo world)."""
    with app.app_context():
        accounts.create_user("member1", DEMO_PASSWORD)
        db.session.commit()
    return "member1"


@pytest.fixture
def newcomer(app):
    """A courier login created with a one-time password (as a seller's "new login" does)."""
    with app.app_context():
        accounts.create_user("newcourier", ONE_TIME_PASSWORD, must_change_password=True)
        db.session.commit()
    return "newcourier"


# Sign-in --------------------------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="username"' in response.text and 'name="password"' in response.text


def test_sign_in_redirects_to_my_work_and_audits_the_address(app, world):
    client = client_at(app, "203.0.113.9")
    response = sign_in(client, "seller1", DEMO_PASSWORD)
    assert location(response) == "/account/"
    assert client.get("/account/").status_code == 200
    # Signed in, the sign-in page sends them on.
    assert location(client.get("/login")) == "/account/"

    [event] = audit_events(app, "login")
    assert event.actor_id == world["users"]["seller1"]
    assert event.ip == "203.0.113.9"
    assert get_user(app, "seller1").last_login_at is not None


def test_username_is_not_case_sensitive(app, member):
    assert location(sign_in(app.test_client(), " Member1 ", DEMO_PASSWORD)) == "/account/"


def test_failed_sign_in_changes_nothing_but_the_audit_log(app, world):
    cases = {"wrong password": ("seller1", "wrong-password-1"), "unknown user": ("nobody", DEMO_PASSWORD)}
    for case, (username, password) in cases.items():
        before_users, before_events = users_state(app), audit_events(app)
        client = client_at(app, "203.0.113.10")
        response = sign_in(client, username, password)
        assert response.status_code == 401, case
        assert WRONG_CREDENTIALS in response.text, case  # the same message: no hint whether the user exists
        assert 'action="/login"' in response.text, case
        new_events = audit_events(app)[len(before_events) :]
        assert [(e.action, e.actor_name, e.ip) for e in new_events] == [("login_failed", username, "203.0.113.10")]
        assert new_events[0].actor_id == world["users"].get(username), case
        assert users_state(app) == before_users, case
        assert location(client.get("/account/")) == "/login", case


def test_incomplete_sign_in_form_is_not_an_attempt(app, member):
    before_users, before_events = users_state(app), audit_events(app)
    response = sign_in(app.test_client(), member, "")
    assert response.status_code == 422
    assert 'action="/login"' in response.text
    assert (users_state(app), audit_events(app)) == (before_users, before_events)


NEXT_TARGETS = {
    "/shops/1": "/shops/1",
    "/courier/?page=2": "/courier/",
    "https://evil.example/": "/account/",
    "//evil.example": "/account/",
    "/\\evil.example": "/account/",
    "javascript:alert(1)": "/account/",
    "evil.example": "/account/",
}


def test_next_is_followed_only_to_a_local_path(app, member):
    for target, expected in NEXT_TARGETS.items():
        client = app.test_client()
        page = client.get("/login", query_string={"next": target})
        # The sign-in form carries ``next`` in a hidden field; post it back as a browser would.
        match = re.search(r'<input id="next" name="next" type="hidden" value="([^"]*)"', page.text)
        assert match, "no hidden next field on the sign-in page"
        assert html.unescape(match.group(1)) == target
        response = sign_in(client, member, DEMO_PASSWORD, next=html.unescape(match.group(1)))
        assert location(response) == expected, target
        assert "evil" not in response.headers["Location"], target


def test_session_cookie_is_http_only_and_same_site_lax(app, member):
    response = sign_in(app.test_client(), member, DEMO_PASSWORD)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


# Throttling -----------------------------------------------------------------------------------


def test_failures_for_one_account_lock_it_even_with_the_right_password(limited_app, world):
    client = client_at(limited_app, "198.51.100.1")
    for _ in range(3):
        assert sign_in(client, "seller1", "wrong-password-1").status_code == 401

    response = sign_in(client, "seller1", DEMO_PASSWORD)
    assert response.status_code == 429
    assert TOO_MANY in response.text
    assert 'action="/login"' in response.text  # the message is on the sign-in form, not a bare error page
    assert int(response.headers["Retry-After"]) > 0
    assert location(client.get("/account/")) == "/login"
    assert audit_events(limited_app, "login") == []

    # The lock is on the account, wherever the next attempt comes from.
    assert sign_in(client_at(limited_app, "198.51.100.2"), "seller1", DEMO_PASSWORD).status_code == 429
    # Another username from the same address still signs in.
    assert location(sign_in(client_at(limited_app, "198.51.100.1"), "seller2", DEMO_PASSWORD)) == "/account/"


def test_failures_from_one_address_lock_it_for_every_account(limited_app, world):
    attacker = client_at(limited_app, "198.51.100.7")
    # Five failures spread over accounts, none reaching the per-account limit; a success in between.
    for username in ("seller1", "seller2", "seller1", "packer1"):
        assert sign_in(attacker, username, "wrong-password-1").status_code == 401
    assert location(sign_in(client_at(limited_app, "198.51.100.7"), "courier2", DEMO_PASSWORD)) == "/account/"
    assert sign_in(attacker, "nobody", "wrong-password-1").status_code == 401

    response = sign_in(client_at(limited_app, "198.51.100.7"), "courier1", DEMO_PASSWORD)
    assert response.status_code == 429
    assert TOO_MANY in response.text
    assert int(response.headers["Retry-After"]) > 0
    # Another address is not affected.
    assert location(sign_in(client_at(limited_app, "198.51.100.8"), "courier1", DEMO_PASSWORD)) == "/account/"


def test_successful_sign_ins_do_not_count(limited_app, world):
    for _ in range(6):  # more than both limits
        assert location(sign_in(client_at(limited_app, "198.51.100.9"), "seller1", DEMO_PASSWORD)) == "/account/"
    client = client_at(limited_app, "198.51.100.9")
    for _ in range(3):
        assert sign_in(client, "seller1", "wrong-password-1").status_code == 401
    assert sign_in(client, "seller1", DEMO_PASSWORD).status_code == 429


# CSRF -----------------------------------------------------------------------------------------


def test_login_form_needs_the_csrf_token(make_app, world):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    page = client.get("/login")
    response = sign_in(client, "seller1", DEMO_PASSWORD)
    assert response.status_code == 400
    assert location(client.get("/account/")) == "/login"
    assert audit_events(csrf_app, "login") == []

    response = sign_in(client, "seller1", DEMO_PASSWORD, csrf_token=csrf_token(page.text))
    assert location(response) == "/account/"


def test_logout_needs_the_csrf_token(make_app, world):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").text)
    assert location(sign_in(client, "seller1", DEMO_PASSWORD, csrf_token=token)) == "/account/"
    home = client.get("/account/")
    assert home.status_code == 200

    assert client.post("/logout").status_code == 400
    assert client.get("/account/").status_code == 200  # still signed in
    assert audit_events(csrf_app, "logout") == []

    assert location(client.post("/logout", data={"csrf_token": csrf_token(home.text)})) == "/login"
    assert location(client.get("/account/")) == "/login"


# One-time passwords ---------------------------------------------------------------------------


def test_one_time_password_must_be_changed_before_anything_else(app, world, newcomer):
    client = app.test_client()
    response = sign_in(client, newcomer, ONE_TIME_PASSWORD, next="/courier/")
    assert location(response) == "/account/password"
    page = client.get("/account/password")
    assert page.status_code == 200
    assert "one-time password" in page.text
    for url in ("/account/", "/courier/", "/shops/new", "/operator/", f"/shops/{world['shops']['seller1']}"):
        assert location(client.get(url)) == "/account/password", url
    assert location(client.post("/account/invitation", data={"code": "ABCD2345"})) == "/account/password"


REFUSED_CHANGES = {
    "too short": (ONE_TIME_PASSWORD, "Short-1", "Short-1", "The password must be at least 10 characters long."),
    "contains the username": (
        ONE_TIME_PASSWORD,
        "my-newcourier-pw",
        "my-newcourier-pw",
        "The password must not contain the username.",
    ),
    "common": (ONE_TIME_PASSWORD, "1234567890", "1234567890", "This password is too easy to guess. Choose another."),
    "one character": (
        ONE_TIME_PASSWORD,
        "aaaaaaaaaaaa",
        "aaaaaaaaaaaa",
        "This password is too easy to guess. Choose another.",
    ),
    "wrong current": ("not-the-password", NEW_PASSWORD, NEW_PASSWORD, "The current password is wrong."),
    "mismatch": (ONE_TIME_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The passwords differ."),
    "unchanged": (
        ONE_TIME_PASSWORD,
        ONE_TIME_PASSWORD,
        ONE_TIME_PASSWORD,
        "The new password must differ from the current one.",
    ),
}


def test_refused_password_change_changes_nothing(app, newcomer):
    client = app.test_client()
    assert location(sign_in(client, newcomer, ONE_TIME_PASSWORD)) == "/account/password"
    before = get_user(app, newcomer)
    for case, (current, new, confirm, message) in REFUSED_CHANGES.items():
        response = client.post(
            "/account/password", data={"current_password": current, "new_password": new, "confirm": confirm}
        )
        assert response.status_code == 422, case
        assert message in response.text, case
        assert 'action="/account/password"' in response.text, case
        after = get_user(app, newcomer)
        assert after.must_change_password, case
        assert (after.password_hash, after.session_version) == (before.password_hash, before.session_version), case
        assert location(client.get("/account/")) == "/account/password", case
    assert audit_events(app, "password_changed") == []


def test_password_change_clears_the_flag_and_ends_other_sessions(app, newcomer):
    mine, other = app.test_client(), app.test_client()
    assert location(sign_in(mine, newcomer, ONE_TIME_PASSWORD)) == "/account/password"
    assert location(sign_in(other, newcomer, ONE_TIME_PASSWORD)) == "/account/password"
    assert other.get("/account/password").status_code == 200

    response = mine.post(
        "/account/password",
        data={"current_password": ONE_TIME_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert location(response) == "/account/"
    user = get_user(app, newcomer)
    assert not user.must_change_password
    with app.app_context():
        assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
        assert not passwords.verify_password(user.password_hash, ONE_TIME_PASSWORD)
    assert [e.actor_id for e in audit_events(app, "password_changed")] == [user.id]

    assert mine.get("/account/").status_code == 200  # this session goes on
    assert location(other.get("/account/")) == "/login"  # the other one has ended
    assert location(other.get("/account/password")) == "/login"

    assert sign_in(app.test_client(), newcomer, ONE_TIME_PASSWORD).status_code == 401
    assert location(sign_in(app.test_client(), newcomer, NEW_PASSWORD)) == "/account/"


# Registration ---------------------------------------------------------------------------------


def registration(username: str) -> dict:
    password = "a-good-password-1"
    return {
        "shop_name": "Test Shop 测试",
        "display_name": "New Seller",
        "username": username,
        "password": password,
        "confirm": password,
    }


def test_register_creates_a_seller_with_a_shop_and_signs_them_in(app):
    client = app.test_client()
    response = client.post("/register", data=registration("newseller"))
    with app.app_context():
        user = accounts.find_user("newseller")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == user.id))
        assert shop.name == "Test Shop 测试"
        assert user.display_name == "New Seller"
        assert not user.must_change_password and not user.is_operator
        assert passwords.verify_password(user.password_hash, "a-good-password-1")
        shop_id = shop.id
    assert location(response) == f"/shops/{shop_id}"
    assert client.get(f"/shops/{shop_id}").status_code == 200
    assert client.get("/account/").status_code == 200
    assert [e.shop_id for e in audit_events(app, "register")] == [shop_id]


def test_register_with_a_taken_username_creates_nothing(app, world):
    for username in ("seller1", " Seller1 "):
        users, shops, events = count(app, User), count(app, Shop), count(app, AuditEvent)
        client = app.test_client()
        response = client.post("/register", data=registration(username))
        assert response.status_code == 422, username
        assert "already taken" in response.text, username
        assert (count(app, User), count(app, Shop), count(app, AuditEvent)) == (users, shops, events), username
        assert location(client.get("/account/")) == "/login", username


# Disabled logins and signing out --------------------------------------------------------------


def test_disabled_user_is_refused_at_the_next_request_and_cannot_sign_in(app, world, login):
    courier = app.test_client()
    assert location(sign_in(courier, "courier1", DEMO_PASSWORD)) == "/account/"
    assert courier.get("/courier/").status_code == 200

    operator = login("operator")
    response = operator.post(f"/operator/users/{world['users']['courier1']}/toggle")
    assert location(response) == "/operator/users"
    assert get_user(app, "courier1").is_disabled

    assert location(courier.get("/courier/")) == "/login"
    response = sign_in(app.test_client(), "courier1", DEMO_PASSWORD)
    assert response.status_code == 401
    assert WRONG_CREDENTIALS in response.text  # no hint that the account exists
    assert audit_events(app, "login_failed")[-1].actor_id == world["users"]["courier1"]

    # Enabled again, the same password works.
    operator.post(f"/operator/users/{world['users']['courier1']}/toggle")
    assert location(sign_in(app.test_client(), "courier1", DEMO_PASSWORD)) == "/account/"


def test_sign_out_ends_the_session(app, world):
    client = app.test_client()
    assert location(sign_in(client, "seller1", DEMO_PASSWORD)) == "/account/"
    response = client.post("/logout")
    assert location(response) == "/login"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'  # the pickup page's offline copy goes
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert location(client.get("/account/")) == "/login"
    assert [e.actor_id for e in audit_events(app, "logout")] == [world["users"]["seller1"]]
    # Signed out, /logout is not reachable again.
    assert location(client.post("/logout")) == "/login"
