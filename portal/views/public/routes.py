"""Landing page, favicon, health check, language switch."""

from flask import current_app, jsonify, redirect, request, send_from_directory, session, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.views import local_path
from portal.views.public import bp


@bp.get("/")
def index():
    """Send each person to where their work is."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.home"))


@bp.get("/favicon.ico")
def favicon():
    """The portal's icon where browsers look for it first (the pages also link it)."""
    return send_from_directory(current_app.static_folder, "img/icons/favicon.ico", max_age=86400)


@bp.get("/healthz")
def healthz():
    """200 with the database reachable, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok")


@bp.post("/language/<code>")
def set_language(code: str):
    """Remember the chosen language for this browser (and the account, when signed in)."""
    if code not in current_app.config["PORTAL_LANGUAGES"]:
        return redirect(url_for("public.index"))
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(local_path(request.form.get("next")) or url_for("public.index"))
