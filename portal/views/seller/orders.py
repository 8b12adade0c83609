"""Seller pages for orders: the list at volume (filters, sorts, 50 to 500 a page) and its bulk actions (print,
make a batch, export, mark packed, cancel, report exemption), manual entry, detail, cancel, import."""

from datetime import UTC
from typing import NamedTuple

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from portal import jobs
from portal.extensions import db
from portal.models import ImportBatch, Order, OrderStatus
from portal.models.base import utcnow
from portal.permissions import owns, resolved
from portal.services import (
    audit,
    batches,
    exemptions,
    exports,
    imports,
    orders,
    printing,
    privacy,
    regions,
    scanning,
    spreadsheets,
    storage,
    tracking_import,
    waybills,
)
from portal.services.errors import DomainError, InvalidDataError, NotFoundError
from portal.services.printing import CONFIRM_OVER
from portal.views import company_choices, failed, ids_from, paginate
from portal.views.courier.forms import size_choices
from portal.views.courier.routes import _short_times
from portal.views.nav import url_for_ids
from portal.views.seller import bp
from portal.views.seller.forms import (
    CHINA,
    CancelForm,
    ImportForm,
    OrderFilterForm,
    OrderForm,
    OrderListForm,
    TrackingImportForm,
)

# The pages here enqueue imports: the queue is set up from the app that registers them.


def _actor():
    return current_user._get_current_object()


def order_filter_from(form: OrderFilterForm) -> orders.OrderFilter:
    due = form.due.data or ""
    flagged = form.flagged.data
    batch = form.batch.data if isinstance(form, OrderListForm) else ""
    paid_before = form.paid_before.data if isinstance(form, OrderListForm) else None
    return orders.OrderFilter(
        status=form.status.data or "",
        overdue=due == "overdue",
        due_within_hours=int(due) if due in ("6", "24", "48") else None,
        province_code=form.province.data or "",
        q=(form.q.data or "").strip(),
        flagged=flagged is True or flagged in ("yes", "y"),  # "y": the old checkbox's links
        unflagged=flagged == "no",
        sku=(form.sku.data or "").strip() if isinstance(form, OrderListForm) else "",
        batch_id=int(batch) if batch and batch.isdigit() and int(batch) < 2**31 else None,
        paid_before=paid_before.replace(tzinfo=CHINA).astimezone(UTC) if paid_before else None,
    )


def province_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("All provinces"))] + [SelectChoice(r.code, r.name) for r in regions.children(None)]


# Filter fields a bulk action's form carries, so the server re-reads the filter it acts on.
FILTER_FIELDS = ("status", "due", "province", "q", "flagged", "sku", "batch", "paid_before", "sort")


def list_form(shop, data) -> OrderListForm:
    """The order list's filters read from ``data`` (the query string, or a bulk action's form)."""
    form = OrderListForm(data)
    form.province.choices = province_choices()
    form.batch.choices = [SelectChoice("", _("Any batch"))] + [
        SelectChoice(str(batch_id), number) for batch_id, number in batches.open_batch_choices(shop)
    ]
    form.validate()  # fills .errors: a bad time or a too-long search is ignored, and said
    return form


class ListRow(NamedTuple):
    """One row as the template writes it: every value worked out here, so the 500-row loop only prints."""

    id: int
    number: str
    url: str
    status: str
    status_label: str
    ship_by: str
    overdue: bool
    name: str
    phone: str
    flagged: bool
    destination: str
    items: str
    exemption: str
    tracking: str


def _list_rows(rows, shop_id: int, owner: bool) -> list[ListRow]:
    now = utcnow()
    short_time = _short_times()
    detail_url = url_for_ids("seller.order_detail" if owner else "seller.order_label", "order_id", shop_id=shop_id)
    labels = {state.value: orders.status_label(state) for state in OrderStatus}
    open_states = orders.OPEN_STATES
    out = []
    for (
        order_id,
        number,
        status,
        ship_by,
        name,
        phone,
        province,
        city,
        district,
        flagged,
        summary,
        exemption,
        tracking,
    ) in rows:
        out.append(
            ListRow(
                order_id,
                number,
                detail_url(order_id),
                status,
                labels.get(status, status),
                short_time(ship_by),
                status in open_states and ship_by < now,
                privacy.mask_name(name),
                privacy.mask_phone(phone),
                flagged,
                "" if flagged else regions.destination(province, city, district),
                summary if len(summary) <= 60 else summary[:57] + "...",
                exemption,
                tracking or "",
            )
        )
    return out


