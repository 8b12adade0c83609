"""Seller owner pages for orders: list and filters, manual entry, detail, cancel, import."""

from datetime import UTC

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal import jobs
from portal.extensions import db
from portal.models import ImportBatch
from portal.permissions import resolved
from portal.services import (
    audit,
    exemptions,
    imports,
    orders,
    regions,
    scanning,
    spreadsheets,
    storage,
    tracking_import,
    waybills,
)
from portal.services.errors import DomainError, NotFoundError
from portal.views import company_choices, failed, paginate
from portal.views.seller import bp
from portal.views.seller.forms import CHINA, CancelForm, ImportForm, OrderFilterForm, OrderForm, TrackingImportForm

# The pages here enqueue imports: the queue is set up from the app that registers them.


def _actor():
    return current_user._get_current_object()


def order_filter_from(form: OrderFilterForm) -> orders.OrderFilter:
    due = form.due.data or ""
    return orders.OrderFilter(
        status=form.status.data or "",
        overdue=due == "overdue",
        due_within_hours=int(due) if due in ("6", "24", "48") else None,
        province_code=form.province.data or "",
        q=(form.q.data or "").strip(),
        flagged=bool(form.flagged.data),
    )


def province_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("All provinces"))] + [SelectChoice(r.code, r.name) for r in regions.children(None)]


@bp.get("/<int:shop_id>/orders")
def orders_list(shop_id: int):
    """The shop's orders, filtered and paginated on the server; buyer details masked."""
    shop = resolved("shop")
    form = OrderFilterForm(request.args)
    form.province.choices = province_choices()
    query = orders.filtered_orders([shop.id], order_filter_from(form))
    page = paginate(query, per_page=current_app.config["PORTAL_PAGE_SIZE"], max_per_page=200)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "seller/orders.html", shop=shop, form=form, page=page, args=args, counts=orders.status_counts([shop.id])
    )


@bp.route("/<int:shop_id>/orders/new", methods=["GET", "POST"])
def order_new(shop_id: int):
    """Enter one order by hand."""
    shop = resolved("shop")
    form = OrderForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        data["paid_at"] = form.paid_at.data.replace(tzinfo=CHINA).astimezone(UTC)
        try:
            order = orders.create_order(shop, data, actor=_actor())
        except DomainError as error:
            status = failed(form, error)
        else:
            audit.record("order_created", actor=_actor(), shop=shop, target=order.platform_order_no)
            db.session.commit()
            flash(_("Order %(no)s added.", no=order.platform_order_no), "success")
            return redirect(url_for("seller.order_detail", shop_id=shop.id, order_id=order.id))
    return render_template("seller/order_new.html", shop=shop, form=form), status


@bp.get("/<int:shop_id>/orders/<int:order_id>")
def order_detail(shop_id: int, order_id: int):
    """One order in full: the view of the buyer's details is audited."""
    order = resolved("order")
    audit.record("recipient_viewed", actor=_actor(), shop=order.shop, target=order.platform_order_no)
    db.session.commit()
    return render_template(
        "seller/order_detail.html",
        shop=order.shop,
        order=order,
        cancel_form=CancelForm(),
        history=orders.history(order),
        reportable=exemptions.is_reportable(order),
    )


@bp.post("/<int:shop_id>/orders/<int:order_id>/cancel")
def order_cancel(shop_id: int, order_id: int):
    order = resolved("order")
    form = CancelForm()
    orders.cancel_order(order, actor=_actor(), reason=form.reason.data or "")
    audit.record("order_cancelled", actor=_actor(), shop=order.shop, target=order.platform_order_no)
    db.session.commit()
    flash(_("Order %(no)s cancelled.", no=order.platform_order_no), "info")
    return redirect(url_for("seller.order_detail", shop_id=shop_id, order_id=order_id))


@bp.route("/<int:shop_id>/imports", methods=["GET", "POST"])
def import_upload(shop_id: int):
    """Upload the seller centre's export: a job checks it while the next page shows how far it got."""
    shop = resolved("shop")
    form = ImportForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with storage.staged() as upload:
            files = {"orders_file": storage.save(form.orders_file.data, upload.key, "orders")}
            if form.items_file.data:
                files["items_file"] = storage.save(form.items_file.data, upload.key, "items")
            try:  # what can be told before the rows are read, in this request: a hostile file is a 422 here
                for field_name, path in files.items():
                    spreadsheets.check_file(path, field_name)
            except DomainError as error:
                failed(form, error)
                return render_template("seller/import_upload.html", shop=shop, form=form), error.status
            batch = ImportBatch(
                shop_id=shop.id,
                created_by_id=current_user.id,
                file_name=form.orders_file.data.filename or "",
                items_file_name=(form.items_file.data.filename or "") if form.items_file.data else "",
                storage_key=upload.key,
            )
            db.session.add(batch)
            db.session.commit()
            upload.keep()
        jobs.enqueue_check(batch)
        return redirect(url_for("seller.import_preview", shop_id=shop.id, batch_id=batch.id))
    return render_template("seller/import_upload.html", shop=shop, form=form), status


