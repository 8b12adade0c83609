"""The shop's own people printing labels (the seller's thermal printer, the shop's ranges): the courier's print
job, allocation, labels, audit, reprint and void, through the same services; and the staff's print switch."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.permissions import resolved
from portal.services import labels, printing
from portal.services.errors import DomainError
from portal.views import failed, job_response
from portal.views.courier.forms import PagesReprintForm, ReprintForm, VoidForm
from portal.views.seller import bp
from portal.views.seller.forms import StaffPrintForm


def _actor():
    return current_user._get_current_object()


def _summary_page(shop, job, form: PagesReprintForm | None = None, status: int = 200):
    """The courier's job page (templates/courier/print_job_summary.html), with this area's links."""
    return render_template(
        "courier/print_job_summary.html",
        summary=printing.job_summary(job),
        form=form or PagesReprintForm(),
        area="seller",
        url_args={"shop_id": shop.id},
        back_url=url_for("seller.batches_list", shop_id=shop.id),
        back_label=_("Back to the batches"),
    ), status


@bp.get("/<int:shop_id>/print-jobs/<int:job_id>/summary")
def print_job_summary(shop_id: int, job_id: int):
    """The job's page: its labels to open and print, its PDF, ZPL and TSPL, a summary, and reprinting pages."""
    return _summary_page(resolved("shop"), resolved("job"))


@bp.post("/<int:shop_id>/print-jobs/<int:job_id>/reprint")
def print_job_reprint(shop_id: int, job_id: int):
    """Some pages of the job again (those that jammed), same numbers, as a reprint job; the reason is logged."""
    job = resolved("job")
    form = PagesReprintForm()
    try:
        again = printing.reprint_pages(job, form.pages.data or "", actor=_actor(), reason=form.reason.data or "")
    except DomainError as error:
        failed(form, error)
        return _summary_page(resolved("shop"), job, form, status=error.status)
    db.session.commit()
    return redirect(url_for("seller.print_job_summary", shop_id=shop_id, job_id=again.id), code=303)


@bp.get("/<int:shop_id>/print-jobs/<int:job_id>")
def print_job(shop_id: int, job_id: int):
    """The labels as one HTML page that prints itself: one label per page."""
    page = labels.render_html(
        printing.job_labels(resolved("job")), script_url=url_for("static", filename="js/autoprint.js")
    )
    return job_response(page, "text/html")


@bp.get("/<int:shop_id>/print-jobs/<int:job_id>.pdf")
def print_job_pdf(shop_id: int, job_id: int):
    return job_response(
        labels.render_pdf(printing.job_labels(resolved("job"))), "application/pdf", f"labels-{job_id}.pdf"
    )


@bp.get("/<int:shop_id>/print-jobs/<int:job_id>.zpl")
def print_job_zpl(shop_id: int, job_id: int):
    return job_response(
        labels.render_zpl(printing.job_labels(resolved("job"))), "application/zpl", f"labels-{job_id}.zpl"
    )


@bp.get("/<int:shop_id>/print-jobs/<int:job_id>.tspl")
def print_job_tspl(shop_id: int, job_id: int):
    return job_response(
        labels.render_tspl(printing.job_labels(resolved("job"))), "application/tspl", f"labels-{job_id}.tspl"
    )


def _label_page(order, reprint_form=None, void_form=None, status: int = 200):
    return render_template(
        "seller/batch_order_label.html",
        shop=order.shop,
        order=order,
        history=printing.print_history(order),
        reprint_form=reprint_form or ReprintForm(),
        void_form=void_form or VoidForm(),
    ), status


@bp.get("/<int:shop_id>/orders/<int:order_id>/label")
def order_label(shop_id: int, order_id: int):
    """One order's label: its print history, printing it again, voiding it (no buyer details shown)."""
    return _label_page(resolved("order"))


@bp.post("/<int:shop_id>/orders/<int:order_id>/reprint")
def order_reprint(shop_id: int, order_id: int):
    """The same number printed again; the reason is logged."""
    order = resolved("order")
    form = ReprintForm()
    try:
        job = printing.reprint(order, actor=_actor(), reason=form.reason.data or "", size=form.size.data)
    except DomainError as error:
        failed(form, error)
        return _label_page(order, reprint_form=form, status=error.status)
    db.session.commit()
    return redirect(url_for("seller.print_job_summary", shop_id=shop_id, job_id=job.id), code=303)


@bp.post("/<int:shop_id>/orders/<int:order_id>/void")
def order_void(shop_id: int, order_id: int):
    """Void the label: its number is never used again; the order waits for a new label."""
    order = resolved("order")
    form = VoidForm()
    try:
        printing.void_label(order, actor=_actor(), reason=form.reason.data or "")
    except DomainError as error:
        failed(form, error)
        return _label_page(order, void_form=form, status=error.status)
    db.session.commit()
    flash(_("Label voided; the order is pending again."), "info")
    return redirect(url_for("seller.order_label", shop_id=shop_id, order_id=order_id), code=303)


@bp.post("/<int:shop_id>/staff/<int:staff_id>/print")
def staff_print(shop_id: int, staff_id: int):
    """The owner turns a staff member's "print labels" switch on or off."""
    member = resolved("staff")
    form = StaffPrintForm()
    printing.set_staff_printing(member, bool(form.print_labels.data), actor=_actor())
    db.session.commit()
    if member.print_labels:
        flash(_("%(user)s may now print labels.", user=member.user.username), "success")
    else:
        flash(_("%(user)s may no longer print labels.", user=member.user.username), "info")
    return redirect(url_for("seller.staff", shop_id=shop_id), code=303)
