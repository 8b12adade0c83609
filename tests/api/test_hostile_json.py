"""Hostile JSON bodies never hurt a worker: too deep is 400, too large is 413, huge fields are 4xx, never 500."""

import io
import json
import random
import time

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order
from portal.views.api.limits import nested_deeper_than
from tests.api.conftest import bearer

JSON = "application/json"
PROBLEM = "application/problem+json"
DEEP_BODIES = {
    "1,000 deep arrays": "[" * 1000 + "]" * 1000,
    "100,000 deep arrays": "[" * 100_000 + "]" * 100_000,
    '{"a": 5,000 deep': '{"a":' * 5000 + "1" + "}" * 5000,
}


def _operations(api_world) -> list[tuple[str, dict]]:
    """(url, headers) of POST operations: upsertOrders (seller), shipOrders and createPrintJob (courier)."""
    seller, courier = bearer(api_world["tokens"]["seller1"]), bearer(api_world["tokens"]["courier1"])
    return [
        (f"/api/v1/shops/{api_world['shops']['seller1']}/orders", seller),
        ("/api/v1/shipments", courier),
        ("/api/v1/print-jobs", courier),
    ]


def _order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def _unharmed(app, client, orders_before: int) -> None:
    """The worker still answers and nothing was written."""
    assert client.get("/healthz").status_code == 200
    assert _order_count(app) == orders_before


def _order(number: str, **fields) -> dict:
    return {
        "platform_order_no": number,
        "recipient_name": "张三",
        "recipient_phone": "13800138000",
        "address": "北京市 北京市 朝阳区 建国路 1 号",
        "paid_at": "2024-06-18 20:15:00",
        "items": [{"title": "茶叶"}],
        **fields,
    }


# -- the depth function --------------------------------------------------------------------------------------


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@pytest.mark.parametrize(
    ("text", "deeper_than_3"),
    [
        ("[[[]]]", False),
        ("[[[[]]]]", True),
        ('{"a": {"b": {"c": 1}}}', False),
        ('{"a": {"b": {"c": {}}}}', True),
        ('["[[[[[[[[", "{{{{{{{{", "]]]]"]', False),  # brackets inside strings do not count
        ('["\\"[[[[[[", "\\\\\\"{{{{{{{"]', False),  # escaped quotes do not end the string
        ('["a\\\\", [[[]]]]', True),  # an escaped backslash does not escape the quote after it
        ('[["\\\\\\\\"], [["\\\\"]]]', False),
        ('[[[ "never ends [[[[[[[[[[', False),  # an unterminated string: the parser stops at its start
        ("[]" * 1000, False),  # many brackets, none deep
        ("[" * 100_000, True),  # never closed
        ("]]]]][[[", False),  # nothing opened deeper than 3 before the parser fails
        ('{"k": 1e999, "s": "x\\u005b"}', False),
    ],
)
def test_depth_counts_brackets_outside_strings(text, deeper_than_3):
    assert nested_deeper_than(text, 3) is deeper_than_3
    assert nested_deeper_than(text.encode(), 3) is deeper_than_3
    for encoding in ("utf-16", "utf-16-be", "utf-32-le"):  # json.loads reads these too
        assert nested_deeper_than(text.encode(encoding), 3) is deeper_than_3


def test_depth_agrees_with_the_parsed_value():
    pieces = ['"', "\\", "[", "]", "{", "}", "\\u0022", "x", "茶", ","]
    rng = random.Random(13)

    def value(level):
        roll = rng.random()
        if level < 12 and roll < 0.3:
            return [value(level + 1) for _ in range(rng.randrange(4))]
        if level < 12 and roll < 0.6:
            return {"".join(rng.choices(pieces, k=4)): value(level + 1) for _ in range(rng.randrange(4))}
        return "".join(rng.choices(pieces, k=rng.randrange(8)))

    for _ in range(300):
        parsed = value(0)
        text = json.dumps(parsed, ensure_ascii=rng.random() < 0.5)
        for limit in (1, 2, 4, 8):
            assert nested_deeper_than(text.encode(), limit) is (_depth(parsed) > limit), text


def test_depth_check_is_quick_on_a_10_mb_string():
    body = json.dumps({"orders": [_order("N1", recipient_name='x\\"[' * 3_000_000)]}).encode()
    started = time.perf_counter()
    assert not nested_deeper_than(body, 32)
    assert time.perf_counter() - started < 1  # tens of milliseconds: no Python loop over the characters


# -- through the API -----------------------------------------------------------------------------------------


def test_bodies_nested_too_deep_are_400_naming_the_limit(app, api_world):
    client, before = app.test_client(), _order_count(app)
    for url, headers in _operations(api_world):
        for name, body in DEEP_BODIES.items():
            response = client.post(url, data=body, content_type=JSON, headers=headers)
            assert response.status_code == 400, (url, name, response.json)
            assert response.content_type == PROBLEM
            assert response.json["type"].endswith("/bad-request")
            assert "nested deeper than 32 levels" in response.json["detail"]
            _unharmed(app, client, before)


