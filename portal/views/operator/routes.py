"""Platform operator: people, shops, the whole audit log, anomaly regions, exemption reviews."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from portal.extensions import db
from portal.models import CourierCompany, CourierGrant, Shop, User
from portal.models.base import utcnow
from portal.permissions import resolved
from portal.services import (
    accounts,
    audit,
    exemptions,
    figures,
    memberships,
    region_import,
    regions,
    storage,
    waybills,
)
from portal.services.errors import DomainError
from portal.views import failed, paginate, send_evidence
from portal.views.operator import bp
from portal.views.operator.forms import CompanyForm, DecisionForm, RegionConfirmForm, RegionForm, RegionImportForm
from portal.views.seller.forms import ActionForm


def _actor():
    return current_user._get_current_object()


@bp.get("/")
def home():
    counts = {
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "shops": db.session.scalar(select(func.count()).select_from(Shop)),
        "grants": db.session.scalar(
            select(func.count()).select_from(CourierGrant).where(CourierGrant.revoked_at.is_(None))
        ),
    }
    return render_template(
        "operator/home.html",
        counts=counts,
        review=figures.review_queue(),
        figures=figures.shop_figures()[:10],
    )


def _figures_sort() -> tuple[str, bool]:
    sort = request.args.get("sort", figures.DEFAULT_SORT)
    return (sort if sort in figures.SORTS else figures.DEFAULT_SORT), request.args.get("dir") != "asc"


@bp.get("/figures")
def shop_figures():
    """Per shop: late-shipment rate, exempt orders left out of it, overdue now; sortable by each column."""
    sort, descending = _figures_sort()
    rows = figures.shop_figures(sort, descending)
    return render_template("operator/figures.html", rows=rows, sort=sort, descending=descending)


@bp.get("/figures.csv")
def shop_figures_csv():
    """The same table as CSV (UTF-8 with a BOM for Excel), in the same order."""
    sort, descending = _figures_sort()
    body = figures.figures_csv(figures.shop_figures(sort, descending))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="shop-figures.csv"'
    return response


@bp.get("/users")
def users():
    q = request.args.get("q", "").strip().lower()
    query = select(User).order_by(User.username)
    if q:
        query = query.where(User.username.contains(q, autoescape=True))
    page = paginate(query, per_page=50)
    return render_template("operator/users.html", page=page, q=q, action_form=ActionForm())


@bp.post("/users/<int:user_id>/toggle")
def user_toggle(user_id: int):
    """Disable or re-enable a login; a disabled login is refused at its next request."""
    user = resolved("user")
    accounts.set_disabled(user, not user.is_disabled, actor=current_user._get_current_object())
    db.session.commit()
    flash(
        _("%(user)s is now %(state)s.", user=user.username, state=_("disabled") if user.is_disabled else _("enabled")),
        "info",
    )
    return redirect(url_for("operator.users"))


@bp.get("/shops")
def shops():
    page = paginate(select(Shop).order_by(Shop.id), per_page=50)
    return render_template("operator/shops.html", page=page)


@bp.get("/audit")
def audit_log():
    action = request.args.get("action") or None
    page = paginate(audit.all_events(action), per_page=50)
    return render_template("operator/audit.html", page=page, action=action)


@bp.route("/companies", methods=["GET", "POST"])
def companies():
    """The courier company registry, each with its tracking-number rule; add a company."""
    form = CompanyForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            company = waybills.add_company(
                code=form.code.data,
                name=form.name.data,
                name_zh=form.name_zh.data or "",
                pattern=form.pattern.data,
                check=form.check.data or "",
                example=form.example.data or "",
                actor=current_user._get_current_object(),
            )
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s added to the registry.", name=company.name), "success")
            return redirect(url_for("operator.companies"))
    registry = db.session.scalars(select(CourierCompany).order_by(CourierCompany.code)).all()
    return render_template("operator/companies.html", form=form, companies=registry), status


# Courier company staff ---------------------------------------------------------------------------


@bp.get("/company-staff", endpoint="memberships")
def memberships_page():
    """People who asked to be staff of a courier company (waiting first), and those confirmed or ended."""
    status = request.args.get("status") or None
    if status not in (None, *memberships.STATUS_LABELS):
        status = None
    page = paginate(memberships.all_memberships(status), per_page=50)
    return render_template(
        "operator/memberships.html",
        page=page,
        status=status,
        status_labels=memberships.STATUS_LABELS,
        action_form=ActionForm(),
    )


@bp.post("/company-staff/<int:membership_id>/confirm")
def membership_confirm(membership_id: int):
    """Confirm: the person reads the hidden details of this company's labels from now on."""
    form = ActionForm()
    if form.validate_on_submit():
        membership = resolved("membership")
        memberships.confirm(membership, actor=_actor())
        db.session.commit()
        flash(
            _("%(user)s is now staff of %(company)s.", user=membership.user.username, company=membership.company.name),
            "success",
        )
    return redirect(url_for("operator.memberships"))


@bp.post("/company-staff/<int:membership_id>/revoke")
def membership_revoke(membership_id: int):
    """Refuse a request or end a membership: the person's next reveal is refused."""
    form = ActionForm()
    if form.validate_on_submit():
        membership = resolved("membership")
        memberships.revoke(membership, actor=_actor())
        db.session.commit()
        flash(
            _(
                "%(user)s is no longer staff of %(company)s.",
                user=membership.user.username,
                company=membership.company.name,
            ),
            "info",
        )
    return redirect(url_for("operator.memberships"))


