"""Data retention (DESIGN: multi-account access): buyer details are purged from orders a shop-set
number of days after shipping; the order, its tracking number, its history and the audit log stay.

``flask --app wsgi purge-details`` runs :func:`purge_details` from cron. It is idempotent: an order
is purged once (``details_purged_at``), and a second run finds nothing to do.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from portal.extensions import db
from portal.models import (
    Evidence,
    ExemptionReport,
    ExemptionReportOrder,
    ImportBatch,
    Order,
    OrderStatus,
    ReportStatus,
    Shop,
)
from portal.models.base import utcnow
from portal.services import audit, storage

# What is blanked: who the buyer is and where they live. The province, city and district (and their
# codes) stay for the shop's figures; items hold products, not people, and stay too.
PURGED_VALUES = {
    "buyer_nick": "",
    "recipient_name": "",
    "recipient_phone": "",
    "address_raw": "",
    "address_detail": "",
    "postcode": "",
    "buyer_message": "",
    "seller_memo": "",
}


# An uploaded sheet waiting for its preview to be confirmed: an order export holds every buyer's details in
# full, so one that was never confirmed or discarded goes after this long (with the rest of uploads/<key>/).
UPLOAD_KEEP = timedelta(days=1)


@dataclass
class PurgeResult:
    purged: int = 0
    by_shop: dict[int, int] = field(default_factory=dict)
    uploads: int = 0
    # Evidence files whose rows are marked purged: removed from disk by discard_evidence() once that is committed.
    evidence_keys: list[str] = field(default_factory=list)


def purge_condition(shop: Shop, now: datetime):
    """Orders of the shop whose buyer details are past the shop's retention: shipped (counted from
    shipping) or cancelled (counted from the last change, the cancellation), not purged yet."""
    cutoff = now - timedelta(days=shop.retention_days)
    return and_(
        Order.shop_id == shop.id,
        Order.details_purged_at.is_(None),
        or_(
            and_(Order.status == OrderStatus.SHIPPED, Order.shipped_at < cutoff),
            and_(Order.status == OrderStatus.CANCELLED, Order.updated_at < cutoff),
        ),
    )


def purge_details(now: datetime | None = None) -> PurgeResult:
    """Blank the buyer details of every order past its shop's retention; one audit event per shop
    that had any. The caller commits."""
    now = now or utcnow()
    result = PurgeResult()
    for shop in db.session.scalars(select(Shop).order_by(Shop.id)):
        count = db.session.execute(
            update(Order)
            .where(purge_condition(shop, now))
            .values(details_purged_at=now, updated_at=now, **PURGED_VALUES)
            .execution_options(synchronize_session=False)
        ).rowcount
        evidence_keys = _purge_evidence(shop, now)
        result.evidence_keys += evidence_keys
        if count:
            result.by_shop[shop.id] = count
            result.purged += count
        if count or evidence_keys:
            audit.record(
                "details_purged",
                actor=None,
                actor_name="system",
                shop=shop,
                target=shop.name,
                orders=count,
                evidence_files=len(evidence_keys),
                retention_days=shop.retention_days,
            )
    result.uploads = discard_stale_uploads(now)
    return result


def _purge_evidence(shop: Shop, now: datetime) -> list[str]:
    """Mark purged the evidence of the shop's decided reports whose orders are all purged (a screenshot of a chat
    or a courier notice can name the buyer); returns their storage keys. A pending report keeps its files: the
    operator has not read them yet."""
    unpurged_order = (
        select(ExemptionReportOrder.id)
        .join(Order, Order.id == ExemptionReportOrder.order_id)
        .where(ExemptionReportOrder.report_id == ExemptionReport.id, Order.details_purged_at.is_(None))
        .exists()
    )
    reports = select(ExemptionReport.id).where(
        ExemptionReport.shop_id == shop.id, ExemptionReport.status != ReportStatus.PENDING, ~unpurged_order
    )
    keys = list(
        db.session.scalars(
            update(Evidence)
            .where(Evidence.report_id.in_(reports), Evidence.purged_at.is_(None))
            .values(purged_at=now)
            .returning(Evidence.storage_key)
            .execution_options(synchronize_session=False)
        )
    )
    return keys


def discard_evidence(result: PurgeResult) -> None:
    """Remove the files of the evidence purge_details() marked, after its commit: a failed commit leaves both the
    file and its row as they were, for the next run."""
    for key in result.evidence_keys:
        storage.discard_bytes(key)


def discard_stale_uploads(now: datetime) -> int:
    """Discard the previews left unconfirmed for longer than UPLOAD_KEEP, and every upload folder that old
    (a region sheet's preview, a crash between upload and save); returns how many folders went."""
    cutoff = now - UPLOAD_KEEP
    db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.status == "preview", ImportBatch.created_at < cutoff)
        .values(status="discarded")
        .execution_options(synchronize_session=False)
    )
    return storage.discard_older_than(cutoff.timestamp())