def test_the_depth_message_is_translated(app, api_world):
    url, headers = _operations(api_world)[0]
    response = app.test_client().post(
        url, data="[" * 1000, content_type=JSON, headers={**headers, "Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert response.status_code == 400 and "嵌套超过 32 层" in response.json["detail"]


def test_a_body_at_the_depth_limit_is_not_refused_for_depth(app, api_world):
    client, before = app.test_client(), _order_count(app)
    (upsert, seller), (ship, courier), _ = _operations(api_world)
    at_limit = {"orders": json.loads("[" * 31 + "]" * 31)}  # 32 levels with the envelope
    assert _depth(at_limit) == 32
    for url, headers in ((upsert, seller), (ship, courier)):
        response = client.post(url, json=at_limit, headers=headers)
        assert response.status_code == 422, response.json  # the schema's answer, not the depth limit's
        over = client.post(url, json={"orders": at_limit}, headers=headers)
        assert over.status_code == 400 and "32" in over.json["detail"]
        _unharmed(app, client, before)
    # An honest upsert exactly at a lowered limit is saved; one level less refuses it.
    body = {"orders": [_order("HOSTILE-1")]}  # envelope, list, order, items, item: 5 levels
    app.config["PORTAL_API_MAX_JSON_DEPTH"] = 4
    refused = client.post(upsert, json=body, headers=seller)
    assert refused.status_code == 400 and "nested deeper than 4 levels" in refused.json["detail"]
    _unharmed(app, client, before)
    app.config["PORTAL_API_MAX_JSON_DEPTH"] = 5
    saved = client.post(upsert, json=body, headers=seller)
    assert saved.status_code == 200 and saved.json["created"] == 1, saved.json
    assert _order_count(app) == before + 1


def test_a_10_mb_string_in_one_field_is_4xx(app, api_world):
    client, before = app.test_client(), _order_count(app)
    (upsert, seller), (ship, courier), _ = _operations(api_world)
    huge = "x" * 10_000_000
    for url, headers, body in (
        (upsert, seller, {"orders": [_order("HOSTILE-1", recipient_name=huge)]}),
        (ship, courier, {"order_ids": [1], "note": huge}),
    ):
        started = time.perf_counter()
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 413 and response.content_type == PROBLEM, response.json
        assert time.perf_counter() - started < 5
        _unharmed(app, client, before)
    # Under the body limit, the field itself is refused by validation.
    for field in ("platform_order_no", "recipient_name", "address", "buyer_message"):
        started = time.perf_counter()
        body = {"orders": [_order("HOSTILE-1", **{field: "x" * 7_000_000})]}
        response = client.post(upsert, json=body, headers=seller)
        assert 400 <= response.status_code < 500 and response.content_type == PROBLEM, (field, response.json)
        assert time.perf_counter() - started < 5, field
        _unharmed(app, client, before)


def test_a_thousand_keys_is_4xx(app, api_world):
    client, before = app.test_client(), _order_count(app)
    (upsert, seller), (ship, courier), (print_jobs, _) = _operations(api_world)
    keys = {f"k{n}": n for n in range(1000)}
    for url, headers, body in (
        (upsert, seller, {"orders": [_order("HOSTILE-1", **keys)]}),
        (upsert, seller, {"orders": [_order("HOSTILE-1")], **keys}),
        (ship, courier, {"order_ids": [1], **keys}),
        (print_jobs, courier, {"order_ids": [1], "company": "ZTO", **keys}),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422 and response.content_type == PROBLEM, response.json
        _unharmed(app, client, before)


def test_a_body_over_the_size_limit_is_413_naming_the_limit(app, api_world):
    client, before = app.test_client(), _order_count(app)
    app.config["PORTAL_API_MAX_BODY_MB"] = 1
    (upsert, seller), (ship, courier), _ = _operations(api_world)
    body = json.dumps({"orders": [_order("HOSTILE-1", buyer_message="x" * (1024 * 1024))]})
    for url, headers in ((upsert, seller), (ship, courier)):
        response = client.post(url, data=body, content_type=JSON, headers=headers)
        assert response.status_code == 413 and response.content_type == PROBLEM
        assert response.json["type"].endswith("/too-large")
        assert "larger than 1 MB" in response.json["detail"]
        _unharmed(app, client, before)


class _EndlessBody(io.RawIOBase):
    """A streamed body that never ends; counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return 0

    def tell(self):
        return 0

    def readinto(self, buffer):
        buffer[:] = b" " * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def _streamed(client, url, headers, stream):
    """A chunked request (no Content-Length), from a server that ends the stream as gunicorn does."""
    return client.post(
        url,
        input_stream=stream,
        content_type=JSON,
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_streamed_body_is_read_up_to_the_limit_and_no_further(app, api_world):
    client, before = app.test_client(), _order_count(app)
    app.config["PORTAL_API_MAX_BODY_MB"] = 1
    upsert, seller = _operations(api_world)[0]
    endless = _EndlessBody()
    response = _streamed(client, upsert, seller, endless)
    assert response.status_code == 413 and "larger than 1 MB" in response.json["detail"]
    assert endless.read_bytes <= 1024 * 1024 + 1  # one byte past the limit tells it is over
    _unharmed(app, client, before)
    deep = _streamed(client, upsert, seller, io.BytesIO(b"[" * 100_000))
    assert deep.status_code == 400 and "32" in deep.json["detail"]
    _unharmed(app, client, before)
    # Cut at the limit this body would still be valid JSON: it is refused whole, not parsed in part.
    body = json.dumps({"orders": [_order("HOSTILE-1")]}).encode()
    padded = _streamed(client, upsert, seller, io.BytesIO(body + b" " * (1024 * 1024)))
    assert padded.status_code == 413
    _unharmed(app, client, before)
    # A streamed body within the limits (to the byte) is parsed as before.
    saved = _streamed(client, upsert, seller, io.BytesIO(body.ljust(1024 * 1024)))
    assert saved.status_code == 200 and saved.json["created"] == 1, saved.json
    assert _order_count(app) == before + 1


def test_a_deep_body_that_is_not_json_is_left_to_the_media_type_check(app, api_world):
    _, (ship, courier), _ = _operations(api_world)
    response = app.test_client().post(ship, data="[" * 1000, content_type="text/plain", headers=courier)
    assert response.status_code == 415 and response.content_type == PROBLEM
