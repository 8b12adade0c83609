"""Print batches (波次): a shop's orders grouped to print, pick, pack and hand over together.

An order is in at most one open batch: PrintBatchOrder.open_order_id is unique, so the database settles two
people batching overlapping orders at the same moment (one gets the batch, the other a ConflictError).
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    BatchStatus,
    Order,
    OrderItem,
    OrderStatus,
    PrintBatch,
    PrintBatchOrder,
    PrintedLabel,
    PrintJob,
    Shop,
    User,
)
from portal.models.base import utcnow
from portal.services import audit, orders
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

MAX_ORDERS = 5000
# Orders that can still be worked on: a shipped or cancelled order has nothing left to pick, print or pack.
BATCHABLE = orders.OPEN_STATES


def create_batch(shop: Shop, order_ids: list[int], *, actor: User, made_from: str = "") -> PrintBatch:
    """A new open batch of these orders of the shop, in the order given.

    :raise InvalidDataError: no orders (a filter that matches none), more than MAX_ORDERS.
    :raise NotFoundError: an order that is not the shop's.
    :raise ConflictError: an order shipped or cancelled, or already in an open batch (also when another
        person's batch took it a moment ago); nothing is created.
    """
    order_ids = list(dict.fromkeys(order_ids))
    if not order_ids:
        raise InvalidDataError(_("No orders match: no batch was made."))
    if len(order_ids) > MAX_ORDERS:
        raise InvalidDataError(
            _("At most %(n)d orders in one batch; %(count)d were chosen.", n=MAX_ORDERS, count=len(order_ids))
        )
    found = db.session.execute(
        select(Order.id, Order.status, Order.platform_order_no).where(Order.id.in_(order_ids), Order.shop_id == shop.id)
    ).all()
    if len(found) != len(order_ids):
        raise NotFoundError(_("Some of these orders are not in this shop."))
    closed = [row for row in found if row.status not in BATCHABLE]
    if closed:
        raise ConflictError(
            _(
                "Order %(no)s is %(status)s: only pending, labelled or packed orders go in a batch. No batch was made.",
                no=closed[0].platform_order_no,
                status=orders.status_label(closed[0].status),
            )
        )
    taken = _in_open_batches(order_ids)
    if taken:
        raise _taken_error(taken)
    batch = PrintBatch(shop_id=shop.id, created_by_id=actor.id, order_count=len(order_ids), made_from=made_from[:300])
    db.session.add(batch)
    db.session.flush()
    rows = [
        {"batch_id": batch.id, "order_id": order_id, "open_order_id": order_id, "position": position}
        for position, order_id in enumerate(order_ids)
    ]
    # Inserted in id order whatever the batch's order: two batches taking the same orders then wait on them in the
    # same order (PostgreSQL's unique index locks), so one waits for the other instead of the two deadlocking.
    rows.sort(key=lambda row: row["order_id"])
    try:
        db.session.execute(insert(PrintBatchOrder), rows)
    except IntegrityError:  # another batch took some of them since the check: the caller rolls back
        raise ConflictError(
            _("Some of these orders were put in another batch a moment ago. No batch was made.")
        ) from None
    audit.record("batch_made", actor=actor, shop=shop, target=batch.number, count=len(order_ids))
    return batch


class _Taken(NamedTuple):
    platform_order_no: str
    batch: PrintBatch


def _in_open_batches(order_ids: list[int]) -> list[_Taken]:
    rows = db.session.execute(
        select(Order.platform_order_no, PrintBatch)
        .join(PrintBatchOrder, PrintBatchOrder.open_order_id == Order.id)
        .join(PrintBatch, PrintBatch.id == PrintBatchOrder.batch_id)
        .where(PrintBatchOrder.open_order_id.in_(order_ids))
        .order_by(Order.ship_by, Order.id)
    ).all()
    return [_Taken(no, batch) for no, batch in rows]


def _taken_error(taken: list[_Taken]) -> ConflictError:
    shown = ", ".join(f"{t.platform_order_no} ({t.batch.number})" for t in taken[:5])
    return ConflictError(
        _(
            "%(n)d of these orders are already in an open batch: %(orders)s. No batch was made.",
            n=len(taken),
            orders=shown + (" …" if len(taken) > 5 else ""),
        )
    )


def close_batch(batch: PrintBatch, *, actor: User) -> None:
    """Close the batch: its orders may go in a new one; its history stays.

    :raise ConflictError: already closed.
    """
    changed = db.session.execute(
        update(PrintBatch)
        .where(PrintBatch.id == batch.id, PrintBatch.status == BatchStatus.OPEN)
        .values(status=BatchStatus.CLOSED, closed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ConflictError(_("Batch %(no)s is already closed.", no=batch.number))
    db.session.execute(
        update(PrintBatchOrder)
        .where(PrintBatchOrder.batch_id == batch.id)
        .values(open_order_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(batch)
    audit.record("batch_closed", actor=actor, shop=batch.shop, target=batch.number)


def order_ids_of(batch: PrintBatch) -> list[int]:
    """The batch's orders, in the batch's order."""
    return list(
        db.session.scalars(
            select(PrintBatchOrder.order_id)
            .where(PrintBatchOrder.batch_id == batch.id)
            .order_by(PrintBatchOrder.position, PrintBatchOrder.id)
        )
    )


def printable_ids(batch: PrintBatch) -> list[int]:
    """The batch's orders that still need a label: pending, address placed, in the batch's order."""
    return list(
        db.session.scalars(
            select(Order.id)
            .join(PrintBatchOrder, PrintBatchOrder.order_id == Order.id)
            .where(
                PrintBatchOrder.batch_id == batch.id,
                Order.status == OrderStatus.PENDING,
                Order.address_flagged.is_(False),
            )
            .order_by(PrintBatchOrder.position, PrintBatchOrder.id)
        )
    )


@dataclass(frozen=True)
class Progress:
    """Where a batch stands: labels printed, parcels packed, parcels handed over to the courier."""

    total: int
    counts: dict[str, int]

    @property
    def printed(self) -> int:
        return sum(self.counts.get(s, 0) for s in (OrderStatus.LABELLED, OrderStatus.PACKED, OrderStatus.SHIPPED))

    @property
    def packed(self) -> int:
        return sum(self.counts.get(s, 0) for s in (OrderStatus.PACKED, OrderStatus.SHIPPED))

    @property
    def handed_over(self) -> int:
        return self.counts.get(OrderStatus.SHIPPED, 0)

    @property
    def cancelled(self) -> int:
        return self.counts.get(OrderStatus.CANCELLED, 0)

    @property
    def pending(self) -> int:
        return self.counts.get(OrderStatus.PENDING, 0)


def progress(batch: PrintBatch) -> Progress:
    rows = db.session.execute(
        select(Order.status, func.count())
        .join(PrintBatchOrder, PrintBatchOrder.order_id == Order.id)
        .where(PrintBatchOrder.batch_id == batch.id)
        .group_by(Order.status)
    ).all()
    counts = dict(rows)
    return Progress(sum(counts.values()), counts)


def progress_of(batch_ids: list[int]) -> dict[int, Progress]:
    """progress() of many batches in one statement (the batch list)."""
    if not batch_ids:
        return {}
    rows = db.session.execute(
        select(PrintBatchOrder.batch_id, Order.status, func.count())
        .join(Order, Order.id == PrintBatchOrder.order_id)
        .where(PrintBatchOrder.batch_id.in_(batch_ids))
        .group_by(PrintBatchOrder.batch_id, Order.status)
    ).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for batch_id, status, count in rows:
        counts[batch_id][status] = count
    return {batch_id: Progress(sum(counts[batch_id].values()), counts[batch_id]) for batch_id in batch_ids}


def batches_of(shop: Shop, *, open_only: bool = False) -> list[PrintBatch]:
    """The shop's batches, newest first (open ones only, if asked), at most 200."""
    query = select(PrintBatch).where(PrintBatch.shop_id == shop.id)
    if open_only:
        query = query.where(PrintBatch.status == BatchStatus.OPEN)
    return list(db.session.scalars(query.order_by(PrintBatch.id.desc()).limit(200)))


class BatchLine(NamedTuple):
    id: int
    platform_order_no: str
    status: str
    tracking_no: str | None
    recipient_name: str
    province: str
    city: str
    item_summary: str
    address_flagged: bool


def lines(batch: PrintBatch) -> list[BatchLine]:
    """The batch's orders as plain rows, in the batch's order (names masked by the page)."""
    rows = db.session.execute(
        select(
            Order.id,
            Order.platform_order_no,
            Order.status,
            Order.tracking_no,
            Order.recipient_name,
            Order.province,
            Order.city,
            Order.item_summary,
            Order.address_flagged,
        )
        .join(PrintBatchOrder, PrintBatchOrder.order_id == Order.id)
        .where(PrintBatchOrder.batch_id == batch.id)
        .order_by(PrintBatchOrder.position, PrintBatchOrder.id)
    ).all()
    return [BatchLine(*row) for row in rows]


class PickLine(NamedTuple):
    sku: str
    title: str
    quantity: int
    orders: int


def pick_list(batch: PrintBatch) -> list[PickLine]:
    """By SKU: what to take from the shelves for the batch's open orders, one walk in SKU order."""
    rows = db.session.execute(
        select(
            OrderItem.sku,
            OrderItem.title,
            func.sum(OrderItem.quantity),
            func.count(func.distinct(OrderItem.order_id)),
        )
        .join(PrintBatchOrder, PrintBatchOrder.order_id == OrderItem.order_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(PrintBatchOrder.batch_id == batch.id, Order.status.in_(orders.OPEN_STATES))
        .group_by(OrderItem.sku, OrderItem.title)
        .order_by(OrderItem.sku, OrderItem.title)
    ).all()
    return [PickLine(*row) for row in rows]


def items_by_order(batch: PrintBatch) -> dict[int, list[tuple[str, str, int]]]:
    """By order: each order's items (sku, title, quantity), for the pick list's second half and the slips."""
    rows = db.session.execute(
        select(OrderItem.order_id, OrderItem.sku, OrderItem.title, OrderItem.quantity)
        .join(PrintBatchOrder, PrintBatchOrder.order_id == OrderItem.order_id)
        .where(PrintBatchOrder.batch_id == batch.id)
        .order_by(OrderItem.order_id, OrderItem.id)
    ).all()
    items: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for order_id, sku, title, quantity in rows:
        items[order_id].append((sku, title, quantity))
    return items


def jobs_of(batch: PrintBatch) -> list[PrintJob]:
    """The print jobs that printed labels of the batch's orders, newest first."""
    job_ids = (
        select(PrintedLabel.job_id)
        .join(PrintBatchOrder, PrintBatchOrder.order_id == PrintedLabel.order_id)
        .where(PrintBatchOrder.batch_id == batch.id)
        .distinct()
    )
    return list(db.session.scalars(select(PrintJob).where(PrintJob.id.in_(job_ids)).order_by(PrintJob.id.desc())))


def open_batch_choices(shop: Shop) -> list[tuple[int, str]]:
    """(id, number) of the shop's batches for the order list's filter, newest first."""
    return [(batch.id, batch.number) for batch in batches_of(shop)]
