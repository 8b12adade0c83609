"""The courier area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("courier", __name__, url_prefix="/courier")

from portal.views.courier import outlets, routes  # noqa: E402,F401  (registers the routes on bp)
