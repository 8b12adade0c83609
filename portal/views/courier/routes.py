"""Courier staff: all my shops, the pending queue, print jobs, one order as far as the grant allows."""

import functools
from collections.abc import Callable, Collection
from dataclasses import asdict, replace
from datetime import datetime
from typing import NamedTuple

from babel import dates, numbers
from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup
from sqlalchemy import bindparam, func, select
from wtforms import SelectChoice

from portal.extensions import db
from portal.models import Order, OrderStatus, Shop
from portal.models.base import utcnow
from portal.permissions import resolved, shops_where
from portal.services import (
    audit,
    exports,
    figures,
    labels,
    orders,
    printing,
    privacy,
    regions,
    scanning,
    shops,
    waybills,
)
from portal.services.errors import ConflictError, DomainError, InvalidDataError, NotFoundError
from portal.views import MAX_PAGE, failed, ids_from, job_response
from portal.views.account.forms import RedeemForm
from portal.views.courier import bp
from portal.views.courier.forms import PagesReprintForm, PrintForm, ReprintForm, VoidForm
from portal.views.nav import as_written, cached_url, per_language, url_for_ids


def _actor():
    return current_user._get_current_object()


@bp.get("/")
def home():
    """All my shops: every active grant with what it allows and today's work; with none yet, how to get one."""
    grants = shops.active_grants(current_user)
    return render_template(
        "courier/home.html",
        grants=grants,
        days=figures.shop_days({grant.shop_id for grant in grants}),
        redeem_form=RedeemForm(),
    )


@bp.get("/shops/<int:shop_id>")
def shop_home(shop_id: int):
    return render_template("courier/shop_home.html", shop=resolved("shop"), grant=g.grant)


# What a queue row shows: plain rows, not ORM objects. (_queue_rows unpacks them in this order.)
_QUEUE_COLUMNS = (
    Order.id,
    Order.shop_id,
    Order.platform_order_no,
    Order.status,
    Order.ship_by,
    Order.recipient_name,
    Order.recipient_phone,
    Order.province,
    Order.city,
    Order.district,
    Order.address_flagged,
    Order.tracking_no,
)
QUEUE_PER_PAGE = 50


