"""The account area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from portal.views.account import routes  # noqa: E402,F401  (registers the routes on bp)
