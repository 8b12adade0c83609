"""Review of the API (issue 7): what a hostile or careless client sends, and what a token may still do later."""

from sqlalchemy import func, select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import ApiToken, Order, Shop
from portal.services import accounts, tokens
from tests.api.conftest import bearer

ORDER = {
    "platform_order_no": "REVIEW-1",
    "recipient_name": "张伟",
    "recipient_phone": "13812345678",
    "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
    "paid_at": "2026-11-25 10:00:00",
    "item_title": "西湖龙井 250g",
}


def test_upsert_refuses_amounts_a_32_bit_column_cannot_hold(app, api_world):
    """PostgreSQL answered 500 (integer out of range) for these; now they are per-item 422s and nothing is saved."""
    client, headers = app.test_client(), bearer(api_world["tokens"]["seller1"])
    url = f"/api/v1/shops/{api_world['shops']['seller1']}/orders"
    body = [
        {**ORDER, "amount": 9_999_999_999},
        {**ORDER, "platform_order_no": "REVIEW-2", "item_title": None, "items": [{"title": "a", "price": 99_999_999}]},
        {**ORDER, "platform_order_no": "REVIEW-3", "amount": "21474836.47"},  # the largest that fits: fine
    ]
    refused = client.post(url, json=body, headers=headers)
    assert refused.status_code == 422, refused.json
    assert set(refused.json["errors"]) == {"0", "1"}
    assert "amount" in refused.json["errors"]["0"] and "items" in refused.json["errors"]["1"]
    many = [{"title": "a", "quantity": 100_000}] * 1001  # an item count beyond 2**31 needs more than this
    too_many = client.post(url, json=[{**ORDER, "item_title": None, "items": many}], headers=headers)
    assert too_many.status_code == 422 and any(".items." in key for key in too_many.json["errors"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.platform_order_no.like("REVIEW-%"))) == 0
    assert client.post(url, json=body[2:], headers=headers).json == {
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "unchanged": 0,
    }


def test_bodies_that_are_not_json_are_415_and_broken_json_400(app, api_world):
    client, headers = app.test_client(), bearer(api_world["tokens"]["courier1"])
    text = client.post("/api/v1/shipments", data='{"order_ids": [1]}', content_type="text/plain", headers=headers)
    assert text.status_code == 415 and text.content_type == "application/problem+json"
    assert text.json["type"].endswith("/unsupported-media-type")
    assert client.post("/api/v1/print-jobs", headers=headers).status_code == 415  # no body at all
    broken = client.post("/api/v1/shipments", data='{"order_ids": [1', content_type="application/json", headers=headers)
    assert broken.status_code == 400 and broken.json["type"].endswith("/bad-request")
    huge = client.post(
        "/api/v1/shipments",
        data='{"order_ids": [' + "9" * 5000 + "]}",
        content_type="application/json",
        headers=headers,
    )
    assert huge.status_code == 400  # Python refuses to read such an integer: still the client's fault
    missing = client.post("/api/v1/shipments", json={}, headers=headers)  # JSON, but not what is described: 422
    assert missing.status_code == 422 and "order_ids" in missing.json["errors"]


def test_api_answers_and_the_token_page_are_never_cached(app, api_world, login):
    client, headers = app.test_client(), bearer(api_world["tokens"]["courier1"])
    for response in (
        client.get("/api/v1/queue?limit=2", headers=headers),  # recipients in full
        client.get("/api/v1/shops", headers=headers),
        client.get("/api/v1/queue"),  # a 401 too
    ):
        assert response.headers["Cache-Control"] == "no-store"
    page = login("courier1").post("/account/tokens", data={"name": "cache", "scopes": ["shops:read"]})
    assert page.status_code == 200 and "cpp_" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"  # the secret is on this page once
    assert login("courier1").get("/account/tokens").headers["Cache-Control"] == "no-store"


