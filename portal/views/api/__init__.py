"""The JSON API under /api/v1. Access is decided in portal.permissions; errors are problem+json.

Requests are validated by spectree from the pydantic models in ``schemas``, and the OpenAPI 3.1
document at /api/v1/openapi.json is generated from the same decorators (``docs``).
"""

import hashlib

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from portal.extensions import csrf, limiter
from portal.views.api.limits import limit_body
from portal.views.api.schemas import Problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer-token calls carry no cookie to forge; session-cookie calls are checked in permissions.enforce.
csrf.exempt(bp)


def _rate_key() -> str:
    """One bucket per token (scripts behind one address each get their own), else per address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    return get_remote_address()


limiter.limit(lambda: current_app.config.get("PORTAL_API_RATE_LIMIT", "1200 per minute"), key_func=_rate_key)(bp)
# Each made-up token would get a bucket of its own: refused tokens also count against the address.
limiter.limit(
    lambda: current_app.config.get("PORTAL_API_AUTH_FAILURE_LIMIT", "120 per minute"),
    key_func=lambda: "auth-failed:" + get_remote_address(),
    deduct_when=lambda response: response.status_code == 401,
)(bp)
# Bodies are read (size-limited) and checked for nesting before spectree or a view parses them as JSON.
bp.before_request(limit_body)


@bp.after_request
def _no_store(response):
    """Answers carry recipients, labels and orders: no browser or proxy cache keeps them (the document may)."""
    if request.endpoint not in ("api.openapi", "api.docs"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _problem_on_invalid(req, resp, req_validation_error, instance, model_adapter) -> None:
    """spectree's before-hook: a request that fails validation answers 422 problem+json like every error."""
    if req_validation_error is None or resp is None:
        return
    if request.method in ("POST", "PUT", "PATCH"):  # spectree reads any body as JSON, {} when it is not
        from flask_babel import gettext as _
        from werkzeug.exceptions import BadRequest, UnsupportedMediaType

        if not request.is_json:
            raise UnsupportedMediaType(_("Send the body as application/json."))
        if request.get_json(silent=True) is None:
            raise BadRequest()  # not JSON at all: a malformed body, not a body that misses fields
    from portal.errors import PROBLEM_BASE
    from portal.views.api.errors import validation_problem

    body = validation_problem(model_adapter.validation_errors(req_validation_error), PROBLEM_BASE)
    resp.set_data(current_app.json.dumps(body))
    resp.content_type = "application/problem+json"
    resp.status_code = 422


spec = SpecTree(
    "flask",
    mode="strict",
    title="Courier Partner Portal API",
    description=(
        "Courier dispatch systems pull the queue, print labels and report pickups; sellers' ERPs upload "
        "orders and tracking numbers. Authenticate with a personal access token: `Authorization: Bearer cpp_...`."
    ),
    version="1.0.0",
    path="api/v1/_spectree",  # spectree's own pages are not registered: ours are in docs.py
    security_schemes=[
        SecurityScheme(name="bearerAuth", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer"))
    ],
    security={"bearerAuth": []},
    before=_problem_on_invalid,
    validation_error_model=Problem,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)

from portal.views.api import courier, docs, outlets, routes  # noqa: E402,F401  (registers the routes on bp)