def _batch(kind: str) -> ImportBatch:
    """The import in the URL, if it is of this kind: an order export is no tracking sheet."""
    batch = resolved("batch")
    if batch.kind != kind:
        raise NotFoundError(_("There is no such import."))
    return batch


def _apply_later(batch: ImportBatch) -> ImportBatch:
    """Confirm a checked batch (either kind) and queue its apply once the confirmation is committed."""
    jobs.confirm(batch)
    db.session.commit()
    jobs.enqueue_apply(batch, actor=_actor())
    return batch


@bp.get("/<int:shop_id>/imports/<int:batch_id>")
def import_preview(shop_id: int, batch_id: int):
    """An import: its job's progress, then the preview to confirm, the result, or why it failed."""
    batch = _batch("orders")
    report = imports.ImportReport.from_dict(batch.report)
    return render_template(
        "seller/import_preview.html",
        shop=resolved("shop"),
        batch=batch,
        report=report,
        progress=jobs.progress_of(batch),
    )


@bp.get("/<int:shop_id>/imports/<int:batch_id>/progress")
def import_progress(shop_id: int, batch_id: int):
    """The progress bar of an import's job (either kind), polled by htmx; once the job has ended, the page reloads."""
    batch = resolved("batch")
    response = make_response(
        render_template("seller/_import_progress.html", batch=batch, progress=jobs.progress_of(batch))
    )
    response.headers["Cache-Control"] = "no-store"
    if batch.status not in jobs.RUNNING:
        response.headers["HX-Refresh"] = "true"
    return response


@bp.post("/<int:shop_id>/imports/<int:batch_id>/confirm")
def import_confirm(shop_id: int, batch_id: int):
    """Apply a checked import in a job: every valid row, in one transaction, or nothing."""
    batch = _apply_later(_batch("orders"))
    return redirect(url_for("seller.import_preview", shop_id=shop_id, batch_id=batch.id))


@bp.post("/<int:shop_id>/imports/<int:batch_id>/discard")
def import_discard(shop_id: int, batch_id: int):
    batch = resolved("batch")
    if jobs.discard(batch):
        db.session.commit()
        storage.discard(batch.storage_key)
    flash(_("Import discarded; nothing was changed."), "info")
    upload = "seller.tracking_upload" if batch.kind == "tracking" else "seller.import_upload"
    return redirect(url_for(upload, shop_id=shop_id))


@bp.get("/<int:shop_id>/pickups")
def pickups(shop_id: int):
    """Pickups of this shop's parcels, newest first, each with its handover list."""
    shop = resolved("shop")
    page = paginate(scanning.pickups_of(shop), per_page=50)
    return render_template("seller/pickups.html", shop=shop, page=page)


@bp.get("/<int:shop_id>/pickups/<int:pickup_id>")
def handover(shop_id: int, pickup_id: int):
    pickup = resolved("pickup")
    return render_template(
        "pickups/handover.html",
        pickup=pickup,
        lines=scanning.handover_lines(pickup),
        left=scanning.pickup_progress(pickup).waiting,
    )


@bp.route("/<int:shop_id>/tracking-import", methods=["GET", "POST"])
def tracking_upload(shop_id: int):
    """The courier company's reply (order number → tracking number): a job checks it, nothing changes yet."""
    shop = resolved("shop")
    form = TrackingImportForm()
    form.company.choices = company_choices()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            company = waybills.chosen_company(form.company.data)
        except DomainError as error:
            failed(form, error)
            return render_template("seller/tracking_upload.html", shop=shop, form=form), error.status
        with storage.staged() as upload:
            path = storage.save(form.tracking_file.data, upload.key, "tracking")
            try:
                spreadsheets.check_file(path, "tracking_file")
            except DomainError as error:
                failed(form, error)
                return render_template("seller/tracking_upload.html", shop=shop, form=form), error.status
            batch = ImportBatch(
                shop_id=shop.id,
                kind="tracking",
                created_by_id=current_user.id,
                file_name=form.tracking_file.data.filename or "",
                storage_key=upload.key,
                report={"company": company.code},
            )
            db.session.add(batch)
            db.session.commit()
            upload.keep()
        jobs.enqueue_check(batch)
        return redirect(url_for("seller.tracking_preview", shop_id=shop.id, tracking_id=batch.id))
    return render_template("seller/tracking_upload.html", shop=shop, form=form), status


@bp.get("/<int:shop_id>/tracking-import/<int:tracking_id>")
def tracking_preview(shop_id: int, tracking_id: int):
    """A tracking sheet: its job's progress, then the preview to confirm, the result, or why it failed."""
    batch = _batch("tracking")
    report = tracking_import.TrackingReport.from_dict(batch.report)
    return render_template(
        "seller/tracking_preview.html",
        shop=resolved("shop"),
        batch=batch,
        report=report,
        progress=jobs.progress_of(batch),
    )


@bp.post("/<int:shop_id>/tracking-import/<int:tracking_id>/confirm")
def tracking_confirm(shop_id: int, tracking_id: int):
    """Apply a checked sheet in a job: every order gets its number and becomes labelled, or none does."""
    batch = _apply_later(_batch("tracking"))
    return redirect(url_for("seller.tracking_preview", shop_id=shop_id, tracking_id=batch.id))
