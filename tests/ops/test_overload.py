"""Load shedding: a request that queued longer than PORTAL_MAX_QUEUE_MS (by the proxy's X-Request-Start)
gets a 503 with Retry-After at once, before any work; a fresh one is served."""

import time

import pytest

from portal.overload import queued_ms


def stamp(seconds_ago: float, unit: str = "s") -> str:
    moment = time.time() - seconds_ago
    value = {"s": f"{moment:.3f}", "ms": str(int(moment * 1000)), "us": str(int(moment * 1_000_000))}[unit]
    return f"t={value}"


@pytest.fixture
def busy_app(app):
    app.config["PORTAL_MAX_QUEUE_MS"] = 2000
    return app


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_a_request_that_queued_too_long_is_refused_at_once(busy_app, world, login, unit):
    courier = login("courier1")
    response = courier.get("/courier/queue", headers={"X-Request-Start": stamp(10, unit)})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5" and response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "very busy" in text and 'href="/courier/queue"' in text
    fresh = courier.get("/courier/queue", headers={"X-Request-Start": stamp(0.05, unit)})
    assert fresh.status_code == 200


def test_a_shed_scan_changes_nothing_and_the_api_gets_problem_json(busy_app, world, login):
    from portal.extensions import db
    from portal.models import AuditEvent

    with busy_app.app_context():
        events = db.session.query(AuditEvent).count()
    response = login("seller1").post(
        f"/shops/{world['shops']['seller1']}/orders/new", data={}, headers={"X-Request-Start": stamp(30)}
    )
    assert response.status_code == 503
    api = busy_app.test_client().get("/api/v1/shops", headers={"X-Request-Start": stamp(30)})
    assert api.status_code == 503 and api.content_type == "application/problem+json"
    assert api.json["status"] == 503 and api.headers["Retry-After"] == "5"
    with busy_app.app_context():
        assert db.session.query(AuditEvent).count() == events


def test_the_busy_page_speaks_chinese(busy_app):
    response = busy_app.test_client().get("/login", headers={"X-Request-Start": stamp(10), "Accept-Language": "zh-CN"})
    assert response.status_code == 503 and '<html lang="zh-CN">' in response.get_data(as_text=True)


@pytest.mark.parametrize("header", ["", "t=", "t=soon", "t=-5", "12abc"])
def test_a_missing_or_odd_stamp_refuses_nothing(busy_app, header):
    response = busy_app.test_client().get("/login", headers={"X-Request-Start": header} if header else {})
    assert response.status_code == 200


def test_shedding_is_off_at_zero(app):
    app.config["PORTAL_MAX_QUEUE_MS"] = 0
    assert app.test_client().get("/login", headers={"X-Request-Start": stamp(60)}).status_code == 200


def test_queued_ms_reads_seconds_milliseconds_and_microseconds():
    now = 1_800_000_000.0
    assert queued_ms("t=1799999999.5", now) == pytest.approx(500)
    assert queued_ms("t=1799999999000", now) == pytest.approx(1000)
    assert queued_ms("1799999998000000", now) == pytest.approx(2000)
    assert queued_ms("t=abc", now) is None
