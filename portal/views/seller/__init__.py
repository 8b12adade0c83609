"""The seller area. Access is decided in portal.permissions."""

from flask import Blueprint

bp = Blueprint("seller", __name__, url_prefix="/shops")

from portal.views.seller import batches, exemptions, orders, printing, routes  # noqa: E402,F401  (registers the routes on bp)
