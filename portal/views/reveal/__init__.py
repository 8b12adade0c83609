"""The page a label's QR code opens. Access is decided in portal.permissions and services/reveal.py."""

from flask import Blueprint

bp = Blueprint("reveal", __name__)

from portal.views.reveal import routes  # noqa: E402,F401  (registers the routes on bp)
