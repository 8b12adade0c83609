"""Error handlers: HTML pages for the browser, problem+json under /api/."""

import contextlib

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db
from portal.overload import OverloadedError
from portal.services.errors import DomainError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# A stable problem ``type`` per kind of error (RFC 9457); API clients branch on it, not on the title.
PROBLEM_BASE = "https://portal.example/problems/"
PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-data",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def _problem(status: int, title: str, detail: str = "", errors: dict | None = None, kind: str | None = None):
    body = {"type": PROBLEM_BASE + (kind or PROBLEM_TYPES.get(status, str(status))), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    if status == 401:  # RFC 6750 §3: the challenge, and why a token was refused
        error = ', error="invalid_token"' if kind == "invalid-token" else ""
        response.headers["WWW-Authenticate"] = f'Bearer realm="portal"{error}'
    elif kind == "insufficient-scope":
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal", error="insufficient_scope"'
    return response


def handle_http(error: HTTPException):
    if _wants_json():
        kind = "csrf-failed" if isinstance(error, CSRFError) else None
        response = _problem(error.code or 500, error.name, error.description or "", kind=kind)
        allow = dict(error.get_headers()).get("Allow")  # 405 says which methods are (RFC 9110)
        if allow:
            response.headers["Allow"] = allow
        return response
    template = f"errors/{error.code}.html" if error.code in (403, 404, 405, 413, 429) else "errors/generic.html"
    return render_template(template, error=error), error.code


def handle_rate_limit(error: RateLimitExceeded):
    retry_after = str(int(error.retry_after)) if getattr(error, "retry_after", None) else "60"
    if request.endpoint == "auth.login":
        from portal.views.auth.routes import login_page

        response = login_page(error=_("Too many failed sign-ins. Wait a few minutes, then try again."), status=429)
    elif _wants_json():
        response = _problem(429, "Too Many Requests", _("Too many requests. Try again later."))
    else:
        response = render_template("errors/429.html", error=error), 429
    from flask import make_response

    response = make_response(response)
    response.headers["Retry-After"] = retry_after
    return response


def handle_domain(error: DomainError):
    db.session.rollback()
    if _wants_json():
        return _problem(error.status, error.message, errors=error.field_errors, kind=getattr(error, "problem", None))
    return render_template("errors/generic.html", error=error, message=error.message), error.status


def handle_overflow(error: OverflowError):
    """A number too large for the database or the calendar (a page, an id): the request is bad, not the server."""
    db.session.rollback()
    message = _("A number in this request is too large.")
    if _wants_json():
        return _problem(400, "Bad Request", message)
    return render_template("errors/generic.html", error=error, message=message), 400


def handle_500(error):
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return _problem(500, "Internal Server Error")
    return render_template("errors/generic.html", error=InternalServerError()), 500


def handle_database_unavailable(error: OperationalError | InterfaceError):
    """The database is down, restarting or unreachable: 503 with Retry-After, rendered without touching it.

    Nothing was written (the transaction failed), and the pool's pre-ping reconnects once it is back,
    so the same worker serves the next request.
    """
    from flask import current_app

    with contextlib.suppress(Exception):  # the connection is gone; the pool discards it
        db.session.rollback()
    current_app.logger.error("database unavailable on %s %s: %s", request.method, request.path, error.orig or error)
    return _unavailable(lambda: _("The portal cannot reach its database right now. Try again in a moment."))


def handle_overloaded(error: OverloadedError):
    """Every worker was busy for longer than PORTAL_MAX_QUEUE_MS: refuse at once rather than time out."""
    from flask import current_app

    current_app.logger.warning("shed %s %s: %s", request.method, request.path, error)
    return _unavailable(lambda: _("The portal is very busy right now. Try again in a moment."))


def _unavailable(message):
    """A 503 with Retry-After, as a page or problem+json, rendered without the database.

    The page has no context processors (the header's shop lists) and does not read the signed-in
    user's language, both of which need the database; ``message`` is called in the chosen language.
    """
    from flask import current_app, make_response, session
    from flask_babel import force_locale

    retry_after = str(current_app.config.get("PORTAL_RETRY_AFTER_SECONDS", 5))
    languages = list(current_app.config["PORTAL_LANGUAGES"])
    locale = session.get("locale") if session.get("locale") in languages else None
    locale = locale or request.accept_languages.best_match(languages) or languages[0]
    with force_locale(locale):
        text = message()
        if _wants_json():
            response = _problem(503, "Service Unavailable", text)
        else:
            page = current_app.jinja_env.get_template("errors/503.html")
            retry_url = request.full_path.rstrip("?") if request.method == "GET" else "/"
            html = page.render(message=text, lang=locale.replace("_", "-"), retry_url=retry_url)
            response = make_response(html, 503)
    response.headers["Retry-After"] = retry_after
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(OverflowError, handle_overflow)
    app.register_error_handler(InternalServerError, handle_500)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(OverloadedError, handle_overloaded)
