"""Sign in, sign out, sign up as a seller."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.extensions import db, limiter
from portal.services import accounts, audit
from portal.services.errors import AuthenticationError, InvalidDataError
from portal.views import failed, local_path
from portal.views.auth import bp
from portal.views.auth.forms import LoginForm, RegisterForm


def _failed(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    return "account:" + accounts.normalize_username(request.form.get("username", ""))


def login_page(form: LoginForm | None = None, error: str | None = None, status: int = 200):
    form = form or LoginForm()
    if error:
        form.form_errors.append(error)
    return render_template("auth/login.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["PORTAL_LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(lambda: current_app.config["PORTAL_LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed)
def login():
    """Sign in; failures are throttled per account and per address."""
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("account.home"))
    if not form.validate_on_submit():
        return login_page(form, status=422 if request.method == "POST" else 200)
    try:
        user = accounts.authenticate(form.username.data, form.password.data)
    except AuthenticationError as error:
        db.session.commit()  # the failed attempt is audited
        return login_page(form, error.message, status=401)
    login_user(user)
    db.session.commit()
    if user.must_change_password:
        flash(_("Choose your own password to continue."), "info")
        return redirect(url_for("account.password"))
    return redirect(local_path(form.next.data) or url_for("account.home"))


@bp.post("/logout")
def logout():
    audit.record("logout", actor=current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.login"))
    # The pickup page's offline copy (service worker cache) and its queue name shops and parcels: a shared
    # phone keeps none of it once its courier signs out.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    """A seller signs up with their first shop."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user, shop = accounts.register_seller(
                form.username.data, form.password.data, form.shop_name.data, form.display_name.data or ""
            )
        except InvalidDataError as error:
            failed(form, error)
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your shop %(shop)s is ready.", shop=shop.name), "success")
            return redirect(url_for("seller.shop_home", shop_id=shop.id))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status
