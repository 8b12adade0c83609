"""Courier API routes: my shops, the queue across them, print jobs, shipping in batch."""

from flask import abort, url_for
from flask_login import current_user
from spectree import Response

from portal.extensions import db
from portal.permissions import resolved, shops_where, token_allows
from portal.services import api_orders, audit, labels, printing, scanning, shops, waybills
from portal.views import job_response
from portal.views.api import bp, spec
from portal.views.api.errors import require_json
from portal.views.api.schemas import (
    GrantOut,
    JobLinks,
    LabelOut,
    OrderPage,
    PrintJobIn,
    PrintJobOut,
    Problem,
    QueueQuery,
    ShipIn,
    ShipOut,
    ShipResult,
    ShopList,
    ShopOut,
)

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 429)}
BODY_ERRORS = {**ERRORS, "HTTP_415": Problem}


def _actor():
    return current_user._get_current_object()


@bp.get("/shops")
@spec.validate(resp=Response(HTTP_200=ShopList, **ERRORS), tags=["courier", "seller"], operation_id="listShops")
def shops_list():
    """The shops I own and the shops I ship for, with each courier sub-account's permissions."""
    user = _actor()
    owned = [ShopOut(id=shop.id, name=shop.name, role="owner", grant=None) for shop in shops.shops_owned_by(user)]
    served = [
        ShopOut(
            id=grant.shop_id,
            name=grant.shop.name,
            role="courier",
            grant=GrantOut(
                id=grant.id,
                permissions=grant.permissions,
                expires_at=grant.expires_at,
                company=grant.company.code if grant.company else None,
            ),
        )
        for grant in shops.active_grants(user)
    ]
    return ShopList(shops=owned + served)


@bp.get("/queue")
@spec.validate(
    resp=Response(HTTP_200=OrderPage, HTTP_422=Problem, **ERRORS), tags=["courier"], operation_id="listQueue"
)
def queue_list(query: QueueQuery):
    """Orders waiting in all my shops (or one), most urgent first; cursor-paged.

    Recipients are in full only where the sub-account may view them and the token has
    `recipients:read`; every page that shows them in full is written to the shop's audit log.
    Pass `since` (the last pull's `pulled_at`) to get only what changed.
    """
    grants = {grant.shop_id: grant for grant in shops.active_grant_rows(current_user)}  # read once for this request
    if query.shop is not None and query.shop not in grants:
        abort(404)
    shop_ids = [query.shop] if query.shop is not None else list(grants)
    page = api_orders.queue_page(
        shop_ids, status=query.status, since=query.since, cursor=query.cursor, limit=query.limit
    )
    may_read = token_allows("recipients:read")
    full_shops = {shop_id for shop_id in shop_ids if may_read and grants[shop_id].view_recipient}
    # Plain rows; the queue's states are unshipped, so no shop is loaded to decide.
    result, shown = api_orders.queue_orders(page.orders, full_shops)
    if shown:
        api_orders.record_recipients_pulled(shown, actor=_actor())
        db.session.commit()
    # Plain dicts checked once by pydantic's core (which then serializes them): cheaper than a model per order.
    return OrderPage.model_validate({"orders": result, "next_cursor": page.next_cursor, "pulled_at": page.pulled_at})


def _job_out(job) -> PrintJobOut:
    data = printing.job_labels(job)
    return PrintJobOut(
        id=job.id,
        company=job.company.code,
        size=job.size,
        label_count=job.label_count,
        created_at=job.created_at,
        labels=[LabelOut(**label.__dict__) for label in data],
        links=JobLinks(
            html=url_for("api.print_job_html", job_id=job.id, _external=True),
            pdf=url_for("api.print_job_pdf", job_id=job.id, _external=True),
            zpl=url_for("api.print_job_zpl", job_id=job.id, _external=True),
        ),
    )


@bp.post("/print-jobs")
@spec.validate(
    resp=Response(HTTP_201=PrintJobOut, HTTP_409=Problem, **BODY_ERRORS),
    tags=["courier"],
    operation_id="createPrintJob",
)
def print_job_create(json: PrintJobIn):
    """Give each order the next tracking number of its shop's range and return the labels: all or nothing.

    Only orders in shops where the sub-account may print labels; only pending orders. The numbers are those
    of the courier company the sub-account names in each shop: `company` may be omitted; another company
    is refused (422), as is a sub-account that names none yet (409).
    """
    json = require_json(json)
    company = waybills.chosen_company(json.company) if json.company is not None else None
    job = printing.create_print_job(
        _actor(),
        json.order_ids,
        allowed_shop_ids=shops_where(current_user, "print_labels"),
        company=company,
        size=json.size,
    )
    db.session.commit()
    return _job_out(job), 201


@bp.get("/print-jobs/<int:job_id>")
@spec.validate(resp=Response(HTTP_200=PrintJobOut, **ERRORS), tags=["courier"], operation_id="getPrintJob")
def print_job_get(job_id: int):
    """A print job's label data (as printed, recipients in full unless the shop prints privacy labels)."""
    job = resolved("job")
    audit.record("print_job_opened", actor=_actor(), target=f"job {job.id}", format="json", via="api")
    db.session.commit()
    return _job_out(job)


# The renderings are documented by docs.RENDERINGS (spectree describes JSON bodies only).
@bp.get("/print-jobs/<int:job_id>.html")
@spec.validate(resp=Response("HTTP_200", **ERRORS), tags=["courier"], operation_id="getPrintJobHtml")
def print_job_html(job_id: int):
    """The labels as one HTML page to print from a browser, one label per page."""
    page = labels.render_html(printing.job_labels(resolved("job")), autoprint=False)
    return job_response(page, "text/html", via="api")


@bp.get("/print-jobs/<int:job_id>.pdf")
@spec.validate(resp=Response("HTTP_200", **ERRORS), tags=["courier"], operation_id="getPrintJobPdf")
def print_job_pdf(job_id: int):
    """The labels as PDF, one label per page at the job's size."""
    body = labels.render_pdf(printing.job_labels(resolved("job")))
    return job_response(body, "application/pdf", f"labels-{job_id}.pdf", via="api")


@bp.get("/print-jobs/<int:job_id>.zpl")
@spec.validate(resp=Response("HTTP_200", **ERRORS), tags=["courier"], operation_id="getPrintJobZpl")
def print_job_zpl(job_id: int):
    """The labels as ZPL for a thermal printer driven directly."""
    body = labels.render_zpl(printing.job_labels(resolved("job")))
    return job_response(body, "application/zpl", f"labels-{job_id}.zpl", via="api")


@bp.post("/shipments")
@spec.validate(resp=Response(HTTP_200=ShipOut, **BODY_ERRORS), tags=["courier"], operation_id="shipOrders")
def orders_ship(json: ShipIn):
    """Mark orders shipped (a pickup reported by the dispatch system); one result per order.

    Idempotent: an order already shipped is `already_shipped`. Refusals (not packed when the shop
    packs first, no label, cancelled, the sub-account may not ship) do not stop the others.
    """
    json = require_json(json)
    outcomes = scanning.ship_orders(json.order_ids, actor=_actor(), via="api")
    db.session.commit()
    counts = {key: sum(1 for o in outcomes if o.result == key) for key in ("shipped", "already_shipped", "refused")}
    return ShipOut(
        results=[ShipResult(**outcome.__dict__) for outcome in outcomes],
        not_found=sum(1 for o in outcomes if o.result == "not_found"),
        **counts,
    )
