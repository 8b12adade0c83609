"""Load shedding: a request that waited too long for a worker is answered 503 with Retry-After at once.

The reverse proxy stamps each request with the moment it arrived, e.g. nginx with
``proxy_set_header X-Request-Start "t=${msec}";``. When every worker is busy, requests queue in
front of gunicorn; one that has waited longer than ``PORTAL_MAX_QUEUE_MS`` is refused before any
work (no database, no session), so the queue drains instead of every request timing out.
Seconds, milliseconds and microseconds since the epoch are all understood; without the header,
or with one that is not a time, nothing is refused.
"""

import time

from flask import Flask, current_app, request


class OverloadedError(Exception):
    """The request waited longer than the configured limit before a worker took it."""

    def __init__(self, waited_ms: float):
        super().__init__(f"queued {waited_ms:.0f} ms")
        self.waited_ms = waited_ms


def queued_ms(header: str, now: float) -> float | None:
    """How long ago (ms) the proxy stamped the request, or None if the header is not a time."""
    value = header.strip().removeprefix("t=")
    try:
        stamp = float(value)
    except ValueError:
        return None
    if stamp > 1e14:  # microseconds
        stamp /= 1e6
    elif stamp > 1e11:  # milliseconds
        stamp /= 1e3
    return (now - stamp) * 1000 if stamp > 0 else None


def shed() -> None:
    """before_request, first of all: refuse a request that queued too long."""
    limit = current_app.config.get("PORTAL_MAX_QUEUE_MS") or 0
    header = request.headers.get("X-Request-Start")
    if limit <= 0 or not header:
        return
    waited = queued_ms(header, time.time())
    if waited is not None and waited > limit:
        raise OverloadedError(waited)


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, shed)
