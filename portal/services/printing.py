"""Print jobs: numbers for a selection of orders, the labels to print, reprints, voids, history."""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select

from portal.extensions import db
from portal.models import (
    CourierCompany,
    CourierGrant,
    Order,
    OrderStatus,
    PrintedLabel,
    PrintJob,
    Shop,
    User,
    Waybill,
    WaybillRange,
    WaybillStatus,
)
from portal.services import audit, labels, orders, reveal, shops, waybills
from portal.services.errors import ConflictError, DomainError, InvalidDataError, NotFoundError

MAX_LABELS_PER_JOB = 2000
# A job of more labels than this asks the person to confirm the count before any number is taken.
CONFIRM_OVER = 100


@dataclass(frozen=True)
class JobLabels:
    job: PrintJob
    labels: list[labels.LabelData]


@dataclass(frozen=True)
class PrintPlan:
    """A print job checked and ready to run (check_print_job): nothing is allocated yet."""

    order_ids: list[int]  # in print order, without repeats
    by_shop: dict[int, list[int]]  # shop id -> its orders, in print order
    shops: dict[int, Shop]
    company: CourierCompany
    size: str
    ranges: dict[int, WaybillRange]  # shop id -> the range its numbers come from

    @property
    def count(self) -> int:
        return len(self.order_ids)


def refused(error: DomainError, order_ids: Iterable[int]) -> DomainError:
    """``error``, naming the orders that caused it in ``error.order_ids`` (a page marks them)."""
    error.order_ids = list(order_ids)
    return error


def check_print_job(
    actor: User,
    order_ids: list[int],
    *,
    allowed_shop_ids: set[int],
    company: CourierCompany | None,
    size: str,
) -> PrintPlan:
    """Everything a print job needs, checked without taking a number: the one check the pages and the API
    go through (create_print_job runs it too).

    The company is the one the actor's sub-account names in each shop: ``company`` None takes it from
    those grants; another company is refused. (Someone printing in a shop without a grant there, such as
    the shop's own people, uses any company the shop holds ranges of.) Each refusal names the orders that
    caused it in ``error.order_ids``.

    :raise InvalidDataError: no orders, too many, unknown size, an address that must be fixed first, a
        company other than the grant's, no company given while the shops' grants name different ones, a
        company no longer offered.
    :raise NotFoundError: an order that does not exist or is in a shop where the actor may not print.
    :raise ConflictError: an order not pending (already labelled, shipped, cancelled), a grant that names
        no company yet, or no range of the company with enough numbers left in a shop.
    """
    order_ids = list(dict.fromkeys(order_ids))
    if not order_ids:
        raise InvalidDataError(_("Select at least one order to print."))
    if len(order_ids) > MAX_LABELS_PER_JOB:
        raise InvalidDataError(_("At most %(n)d labels in one job.", n=MAX_LABELS_PER_JOB))
    if size not in labels.LABEL_SIZES:
        raise InvalidDataError(_("Unknown label size."))
    found = db.session.execute(
        select(Order.id, Order.shop_id, Order.status, Order.address_flagged, Order.platform_order_no).where(
            Order.id.in_(order_ids)
        )
    ).all()
    by_id = {order.id: order for order in found}
    missing = [i for i in order_ids if i not in by_id or by_id[i].shop_id not in allowed_shop_ids]
    if missing:
        raise refused(
            NotFoundError(_("Order #%(id)d is not in a shop where you may print labels.", id=missing[0])), missing
        )
    listed = [by_id[order_id] for order_id in order_ids]
    not_pending = [order for order in listed if order.status != OrderStatus.PENDING]
    if not_pending:
        first = not_pending[0]
        message = _(
            "Order %(no)s is %(status)s: only pending orders get a new label. Nothing was printed.",
            no=first.platform_order_no,
            status=orders.status_label(first.status),
        )
        raise refused(ConflictError(message), [order.id for order in not_pending])
    flagged = [order for order in listed if order.address_flagged]
    if flagged:
        message = _(
            "The address of order %(no)s could not be placed: the seller must fix it first. Nothing was printed.",
            no=flagged[0].platform_order_no,
        )
        raise refused(InvalidDataError(message), [order.id for order in flagged])
    by_shop: dict[int, list[int]] = defaultdict(list)
    for order in listed:
        by_shop[order.shop_id].append(order.id)
    shops_by_id = {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_(by_shop)))}
    company = _job_company(actor, shops_by_id, by_shop, company)
    ranges = {}
    for shop_id, shop_order_ids in by_shop.items():
        try:
            ranges[shop_id] = _range_with(shops_by_id[shop_id], company, len(shop_order_ids))
        except DomainError as error:
            raise refused(error, shop_order_ids) from None
    return PrintPlan(order_ids, dict(by_shop), shops_by_id, company, size, ranges)


