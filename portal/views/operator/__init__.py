"""The operator area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("operator", __name__, url_prefix="/operator")

from portal.views.operator import proposals, routes  # noqa: E402,F401  (registers the routes on bp)
