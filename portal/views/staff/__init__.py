"""The staff area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from portal.views.staff import routes  # noqa: E402,F401  (registers the routes on bp)