def _job_company(
    actor: User, shops_by_id: dict[int, Shop], by_shop: dict[int, list[int]], company: CourierCompany | None
) -> CourierCompany:
    """The job's company: the one the actor's grants name in these shops (``company``, if given, must be it).

    :raise ConflictError: a grant names no company. :raise InvalidDataError: another company than a grant's,
        none given and the grants name several, none given and no grant names one, a company no longer offered.
    """
    grants: dict[int, CourierGrant] = {grant.shop_id: grant for grant in shops.active_grants(actor)}
    named: dict[int, CourierCompany] = {}
    for shop_id, shop_order_ids in by_shop.items():
        grant = grants.get(shop_id)
        if grant is None:
            continue  # not their courier (the caller's allowed_shop_ids let them print): any company of the shop
        if grant.company_id is None:
            message = _(
                "%(shop)s has not named your courier company on your sub-account: ask the seller to choose it. "
                "Nothing was printed.",
                shop=shops_by_id[shop_id].name,
            )
            raise refused(ConflictError(message, {"company": message}), shop_order_ids)
        named[shop_id] = grant.company
    if company is None:
        distinct = {named_company.id: named_company for named_company in named.values()}
        if len(distinct) > 1:
            message = _(
                "The selected orders are in shops where your sub-accounts name different courier companies: "
                "%(shops)s. Print each company's orders in a job of its own.",
                shops="; ".join(
                    f"{shops_by_id[shop_id].name}: {named_company.name}" for shop_id, named_company in named.items()
                ),
            )
            everything = [order_id for shop_order_ids in by_shop.values() for order_id in shop_order_ids]
            raise refused(InvalidDataError(message, {"company": message}), everything)
        if not distinct:
            message = _("Choose a courier company.")
            raise InvalidDataError(message, {"company": message})
        company = next(iter(distinct.values()))
    for shop_id, named_company in named.items():
        if named_company.id != company.id:
            message = _(
                "Your sub-account in %(shop)s prints with %(named)s, not %(company)s: you may only use %(named)s "
                "numbers there. Nothing was printed.",
                shop=shops_by_id[shop_id].name,
                named=named_company.name,
                company=company.name,
            )
            raise refused(InvalidDataError(message, {"company": message}), by_shop[shop_id])
    if not company.active:
        message = _("%(company)s is not offered any more.", company=company.code)
        raise InvalidDataError(message, {"company": message})
    return company


def create_print_job(
    actor: User, order_ids: list[int], *, allowed_shop_ids: set[int], company: CourierCompany | None, size: str
) -> PrintJob:
    """Give each order the next number of its shop's range for the company, label them, record the job.

    Checked first by check_print_job (see there for the company and what is refused). All or nothing: if
    any order cannot be printed, or a shop's ranges do not hold enough numbers, no order gets a number
    (the caller rolls back).
    """
    plan = check_print_job(actor, order_ids, allowed_shop_ids=allowed_shop_ids, company=company, size=size)
    return run_print_job(actor, plan)


def run_print_job(actor: User, plan: PrintPlan) -> PrintJob:
    """Take the numbers of a checked plan (check_print_job), label its orders, record the job.

    :raise ConflictError: a range ran out since the check (another job took its numbers); nothing is kept.
    """
    company, order_ids = plan.company, plan.order_ids
    job = PrintJob(actor_id=actor.id, company_id=company.id, size=plan.size, label_count=len(order_ids))
    db.session.add(job)
    db.session.flush()
    numbers: dict[int, str] = {}
    label_rows = []
    for shop_id, shop_order_ids in plan.by_shop.items():
        shop = plan.shops[shop_id]
        waybill_range = plan.ranges[shop_id]
        for waybill in waybills.allocate_numbers(
            waybill_range, len(shop_order_ids), shop=shop, order_ids=shop_order_ids, actor=actor
        ):
            numbers[waybill.order_id] = waybill.tracking_no
            label_rows.append(
                {"job_id": job.id, "order_id": waybill.order_id, "shop_id": shop_id, "waybill_id": waybill.id}
            )
        audit.record(
            "labels_printed",
            actor=actor,
            shop=shop,
            target=f"job {job.id}",
            count=len(shop_order_ids),
            company=company.code,
        )
    orders.label_orders(numbers, courier_code=company.code, actor=actor)
    position = {order_id: index for index, order_id in enumerate(order_ids)}
    for row in label_rows:
        row["position"] = position[row["order_id"]]
    db.session.execute(insert(PrintedLabel), label_rows)
    return job


