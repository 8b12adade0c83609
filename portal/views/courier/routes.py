"""Courier staff: all my shops at once, or one shop as far as its grant allows."""

from flask import g, render_template
from flask_login import current_user

from portal.permissions import resolved
from portal.services import shops
from portal.views.courier import bp


@bp.get("/")
def home():
    """All my shops: every active grant with what it allows."""
    return render_template("courier/home.html", grants=shops.active_grants(current_user))


@bp.get("/shops/<int:shop_id>")
def shop_home(shop_id: int):
    return render_template("courier/shop_home.html", shop=resolved("shop"), grant=g.grant)