# Anomaly regions ---------------------------------------------------------------------------------


def _region_data(form: RegionForm) -> dict:
    code = form.district.data or form.city.data or form.province.data
    return {
        "code": code,
        "applies_to": form.applies_to.data,
        "level": form.level.data,
        "source": form.source.data,
        "valid_from": form.valid_from.data,  # China time, as the service reads a time without a zone
        "valid_to": form.valid_to.data,
        "note": form.note.data or "",
    }


def _region_choices(form: RegionForm) -> None:
    """Each level's choices follow the level above it, as submitted; a lower level not under it is dropped."""
    for child, parent in ((form.city, form.province), (form.district, form.city)):
        found = regions.region(child.data) if child.data else None
        if found is None or found.parent_code != parent.data:
            child.data = ""
    none = [SelectChoice("", "—")]
    form.province.choices = none + [SelectChoice(r.code, r.name) for r in regions.children(None)]
    form.city.choices = none + [SelectChoice(r.code, r.name) for r in _children_of(form.province.data)]
    form.district.choices = none + [SelectChoice(r.code, r.name) for r in _children_of(form.city.data)]


def _children_of(code: str | None) -> list:
    return regions.children(code) if code and regions.region(code) else []


@bp.route("/regions", methods=["GET", "POST"], endpoint="regions")
def regions_page():
    """Anomaly regions, newest first, and the form publishing a new one."""
    form = RegionForm()
    _region_choices(form)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            region = exemptions.publish_region(_region_data(form), actor=_actor())
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("%(region)s published.", region=region.name), "success")
            return redirect(url_for("operator.regions"))
    page = paginate(exemptions.all_regions(), per_page=50)
    return render_template(
        "operator/regions.html", form=form, page=page, now=utcnow(), action_form=ActionForm()
    ), status


@bp.get("/regions/children")
def region_children():
    """The city and district pickers for the province (and city) chosen: htmx swaps them in."""
    form = RegionForm(request.args, meta={"csrf": False})
    _region_choices(form)
    return render_template("operator/_region_lower.html", form=form)


@bp.post("/regions/<int:region_id>/end")
def region_end(region_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        region = resolved("region")
        exemptions.end_region(region, actor=_actor())
        db.session.commit()
        flash(_("%(region)s has ended.", region=region.name), "info")
    return redirect(url_for("operator.regions"))


@bp.route("/regions/import", methods=["GET", "POST"])
def regions_import():
    """A region sheet: every row checked and shown first; nothing is published until confirmed."""
    form = RegionImportForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with storage.staged() as upload:
            path = storage.save(form.regions_file.data, upload.key, "regions")
            try:
                checked = region_import.read_regions(path)
            except DomainError as error:
                status = failed(form, error)
            else:
                if checked.ok:
                    upload.keep()  # the preview's confirm form points at it
                confirm = RegionConfirmForm(
                    upload_key=upload.key, file_name=(form.regions_file.data.filename or "")[:200]
                )
                return render_template(
                    "operator/regions_import.html", form=form, checked=checked, confirm=confirm
                ), 200 if checked.ok else 422
    return render_template("operator/regions_import.html", form=form), status


@bp.post("/regions/import/confirm")
def regions_import_confirm():
    """Publish every region of the previewed sheet, or none."""
    confirm = RegionConfirmForm()
    stored = storage.files(confirm.upload_key.data) if confirm.validate_on_submit() else {}
    if "regions" not in stored:
        flash(_("That preview has expired: upload the sheet again."), "warning")
        return redirect(url_for("operator.regions_import"))
    try:
        published = region_import.import_regions(stored["regions"], actor=_actor(), file_name=confirm.file_name.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("operator.regions_import"))
    db.session.commit()
    storage.discard(confirm.upload_key.data)
    flash(_("%(n)d regions published.", n=len(published)), "success")
    return redirect(url_for("operator.regions"))


# Exemption reports -------------------------------------------------------------------------------


@bp.get("/exemptions")
def reports():
    """Manual reports waiting for review, oldest first; then the latest decisions."""
    page = paginate(exemptions.review_queue(), per_page=50)
    decided = db.session.scalars(exemptions.decided_reports().limit(20)).all()
    return render_template("operator/reports.html", page=page, decided=decided)


@bp.route("/exemptions/<int:report_id>", methods=["GET", "POST"])
def report(report_id: int):
    """One report: its orders and evidence; approve or reject it with a comment."""
    report = resolved("report")
    form = DecisionForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit() and not (form.approve.data or form.reject.data):
        form.form_errors.append(_("Choose approve or reject."))
    elif form.validate_on_submit():
        try:
            exemptions.decide(report, approve=bool(form.approve.data), comment=form.comment.data or "", actor=_actor())
        except DomainError as error:
            status = failed(form, error)
        else:
            db.session.commit()
            flash(_("Report %(id)d decided.", id=report.id), "success")
            return redirect(url_for("operator.reports"))
    return render_template("operator/report.html", report=report, form=form), status


@bp.get("/exemptions/<int:report_id>/evidence/<int:evidence_id>")
def report_evidence(report_id: int, evidence_id: int):
    return send_evidence(resolved("report"), resolved("evidence"))
