"""The JSON API under /api/v1. Access is decided in portal.permissions; errors are problem+json."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.views.api import routes  # noqa: E402,F401  (registers the routes on bp)
