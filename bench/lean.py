"""The lean twins: the portal's hot paths' essential work written as plainly as Flask + SQLAlchemy Core + Jinja allow.

    .venv/bin/python bench/lean.py --database sqlite:////tmp/bench.sqlite3 [--requests 500] [--rounds 3]

The reference the portal is measured against (issue #18): each twin does the work users rely on and nothing
more, over the same database and rows as the portal.

    (a) GET  /_lean/bare                      a bare route: no session, no database
    (b) GET  /_lean/queue[?shop=S]            the courier queue page: user from the session cookie (Flask-Login,
                                              session version and disabled checked), the person's active grants in
                                              one statement, one indexed page query of 50 rows, the count,
                                              masking, one Jinja table (escaped)
    (c) GET  /_lean/queue.json[?limit=100]    the API pull: the Bearer token and its owner in one statement (scope,
                                              expiry, revocation, disabled owner checked), the grants, 100 rows, the
                                              audit insert of the recipients shown in full (one row per shop), the
                                              commit, JSON
    (d) POST /_lean/pickups/P/scan            the scan's floor: signed in, CSRF checked, one conditional UPDATE (the
                                              pickup's courier, the ship switch read fresh, the parcel packed) and
                                              its commit, a short HTML answer

bench/load.py serves this app next to the portal in the same gunicorn workers (``lean_app``); run alone, this
script times each twin through a test client (signed in as courier1 of bench/seed_world.py).
tests/functional/test_lean_bench.py checks that (b) and (c) answer the rows the portal answers, and that (d) ships
the parcel the portal's scan ships.
"""

import argparse
import hashlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, Response, abort, request  # noqa: E402
from flask_login import LoginManager, UserMixin, current_user  # noqa: E402
from flask_wtf.csrf import CSRFError, validate_csrf  # noqa: E402
from sqlalchemy import and_, bindparam, create_engine, exists, func, insert, or_, select, update  # noqa: E402
from wtforms import ValidationError  # noqa: E402

from portal import SECURITY_HEADERS, _sqlite_pragmas  # noqa: E402
from portal.models import ApiToken, AuditEvent, CourierGrant, Order, Pickup, Shop, User  # noqa: E402
from portal.services.privacy import mask_address_detail, mask_name, mask_phone  # noqa: E402
from portal.services.regions import destination  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from seed_world import bring_up_to_models  # noqa: E402

PAGE_ROWS = 50
_user, _token, _grant, _shop = User.__table__, ApiToken.__table__, CourierGrant.__table__, Shop.__table__
_order, _pickup, _audit = Order.__table__, Pickup.__table__, AuditEvent.__table__

