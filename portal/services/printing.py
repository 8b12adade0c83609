"""Print jobs: numbers for a selection of orders, the labels to print, reprints, voids, history."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import insert, select

from portal.extensions import db
from portal.models import (
    CourierCompany,
    Order,
    OrderStatus,
    PrintedLabel,
    PrintJob,
    Shop,
    User,
    Waybill,
    WaybillStatus,
)
from portal.services import audit, labels, orders, waybills
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

MAX_LABELS_PER_JOB = 2000


@dataclass(frozen=True)
class JobLabels:
    job: PrintJob
    labels: list[labels.LabelData]


def create_print_job(
    actor: User, order_ids: list[int], *, allowed_shop_ids: set[int], company: CourierCompany, size: str
) -> PrintJob:
    """Give each order the next number of its shop's range for this company, label them, record the job.

    All or nothing: if any order cannot be printed, or a shop's ranges do not hold enough numbers,
    no order gets a number (the caller rolls back).

    :raise InvalidDataError: no orders, too many, unknown size, an address that must be fixed first.
    :raise NotFoundError: an order that does not exist or is in a shop where the actor may not print.
    :raise ConflictError: an order not pending (already labelled, shipped, cancelled), or no range
        of this company with enough numbers left in a shop.
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
    for order_id in order_ids:
        order = by_id.get(order_id)
        if order is None or order.shop_id not in allowed_shop_ids:
            raise NotFoundError(_("Order #%(id)d is not in a shop where you may print labels.", id=order_id))
    for order in found:
        if order.status != OrderStatus.PENDING:
            raise ConflictError(
                _(
                    "Order %(no)s is %(status)s: only pending orders get a new label. Nothing was printed.",
                    no=order.platform_order_no,
                    status=orders.status_label(order.status),
                )
            )
        if order.address_flagged:
            raise InvalidDataError(
                _(
                    "The address of order %(no)s could not be placed: the seller must fix it first. "
                    "Nothing was printed.",
                    no=order.platform_order_no,
                )
            )
    by_shop: dict[int, list[int]] = defaultdict(list)
    for order_id in order_ids:
        by_shop[by_id[order_id].shop_id].append(order_id)

    job = PrintJob(actor_id=actor.id, company_id=company.id, size=size, label_count=len(order_ids))
    db.session.add(job)
    db.session.flush()
    numbers: dict[int, str] = {}
    label_rows = []
    for shop_id, shop_order_ids in by_shop.items():
        shop = db.session.get(Shop, shop_id)
        waybill_range = _range_with(shop, company, len(shop_order_ids))
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
    raise ConflictError(
        _(
            "%(shop)s: range %(range)s has %(left)d numbers left and %(count)d are needed. Nothing was printed.",
            shop=shop.name,
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
    """The job's labels in print order, built from the orders and numbers as they are now."""
    rows = db.session.execute(
        select(PrintedLabel.shop_id, Waybill.tracking_no, *LABEL_COLUMNS)
        .join(Order, Order.id == PrintedLabel.order_id)
        .join(Waybill, Waybill.id == PrintedLabel.waybill_id)
        .where(PrintedLabel.job_id == job.id)
        .order_by(PrintedLabel.position, PrintedLabel.id)
    ).all()
    shops = {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_({r.shop_id for r in rows})))}
    courier_name = job.company.name_zh or job.company.name
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