def _list_page(shop, data, *, status: int = 200, error: str | None = None, selected=(), refused=()):
    """The order list for ``data``'s filters; after a refused bulk action, the selection kept and the reason."""
    form = list_form(shop, data)
    owner = owns(current_user, shop)
    per_page = int(form.per_page.data) if (form.per_page.data or "").isdigit() else 50
    counts = orders.status_counts([shop.id])
    page = orders.order_list(
        shop.id,
        order_filter_from(form),
        sort=form.sort.data or "ship_by",
        page=data.get("page", 1, type=int),
        per_page=per_page,
        counts=counts,
    )
    args = {k: v for k, v in data.items() if k in (*FILTER_FIELDS, "per_page") and v}
    return render_template(
        "seller/orders.html",
        shop=shop,
        form=form,
        page=page,
        rows=_list_rows(page.rows, shop.id, owner),
        args=args,
        filter_args={k: v for k, v in args.items() if k in FILTER_FIELDS},
        counts=counts,
        owner=owner,
        companies=printing.shop_print_choices(shop),
        sizes=size_choices(),
        error=error,
        selected=set(selected),
        refused=refused,
        confirm_over=CONFIRM_OVER,
    ), status


@bp.get("/<int:shop_id>/orders")
def orders_list(shop_id: int):
    """The shop's orders, filtered, sorted and paginated on the server (50 to 500 a page); buyer details masked."""
    return _list_page(resolved("shop"), request.args)


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


# Bulk actions of the order list: on the ticked orders, or on all orders matching the filter (read again here) ---

MAX_BULK = 5000


def _chosen(shop) -> tuple[list[int], str]:
    """The orders a bulk action acts on, and how they were chosen: the ticked ones (each must be this shop's), or
    with scope=filter every order matching the filter the form carries, found by the server, never posted ids.

    :raise InvalidDataError: nothing ticked, no order matches, more than MAX_BULK. :raise NotFoundError: a ticked
        id that is not this shop's order.
    """
    if request.form.get("scope") == "filter":
        form = list_form(shop, request.form)
        found = orders.matching_ids(
            shop.id, order_filter_from(form), sort=form.sort.data or "ship_by", limit=MAX_BULK + 1
        )
        if not found:
            raise InvalidDataError(_("No orders match this filter: nothing was done."))
        if len(found) > MAX_BULK:
            raise InvalidDataError(
                _("More than %(n)d orders match this filter: narrow it down first. Nothing was done.", n=MAX_BULK)
            )
        return found, _("all %(n)d orders matching the filter", n=len(found))
    ticked = ids_from(request.form.getlist("order_ids"))
    if not ticked:
        raise InvalidDataError(_("Tick the orders first, or choose all orders matching the filter."))
    ticked = orders.shop_order_ids(shop.id, ticked)
    return ticked, _("%(n)d selected orders", n=len(ticked))


def confirm_first(shop, count: int, question: str, back: str | None = None):
    """Over CONFIRM_OVER orders, the page that asks to confirm the count (the same form posted again with
    confirm_count); None when confirmed or small. A filter that matches another count since asks again."""
    if count <= CONFIRM_OVER or request.form.get("confirm_count") == str(count):
        return None
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirm_count")]
    back = back or url_for("seller.orders_list", shop_id=shop.id, **_filter_args(request.form))
    return render_template(
        "seller/batch_confirm.html", shop=shop, count=count, question=question, fields=fields, back=back
    )


def _filter_args(data) -> dict:
    return {k: v for k, v in data.items() if k in (*FILTER_FIELDS, "per_page") and v}


def _refused(shop, error: DomainError):
    """A bulk action refused: nothing done; the list again with the reason and the selection kept."""
    db.session.rollback()
    return _list_page(
        shop,
        request.form,
        status=error.status,
        error=error.message,
        selected=ids_from(request.form.getlist("order_ids")),
        refused=getattr(error, "refused", ()),
    )


def _back_to_list(shop):
    return redirect(url_for("seller.orders_list", shop_id=shop.id, **_filter_args(request.form)), code=303)


def _report(result: orders.BulkResult, done_message: str) -> None:
    flash(done_message, "success" if result.done else "info")
    if result.refused:
        shown = "; ".join(reason for _no, reason in result.refused[:20])
        more = len(result.refused) - 20
        flash(
            _("Refused: %(n)d. %(reasons)s", n=len(result.refused), reasons=shown)
            + (" " + _("(and %(n)d more)", n=more) if more > 0 else ""),
            "warning",
        )


@bp.post("/<int:shop_id>/orders/print")
def orders_print(shop_id: int):
    """Labels for the chosen orders with the shop's own ranges: the courier's print job, checked, confirmed over
    CONFIRM_OVER labels, then the job's page."""
    shop = resolved("shop")
    try:
        order_ids, _made = _chosen(shop)
        company = waybills.chosen_company(request.form.get("company", ""))
        plan = printing.check_print_job(
            _actor(), order_ids, allowed_shop_ids={shop.id}, company=company, size=request.form.get("size", "")
        )
        confirm = confirm_first(
            shop, plan.count, _("Print %(n)s labels with %(company)s?", n=f"{plan.count:,}", company=company.label)
        )
        if confirm is not None:
            return confirm
        job = printing.run_print_job(_actor(), plan)
    except DomainError as error:
        return _refused(shop, error)
    db.session.commit()
    return redirect(url_for("seller.print_job_summary", shop_id=shop.id, job_id=job.id), code=303)