def _range_with(shop: Shop, company: CourierCompany, needed: int):
    """The shop's oldest range of this company with enough numbers left.

    :raise ConflictError: none has enough (the message names what is left).
    """
    ranges = waybills.ranges_of(shop, company)
    for waybill_range in ranges:
        if waybills.remaining(waybill_range) >= needed:
            return waybill_range
    if not ranges:
        raise ConflictError(
            _(
                "%(shop)s has no %(company)s number range: the seller must record one. Nothing was printed.",
                shop=shop.name,
                company=company.name,
            )
        )
    best = max(ranges, key=waybills.remaining)
    if waybills.remaining(best) == 0:
        raise ConflictError(
            _(
                "%(shop)s has no %(company)s numbers left: the seller must record a new range. Nothing was printed.",
                shop=shop.name,
                company=company.name,
            )
        )
    raise ConflictError(
        _(
            "%(shop)s: the %(company)s range %(range)s has %(left)d numbers left and %(count)d are needed. "
            "Nothing was printed.",
            shop=shop.name,
            company=company.name,
            range=waybills.range_label(best),
            left=waybills.remaining(best),
            count=needed,
        )
    )


def job_shop_ids(job: PrintJob) -> set[int]:
    return set(db.session.scalars(select(PrintedLabel.shop_id).where(PrintedLabel.job_id == job.id).distinct()))


# What a label shows of an order, read as plain rows: a 1,000-label job builds no ORM objects.
LABEL_COLUMNS = (
    Order.platform_order_no,
    Order.recipient_name,
    Order.recipient_phone,
    Order.province,
    Order.city,
    Order.district,
    Order.address_detail,
    Order.address_raw,
    Order.buyer_message,
    Order.item_summary,
    Order.item_count,
)


def job_labels(job: PrintJob) -> list[labels.LabelData]:
    """The job's labels in print order, built from the orders and numbers as they are now.

    Each carries the URL of its QR code (services/reveal.py), absolute: PORTAL_PUBLIC_URL when set (the label
    travels to an outlet that may not reach the address this page was opened at), else this request's host.
    """
    rows = db.session.execute(
        select(PrintedLabel.shop_id, PrintedLabel.reveal_token, Waybill.tracking_no, *LABEL_COLUMNS)
        .join(Order, Order.id == PrintedLabel.order_id)
        .join(Waybill, Waybill.id == PrintedLabel.waybill_id)
        .where(PrintedLabel.job_id == job.id)
        .order_by(PrintedLabel.position, PrintedLabel.id)
    ).all()
    shops = {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_({r.shop_id for r in rows})))}
    courier_name = job.company.name_zh or job.company.name
    # One url_for per job, split around a stand-in (tokens are URL-safe: nothing to quote). Outside a request
    # (a CLI run) url_for has no host: no QR code.
    reveal_prefix = reveal_suffix = None
    if has_request_context():
        reveal_prefix, reveal_suffix = reveal.address_parts()
    return [
        labels.build_label_data(
            row,
            shops[row.shop_id],
            tracking_no=row.tracking_no,
            courier_code=job.company.code,
            courier_name=courier_name,
            size=job.size,
            printed_at=job.created_at,
            reprint=bool(job.reprint_reason),
            reveal_url=f"{reveal_prefix}{row.reveal_token}{reveal_suffix}" if reveal_prefix is not None else "",
        )
        for row in rows
    ]


def active_waybill(order: Order) -> Waybill | None:
    return db.session.scalar(
        select(Waybill).where(Waybill.order_id == order.id, Waybill.status == WaybillStatus.ALLOCATED)
    )