def test_revoked_and_expired_tokens_do_not_count_toward_the_limit(app, api_world):
    """There is no way to delete a token: counting revoked ones locked a user out of tokens for good."""
    with app.app_context():
        user = accounts.find_user("courier2")
        made = [
            tokens.create_token(user, name=f"t{n}", scopes=["shops:read"])
            for n in range(tokens.MAX_TOKENS_PER_USER - 1)
        ]  # + the fixture's
        db.session.commit()
        try:
            tokens.create_token(user, name="one more", scopes=["shops:read"])
        except tokens.InvalidDataError:
            db.session.rollback()
        else:
            raise AssertionError("more than MAX_TOKENS_PER_USER active tokens")
        tokens.revoke_token(db.session.get(ApiToken, made[0].token.id), actor=user)
        db.session.commit()
        tokens.create_token(user, name="after revoking one", scopes=["shops:read"])
        db.session.commit()


def test_made_up_tokens_count_against_the_address(tmp_path):
    """Each made-up token had a bucket of its own: refused ones now also count per address."""
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'rl.sqlite3'}",
        RATELIMIT_ENABLED=True,
        PORTAL_API_AUTH_FAILURE_LIMIT="3 per minute",
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    statuses = [client.get("/api/v1/shops", headers=bearer(f"cpp_guess{n}")).status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert client.get("/api/v1/shops", headers=bearer("cpp_guess9")).headers["Retry-After"]


def test_challenges_say_why_a_token_was_refused(app, api_world):
    client = app.test_client()
    unknown = client.get("/api/v1/shops", headers=bearer("cpp_unknown"))
    assert unknown.headers["WWW-Authenticate"] == 'Bearer realm="portal", error="invalid_token"'
    assert client.get("/api/v1/shops").headers["WWW-Authenticate"] == 'Bearer realm="portal"'  # no token sent
    scope = client.get("/api/v1/queue", headers=bearer(api_world["tokens"]["seller1"]))
    assert scope.status_code == 403 and 'error="insufficient_scope"' in scope.headers["WWW-Authenticate"]


def test_a_token_follows_its_owner_losing_a_shop_or_a_password(app, api_world):
    """Live checks on every call: ownership moved away → 404; a one-time password to change → 403; no cookie."""
    client, secret = app.test_client(), api_world["tokens"]["seller1"]
    shop_a = api_world["shops"]["seller1"]
    assert client.get(f"/api/v1/shops/{shop_a}/orders?limit=1", headers=bearer(secret)).status_code == 200
    with app.app_context():
        db.session.get(Shop, shop_a).owner_id = api_world["users"]["seller2"]
        db.session.commit()
    moved = client.get(f"/api/v1/shops/{shop_a}/orders?limit=1", headers=bearer(secret))
    assert moved.status_code == 404 and moved.content_type == "application/problem+json"
    posted = client.post(f"/api/v1/shops/{shop_a}/orders", json=[ORDER], headers=bearer(secret))
    assert posted.status_code == 404 and "Set-Cookie" not in posted.headers
    with app.app_context():
        accounts.find_user("courier1").must_change_password = True
        db.session.commit()
    refused = client.get("/api/v1/queue", headers=bearer(api_world["tokens"]["courier1"]))
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"


def test_an_order_sent_again_unchanged_is_not_written_so_since_pulls_skip_it(app, world, login):
    """An ERP re-sending the same orders must not make them reappear in couriers' incremental pulls."""
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    order = {
        "platform_order_no": "RE-1",
        "recipient_name": "张伟",
        "recipient_phone": "13812345678",
        "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
        "paid_at": "2026-11-25 10:00:00",
        "item_title": "西湖龙井 250g",
    }
    first = seller.post(f"/api/v1/shops/{shop}/orders", json=[order])
    assert first.status_code == 200 and first.json["created"] == 1
    with app.app_context():
        stamp = db.session.scalar(select(Order.updated_at).where(Order.platform_order_no == "RE-1"))
    again = seller.post(f"/api/v1/shops/{shop}/orders", json=[order])
    assert again.json == {"created": 0, "updated": 0, "skipped": 0, "unchanged": 1}
    with app.app_context():
        assert db.session.scalar(select(Order.updated_at).where(Order.platform_order_no == "RE-1")) == stamp
    changed = seller.post(f"/api/v1/shops/{shop}/orders", json=[{**order, "recipient_name": "李娜"}])
    assert changed.json == {"created": 0, "updated": 1, "skipped": 0, "unchanged": 0}
    with app.app_context():
        row = db.session.execute(
            select(Order.recipient_name, Order.updated_at).where(Order.platform_order_no == "RE-1")
        ).one()
    assert row.recipient_name == "李娜" and row.updated_at > stamp
