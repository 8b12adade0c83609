"""The auth area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from portal.views.auth import routes  # noqa: E402,F401  (registers the routes on bp)
