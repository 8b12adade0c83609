"""Personal access tokens: the settings page, the CLI, hashing, scopes, revocation, CSRF, rate limits."""

import hashlib
from datetime import timedelta

from sqlalchemy import select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import ApiToken, AuditEvent, CourierGrant
from portal.models.base import utcnow
from portal.services import accounts, tokens
from portal.services.errors import InvalidDataError
from tests.api.conftest import bearer


def test_settings_page_creates_shows_once_lists_and_revokes(app, api_world, login):
    client = login("courier2")
    page = client.get("/account/tokens")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # courier2's grant can print and ship but not see recipients: that scope is not offered
    assert 'value="labels:print"' in html and 'value="recipients:read"' not in html
    assert 'value="orders:write"' not in html  # owns no shop
    created = client.post("/account/tokens", data={"name": "dispatch", "scopes": ["queue:read", "labels:print"]})
    assert created.status_code == 200
    secret = created.get_data(as_text=True).split('<code class="fs-5 user-select-all">')[1].split("<")[0]
    assert secret.startswith("cpp_")
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.name == "dispatch"))
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in str(token.__dict__) and token.prefix == secret[:12]
        assert token.scopes == ["queue:read", "labels:print"]
        token_id = token.id
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and token.prefix in again  # shown once; the prefix tells tokens apart
    assert app.test_client().get("/api/v1/queue", headers=bearer(secret)).status_code == 200
    # someone else cannot revoke it
    assert login("courier1").post(f"/account/tokens/{token_id}/revoke").status_code == 404
    revoked = client.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code in (302, 303) and revoked.headers["Location"].endswith("/account/tokens")
    refused = app.test_client().get("/api/v1/queue", headers=bearer(secret))
    assert refused.status_code == 401 and refused.json["type"].endswith("/invalid-token")
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == "dispatch")))
        assert {"token_created", "token_revoked"} <= actions


def test_page_refuses_scopes_beyond_the_user_and_bad_input(app, api_world, login):
    client = login("courier2")
    response = client.post("/account/tokens", data={"name": "x", "scopes": ["recipients:read"]})
    assert response.status_code == 422  # not a choice the form offers
    response = client.post("/account/tokens", data={"name": "", "scopes": ["queue:read"]})
    assert response.status_code == 422
    with app.app_context():
        courier2 = accounts.find_user("courier2")
        try:
            tokens.create_token(courier2, name="x", scopes=["orders:write"])
        except InvalidDataError as error:
            assert "scopes" in error.field_errors
        else:
            raise AssertionError("a scope beyond the user was accepted")
        try:
            tokens.create_token(courier2, name="x", scopes=["queue:read"], expires_at=utcnow() - timedelta(days=1))
        except InvalidDataError as error:
            assert "expires_on" in error.field_errors
        else:
            raise AssertionError("an expiry in the past was accepted")
        assert db.session.scalar(select(ApiToken).where(ApiToken.name == "x")) is None


def test_revoking_a_grant_limits_the_token_at_once(app, api_world):
    secret = api_world["tokens"]["courier1"]
    client = app.test_client()
    shop_a = api_world["shops"]["seller1"]
    assert {s["id"] for s in client.get("/api/v1/shops", headers=bearer(secret)).json["shops"]} == set(
        api_world["shops"].values()
    )
    full = client.get(f"/api/v1/queue?shop={shop_a}&limit=5", headers=bearer(secret)).json["orders"]
    assert full and all(not order["recipient"]["masked"] for order in full)
    with app.app_context():
        grant = db.session.get(CourierGrant, api_world["grants"]["courier1:seller1"])
        grant.view_recipient = False  # the seller switches recipient details off
        db.session.commit()
    masked = client.get(f"/api/v1/queue?shop={shop_a}&limit=5", headers=bearer(secret)).json["orders"]
    assert masked and all(order["recipient"]["masked"] for order in masked)
    assert "*" in masked[0]["recipient"]["phone"]
    with app.app_context():
        grant = db.session.get(CourierGrant, api_world["grants"]["courier1:seller1"])
        grant.revoked_at = utcnow()
        db.session.commit()
    assert client.get(f"/api/v1/queue?shop={shop_a}", headers=bearer(secret)).status_code == 404
    shops = client.get("/api/v1/shops", headers=bearer(secret)).json["shops"]
    assert [s["id"] for s in shops] == [api_world["shops"]["seller2"]]


