"""A label's hidden recipient details, opened from its QR code on a phone."""

from flask import abort, current_app, make_response, render_template
from flask_login import current_user

from portal.extensions import db, limiter
from portal.services import reveal
from portal.services.errors import NotFoundError
from portal.views.reveal import bp


def _person_key() -> str:
    # The policy signed the person in before the view (and this check) runs: one bucket per person, wherever
    # they are, so a pile of photographed labels cannot be read faster from many phones or addresses.
    return f"reveal:{current_user.id}"


@bp.get("/r/<token>")
@limiter.limit(lambda: current_app.config["PORTAL_REVEAL_LIMIT"], key_func=_person_key)
def show(token: str):
    """The full name, phone (tap to call) and address, to the shop, its view-switch couriers and the company's staff."""
    try:
        shown = reveal.reveal(token, current_user._get_current_object())
    except NotFoundError:
        abort(404)  # the same page as any unknown address: nothing tells a dead code from someone else's
    db.session.commit()  # the audit event
    response = make_response(render_template("reveal/show.html", shown=shown, reveal_prefix=reveal.address_parts()[0]))
    response.headers["Cache-Control"] = "no-store"
    # The code is in this page's address: links from it do not pass it on.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
