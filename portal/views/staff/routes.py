"""Seller staff (packers): their shops. The packing desk arrives with packing."""

from flask import render_template

from portal.permissions import resolved
from portal.views.staff import bp


@bp.get("/shops/<int:shop_id>")
def shop_home(shop_id: int):
    return render_template("staff/shop_home.html", shop=resolved("shop"))