def test_scopes_limit_a_token_and_expired_or_disabled_tokens_fail(app, api_world):
    client = app.test_client()
    with app.app_context():
        courier1 = accounts.find_user("courier1")
        narrow = tokens.create_token(courier1, name="narrow", scopes=["queue:read"]).secret
        soon = tokens.create_token(courier1, name="soon", scopes=["shops:read"], expires_at=utcnow() + timedelta(1))
        db.session.commit()
    masked = client.get("/api/v1/queue?limit=3", headers=bearer(narrow)).json["orders"]
    assert masked and all(order["recipient"]["masked"] for order in masked)  # no recipients:read
    denied = client.post("/api/v1/shipments", json={"order_ids": [1]}, headers=bearer(narrow))
    assert denied.status_code == 403 and denied.json["type"].endswith("/insufficient-scope")
    assert denied.content_type == "application/problem+json"
    assert client.get("/api/v1/shops", headers=bearer(soon.secret)).status_code == 200
    with app.app_context():
        db.session.get(ApiToken, soon.token.id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/shops", headers=bearer(soon.secret)).status_code == 401
    with app.app_context():
        accounts.find_user("courier1").is_disabled = True
        db.session.commit()
    assert client.get("/api/v1/queue", headers=bearer(narrow)).status_code == 401
    for header in ("Basic abc", "Bearer", "Bearer cpp_nope", "Bearer " + "x" * 500):
        response = client.get("/api/v1/shops", headers={"Authorization": header})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_never_opens_pages_and_sets_no_session(app, api_world):
    client = app.test_client()
    response = client.get("/courier/queue", headers=bearer(api_world["tokens"]["courier1"]))
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    api = client.get("/api/v1/shops", headers=bearer(api_world["tokens"]["courier1"]))
    assert api.status_code == 200 and "Set-Cookie" not in api.headers


def test_csrf_applies_to_cookie_sessions_not_to_tokens(tmp_path):
    from tests.conftest import DEMO_PASSWORD

    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'csrf.sqlite3'}", WTF_CSRF_ENABLED=True
    )
    from portal.services import demo

    with app.app_context():
        db.create_all()
        demo.seed(DEMO_PASSWORD, with_orders=False)
        secret = tokens.create_token(accounts.find_user("courier1"), name="t", scopes=["orders:ship"]).secret
        session_id = accounts.find_user("courier1").get_id()
        db.session.commit()
    token_call = app.test_client().post("/api/v1/shipments", json={"order_ids": [1]}, headers=bearer(secret))
    assert token_call.status_code == 200
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = session_id
    forged = browser.post("/api/v1/shipments", json={"order_ids": [1]})
    assert forged.status_code == 400 and forged.json["type"].endswith("/csrf-failed")


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'rl.sqlite3'}",
        RATELIMIT_ENABLED=True,
        PORTAL_API_RATE_LIMIT="3 per minute",
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    statuses = [client.get("/api/v1/shops", headers=bearer("cpp_same")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = client.get("/api/v1/shops", headers=bearer("cpp_same"))
    assert limited.content_type == "application/problem+json" and limited.json["type"].endswith("/rate-limited")
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/shops", headers=bearer("cpp_other")).status_code == 401  # its own bucket


def test_cli_prints_the_token_alone_on_the_last_line(app, api_world):
    result = app.test_cli_runner().invoke(
        args=["create-token", "seller1", "--name", "erp", "--scope", "orders:read", "--days", "30"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("cpp_") and " " not in secret
    shop = api_world["shops"]["seller1"]
    assert app.test_client().get(f"/api/v1/shops/{shop}/orders", headers=bearer(secret)).status_code == 200
    refused = app.test_cli_runner().invoke(args=["create-token", "seller1", "--name", "x", "--scope", "labels:print"])
    assert refused.exit_code != 0 and "scopes" in refused.output
    assert app.test_cli_runner().invoke(args=["create-token", "nobody", "--name", "x"]).exit_code != 0
