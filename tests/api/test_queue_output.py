"""The queue pull's cheaper paths answer exactly what the plain ones did (issue #7's speed work).

Each order of GET /api/v1/queue must equal what the order serializer (serialize.order_out, from the ORM
object) makes of it, masked or in full under the same rules; both shapes of the queue statement must page
alike; the queue's time columns must read as UTCDateTime reads them; a token and its owner cost one query.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.dialects import sqlite

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus
from portal.models.base import UTCDateTime
from portal.services import accounts, api_orders, tokens
from portal.views.api.serialize import order_out
from tests.api.conftest import bearer


def _pull_all(client, url: str, headers: dict) -> list[dict]:
    seen, cursor = [], None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.json
        seen += response.json["orders"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen


def _expected(app, pulled: list[dict], full_shops: set[int]) -> list[dict]:
    """What the ORM-object serializer answers for the same orders, full exactly in ``full_shops``."""
    with app.app_context():
        return [
            order_out(db.session.get(Order, o["id"]), full=o["shop_id"] in full_shops).model_dump(mode="json")
            for o in pulled
        ]


def _vary_some_orders(app) -> None:
    """Orders in each queue state, with what the demo lacks: numbers, an exemption, a flag, microseconds."""
    with app.app_context():
        ids = list(db.session.scalars(select(Order.id).where(Order.status == OrderStatus.PENDING).order_by(Order.id)))
        odd = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
        changes = (
            (ids[0:6:2], {"status": OrderStatus.LABELLED, "courier_company": "ZTO", "tracking_no": "ZT0001"}),
            (ids[1:6:2], {"status": OrderStatus.PACKED, "courier_company": "YTO", "tracking_no": "YT0002"}),
            (ids[-3:], {"exemption": "auto", "address_flagged": True, "buyer_message": "请轻放", "paid_at": odd}),
        )
        for chosen, values in changes:
            db.session.execute(update(Order).where(Order.id.in_(chosen)).values(**values))
        db.session.commit()


def test_queue_orders_are_what_the_order_serializer_makes_of_them(app, api_world):
    client, shops = app.test_client(), api_world["shops"]
    _vary_some_orders(app)
    with app.app_context():
        narrow = tokens.create_token(accounts.find_user("courier1"), name="narrow", scopes=["queue:read"]).secret
        db.session.commit()
    cases = (
        ("courier1", api_world["tokens"]["courier1"], {shops["seller1"], shops["seller2"]}),  # view switch on
        ("courier1 without recipients:read", narrow, set()),
        ("courier2", api_world["tokens"]["courier2"], set()),  # view switch off in seller1's shop
    )
    for status in ("pending", "labelled", "packed"):
        for name, secret, full_shops in cases:
            pulled = _pull_all(client, f"/api/v1/queue?status={status}&limit=4", bearer(secret))
            assert pulled and all(o["status"] == status for o in pulled), (status, name)
            assert pulled == _expected(app, pulled, full_shops), (status, name)
    varied = [o for o in _pull_all(client, "/api/v1/queue?limit=500", bearer(narrow)) if o["buyer_message"] == "请轻放"]
    assert len(varied) == 3
    assert {(o["paid_at"], o["address_flagged"], o["exemption"]) for o in varied} == {
        ("2026-03-04T05:06:07.890123Z", True, "auto")
    }


def test_full_recipients_are_audited_per_shop_with_the_page_order_numbers(app, api_world):
    client, user_id = app.test_client(), api_world["users"]["courier1"]
    with app.app_context():
        last = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    page = client.get("/api/v1/queue?limit=50", headers=bearer(api_world["tokens"]["courier1"])).json["orders"]
    by_shop: dict[int, list[str]] = {}
    for order in page:
        by_shop.setdefault(order["shop_id"], []).append(order["platform_order_no"])
    assert len(by_shop) == 2
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["recipients_pulled"] * 2
        assert {e.shop_id: e.details["order_nos"] for e in events} == by_shop
        for event_ in events:
            assert event_.actor_id == user_id and event_.actor_name == "courier1"
            assert event_.target == f"{len(by_shop[event_.shop_id])} orders" and event_.details["via"] == "api"
            assert event_.ip == "127.0.0.1" and event_.at.tzinfo is not None


def _pages(shop_ids: list[int], **kwargs) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = api_orders.queue_page(shop_ids, cursor=cursor, limit=3, **kwargs)
        pages.append([row.id for row in page.orders])
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_both_shapes_of_the_queue_statement_page_alike(app, api_world, monkeypatch):
    shops = sorted(api_world["shops"].values())
    since = datetime.now(UTC) - timedelta(days=400)
    with app.test_request_context():
        answers = []
        for lazy in (True, False):
            monkeypatch.setattr(api_orders, "_merges_lazily", lambda lazy=lazy: lazy)
            answers.append(
                [_pages(shops), _pages(shops[:1]), _pages(shops, since=since), _pages(shops, status="labelled")]
            )
        assert answers[0] == answers[1]
        assert sum(len(page) for page in answers[0][0]) > 6


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-23 09:32:45.790188",
        "2026-11-23 09:32:45.000000",
        "2026-11-23 09:32:45",
        "2026-11-23 09:32",
        "2026-11-23",
        "2026-11-23T09:32:45+08:00",
        None,
    ],
)
def test_the_queue_time_columns_read_as_utcdatetime_reads_them(stored):
    dialect = sqlite.dialect()
    as_before = UTCDateTime()._cached_result_processor(dialect, None)(stored)
    now = api_orders._StoredUTC().process_result_value(stored, dialect)
    assert now == as_before and (now is None or now.tzinfo == as_before.tzinfo)
    for moment in (datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8)))):
        read = api_orders._StoredUTC().process_result_value(moment, dialect)
        expected = UTCDateTime().process_result_value(moment, dialect)
        assert read == expected and read.tzinfo == expected.tzinfo


def test_a_token_and_its_owner_cost_one_query(app, api_world):
    statements = []

    def count(*_args):
        statements.append(1)

    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            token = tokens.token_for(api_world["tokens"]["courier1"])
            assert token.user.username == "courier1" and not token.user.is_disabled
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
