"""Error handlers: HTML pages for the browser, problem+json under /api/."""

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db
from portal.services.errors import DomainError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _problem(status: int, title: str, detail: str = "", errors: dict | None = None):
    body = {"type": f"https://portal.example/problems/{status}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def handle_http(error: HTTPException):
    if _wants_json():
        return _problem(error.code or 500, error.name, error.description or "")
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
        return _problem(error.status, error.message, errors=error.field_errors)
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


def register(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(OverflowError, handle_overflow)
    app.register_error_handler(InternalServerError, handle_500)