USER = select(_user.c.id, _user.c.session_version, _user.c.is_disabled, _user.c.must_change_password).where(
    _user.c.id == bindparam("id")
)
TOKEN = (
    select(_user.c.id, _user.c.username, _token.c.scopes)
    .join_from(_token, _user, _user.c.id == _token.c.user_id)
    .where(
        _token.c.token_hash == bindparam("hash"),
        _token.c.revoked_at.is_(None),
        or_(_token.c.expires_at.is_(None), _token.c.expires_at > bindparam("now")),
        _user.c.is_disabled.is_(False),
    )
)
GRANTS = (
    select(_grant.c.shop_id, _grant.c.view_recipient, _shop.c.name)
    .join_from(_grant, _shop, _shop.c.id == _grant.c.shop_id)
    .where(
        _grant.c.user_id == bindparam("user_id"),
        _grant.c.revoked_at.is_(None),
        or_(_grant.c.expires_at.is_(None), _grant.c.expires_at > bindparam("now")),
    )
    .order_by(_shop.c.name, _shop.c.id)
)
_in_shops = and_(_order.c.shop_id.in_(bindparam("shop_ids", expanding=True)), _order.c.status == bindparam("status"))
PAGE = (
    select(
        _order.c.id,
        _order.c.shop_id,
        _order.c.platform_order_no,
        _order.c.status,
        _order.c.ship_by,
        _order.c.recipient_name,
        _order.c.recipient_phone,
        _order.c.province,
        _order.c.city,
        _order.c.district,
        _order.c.address_flagged,
        _order.c.tracking_no,
    )
    .where(_in_shops)
    .order_by(_order.c.ship_by, _order.c.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
COUNT = select(func.count()).select_from(_order).where(_in_shops)
API_COLUMNS = (
    "id",
    "shop_id",
    "platform_order_no",
    "status",
    "paid_at",
    "ship_by",
    "updated_at",
    "shipped_at",
    "courier_company",
    "tracking_no",
    "exemption",
    "address_flagged",
    "item_summary",
    "item_count",
    "buyer_message",
)
PLACE_COLUMNS = ("recipient_name", "recipient_phone", "province", "city", "district", "address_detail", "postcode")
API_PAGE = (
    select(*(_order.c[name] for name in API_COLUMNS + PLACE_COLUMNS))
    .where(_in_shops)
    .order_by(_order.c.ship_by, _order.c.id)
    .limit(bindparam("limit"))
)
AUDIT = insert(_audit)
# The scan: ship the parcel if it is packed, in the pickup's shop, the pickup is open and this person's, and their
# active grant there has the ship switch. One statement; its row count says shipped (1) or not (0).
_may_ship = exists().where(
    _grant.c.user_id == bindparam("user_id"),
    _grant.c.shop_id == _order.c.shop_id,
    _grant.c.mark_shipped.is_(True),
    _grant.c.revoked_at.is_(None),
    or_(_grant.c.expires_at.is_(None), _grant.c.expires_at > bindparam("now")),
)
_open_pickup = (
    select(_pickup.c.shop_id)
    .where(
        _pickup.c.id == bindparam("pickup_id"),
        _pickup.c.courier_id == bindparam("user_id"),
        _pickup.c.ended_at.is_(None),
    )
    .scalar_subquery()
)
SHIP = (
    update(_order)
    .where(
        _order.c.tracking_no == bindparam("code"),
        _order.c.status == "packed",
        _order.c.shop_id == _open_pickup,
        _may_ship,
    )
    .values(status="shipped", shipped_at=bindparam("now"), updated_at=bindparam("now"))
)

TABLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pickup queue</title></head><body>
<h1>{{ title }}</h1><table id="queue"><thead><tr><th></th><th>Shop</th><th>Order number</th><th>State</th>\
<th>Ship by</th><th>Recipient</th><th>Destination</th><th>Tracking number</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{% if r[4] %}<input type="checkbox" name="order_ids" value="{{ r[0] }}">{% endif %}</td>\
<td>{{ r[1] }}</td><td><a href="/courier/shops/{{ r[9] }}/orders/{{ r[0] }}">{{ r[2] }}</a></td><td>{{ r[3] }}</td>\
<td>{{ r[5] }}</td><td>{{ r[6] }} {{ r[7] }}</td><td>{{ r[8] }}</td><td>{{ r[10] }}</td></tr>
{% endfor %}</tbody></table><p>{{ total }} orders</p></body></html>
"""


class LeanUser(UserMixin):
    def __init__(self, user_id: int, username: str = "", scopes: tuple = ()):
        self.id = user_id
        self.username = username
        self.scopes = scopes


def create_lean_app(uri: str, secret_key: str, engine_options: dict | None = None, zone: str = "Asia/Shanghai"):
    """The lean twins over the database at ``uri``, reading the portal's session cookies (same secret key)."""
    app = Flask("lean")
    app.config.update(SECRET_KEY=secret_key, SESSION_COOKIE_SECURE=False, WTF_CSRF_TIME_LIMIT=None)  # as the portal
    engine = create_engine(uri, **(engine_options or {}))
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    app.extensions["lean_engine"] = engine
    tz = ZoneInfo(zone)
    table = app.jinja_env.from_string(TABLE)  # compiled once
    login = LoginManager(app)
    login.session_protection = "basic"

    @login.user_loader
    def load_user(session_id: str):
        raw_id, _colon, version = session_id.partition(":")
        with engine.connect() as connection:
            row = connection.execute(USER, {"id": int(raw_id)}).first()
        if row is None or row.is_disabled or str(row.session_version) != version or row.must_change_password:
            return None
        return LeanUser(row.id)

    @login.request_loader
    def load_token(req):
        scheme, _space, secret = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return None
        digest = hashlib.sha256(secret.strip().encode()).hexdigest()
        with engine.connect() as connection:
            row = connection.execute(TOKEN, {"hash": digest, "now": datetime.now(UTC)}).first()
        return None if row is None else LeanUser(row.id, row.username, tuple(row.scopes or ()))

    @app.after_request
    def headers(response):
        response.headers.extend(SECURITY_HEADERS.items())
        return response

    @app.get("/_lean/bare")
    def bare():
        return "ok"

    @app.get("/_lean/queue")
    def queue():
        if not current_user.is_authenticated:
            abort(401)
        now = datetime.now(UTC)
        with engine.connect() as connection:
            grants = connection.execute(GRANTS, {"user_id": current_user.id, "now": now}).all()
            names = {shop_id: name for shop_id, _view, name in grants}
            shop = request.args.get("shop", type=int)
            if not names or (shop is not None and shop not in names):
                abort(404)
            params = {"shop_ids": [shop] if shop else list(names), "status": "pending"}
            page = max(request.args.get("page", 1, type=int), 1)
            rows = connection.execute(PAGE, {**params, "limit": PAGE_ROWS, "offset": (page - 1) * PAGE_ROWS}).all()
            total = connection.execute(COUNT, params).scalar()
        shown = [
            (
                order_id,
                names[shop_id],
                number,
                status,
                not flagged,
                ship_by.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                mask_name(name),
                mask_phone(phone),
                "Address needs fixing" if flagged else destination(province, city, district),
                shop_id,
                tracking or "",
            )
            for (
                order_id,
                shop_id,
                number,
                status,
                ship_by,
                name,
                phone,
                province,
                city,
                district,
                flagged,
                tracking,
            ) in rows
        ]
        return table.render(title=names[shop] if shop else "All my shops", rows=shown, total=total)

    @app.get("/_lean/queue.json")
    def queue_json():
        if not current_user.is_authenticated:
            abort(401)
        if current_user.scopes and "queue:read" not in current_user.scopes:
            abort(403)
        may_read = not current_user.scopes or "recipients:read" in current_user.scopes
        now = datetime.now(UTC)
        limit = min(max(request.args.get("limit", 100, type=int), 1), 100)
        with engine.connect() as connection:
            grants = connection.execute(GRANTS, {"user_id": current_user.id, "now": now}).all()
            full_shops = {shop_id for shop_id, view, _name in grants if view and may_read}
            if not grants:
                abort(404)
            params = {"shop_ids": [shop_id for shop_id, _view, _name in grants], "status": "pending"}
            rows = connection.execute(API_PAGE, {**params, "limit": limit + 1}).all()
            orders, shown = [], {}
            for row in rows[:limit]:
                order = dict(zip(API_COLUMNS, row[:15], strict=True))
                for key in ("paid_at", "ship_by", "updated_at", "shipped_at"):
                    if order[key] is not None:
                        order[key] = order[key].isoformat()
                name, phone, province, city, district, detail, postcode = row[15:]
                full = row.shop_id in full_shops and (row.status != "shipped" or row.shipped_at is None)
                if full:
                    shown.setdefault(row.shop_id, []).append(row.platform_order_no)
                else:
                    name, phone, detail = mask_name(name), mask_phone(phone), mask_address_detail(detail)
                order["recipient"] = {
                    "masked": not full,
                    "name": name,
                    "phone": phone,
                    "province": province,
                    "city": city,
                    "district": district,
                    "detail": detail,
                    "postcode": postcode,
                }
                orders.append(order)
            if shown:
                events = [
                    {
                        "at": now,
                        "actor_id": current_user.id,
                        "actor_name": current_user.username,
                        "shop_id": shop_id,
                        "action": "recipients_pulled",
                        "target": f"{len(numbers)} orders",
                        "details": {"via": "api", "order_nos": numbers},
                        "ip": (request.remote_addr or "")[:45],
                    }
                    for shop_id, numbers in shown.items()
                ]
                connection.execute(AUDIT, events)
                connection.commit()
        last = rows[limit - 1] if len(rows) > limit else None
        body = {
            "orders": orders,
            "next_cursor": f"{last.ship_by.isoformat()}/{last.id}" if last else None,
            "pulled_at": now.isoformat(),
        }
        return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")

    @app.post("/_lean/pickups/<int:pickup_id>/scan")
    def scan(pickup_id: int):
        if not current_user.is_authenticated:
            abort(401)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(error.args[0]) from None
        code = request.form.get("code", "").strip().upper()
        params = {"code": code, "pickup_id": pickup_id, "user_id": current_user.id, "now": datetime.now(UTC)}
        with engine.connect() as connection:
            shipped = connection.execute(SHIP, params).rowcount
            connection.commit()
        if shipped:
            return f'<div class="alert alert-success">{code} shipped.</div>'
        return f'<div class="alert alert-warning">{code} not shipped.</div>'  # 200, as the portal's "already"

    return app


def signed_in_client(app, session_id: str):
    """A test client of the lean app with this person's session and a CSRF token: (client, token)."""
    from flask import session as flask_session
    from flask_wtf.csrf import generate_csrf

    client = app.test_client()
    with app.test_request_context():
        token = generate_csrf()
        raw = flask_session["csrf_token"]
    with client.session_transaction() as session:
        session.update({"_user_id": session_id, "_fresh": True, "csrf_token": raw})
    return client, token


def timed(call, count: int) -> float:
    """Milliseconds per call, after a few to warm up."""
    for _ in range(min(20, count)):
        call()
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a world from bench/seed_world.py")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.services import accounts, tokens

    portal = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=args.database)
    with portal.app_context():
        for name in bring_up_to_models(db.engine):
            print(f"added {name} (the models grew since the world was seeded)")
        courier = accounts.find_user("courier1")
        session_id = courier.get_id()
        secret = tokens.create_token(courier, name=f"lean {time.time():.0f}", scopes=["queue:read"]).secret
        db.session.commit()
    lean = create_lean_app(portal.config["SQLALCHEMY_DATABASE_URI"], portal.config["SECRET_KEY"])
    client = lean.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    calls = {
        "(a) bare": lambda: client.get("/_lean/bare"),
        "(b) queue page": lambda: client.get("/_lean/queue"),
        "(c) 100 orders JSON (masked)": lambda: client.get(
            "/_lean/queue.json", headers={"Authorization": f"Bearer {secret}"}
        ),
    }
    for name, call in calls.items():
        assert call().status_code == 200, name
        best = min(timed(call, args.requests) for _ in range(args.rounds))
        print(f"{name:<30} {best:7.3f} ms  {1000 / best:8.0f} req/s (test client, best of {args.rounds})")


if __name__ == "__main__":
    main()