def _page_statements(by_status: bool) -> tuple:
    """A page of the queue without a text search, and its count, built once with bound parameters (shop_ids,
    status, limit, offset): the same statements orders.filtered_orders and _RowPage would build on every view
    (building and keying them cost more than running them). ``by_status``: one state, else all."""
    table = Order.__table__
    conditions = [table.c.shop_id.in_(bindparam("shop_ids", expanding=True))]
    if by_status:
        conditions.append(table.c.status == bindparam("status"))
    ids = (
        select(table.c.id)
        .where(*conditions)
        .order_by(table.c.ship_by, table.c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery()
    )
    page = select(*_QUEUE_COLUMNS).join(ids, Order.id == ids.c.id).order_by(Order.ship_by, Order.id)
    return page, select(func.count()).select_from(table).where(*conditions)


_PAGE_STATEMENTS = {True: _page_statements(True), False: _page_statements(False)}


class _RowPage(Pagination):
    """A page of plain rows (_QUEUE_COLUMNS, perhaps then a count) of a filtered, ordered select of orders, and
    their total.

    Without a text search, the page's ids come first, ordered and limited, from the (shop, status, ship_by)
    index alone; then the columns of those orders only. The total is a count of its own, which the index also
    answers alone, and only a full or empty page needs it. (Reading the columns of every matching order to sort
    and count them cost 45 ms for 10 shops' 20,000 waiting orders on SQLite; this costs 2 ms.) A text search
    reads every candidate row whatever is asked, so there one statement finds the page and counts the matches
    in the same pass.
    """

    def _query_items(self) -> list:
        query, self._counted = self._query_args["select"], None
        if query is not None:  # a text search
            rows = db.session.execute(
                query.with_only_columns(*_QUEUE_COLUMNS, func.count().over())
                .limit(self.per_page)
                .offset(self._query_offset)
            ).all()
            self._counted = rows[0][-1] if rows else None
            return rows
        statement, _count = _PAGE_STATEMENTS[bool(self._query_args["status"])]
        rows = db.session.connection().execute(statement, self._params()).all()
        if 0 < len(rows) < self.per_page:  # the last page: the total follows without counting
            self._counted = self._query_offset + len(rows)
        return rows

    def _query_count(self) -> int:
        if self._counted is not None:
            return self._counted
        query = self._query_args["select"]
        if query is not None:  # a text search beyond its last page: its conditions counted on the table itself
            return db.session.scalar(select(func.count()).select_from(Order).where(query.whereclause))
        _page, count = _PAGE_STATEMENTS[bool(self._query_args["status"])]
        return db.session.connection().execute(count, self._params()).scalar()

    def _params(self) -> dict:
        args = self._query_args
        return {
            "shop_ids": args["shop_ids"],
            "status": args["status"],
            "limit": self.per_page,
            "offset": self._query_offset,
        }


class _QueueRow(NamedTuple):
    """One queue row as the template writes it: every value worked out here, so the 50-row loop only prints."""

    id: int
    number: str
    shop: str
    url: str
    status: str
    status_label: str
    ship_by: str
    overdue: bool
    selectable: bool  # a flagged pending order cannot be printed: no checkbox
    name: str
    phone: str
    flagged: bool
    destination: str
    tracking: str


class _RowHtml:
    """The queue's rows as HTML (courier/_queue_row.html), each kept by everything it shows: its columns as read,
    its shop's name, the language, time zone and script root, whether it is overdue, ticked or a culprit. A row
    whose order, shop or language changed has another key, so nothing shown is ever stale; the rows of a page
    seen before cost a key and a lookup each (~2 µs) instead of their values worked out and the template's row
    (~60 µs). Bounded: cleared when full."""

    LIMIT = 20_000  # ~1 MB of rows

    def __init__(self) -> None:
        self.html: dict[tuple, Markup] = {}

    def __call__(
        self,
        rows,
        shop_names: dict[int, str],
        status_labels: dict[str, str],
        selected: Collection[int],
        culprits: Collection[int],
    ) -> list[Markup]:
        now, open_states = utcnow(), orders.OPEN_STATES
        page = (str(get_locale()), str(get_timezone()), request.script_root)
        html, result, missing, width = self.html, [], [], len(_QUEUE_COLUMNS)
        for row in rows:
            columns = row[:width]  # a plain tuple: a Row compares with another in Python (~0.5 µs)
            order_id, shop_id, status, ship_by = row[0], row[1], row[3], row[4]
            key = (
                columns,
                shop_names[shop_id],
                page,
                status in open_states and ship_by < now,
                order_id in selected,
                order_id in culprits,
            )
            fragment = html.get(key)
            if fragment is None:
                missing.append((len(result), key, row))
            result.append(fragment)
        if missing:
            if len(html) + len(missing) > self.LIMIT:
                html.clear()
            macro = current_app.jinja_env.get_template("courier/_queue_row.html").module.queue_row
            values = _queue_rows([row for _index, _key, row in missing], shop_names, status_labels, now)
            for (index, key, _row), row_values in zip(missing, values, strict=True):
                fragment = html[key] = macro(row_values, key[4], key[5])  # Markup: the macro escaped it
                result[index] = fragment
        return result


_row_html = _RowHtml()


def _queue_rows(rows, shop_names: dict[int, str], status_labels: dict[str, str], now: datetime) -> list[_QueueRow]:
    """The page's rows, masked; detail links from one url_for per shop (url_for_ids), times from _short_times.
    The rows are unpacked by position (_QUEUE_COLUMNS, perhaps a count): a Row's attribute costs ~0.5 µs."""
    short_time = _short_times()
    detail_urls: dict[int, Callable[[int], str]] = {}
    queue_rows = []
    for (
        order_id,
        shop_id,
        number,
        status,
        ship_by,
        name,
        phone,
        province,
        city,
        district,
        flagged,
        tracking,
        *_count,
    ) in rows:
        detail_url = detail_urls.get(shop_id)
        if detail_url is None:
            detail_url = detail_urls[shop_id] = url_for_ids("courier.order_detail", "order_id", shop_id=shop_id)
        queue_rows.append(
            _QueueRow(  # (by position: this runs 50 times a page)
                order_id,
                number,
                shop_names[shop_id],
                detail_url(order_id),
                status,
                status_labels.get(status, status),
                short_time(ship_by),
                status in orders.OPEN_STATES and ship_by < now,
                not (status == OrderStatus.PENDING and flagged),
                privacy.mask_name(name),
                privacy.mask_phone(phone),
                flagged,
                "" if flagged else regions.destination(province, city, district),
                tracking or "",
            )
        )
    return queue_rows


class _ShortTimes:
    """Babel's "short" date and time of a moment in one language and zone (what the datetime filter writes),
    remembered by the minute: a short time shows no seconds, and a zone's offset changes only on a minute,
    so every moment of one UTC minute reads the same. Babel writes each minute once (~25 µs, ~1 ms a page
    of 50 rows); the rows then cost a dict lookup. Bounded: cleared when full."""

    LIMIT = 20_000  # ~14 days of distinct minutes; pending orders' deadlines span a few

    def __init__(self, locale, zone) -> None:
        self.locale, self.zone = locale, zone
        self.texts: dict[int, str] = {}

    def __call__(self, moment: datetime) -> str:
        if moment.tzinfo is None or moment.year < 1980:  # naive: babel's reading; odd zone offsets until 1972
            return dates.format_datetime(moment, "short", tzinfo=self.zone, locale=self.locale)
        minute = int(moment.timestamp()) // 60
        text = self.texts.get(minute)
        if text is None:
            if len(self.texts) >= self.LIMIT:
                self.texts.clear()
            text = self.texts[minute] = dates.format_datetime(moment, "short", tzinfo=self.zone, locale=self.locale)
        return text


_SHORT_TIMES: dict[tuple[str, str], _ShortTimes] = {}


def _short_times() -> _ShortTimes:
    """The short-time formatter of this request's language and time zone."""
    locale, zone = get_locale(), get_timezone()
    key = (str(locale), str(zone))
    formatter = _SHORT_TIMES.get(key)
    if formatter is None:
        formatter = _SHORT_TIMES[key] = _ShortTimes(locale, zone)
    return formatter


def _queue_page(
    form: PrintForm | None = None,
    status: int = 200,
    error: str | None = None,
    selected: Collection[int] = (),
    culprits: Collection[int] = (),
):
    """Pending orders of one shop (?shop=) or of all my shops; buyer details masked.

    After a refused print job: the orders that were ticked stay ticked, and those that caused the refusal
    are marked.
    """
    grants = shops.active_grant_rows(current_user)  # read once for this request (the policy check read it)
    grant_shops = {grant.shop_id: grant for grant in grants}
    shop_id = request.args.get("shop", type=int)
    if shop_id is not None and shop_id not in grant_shops:
        raise NotFoundError(_("You have no sub-account in this shop."))
    shop_ids = [shop_id] if shop_id else list(grant_shops)
    state = request.args.get("status", OrderStatus.PENDING)
    # Searching by recipient only where every shop searched lets this courier see recipients:
    # otherwise a yes/no answer to "138..." would reveal the digits the list masks.
    search_recipient = all(grant_shops[shop_id_].view_recipient for shop_id_ in shop_ids)
    wanted = orders.OrderFilter(status=state, q=request.args.get("q", ""), search_recipient=search_recipient)
    page_no = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    query = orders.filtered_orders(shop_ids, wanted) if wanted.q else None  # else _PAGE_STATEMENTS
    page = _RowPage(
        page=page_no, per_page=QUEUE_PER_PAGE, error_out=False, select=query, shop_ids=shop_ids, status=state
    )
    # Whether any shown shop's grant has the switch: shops_where's answer, from the grants read above.
    shown = [grant_shops[id_] for id_ in shop_ids]
    allowed = {p: any(grant.allows(p) for grant in shown) for p in ("print_labels", "mark_shipped", "export_addresses")}
    form = form or PrintForm()
    form.scope.choices = _scope_choices()
    choices = None
    if allowed["print_labels"] and state == OrderStatus.PENDING:  # the print form is shown
        # Only the companies the grants name (one: preselected), with the numbers left in each shop.
        choices = printing.print_choices([grant for grant in shown if grant.print_labels])
        form.company.choices = [SelectChoice(c.code, _company_label(c)) for c in choices.companies]
        if len(choices.companies) == 1 and not form.company.data:  # one company: no wrong choice to make
            form.company.data = choices.companies[0].code
        if len(choices.companies) > 1:  # several: by default each job takes the company of its orders' shops
            form.company.choices.insert(0, SelectChoice("", _("The company your sub-account names in the shop")))
    if error:
        form.form_errors.append(error)
    shop_names = {id_: grant.shop.name for id_, grant in grant_shops.items()}
    status_labels = _status_labels()
    return render_template(
        "courier/queue.html",
        page=page,
        rows=Markup("").join(_row_html(page.items, shop_names, status_labels, set(selected), set(culprits))),
        grants=grant_shops,
        status_labels=status_labels,
        shop_url=url_for_ids("courier.queue", "shop", status=state),  # the shop buttons
        texts=_page_texts(),
        labels=_form_labels(),
        url=cached_url,  # the page's other links
        shop_id=shop_id,
        state=state,
        form=form,
        choices=choices,
        can_print=allowed["print_labels"],
        can_ship=allowed["mark_shipped"],
        can_export=allowed["export_addresses"],
    ), status


@per_language
def _status_labels() -> dict[str, str]:
    """Every state's name in this request's language, for the rows and the state tabs: translated once per language."""
    return {state.value: orders.status_label(state) for state in OrderStatus}


@per_language
def _page_texts() -> dict[str, Markup]:
    """The queue page's fixed texts in this request's language, as the template's ``_()`` writes them: translated
    once per language instead of eighteen times a page view."""
    texts = {
        "title": _("Pickup queue"),
        "shops": _("Shops"),  # ("All my shops" is the layout's: layout.all_shops)
        "print": _("Print labels"),
        "ship": _("Mark selected shipped"),
        "export_csv": _("Export selected (CSV)"),
        "export_xlsx": _("Export selected (XLSX)"),
        "select_all": _("Select all on this page"),
        "shop": _("Shop"),
        "number": _("Order number"),
        "state": _("State"),
        "ship_by": _("Ship by"),
        "recipient": _("Recipient"),
        "destination": _("Destination"),
        "tracking": _("Tracking number"),
        "nothing": _("Nothing waiting here."),
        "orders": _("%(n)d orders"),  # written with the count: texts.orders % {"n": total}
    }
    return as_written(texts)


@per_language
def _form_labels() -> dict[str, Markup]:
    """The print form's three labels as ``field.label(class_="form-label small")`` writes them: a label holds only
    the field's id and its translated text."""
    form = PrintForm(formdata=None)
    return {name: form[name].label(class_="form-label small") for name in ("company", "size", "scope")}


@per_language
def _scope_choices() -> list[SelectChoice]:
    """The print form's scopes with their labels in this request's language (lazy texts are translated on every
    view otherwise)."""
    return [replace(choice, label=str(choice.label)) for choice in PrintForm(formdata=None).scope.choices]


def _company_label(choice: printing.CompanyChoice) -> str:
    """A company of the print form with the numbers left in each shop: "中通快递 ZTO Express · Li's Tea: 4,990"."""
    locale = get_locale()
    left = "; ".join(f"{shop}: {_count_text(count, locale)}" for shop, count in choice.left)
    return _("%(company)s · numbers left: %(left)s", company=choice.label, left=left)


@functools.lru_cache(maxsize=4096)
def _count_text(count: int, locale) -> str:
    """flask_babel.format_number's answer, kept: the print form writes each shop's numbers left on every page view
    (Babel takes ~30 µs a number), and they change only as labels print."""
    return numbers.format_decimal(count, locale=locale)


@bp.get("/queue")
def queue():
    return _queue_page()


def _orders_to_print(form: PrintForm, company) -> list[int]:
    """The orders the print form names: the ticked ones, or all pending in this shop or in all my shops
    (where my sub-account names the chosen company)."""
    if form.scope.data == "selected":
        return ids_from(request.form.getlist("order_ids"))
    grants = [grant for grant in shops.active_grant_rows(current_user) if grant.print_labels]
    shop_id = request.form.get("shop", type=int)
    if form.scope.data == "shop" and shop_id in {grant.shop_id for grant in grants}:
        return printing.pending_order_ids([shop_id])
    return printing.pending_order_ids(
        grant.shop_id for grant in grants if company is None or grant.company_id == company.id
    )


@bp.post("/print-jobs")
def print_job_new():
    """Numbers for the chosen orders, then the job's page. Over CONFIRM_OVER labels, the count is confirmed
    first (nothing is taken until then); a refusal shows the queue again with the selection kept."""
    form = PrintForm()
    order_ids: list[int] = []
    try:
        company = waybills.chosen_company(form.company.data) if form.company.data else None
        order_ids = _orders_to_print(form, company)
        plan = printing.check_print_job(
            _actor(),
            order_ids,
            allowed_shop_ids=shops_where(current_user, "print_labels"),
            company=company,
            size=form.size.data,
        )
        if plan.count > printing.CONFIRM_OVER and request.form.get("confirm_count") != str(plan.count):
            return render_template("courier/print_confirm.html", plan=plan, shop_id=request.args.get("shop", type=int))
        job = printing.run_print_job(_actor(), plan)
    except DomainError as error:
        db.session.rollback()
        ticked = order_ids if form.scope.data == "selected" else ()
        culprits = getattr(error, "order_ids", ())
        return _queue_page(form, status=error.status, error=error.message, selected=ticked, culprits=culprits)
    db.session.commit()
    return redirect(url_for("courier.print_job_summary", job_id=job.id))


def _summary_page(job, form: PagesReprintForm | None = None, status: int = 200):
    return render_template(
        "courier/print_job_summary.html", summary=printing.job_summary(job), form=form or PagesReprintForm()
    ), status


@bp.get("/print-jobs/<int:job_id>/summary")
def print_job_summary(job_id: int):
    """The job's page: its labels to open and print, its PDF, ZPL and TSPL, a summary, and reprinting pages."""
    return _summary_page(resolved("job"))


@bp.post("/print-jobs/<int:job_id>/reprint")
def print_job_reprint(job_id: int):
    """Some pages of the job again (those that jammed), same numbers, as a reprint job; the reason is logged."""
    job = resolved("job")
    form = PagesReprintForm()
    try:
        again = printing.reprint_pages(job, form.pages.data or "", actor=_actor(), reason=form.reason.data or "")
    except DomainError as error:
        failed(form, error)
        return _summary_page(job, form, status=error.status)
    db.session.commit()
    return redirect(url_for("courier.print_job_summary", job_id=again.id))


@bp.get("/print-jobs/<int:job_id>")
def print_job(job_id: int):
    """The labels as one HTML page that prints itself: one label per page."""
    page = labels.render_html(
        printing.job_labels(resolved("job")), script_url=url_for("static", filename="js/autoprint.js")
    )
    return job_response(page, "text/html")


@bp.get("/print-jobs/<int:job_id>.pdf")
def print_job_pdf(job_id: int):
    return job_response(
        labels.render_pdf(printing.job_labels(resolved("job"))), "application/pdf", f"labels-{job_id}.pdf"
    )


@bp.get("/print-jobs/<int:job_id>.zpl")
def print_job_zpl(job_id: int):
    return job_response(
        labels.render_zpl(printing.job_labels(resolved("job"))), "application/zpl", f"labels-{job_id}.zpl"
    )


@bp.get("/print-jobs/<int:job_id>.tspl")
def print_job_tspl(job_id: int):
    """TSPL (GB18030) for the Gprinter, Xprinter and HPRT thermal printers most couriers use."""
    return job_response(
        labels.render_tspl(printing.job_labels(resolved("job"))), "application/tspl", f"labels-{job_id}.tspl"
    )


def full_details_allowed(order: Order, grant) -> bool:
    """Full recipient details: with the grant's switch, while unshipped and for the shop's days after."""
    return grant.view_recipient and orders.details_open_to_couriers(order)


def _order_page(order: Order, reprint_form=None, void_form=None, status: int = 200):
    """One order as this courier may see it; a view of full recipient details is audited."""
    full = full_details_allowed(order, g.grant)
    if full:
        audit.record("recipient_viewed", actor=_actor(), shop=order.shop, target=order.platform_order_no)
        db.session.commit()
    return render_template(
        "courier/order_detail.html",
        shop=order.shop,
        order=order,
        grant=g.grant,
        full=full,
        history=printing.print_history(order),
        reprint_form=reprint_form or ReprintForm(),
        void_form=void_form or VoidForm(),
    ), status


@bp.get("/shops/<int:shop_id>/orders/<int:order_id>")
def order_detail(shop_id: int, order_id: int):
    return _order_page(resolved("order"))


@bp.post("/shops/<int:shop_id>/orders/<int:order_id>/reprint")
def order_reprint(shop_id: int, order_id: int):
    """The same number printed again; the reason is logged."""
    order = resolved("order")
    form = ReprintForm()
    try:
        job = printing.reprint(order, actor=_actor(), reason=form.reason.data or "", size=form.size.data)
    except DomainError as error:
        failed(form, error)
        return _order_page(order, reprint_form=form, status=error.status)
    db.session.commit()
    return redirect(url_for("courier.print_job_summary", job_id=job.id))


@bp.post("/shops/<int:shop_id>/orders/<int:order_id>/void")
def order_void(shop_id: int, order_id: int):
    """Void the label: its number is never used again; the order waits for a new label."""
    order = resolved("order")
    form = VoidForm()
    try:
        printing.void_label(order, actor=_actor(), reason=form.reason.data or "")
    except DomainError as error:
        failed(form, error)
        return _order_page(order, void_form=form, status=error.status)
    db.session.commit()
    flash(_("Label voided; the order is pending again."), "info")
    return redirect(url_for("courier.order_detail", shop_id=shop_id, order_id=order_id))


@bp.route("/pickup", methods=["GET", "POST"])
def pickup_start():
    """Pick the shop whose parcels you collect now (or go on with your open pickup there)."""
    allowed = shops_where(current_user, "mark_shipped")
    if request.method == "POST":
        shop_id = request.form.get("shop", type=int)
        if shop_id is None:
            raise InvalidDataError(_("Choose the shop you are collecting at."))
        if shop_id not in allowed:
            raise NotFoundError(_("You may not mark parcels shipped in this shop."))
        pickup = scanning.start_pickup(db.session.get(Shop, shop_id), courier=_actor())
        db.session.commit()
        return redirect(url_for("courier.pickup", pickup_id=pickup.id))
    grants = [grant for grant in shops.active_grant_rows(current_user) if grant.shop_id in allowed]
    return render_template("courier/pickup_start.html", grants=grants, waiting=scanning.waiting_by_shop(allowed))


def _pickup_page(pickup_id: int, status: int = 200, count: int | None = None, **result):
    if request.headers.get("HX-Request"):  # the scan's answer swapped into the page: needs no pickup object
        # "of N" comes back from the page's form: a shipped scan moves a parcel from waiting to scanned, so N
        # holds while scanning, and counting the shop's waiting parcels on every scan would halve the scan rate.
        context = {"count": scanning.scanned_count(pickup_id) if count is None else count, **result}
        if (expected := request.form.get("expected", type=int)) is not None:
            context["expected"] = max(expected, context["count"])
        return render_template("courier/_pickup_result.html", scan_texts=_scan_texts(), **context), status
    pickup = resolved("pickup")
    progress = scanning.pickup_progress(pickup)
    return render_template(
        "courier/pickup.html",
        pickup=pickup,
        progress=progress,
        count=progress.scanned,
        expected=progress.expected,
        scan_texts=_scan_texts(),
        **result,
    ), status


@per_language
def _scan_texts() -> dict[str, Markup]:
    """A scan's answer's fixed texts (courier/_pickup_result.html) in this request's language: a courier scans many
    times a minute; translated once."""
    fixed = {"of": _("of %(n)d"), "parcels": _("parcels in this pickup"), "waiting": _("Waiting for a scan.")}
    return as_written(fixed)


@bp.get("/pickups/<int:pickup_id>")
def pickup(pickup_id: int):
    """The scan page, made for a phone: each scan ships that parcel; a running count."""
    return _pickup_page(pickup_id)


@bp.post("/pickups/<int:pickup_id>/scan")
def pickup_scan(pickup_id: int):
    """One scan, one transaction; the policy check (pickup's courier, ship switch) ran before, read fresh."""
    try:
        result = scanning.ship_scan(
            pickup_id,
            request.form.get("code", ""),
            actor_id=current_user.id,
            client_scan_id=request.form.get("scan_id") or None,
        )
    except DomainError as error:
        db.session.rollback()
        return _pickup_page(pickup_id, status=error.status, outcome="error", message=error.message)
    db.session.commit()
    outcome = "shipped" if result.shipped else "already"  # a retry of the same scan id answers as the first time
    return _pickup_page(pickup_id, count=result.count, outcome=outcome, message=result.message)


@bp.post("/pickups/<int:pickup_id>/scans")
def pickup_scans(pickup_id: int):
    """The phone's offline queue, replayed in order; each scan is its own transaction, as a single scan is."""
    queue = scanning.read_queue(request.get_json(silent=True))
    pickup = resolved("pickup")
    actor_id, shop_name = current_user.id, pickup.shop.name  # read once: each commit expires the objects
    results = []
    for scan in queue:
        result = scanning.replay_scan(pickup_id, shop_name, scan, actor_id=actor_id)
        if result.status == "shipped":
            db.session.commit()
        else:
            db.session.rollback()
        results.append(asdict(result))
    return {"results": results}


@bp.post("/pickups/<int:pickup_id>/end")
def pickup_end(pickup_id: int):
    """End the pickup; with parcels still waiting, first list them and ask (a second POST with confirm=1)."""
    pickup = resolved("pickup")
    left = scanning.end_pickup(pickup, actor=_actor(), confirmed=request.form.get("confirm") == "1")
    if pickup.ended_at is None:
        return _pickup_page(pickup_id, confirm_end=True)
    db.session.commit()
    if left:
        flash(_("Pickup ended. Not handed over: %(n)d.", n=len(left)), "warning")
    return redirect(url_for("courier.handover", pickup_id=pickup_id))


@bp.get("/pickups/<int:pickup_id>/handover")
def handover(pickup_id: int):
    """The printable handover list (交接单): shop, courier, time, every number, the count, signatures."""
    pickup = resolved("pickup")
    return render_template(
        "pickups/handover.html",
        pickup=pickup,
        lines=scanning.handover_lines(pickup),
        left=scanning.pickup_progress(pickup).waiting,
    )


@bp.post("/ship-selected")
def ship_selected():
    """Batch "mark shipped" from the queue, as far as each shop's grant and pickup rule allow."""
    outcomes = scanning.ship_orders(ids_from(request.form.getlist("order_ids")), actor=_actor(), via="page")
    db.session.commit()
    results = [outcome.result for outcome in outcomes]
    counts = {
        "shipped": results.count("shipped"),
        "already": results.count("already_shipped"),
        "refused": results.count("refused") + results.count("not_found"),
    }
    flash(
        _(
            "%(shipped)d shipped, %(already)d had already shipped, %(refused)d could not ship (not packed, "
            "cancelled, no label, or not allowed).",
            **counts,
        ),
        "info" if not counts["refused"] else "warning",
    )
    return redirect(url_for("courier.queue", status="shipped" if counts["shipped"] else request.form.get("status")))


@bp.post("/exports")
def export_addresses():
    """The selected orders' addresses as CSV (Excel-ready, UTF-8 with BOM) or XLSX; every export is audited."""
    allowed = shops_where(current_user, "export_addresses")
    ids = ids_from(request.form.getlist("order_ids"))
    if not ids:
        raise InvalidDataError(_("Select the orders to export."))
    selected = db.session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.shop_id, Order.id)).all()
    if len(selected) != len(set(ids)) or any(order.shop_id not in allowed for order in selected):
        raise NotFoundError(_("Some of these orders are not in a shop where you may export addresses."))
    closed = next((order for order in selected if not orders.details_open_to_couriers(order)), None)
    if closed is not None:
        raise ConflictError(
            _(
                "Order %(no)s shipped more than %(days)d days ago: "
                "its recipient details are no longer open to couriers.",
                no=closed.platform_order_no,
                days=closed.shop.detail_days,
            )
        )
    fmt = "xlsx" if request.form.get("format") == "xlsx" else "csv"
    body, mimetype = exports.export_selection(selected, actor=_actor(), fmt=fmt)
    db.session.commit()
    response = Response(body, mimetype=mimetype)
    stamp = utcnow().strftime("%Y%m%d%H%M")
    response.headers["Content-Disposition"] = f'attachment; filename="addresses-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