def reprint(order: Order, *, actor: User, reason: str, size: str) -> PrintJob:
    """Print the order's label again with the same number; the reason is required and logged.

    :raise InvalidDataError: no reason, unknown size. :raise ConflictError: the order has no label.
    """
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why the label is printed again.")
        raise InvalidDataError(message, {"reason": message})
    if size not in labels.LABEL_SIZES:
        raise InvalidDataError(_("Unknown label size."))
    waybill = active_waybill(order)
    if waybill is None or order.status not in (OrderStatus.LABELLED, OrderStatus.PACKED):
        raise ConflictError(_("Order %(no)s has no label to print again.", no=order.platform_order_no))
    job = PrintJob(
        actor_id=actor.id, company_id=waybill.company_id, size=size, label_count=1, reprint_reason=reason[:300]
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(PrintedLabel(job_id=job.id, order_id=order.id, shop_id=order.shop_id, waybill_id=waybill.id))
    audit.record(
        "label_reprinted",
        actor=actor,
        shop=order.shop,
        target=order.platform_order_no,
        tracking_no=waybill.tracking_no,
        reason=reason[:300],
    )
    return job


def void_label(order: Order, *, actor: User, reason: str) -> None:
    """Void the order's number (never reused); the order goes back to pending for a new label.

    :raise InvalidDataError: no reason. :raise ConflictError: nothing to void, or the order moved on.
    """
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why the label is voided.")
        raise InvalidDataError(message, {"reason": message})
    waybill = active_waybill(order)
    if waybill is None:
        raise ConflictError(_("Order %(no)s has no label to void.", no=order.platform_order_no))
    orders.transition(order, "unlabel", actor=actor, note=reason, tracking_no=None, courier_company="")
    waybills.void(waybill, actor=actor, reason=reason)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    tracking_no: str
    job_id: int
    actor: str
    reprint_reason: str
    voided: bool


def print_history(order: Order) -> list[HistoryLine]:
    rows = db.session.execute(
        select(PrintJob, Waybill)
        .join(PrintedLabel, PrintedLabel.job_id == PrintJob.id)
        .join(Waybill, Waybill.id == PrintedLabel.waybill_id)
        .where(PrintedLabel.order_id == order.id)
        .order_by(PrintJob.id)
    ).all()
    return [
        HistoryLine(
            job.created_at,
            waybill.tracking_no,
            job.id,
            job.actor.username,
            job.reprint_reason,
            waybill.status == WaybillStatus.VOIDED,
        )
        for job, waybill in rows
    ]


# The print form and the job page -----------------------------------------------------------------


@dataclass(frozen=True)
class CompanyChoice:
    """A company the print form offers: one the person's grants name, with the numbers left in each shop."""

    code: str
    label: str
    left: list[tuple[str, int]]  # (shop name, numbers left there), by shop name


@dataclass(frozen=True)
class PrintChoices:
    companies: list[CompanyChoice]  # by code
    notes: list[str]  # each shop where nothing can print, and why (naming the shop and the company)


def _choices_statement():
    """The companies a print form may offer and the numbers left in each of the shops asked, in one statement
    built once: each company named (its columns), outer-joined to its ranges in those shops, summed by shop. A
    company with no range there comes back once, with no shop and nothing left."""
    company, ranges = CourierCompany.__table__, WaybillRange.__table__
    return (
        select(
            company.c.id,
            company.c.code,
            company.c.name,
            company.c.name_zh,
            company.c.active,
            ranges.c.shop_id,
            func.sum(WaybillRange.remaining),
        )
        .select_from(
            company.outerjoin(
                ranges,
                (ranges.c.company_id == company.c.id) & ranges.c.shop_id.in_(bindparam("shop_ids", expanding=True)),
            )
        )
        .where(company.c.id.in_(bindparam("company_ids", expanding=True)))
        .group_by(company.c.id, company.c.code, company.c.name, company.c.name_zh, company.c.active, ranges.c.shop_id)
    )


_CHOICES = _choices_statement()


class _Company(NamedTuple):
    """The columns of a company the print form needs (CourierCompany.label's text)."""

    id: int
    code: str
    name: str
    active: bool
    label: str


def print_choices(grants: list[shops.ActiveGrant]) -> PrintChoices:
    """What the print form offers for these grants (with the print switch): the companies they name, never
    another, each with the numbers left in each shop; and a note for each shop that cannot print (no company
    named on the grant, a company no longer offered, no numbers left). One statement (_CHOICES), whatever the
    count, read fresh on every call: the numbers left change as labels print."""
    named = [grant for grant in grants if grant.company_id is not None]
    companies: dict[int, _Company] = {}
    left: dict[tuple[int, int], int] = {}
    if named:
        rows = db.session.connection().execute(  # plain rows: the session's ORM step has nothing to do here
            _CHOICES,
            {
                "company_ids": sorted({grant.company_id for grant in named}),
                "shop_ids": sorted({grant.shop_id for grant in named}),
            },
        )
        for company_id, code, name, name_zh, active, shop_id, count in rows:
            if company_id not in companies:
                companies[company_id] = _Company(company_id, code, name, active, CourierCompany.label_of(name_zh, name))
            if shop_id is not None:
                left[shop_id, company_id] = int(count)
    notes: list[str] = []
    shops_of: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for grant in sorted(grants, key=lambda grant: (grant.shop.name, grant.shop_id)):
        if grant.company_id is None:
            notes.append(
                _(
                    "%(shop)s has not named your courier company on your sub-account: ask the seller to choose "
                    "it. Until then you cannot print there.",
                    shop=grant.shop.name,
                )
            )
            continue
        company = companies[grant.company_id]
        if not company.active:
            notes.append(
                _(
                    "%(shop)s: %(company)s is not offered any more: ask the seller to choose your company again.",
                    shop=grant.shop.name,
                    company=company.name,
                )
            )
            continue
        count = left.get((grant.shop_id, company.id), 0)
        shops_of[company.id].append((grant.shop.name, count))
        if count == 0:
            notes.append(
                _(
                    "%(shop)s has no %(company)s numbers left: ask the seller to record a new range.",
                    shop=grant.shop.name,
                    company=company.name,
                )
            )
    choices = [
        CompanyChoice(company.code, company.label, shops_of[company.id])
        for company in sorted((companies[company_id] for company_id in shops_of), key=lambda c: c.code)
    ]
    return PrintChoices(choices, notes)


def pending_order_ids(shop_ids: Iterable[int]) -> list[int]:
    """The pending orders of these shops that can be printed (address placed), most urgent first, at most a job."""
    return list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.shop_id.in_(list(shop_ids)), Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False)
            )
            .order_by(Order.ship_by, Order.id)
            .limit(MAX_LABELS_PER_JOB)
        )
    )


