"""Seller owner pages: shops, settings, courier sub-accounts, staff, audit log."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal.extensions import db
from portal.permissions import resolved
from portal.services import audit, exemptions, orders, shops, waybills
from portal.services.errors import DomainError
from portal.views import company_choices, failed, paginate
from portal.views.seller import bp
from portal.views.seller.forms import (
    ActionForm,
    GrantTermsForm,
    NewLoginForm,
    RangeForm,
    SettingsForm,
    ShopForm,
    StaffForm,
)


def _status() -> int:
    return 422 if request.method == "POST" else 200


def _actor():
    return current_user._get_current_object()


@bp.route("/new", methods=["GET", "POST"])
def shop_new():
    """Open another shop."""
    form = ShopForm()
    if form.validate_on_submit():
        shop = shops.create_shop(_actor(), form.shop_name.data)
        db.session.commit()
        flash(_("Shop %(shop)s opened.", shop=shop.name), "success")
        return redirect(url_for("seller.shop_home", shop_id=shop.id))
    return render_template("seller/shop_new.html", form=form), _status()


@bp.get("/<int:shop_id>")
def shop_home(shop_id: int):
    shop = resolved("shop")
    return render_template(
        "seller/shop_home.html",
        shop=shop,
        grants=shops.grants_of(shop),
        board=orders.dashboard(shop.id),
        notices=exemptions.regions_touching(shop),
        offers=exemptions.one_click_offers(shop),
        low_ranges=[r for r in waybills.ranges_of(shop) if waybills.is_low(r)],
    )


@bp.route("/<int:shop_id>/settings", methods=["GET", "POST"])
def shop_settings(shop_id: int):
    shop = resolved("shop")
    form = SettingsForm(obj=shop)
    if form.validate_on_submit():
        shops.update_settings(
            shop,
            actor=_actor(),
            name=form.name.data.strip(),
            promise_hours=form.promise_hours.data,
            detail_days=form.detail_days.data if form.detail_days.data is not None else 7,
            retention_days=form.retention_days.data if form.retention_days.data is not None else 90,
            privacy_labels=form.privacy_labels.data,
            require_packed_for_pickup=form.require_packed_for_pickup.data,
            check_goods=form.check_goods.data,
            sender_name=(form.sender_name.data or "").strip(),
            sender_phone=(form.sender_phone.data or "").strip(),
            sender_phone_public=form.sender_phone_public.data,
            sender_address=(form.sender_address.data or "").strip(),
        )
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("seller.shop_settings", shop_id=shop.id))
    return render_template("seller/shop_settings.html", shop=shop, form=form), _status()


def _with_companies(form: GrantTermsForm) -> GrantTermsForm:
    """The grant form's courier company choices: the active companies, after a prompt to choose."""
    form.company.choices = [
        SelectChoice("", _("Choose the company…")),
        *company_choices(),
    ]
    return form


def _grants_page(shop, login_form=None, invite_form=None, code=None, status=200):
    return (
        render_template(
            "seller/grants.html",
            shop=shop,
            grants=shops.grants_of(shop),
            invitations=shops.open_invitations(shop),
            login_form=_with_companies(login_form or NewLoginForm(prefix="login")),
            invite_form=_with_companies(invite_form or GrantTermsForm(prefix="invite")),
            action_form=ActionForm(),
            code=code,
            invitation_hours=current_app.config["PORTAL_INVITATION_HOURS"],
        ),
        status,
    )


@bp.get("/<int:shop_id>/subaccounts")
def grants(shop_id: int):
    """The shop's courier sub-accounts, listed as shop:person, and open invitation codes."""
    return _grants_page(resolved("shop"))


@bp.post("/<int:shop_id>/subaccounts/new-login")
def grant_new_login(shop_id: int):
    """A new courier login with a one-time password and its grant."""
    shop = resolved("shop")
    form = NewLoginForm(prefix="login")
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
            grant = shops.create_courier_login(
                shop,
                actor=_actor(),
                username=form.username.data,
                one_time_password=form.one_time_password.data,
                terms=form.terms(company),
                display_name=form.display_name.data or "",
            )
        except DomainError as error:
            failed(form, error)
            return _grants_page(shop, login_form=form, status=error.status)
        db.session.commit()
        flash(
            _(
                "Sub-account %(handle)s created. Give the courier the username and the one-time password.",
                handle=grant.handle,
            ),
            "success",
        )
        return redirect(url_for("seller.grants", shop_id=shop.id))
    return _grants_page(shop, login_form=form, status=422)


