"""Seller owner pages for exemptions: regions touching the shop, one-click and manual reports."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.models import Order
from portal.permissions import resolved
from portal.services import anomalies, exemptions
from portal.services.errors import DomainError
from portal.views import failed, ids_from, paginate, send_evidence
from portal.views.seller import bp
from portal.views.seller.forms import ActionForm, ExemptionForm


def _actor():
    return current_user._get_current_object()


@bp.get("/<int:shop_id>/exemptions", endpoint="exemptions")
def exemptions_page(shop_id: int):
    """The anomaly regions that touch the shop, one-click offers, and the shop's reports."""
    shop = resolved("shop")
    page = paginate(exemptions.reports_of(shop.id), per_page=50)
    return render_template(
        "seller/exemptions.html",
        shop=shop,
        notices=exemptions.regions_touching(shop),
        offers=exemptions.one_click_offers(shop),
        counts=exemptions.exemption_counts(shop.id),
        outlets=anomalies.seller_panel(shop),
        page=page,
        action_form=ActionForm(),
    )


@bp.post("/<int:shop_id>/exemptions/one-click/<int:region_id>")
def exemption_one_click(shop_id: int, region_id: int):
    """Confirm the shop's orders in a one-click region: approved at once."""
    shop, region = resolved("shop"), resolved("region")
    if not ActionForm().validate_on_submit():
        return redirect(url_for("seller.exemptions", shop_id=shop.id))
    try:
        report = exemptions.file_one_click(shop, region, actor=_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "warning")
        return exemptions_page(shop.id), error.status
    db.session.commit()
    flash(_("%(n)d orders are exempt (%(region)s).", n=len(report.orders), region=region.name), "success")
    return redirect(url_for("seller.exemption_report", shop_id=shop.id, report_id=report.id))


@bp.route("/<int:shop_id>/exemptions/new", methods=["GET", "POST"])
def exemption_new(shop_id: int):
    """A manual report with evidence, for the operator to review. ``?ids=`` preselects orders."""
    shop = resolved("shop")
    form = ExemptionForm()
    status = 422 if request.method == "POST" else 200
    if request.method == "GET" and (ids := ids_from(request.args.getlist("ids"))):
        numbers = db.session.scalars(
            select(Order.platform_order_no).where(Order.shop_id == shop.id, Order.id.in_(ids)).order_by(Order.id)
        )
        form.order_numbers.data = "\n".join(numbers)
    if form.validate_on_submit():
        files = [exemptions.EvidenceUpload(entry.kind.data, entry.file.data) for entry in form.evidence]
        try:
            report = exemptions.file_manual(
                shop,
                exemptions.parse_order_numbers(form.order_numbers.data),
                form.reason.data,
                files,
                actor=_actor(),
            )
        except DomainError as error:
            status = failed(form, error)
            if "evidence" in error.field_errors:
                form.form_errors.append(error.field_errors["evidence"])
        else:
            keys = exemptions.evidence_keys(report)
            try:
                db.session.commit()
            except Exception:
                # The report is not saved: its files must not stay behind either.
                db.session.rollback()
                exemptions.discard_files(keys)
                raise
            flash(_("Report %(id)d filed: the platform reviews it.", id=report.id), "success")
            return redirect(url_for("seller.exemption_report", shop_id=shop.id, report_id=report.id))
    return render_template("seller/exemption_new.html", shop=shop, form=form), status


@bp.get("/<int:shop_id>/exemptions/<int:report_id>")
def exemption_report(shop_id: int, report_id: int):
    return render_template("seller/exemption_report.html", shop=resolved("shop"), report=resolved("report"))


@bp.get("/<int:shop_id>/exemptions/<int:report_id>/evidence/<int:evidence_id>")
def exemption_evidence(shop_id: int, report_id: int, evidence_id: int):
    return send_evidence(resolved("report"), resolved("evidence"))