@dataclass(frozen=True)
class JobSummary:
    job: PrintJob
    count: int
    shops: list[tuple[str, int]]  # (shop name, labels), by name
    company: CourierCompany
    size: str


def job_summary(job: PrintJob) -> JobSummary:
    """What the job's page says of it: how many labels, of which shops, which company, what size."""
    rows = db.session.execute(
        select(Shop.name, func.count(PrintedLabel.id))
        .join(PrintedLabel, PrintedLabel.shop_id == Shop.id)
        .where(PrintedLabel.job_id == job.id)
        .group_by(Shop.id, Shop.name)
        .order_by(Shop.name)
    ).all()
    return JobSummary(job, sum(n for _name, n in rows), [(name, n) for name, n in rows], job.company, job.size)


_PAGES = re.compile(r"(\d{1,9})(?:\s*[-–~]\s*(\d{1,9}))?")


def parse_pages(text: str, count: int) -> list[int]:
    """Page numbers (1 = the job's first label) from ``1,3,5-7``: commas (or 、，；) between, ranges with ``-``.

    Returns them ascending, each once.

    :raise InvalidDataError: (on ``pages``) nothing given, a part that is neither a page nor a range (``1-``,
        ``a``), a range written backwards, a page outside 1..count (``0``, ``9999``); the message names it.
    """

    def bad(message: str) -> InvalidDataError:
        return InvalidDataError(message, {"pages": message})

    parts = [part.strip() for part in re.split(r"[,，、;；]", text or "")]
    parts = [part for part in parts if part]
    if not parts:
        raise bad(_("Give the pages to print again, for example 1,3,5-7."))
    pages: set[int] = set()
    for part in parts:
        match = _PAGES.fullmatch(part)
        if match is None:
            raise bad(_("“%(part)s” is not a page number or a range of pages (for example 1,3,5-7).", part=part[:20]))
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        for page in (first, last):
            if not 1 <= page <= count:
                raise bad(
                    _("There is no page %(page)d in this job: it has pages 1 to %(count)d.", page=page, count=count)
                )
        if last < first:
            raise bad(_("“%(part)s” runs backwards: write the smaller page first.", part=part))
        pages.update(range(first, last + 1))
    return sorted(pages)