@bp.post("/<int:shop_id>/batches")
def batch_new(shop_id: int):
    """A print batch (波次) of the chosen orders: its number, pick list, labels and slips on its page."""
    shop = resolved("shop")
    try:
        order_ids, made = _chosen(shop)
        confirm = confirm_first(shop, len(order_ids), _("Make a batch of %(n)s orders?", n=f"{len(order_ids):,}"))
        if confirm is not None:
            return confirm
        batch = batches.create_batch(shop, order_ids, actor=_actor(), made_from=made)
    except DomainError as error:
        return _refused(shop, error)
    db.session.commit()
    flash(_("Batch %(no)s made: %(n)d orders.", no=batch.number, n=batch.order_count), "success")
    return redirect(url_for("seller.batch", shop_id=shop.id, print_batch_id=batch.id), code=303)


@bp.post("/<int:shop_id>/orders/export")
def orders_export(shop_id: int):
    """The chosen orders' addresses as CSV (Excel-ready) or XLSX, for the courier company; audited."""
    shop = resolved("shop")
    try:
        order_ids, _made = _chosen(shop)
        confirm = confirm_first(shop, len(order_ids), _("Export %(n)s orders?", n=f"{len(order_ids):,}"))
        if confirm is not None:
            return confirm
        chosen = list(db.session.scalars(select(Order).where(Order.id.in_(order_ids)).order_by(Order.id)))
        body, mimetype, filename = exports.export_orders(
            chosen, actor=_actor(), shop=shop, fmt=request.form.get("format", "csv")
        )
    except DomainError as error:
        return _refused(shop, error)
    db.session.commit()
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:shop_id>/orders/pack")
def orders_pack(shop_id: int):
    """Mark the chosen labelled orders packed; any other is refused with the reason (or all, "all or nothing")."""
    shop = resolved("shop")
    try:
        order_ids, _made = _chosen(shop)
        confirm = confirm_first(shop, len(order_ids), _("Mark %(n)s orders packed?", n=f"{len(order_ids):,}"))
        if confirm is not None:
            return confirm
        result = orders.pack_orders(order_ids, actor=_actor(), all_or_nothing=request.form.get("all_or_nothing") == "1")
    except DomainError as error:
        return _refused(shop, error)
    db.session.commit()
    _report(result, _("Packed: %(n)d.", n=len(result.done)))
    return _back_to_list(shop)


@bp.post("/<int:shop_id>/orders/cancel")
def orders_cancel(shop_id: int):
    """Cancel the chosen orders with a reason, in one transaction: shipped ones are refused each with the reason
    (with "all or nothing", one refusal cancels none). Each order keeps its history; numbers are voided."""
    shop = resolved("shop")
    try:
        order_ids, _made = _chosen(shop)
        confirm = confirm_first(shop, len(order_ids), _("Cancel %(n)s orders?", n=f"{len(order_ids):,}"))
        if confirm is not None:
            return confirm
        reason = request.form.get("reason", "")
        result = orders.cancel_orders(
            order_ids, actor=_actor(), reason=reason, all_or_nothing=request.form.get("all_or_nothing") == "1"
        )
        if result.done:
            audit.record(
                "order_cancelled",
                actor=_actor(),
                shop=shop,
                target=f"{len(result.done)} orders",
                order_nos=result.done,
                reason=reason.strip()[:300],
            )
    except DomainError as error:
        return _refused(shop, error)
    db.session.commit()
    _report(result, _("Cancelled: %(n)d.", n=len(result.done)))
    return _back_to_list(shop)


# A manual exemption report lists its orders in the URL: at most this many.
MAX_EXEMPTION_ORDERS = 300


@bp.post("/<int:shop_id>/orders/exemption")
def orders_exemption(shop_id: int):
    """Report a late-shipment exemption for the chosen orders: the report's form, with them filled in."""
    shop = resolved("shop")
    try:
        order_ids, _made = _chosen(shop)
        if len(order_ids) > MAX_EXEMPTION_ORDERS:
            raise InvalidDataError(
                _("One report takes at most %(n)d orders: narrow the filter down.", n=MAX_EXEMPTION_ORDERS)
            )
    except DomainError as error:
        return _refused(shop, error)
    return redirect(url_for("seller.exemption_new", shop_id=shop.id, ids=order_ids), code=303)
