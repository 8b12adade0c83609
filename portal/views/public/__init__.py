"""The public area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from portal.views.public import routes  # noqa: E402,F401  (registers the routes on bp)