@bp.post("/<int:shop_id>/invitations/new")
def invitation_new(shop_id: int):
    """An invitation code for a courier who already has a login."""
    shop = resolved("shop")
    form = GrantTermsForm(prefix="invite")
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
            _invitation, code = shops.create_invitation(
                shop, actor=_actor(), terms=form.terms(company), hours=current_app.config["PORTAL_INVITATION_HOURS"]
            )
        except DomainError as error:
            failed(form, error)
            return _grants_page(shop, invite_form=form, status=error.status)
        db.session.commit()
        return _grants_page(shop, code=code, status=201)
    return _grants_page(shop, invite_form=form, status=422)


@bp.post("/<int:shop_id>/invitations/<int:invitation_id>/cancel")
def invitation_cancel(shop_id: int, invitation_id: int):
    shops.cancel_invitation(resolved("invitation"), actor=_actor())
    db.session.commit()
    flash(_("Invitation code cancelled."), "info")
    return redirect(url_for("seller.grants", shop_id=shop_id))


@bp.route("/<int:shop_id>/subaccounts/<int:grant_id>", methods=["GET", "POST"])
def grant_edit(shop_id: int, grant_id: int):
    """Change a sub-account's courier company, permissions or expiry."""
    grant = resolved("grant")
    form = _with_companies(GrantTermsForm(obj=grant))
    if request.method == "GET":
        form.company.data = grant.company.code if grant.company else ""  # none yet: the prompt to choose
        if grant.expires_at:
            from portal.views.seller.forms import CHINA

            form.expires_on.data = (grant.expires_at.astimezone(CHINA)).date()
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
            shops.update_grant(grant, actor=_actor(), terms=form.terms(company))
        except DomainError as error:
            failed(form, error)
            return render_template("seller/grant_edit.html", shop=grant.shop, grant=grant, form=form), error.status
        db.session.commit()
        flash(_("Sub-account %(handle)s updated.", handle=grant.handle), "success")
        return redirect(url_for("seller.grants", shop_id=shop_id))
    return render_template("seller/grant_edit.html", shop=grant.shop, grant=grant, form=form), _status()


@bp.post("/<int:shop_id>/subaccounts/<int:grant_id>/revoke")
def grant_revoke(shop_id: int, grant_id: int):
    grant = resolved("grant")
    shops.revoke_grant(grant, actor=_actor())
    db.session.commit()
    flash(_("Sub-account %(handle)s revoked.", handle=grant.handle), "info")
    return redirect(url_for("seller.grants", shop_id=shop_id))


@bp.route("/<int:shop_id>/staff", methods=["GET", "POST"])
def staff(shop_id: int):
    """Seller staff (packers) of this shop; add a login with a one-time password."""
    shop = resolved("shop")
    form = StaffForm()
    status = _status()
    if form.validate_on_submit():
        try:
            member = shops.add_staff_login(
                shop,
                actor=_actor(),
                username=form.username.data,
                one_time_password=form.one_time_password.data,
                display_name=form.display_name.data or "",
            )
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(
                _("%(user)s can now sign in as staff of %(shop)s.", user=member.user.username, shop=shop.name),
                "success",
            )
            return redirect(url_for("seller.staff", shop_id=shop.id))
    return render_template(
        "seller/staff.html", shop=shop, staff=shops.staff_of(shop), form=form, action_form=ActionForm()
    ), status


@bp.post("/<int:shop_id>/staff/<int:staff_id>/remove")
def staff_remove(shop_id: int, staff_id: int):
    shops.remove_staff(resolved("staff"), actor=_actor())
    db.session.commit()
    flash(_("Staff member removed."), "info")
    return redirect(url_for("seller.staff", shop_id=shop_id))


@bp.get("/<int:shop_id>/audit")
def audit_log(shop_id: int):
    """The shop's audit log: sign-ins of its people, grant and settings changes."""
    shop = resolved("shop")
    page = paginate(audit.shop_events(shop.id), per_page=50)
    return render_template("seller/audit.html", shop=shop, page=page)


@bp.route("/<int:shop_id>/ranges", methods=["GET", "POST"])
def ranges(shop_id: int):
    """Tracking-number ranges bought from courier companies: what is left, and a new range."""
    shop = resolved("shop")
    form = RangeForm()
    form.company.choices = company_choices()
    status = _status()
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
            waybill_range = waybills.create_range(
                shop,
                company,
                start=form.start.data,
                end=form.end.data or None,
                count=form.count.data,
                low_threshold=form.low_threshold.data if form.low_threshold.data is not None else 100,
                actor=_actor(),
                note=form.note.data or "",
            )
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("Range %(range)s recorded.", range=waybills.range_label(waybill_range)), "success")
            return redirect(url_for("seller.ranges", shop_id=shop.id))
    return render_template(
        "seller/ranges.html", shop=shop, form=form, ranges=waybills.ranges_of(shop), waybills=waybills
    ), status
