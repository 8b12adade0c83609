"""Home, password change, redeeming an invitation code."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from portal.extensions import db
from portal.permissions import resolved
from portal.services import accounts, figures, memberships, shops, tokens, waybills
from portal.services.errors import DomainError
from portal.views import company_choices, failed
from portal.views.account import bp
from portal.views.account.forms import MembershipForm, PasswordForm, RedeemForm, TokenForm

CHINA = ZoneInfo("Asia/Shanghai")


@bp.get("/")
def home():
    """This person's home, by role: the operator's review queue, the seller's shops, the packer's desks, the
    courier's shops with today's work; a person with no role yet sees how to get one."""
    return _home(RedeemForm())


def _home(redeem_form: RedeemForm, status: int = 200):
    user = current_user._get_current_object()
    owned, staff_of = shops.header_shops_of(user)
    grants = shops.active_grants(user)
    days = figures.shop_days({shop.id for shop in (*owned, *staff_of)} | {grant.shop_id for grant in grants})
    page = render_template(
        "account/home.html",
        redeem_form=redeem_form,
        days=days,
        grants=grants,  # in full (handle, switches): the header's are plain values
        review=figures.review_queue() if user.is_operator else None,
        is_courier=bool(grants) or bool(memberships.memberships_of(user)),
    )
    return page, status


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change the password (required after signing in with a one-time password)."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            failed(form, error)
        else:
            db.session.commit()
            login_user(user)  # the session id changed with the session version
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("account.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("account/password.html", form=form), status


@bp.post("/invitation")
def redeem():
    """An existing courier enters a seller's invitation code and gets the sub-account."""
    form = RedeemForm()
    if form.validate_on_submit():
        try:
            grant = shops.redeem_invitation(current_user._get_current_object(), form.code.data)
        except DomainError as error:
            failed(form, error)
            return _home(form, error.status)
        db.session.commit()
        flash(_("You now work for %(shop)s.", shop=grant.shop.name), "success")
        return redirect(url_for("courier.shop_home", shop_id=grant.shop_id))
    return _home(form, 422)


@bp.route("/tokens", methods=["GET", "POST"])
def token_list():
    """Personal access tokens for the JSON API: create (shown once), list, revoke."""
    user = current_user._get_current_object()
    form = TokenForm()
    form.scopes.choices = [(name, str(tokens.SCOPES[name].label)) for name in tokens.available_scopes(user)]
    secret, status = None, 200
    if form.validate_on_submit():
        expires_at = None
        if form.expires_on.data:
            expires_at = datetime.combine(form.expires_on.data, time.max, tzinfo=CHINA).astimezone(UTC)
        try:
            new = tokens.create_token(user, name=form.name.data, scopes=form.scopes.data, expires_at=expires_at)
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            secret = new.secret
            form = TokenForm(formdata=None)
            form.scopes.choices = [(name, str(tokens.SCOPES[name].label)) for name in tokens.available_scopes(user)]
    elif request.method == "POST":
        status = 422
    page = render_template(
        "account/tokens.html",
        form=form,
        secret=secret,
        tokens=tokens.tokens_of(user),
        status_of=tokens.token_status,
        scope_labels={name: str(scope.label) for name, scope in tokens.SCOPES.items()},
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # the new token is on this page once: keep it out of caches
    return response


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    """Revoke one of my tokens: the next request with it is refused."""
    token = resolved("token")
    tokens.revoke_token(token, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for("account.token_list"))


@bp.route("/companies", methods=["GET", "POST"])
def companies():
    """The courier companies I work for, as the operator confirmed; ask to join one."""
    user = current_user._get_current_object()
    form = MembershipForm()
    form.company.choices = company_choices()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
            memberships.request_membership(user, company, note=form.note.data or "")
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("Asked to work for %(company)s: the operator will confirm it.", company=company.name), "success")
            return redirect(url_for("account.companies"))
    page = render_template(
        "account/companies.html",
        form=form,
        memberships=memberships.memberships_of(user),
        status_labels=memberships.STATUS_LABELS,
    )
    return page, status


@bp.post("/companies/<int:membership_id>/leave")
def membership_leave(membership_id: int):
    """Withdraw my request, or stop being the company's staff."""
    membership = resolved("membership")
    memberships.leave(membership, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("Your membership of %(company)s has ended.", company=membership.company.name), "info")
    return redirect(url_for("account.companies"))
