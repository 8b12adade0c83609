"""Courier Partner Portal: the application factory."""

import functools
import os
from pathlib import Path

from babel import Locale
from flask import Flask, has_request_context, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from portal import cli, errors, jobs, overload, permissions
from portal.config import CONFIGS, DEV_SECRET_KEY
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
from portal.models import AuditEvent
from portal.models.base import utcnow

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: str | type | None = None, **overrides) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI, template globals."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    register_config(app, config, overrides)
    register_extensions(app)
    register_blueprints(app)
    errors.register(app)
    overload.init_app(app)
    cli.register(app)
    register_template_globals(app)
    app.after_request(security_headers)
    permissions.check_policy_covers(app)
    return app


# Every asset is the portal's own (no CDN); no inline scripts anywhere, so scripts are 'self' only; 'wasm-unsafe-eval'
# lets the vendored barcode decoder (zxing-wasm) compile its WebAssembly.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'wasm-unsafe-eval'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def security_headers(response):
    """Each header unless the view set its own (the API docs page has its own CSP); one pass over the headers."""
    present = {name.lower() for name, _value in response.headers}
    response.headers.extend((name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present)
    if request.endpoint == "static" and (request.view_args or {}).get("filename") == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/courier/pickups/"  # the pickup pages, served offline
    return response


def register_config(app: Flask, config, overrides: dict) -> None:
    if config is None:
        config = CONFIGS[os.environ.get("PORTAL_ENV", "production")]
    app.config.from_object(config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    app.config.update(overrides)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    for prefix in ("postgresql://", "postgres://"):  # DATABASE_URL as hosting providers write it: use psycopg 3
        if uri.startswith(prefix):
            uri = "postgresql+psycopg://" + uri.removeprefix(prefix)
    try:
        make_url(uri).port  # noqa: B018  (parses the port too)
    except (ArgumentError, ValueError):  # the URL itself is not repeated: it may hold a password
        raise RuntimeError(
            "DATABASE_URL is not a database URL (postgresql://user:password@host/name or sqlite:////path/to/file)"
        ) from None
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):  # a file does not drop connections: no ping before each request's first statement
        options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            key: value for key, value in options.items() if key != "pool_pre_ping"
        }
    if app.config["PORTAL_ENV"] == "production" and app.config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise RuntimeError(
            "SECRET_KEY is not set: set FLASK_SECRET_KEY in the environment or SECRET_KEY in instance/config.py"
        )
    Path(app.instance_path).mkdir(exist_ok=True)


def select_locale() -> Locale:
    """The user's choice (account, then session), else the browser's Accept-Language."""
    languages = list(app_languages())
    if not has_request_context():  # a CLI command or a job: the default language
        code = languages[0]
    elif current_user and current_user.is_authenticated and current_user.locale in languages:
        code = current_user.locale
    elif session.get("locale") in languages:
        code = session["locale"]
    else:
        code = _best_language(request.headers.get("Accept-Language", ""), tuple(languages))
    return _parsed_locale(code)


@functools.lru_cache(maxsize=256)
def _best_language(header: str, languages: tuple[str, ...]) -> str:
    """The browser's choice among ours: a browser sends the same header on every request, so parse it once."""
    return parse_accept_header(header, LanguageAccept).best_match(languages) or languages[0]


@functools.cache
def _parsed_locale(code: str) -> Locale:
    """Flask-Babel parses the selector's answer on every request (a file check each time) unless it is a Locale."""
    return Locale.parse(code)


def app_languages() -> dict[str, str]:
    from flask import current_app

    return current_app.config["PORTAL_LANGUAGES"]


def register_extensions(app: Flask) -> None:
    from portal.services.accounts import user_for_session

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "portal" / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(user_for_session)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    jobs.init_app(app)
    app.before_request(permissions.enforce)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(db.engine)
    if not event.contains(FlaskSession, "before_flush", _stamp_audit_address):
        event.listen(FlaskSession, "before_flush", _stamp_audit_address)


def _stamp_audit_address(session, _context, _instances) -> None:
    """Stamp each audit event with the address of the request that wrote it."""
    if not has_request_context():
        return
    for obj in session.new:
        if isinstance(obj, AuditEvent) and not obj.ip:
            obj.ip = (request.remote_addr or "")[:45]


def _sqlite_pragmas(engine) -> None:
    """WAL so readers do not block the writer; foreign keys on; wait instead of failing when busy; a larger cache."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        # 32 MB of page cache per connection instead of SQLite's 2 MB: the order indexes of a busy shop stay in
        # memory (an import's index upkeep, the queue's index ranges).
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from portal.views import account, api, auth, courier, operator, public, reveal, seller, staff

    for module in (public, auth, account, seller, staff, courier, operator, reveal, api):
        app.register_blueprint(module.bp)


def register_template_globals(app: Flask) -> None:
    from portal.views import nav

    app.jinja_env.globals.update(
        languages=app_languages, get_locale=get_locale, utcnow=utcnow, pagination_texts=nav.pagination_texts
    )
    app.context_processor(nav.context)
    from portal.services import exemptions, orders, privacy, regions

    app.jinja_env.globals.update(
        scope_labels=exemptions.SCOPE_LABELS,
        level_labels=exemptions.LEVEL_LABELS,
        source_labels=exemptions.SOURCE_LABELS,
        evidence_labels=exemptions.EVIDENCE_LABELS,
        exemption_labels=exemptions.EXEMPTION_LABELS,
        report_status_labels=exemptions.STATUS_LABELS,
        report_kind_labels=exemptions.KIND_LABELS,
        destination_text=regions.destination,
    )
    app.jinja_env.filters.update(
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "—",
        mask_name=privacy.mask_name,
        mask_phone=privacy.mask_phone,
        mask_detail=privacy.mask_address_detail,
        status_label=orders.status_label,
        yuan=lambda cents: f"¥{cents / 100:,.2f}",
    )
    from portal.views import wording

    app.jinja_env.filters.update(wording.FILTERS)
    app.jinja_env.globals.update(import_action_labels=wording.IMPORT_ACTIONS, audit_action_labels=wording.AUDIT_ACTIONS)
