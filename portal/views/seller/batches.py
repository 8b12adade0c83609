"""Print batches (波次): the shop's batches, one batch's page (numbers, pick list, labels, slips, progress),
printing and closing it."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.models import BatchStatus
from portal.permissions import prints_in, resolved
from portal.services import batches, printing, privacy, waybills
from portal.services.errors import DomainError
from portal.views.courier.forms import size_choices
from portal.views.seller import bp
from portal.views.seller.orders import confirm_first


def _actor():
    return current_user._get_current_object()


@bp.get("/<int:shop_id>/batches")
def batches_list(shop_id: int):
    """The shop's batches, open first, each with printed / packed / handed over."""
    shop = resolved("shop")
    shown = batches.batches_of(shop)
    return render_template(
        "seller/batches.html",
        shop=shop,
        batches=shown,
        progress=batches.progress_of([batch.id for batch in shown]),
        can_print=prints_in(current_user, shop),
    )


def _batch_page(batch, *, status: int = 200, error: str | None = None):
    shop = batch.shop
    lines = batches.lines(batch)
    return render_template(
        "seller/batch.html",
        shop=shop,
        batch=batch,
        lines=lines,
        names={line.id: privacy.mask_name(line.recipient_name) for line in lines},
        items=batches.items_by_order(batch),
        pick=batches.pick_list(batch),
        progress=batches.progress(batch),
        jobs=batches.jobs_of(batch),
        printable=len(batches.printable_ids(batch)),
        can_print=prints_in(current_user, shop),
        companies=printing.shop_print_choices(shop),
        sizes=size_choices(),
        error=error,
        open=batch.status == BatchStatus.OPEN,
    ), status


@bp.get("/<int:shop_id>/batches/<int:print_batch_id>")
def batch(shop_id: int, print_batch_id: int):
    """One batch: its number, progress, pick list by SKU and by order, its labels and packing slips."""
    return _batch_page(resolved("print_batch"))


@bp.get("/<int:shop_id>/batches/<int:print_batch_id>/slips")
def batch_slips(shop_id: int, print_batch_id: int):
    """Every packing slip of the batch on one printable page, one slip a page (no phone, no full address)."""
    batch = resolved("print_batch")
    lines = batches.lines(batch)
    return render_template(
        "seller/batch_slips.html",
        shop=batch.shop,
        batch=batch,
        lines=lines,
        names={line.id: privacy.mask_name(line.recipient_name) for line in lines},
        items=batches.items_by_order(batch),
    )


@bp.post("/<int:shop_id>/batches/<int:print_batch_id>/print")
def batch_print(shop_id: int, print_batch_id: int):
    """Labels for the batch's orders still waiting for one, with the shop's ranges: one print job."""
    batch = resolved("print_batch")
    try:
        company = waybills.chosen_company(request.form.get("company", ""))
        plan = printing.check_print_job(
            _actor(),
            batches.printable_ids(batch),
            allowed_shop_ids={batch.shop_id},
            company=company,
            size=request.form.get("size", ""),
        )
        back = url_for("seller.batch", shop_id=shop_id, print_batch_id=batch.id)
        question = _("Print %(n)s labels with %(company)s?", n=f"{plan.count:,}", company=company.label)
        confirm = confirm_first(batch.shop, plan.count, question, back=back)
        if confirm is not None:
            return confirm
        job = printing.run_print_job(_actor(), plan)
    except DomainError as error:
        db.session.rollback()
        return _batch_page(resolved("print_batch"), status=error.status, error=error.message)
    db.session.commit()
    return redirect(url_for("seller.print_job_summary", shop_id=shop_id, job_id=job.id), code=303)


@bp.post("/<int:shop_id>/batches/<int:print_batch_id>/close")
def batch_close(shop_id: int, print_batch_id: int):
    """Close the batch: its orders may go in another; its page and history stay."""
    batch = resolved("print_batch")
    try:
        batches.close_batch(batch, actor=_actor())
    except DomainError as error:
        db.session.rollback()
        return _batch_page(resolved("print_batch"), status=error.status, error=error.message)
    db.session.commit()
    flash(_("Batch %(no)s closed.", no=batch.number), "info")
    return redirect(url_for("seller.batch", shop_id=shop_id, print_batch_id=batch.id), code=303)