def reprint_pages(job: PrintJob, pages: str, *, actor: User, reason: str) -> PrintJob:
    """Print some pages of a job again (the labels that jammed), with the same numbers, as a new reprint job.

    ``pages`` as parse_pages reads it; the reason is required and logged (one audit event per shop).

    :raise InvalidDataError: pages not in the job or unreadable (naming the page), no reason.
    :raise ConflictError: a page whose number was voided since, or whose order moved on (shipped, cancelled).
    """
    rows = db.session.execute(
        select(
            PrintedLabel.order_id,
            PrintedLabel.shop_id,
            PrintedLabel.waybill_id,
            Waybill.status.label("waybill_status"),
            Waybill.tracking_no,
            Order.status,
            Order.platform_order_no,
        )
        .join(Order, Order.id == PrintedLabel.order_id)
        .join(Waybill, Waybill.id == PrintedLabel.waybill_id)
        .where(PrintedLabel.job_id == job.id)
        .order_by(PrintedLabel.position, PrintedLabel.id)
    ).all()
    chosen = parse_pages(pages, len(rows))
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why the label is printed again.")
        raise InvalidDataError(message, {"reason": message})
    for page in chosen:
        row = rows[page - 1]
        if row.waybill_status != WaybillStatus.ALLOCATED or row.status not in (
            OrderStatus.LABELLED,
            OrderStatus.PACKED,
        ):
            raise ConflictError(
                _(
                    "Page %(page)d (order %(no)s) has no label to print again: its number was voided or the order "
                    "moved on. Nothing was printed.",
                    page=page,
                    no=row.platform_order_no,
                )
            )
    again = PrintJob(
        actor_id=actor.id,
        company_id=job.company_id,
        size=job.size,
        label_count=len(chosen),
        reprint_reason=reason[:300],
    )
    db.session.add(again)
    db.session.flush()
    by_shop: dict[int, list] = defaultdict(list)
    for position, page in enumerate(chosen):
        row = rows[page - 1]
        db.session.add(
            PrintedLabel(
                job_id=again.id,
                order_id=row.order_id,
                shop_id=row.shop_id,
                waybill_id=row.waybill_id,
                position=position,
            )
        )
        by_shop[row.shop_id].append((page, row.tracking_no))
    for shop in db.session.scalars(select(Shop).where(Shop.id.in_(by_shop))):
        audit.record(
            "labels_reprinted",
            actor=actor,
            shop=shop,
            target=f"job {again.id}",
            source_job=job.id,
            pages=[page for page, _number in by_shop[shop.id]],
            tracking_nos=[number for _page, number in by_shop[shop.id]],
            reason=reason[:300],
        )
    db.session.flush()
    return again


# The shop's own people printing (the seller's thermal printer and ranges) ----------------------------------


def shop_print_choices(shop: Shop) -> list[CompanyChoice]:
    """The companies the shop holds ranges of (active ones), each with the numbers left, by code: what the seller's
    print form offers. A company with none left is still listed (its count says 0) so the refusal can say why."""
    left = waybills.numbers_left([shop.id])
    company_ids = {company_id for shop_id, company_id in left if shop_id == shop.id}
    companies = db.session.scalars(
        select(CourierCompany)
        .where(CourierCompany.id.in_(company_ids), CourierCompany.active)
        .order_by(CourierCompany.code)
    )
    return [CompanyChoice(c.code, c.label, [(shop.name, left[(shop.id, c.id)])]) for c in companies]


def set_staff_printing(staff, on: bool, *, actor: User) -> None:
    """Turn a seller staff member's "print labels" switch on or off; audited. It bites on their next request."""
    if staff.print_labels == on:
        return
    staff.print_labels = on
    audit.record("staff_print_switch", actor=actor, shop=staff.shop, target=staff.user.username, print_labels=on)
