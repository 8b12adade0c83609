"""Exemptions from late-shipment figures: anomaly regions, automatic exemption, one-click and manual reports.

The only module that writes ``Order.exemption``. An order is exempt when it is ``auto`` (inside a valid
``auto`` region), ``one_click`` (the seller confirmed a ``one_click`` region) or ``manual_approved``.
A region touches an order when the region covers the order's destination (or the shop's ship-from, by
the region's ``applies_to``) and the region's window overlaps the order's shipping window, from
payment to ship-by deadline.
"""

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models import (
    EXEMPT,
    AnomalyRegion,
    Evidence,
    EvidenceKind,
    Exemption,
    ExemptionReport,
    ExemptionReportOrder,
    Order,
    OrderStatus,
    RegionLevel,
    RegionScope,
    RegionSource,
    ReportKind,
    ReportStatus,
    Shop,
    User,
)
from portal.models.base import utcnow
from portal.services import audit, orders, regions, storage
from portal.services.errors import ConflictError, GoneError, InvalidDataError

# Evidence: what a file may be (by its first bytes), how big, how many per report.
EVIDENCE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"%PDF-": "application/pdf"}
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_MAX_FILES = 10
# A 48-megapixel phone photo passes; a picture that would take gigabytes to decode does not.
EVIDENCE_MAX_PIXELS = 64_000_000
MAX_REPORT_ORDERS = 1000
# Auto regions that ended longer ago than this no longer touch newly imported orders.
AUTO_LOOKBACK = timedelta(days=60)

LEVEL_LABELS = {RegionLevel.AUTO: _l("Automatic"), RegionLevel.ONE_CLICK: _l("One-click report")}
SCOPE_LABELS = {
    RegionScope.DESTINATION: _l("Destination"),
    RegionScope.ORIGIN: _l("Origin"),
    RegionScope.BOTH: _l("Destination and origin"),
}
SOURCE_LABELS = {
    RegionSource.HEALTH_NOTICE: _l("Health authority notice"),
    RegionSource.OUTLET_STATUS: _l("Courier outlet status"),
    RegionSource.STATISTICS: _l("Pickup and delivery statistics"),
    RegionSource.OTHER: _l("Other"),
}
EVIDENCE_LABELS = {
    EvidenceKind.NOTICE: _l("News or government notice screenshot"),
    EvidenceKind.AREA_DATA: _l("Area data screenshot"),
    EvidenceKind.QUARANTINE: _l("Quarantine certificate (residents' or village committee, property manager)"),
    EvidenceKind.OUTLET: _l("Courier outlet cannot-ship certificate"),
}
EXEMPTION_LABELS = {
    Exemption.AUTO: _l("Exempt (automatic)"),
    Exemption.ONE_CLICK: _l("Exempt (one-click)"),
    Exemption.MANUAL_PENDING: _l("Exemption under review"),
    Exemption.MANUAL_APPROVED: _l("Exempt (report approved)"),
    Exemption.MANUAL_REJECTED: _l("Exemption rejected"),
}
STATUS_LABELS = {
    ReportStatus.PENDING: _l("Under review"),
    ReportStatus.APPROVED: _l("Approved"),
    ReportStatus.REJECTED: _l("Rejected"),
}
KIND_LABELS = {ReportKind.ONE_CLICK: _l("One-click"), ReportKind.MANUAL: _l("Manual")}


# Regions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionInput:
    code: str
    applies_to: str
    level: str
    valid_from: datetime
    valid_to: datetime
    source: str
    note: str


def validate_region(data: dict[str, Any]) -> tuple[RegionInput | None, list[tuple[str, str]]]:
    """Check a region from a form or a CSV row: (the region, []) or (None, [(field, message), ...])."""
    errors: list[tuple[str, str]] = []
    code = str(data.get("code") or "").strip()
    if not code:
        errors.append(("code", _("Give the division code.")))
    elif regions.region(code) is None:
        errors.append(("code", _("%(code)s is not a division code (GB/T 2260).", code=code[:20])))
    choices = (
        ("applies_to", RegionScope, _("Applies to must be destination, origin or both.")),
        ("level", RegionLevel, _("Level must be auto or one_click.")),
        ("source", RegionSource, _("Source must be health_notice, outlet_status, statistics or other.")),
    )
    values = {}
    for name, enum, message in choices:
        value = str(data.get(name) or "").strip().lower()
        if value not in {member.value for member in enum}:
            errors.append((name, message))
        values[name] = value
    moments = {}
    for name in ("valid_from", "valid_to"):
        moment = _parse_moment(data.get(name))
        if moment is None:
            errors.append((name, _("Give a date and time such as 2026-11-26 08:00.")))
        moments[name] = moment
    if moments["valid_from"] and moments["valid_to"] and moments["valid_to"] <= moments["valid_from"]:
        errors.append(("valid_to", _("The window must end after it starts.")))
    note = str(data.get("note") or "").strip()
    if len(note) > 500:
        errors.append(("note", _("The note can be at most 500 characters.")))
    if errors:
        return None, errors
    return RegionInput(code, note=note, valid_from=moments["valid_from"], valid_to=moments["valid_to"], **values), []


def _parse_moment(value: Any) -> datetime | None:
    """The order import's reader (text, or a datetime: China time when it has no zone), years 2000-2100."""
    return orders.parse_time(value) if value not in (None, "") else None


def publish_region(data: dict[str, Any], *, actor: User) -> AnomalyRegion:
    """Add an anomaly region; an ``auto`` one exempts the open orders it touches at once. No commit.

    :raise InvalidDataError: a field is invalid (all field errors given).
    """
    region_input, errors = validate_region(data)
    if errors:
        raise InvalidDataError(errors[0][1], dict(reversed(errors)))
    region = add_region(region_input, actor)
    exempted = exempt_open_orders(region)
    audit.record("region_published", actor=actor, target=region.code, region_id=region.id, exempted=exempted)
    return region


def add_region(region_input: RegionInput, actor: User) -> AnomalyRegion:
    """Insert a checked region (``publish_region`` also exempts what it touches). No commit."""
    path = regions.region_path(region_input.code)
    region = AnomalyRegion(
        code=region_input.code,
        name=" ".join(r.name for r in path),
        applies_to=region_input.applies_to,
        level=region_input.level,
        valid_from=region_input.valid_from,
        valid_to=region_input.valid_to,
        source=region_input.source,
        note=region_input.note,
        created_by_id=actor.id,
    )
    db.session.add(region)
    db.session.flush()
    return region


def end_region(region: AnomalyRegion, *, actor: User) -> None:
    """End a region's window now (orders it already exempted stay exempt). No commit."""
    now = utcnow()
    if region.valid_to > now:
        region.valid_to = max(now, region.valid_from)
    audit.record("region_ended", actor=actor, target=region.code, region_id=region.id)


def current_regions(now: datetime | None = None) -> list[AnomalyRegion]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(AnomalyRegion)
            .where(AnomalyRegion.valid_from <= now, AnomalyRegion.valid_to > now)
            .order_by(AnomalyRegion.valid_to)
        )
    )


def all_regions():
    """The operator's list, newest first, each with the proposal it was published from (if any)."""
    return (
        select(AnomalyRegion)
        .options(selectinload(AnomalyRegion.proposal))
        .order_by(AnomalyRegion.created_at.desc(), AnomalyRegion.id.desc())
    )


def _destination_in(region: AnomalyRegion) -> ColumnElement[bool]:
    if region.applies_to == RegionScope.ORIGIN:
        return false()
    return or_(Order.province_code == region.code, Order.city_code == region.code, Order.district_code == region.code)


def _origin_shops_in(region: AnomalyRegion, shop: Shop | None = None) -> list[int]:
    """Shops whose ship-from lies inside the region when it applies to origins; only ``shop``, when given."""
    if region.applies_to == RegionScope.DESTINATION:
        return []
    if shop is not None:
        return [shop.id] if regions.covers(region.code, shop.sender_region_code) else []
    senders = db.session.execute(select(Shop.id, Shop.sender_region_code).where(Shop.sender_region_code != ""))
    return [shop_id for shop_id, code in senders if regions.covers(region.code, code)]


def _touched_by(region: AnomalyRegion, shop: Shop | None = None) -> ColumnElement[bool]:
    """Orders the region touches: inside it (by its scope), with shipping windows overlapping its window.

    With ``shop``, only that shop's ship-from is looked at (the caller keeps to its orders).
    """
    origin_shops = _origin_shops_in(region, shop)
    where = _destination_in(region)
    if origin_shops:
        where = or_(where, Order.shop_id.in_(origin_shops))
    return and_(where, Order.paid_at < region.valid_to, Order.ship_by > region.valid_from)


def exempt_open_orders(region: AnomalyRegion) -> int:
    """Exempt the open, not yet exempt orders an ``auto`` region touches; returns how many."""
    if region.level != RegionLevel.AUTO:
        return 0
    result = db.session.execute(
        update(Order)
        .where(_touched_by(region), Order.status.in_(orders.OPEN_STATES), Order.exemption.not_in(EXEMPT))
        .values(exemption=Exemption.AUTO, exempt_region_id=region.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


@dataclass
class AutoRegions:
    """The ``auto`` regions that may touch a shop's new orders, loaded once per import."""

    shop: Shop
    regions: list[AnomalyRegion] = field(default_factory=list)

    @classmethod
    def for_shop(cls, shop: Shop) -> "AutoRegions":
        rows = db.session.scalars(
            select(AnomalyRegion).where(
                AnomalyRegion.level == RegionLevel.AUTO, AnomalyRegion.valid_to > utcnow() - AUTO_LOOKBACK
            )
        )
        return cls(shop, list(rows))

    def columns(self, row: dict[str, Any]) -> dict[str, Any]:
        """The exemption columns of a new order row (built by orders.save_orders)."""
        for region in self.regions:
            if not (row["paid_at"] < region.valid_to and row["ship_by"] > region.valid_from):
                continue
            inside = region.applies_to != RegionScope.ORIGIN and region.code in (
                row["province_code"],
                row["city_code"],
                row["district_code"],
            )
            from_inside = region.applies_to != RegionScope.DESTINATION and regions.covers(
                region.code, self.shop.sender_region_code
            )
            if inside or from_inside:
                return {"exemption": Exemption.AUTO, "exempt_region_id": region.id}
        return {"exemption": Exemption.NONE, "exempt_region_id": None}


# Which orders a report may hold ------------------------------------------------------------------


def _reportable() -> ColumnElement[bool]:
    """Not cancelled, not exempt or under review, and not shipped on time."""
    return and_(
        Order.status != OrderStatus.CANCELLED,
        Order.exemption.not_in((*EXEMPT, Exemption.MANUAL_PENDING)),
        or_(Order.status != OrderStatus.SHIPPED, Order.shipped_at > Order.ship_by),
    )


def is_reportable(order: Order) -> bool:
    """Whether a report may hold this order (the same rule as the reports' own check)."""
    return bool(db.session.scalar(select(exists().where(Order.id == order.id, _reportable()))))


@dataclass
class OneClickOffer:
    """A valid one-click region with the shop's orders it touches (the first OFFER_LIST of them listed)."""

    region: AnomalyRegion
    order_count: int
    orders: list[Order]


OFFER_LIST = 20


def one_click_offers(shop: Shop, now: datetime | None = None) -> list[OneClickOffer]:
    offers = []
    for region in current_regions(now):
        if region.level != RegionLevel.ONE_CLICK:
            continue
        where = (Order.shop_id == shop.id, _touched_by(region, shop), _reportable())
        count = db.session.scalar(select(func.count()).select_from(Order).where(*where))
        if count:
            listed = db.session.scalars(select(Order).where(*where).order_by(Order.ship_by).limit(OFFER_LIST))
            offers.append(OneClickOffer(region, count, list(listed)))
    return offers


@dataclass
class RegionNotice:
    """A current region that touches the shop: its ship-from lies inside, or some of its open orders do."""

    region: AnomalyRegion
    origin: bool
    open_orders: int


def regions_touching(shop: Shop, now: datetime | None = None) -> list[RegionNotice]:
    notices = []
    for region in current_regions(now):
        origin = region.applies_to != RegionScope.DESTINATION and regions.covers(region.code, shop.sender_region_code)
        count = db.session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.shop_id == shop.id, Order.status.in_(orders.OPEN_STATES), _touched_by(region, shop))
        )
        if origin or count:
            notices.append(RegionNotice(region, origin, count))
    return notices


def file_one_click(shop: Shop, region: AnomalyRegion, *, actor: User) -> ExemptionReport:
    """Confirm a one-click region's orders: a report approved at once. No commit.

    :raise ConflictError: the region is not a valid one-click region now, or no order of the shop is left in it.
    """
    now = utcnow()
    if region.level != RegionLevel.ONE_CLICK or not region.valid_from <= now < region.valid_to:
        raise ConflictError(_("This region is not open for one-click reports."))
    order_ids = list(
        db.session.scalars(
            select(Order.id)
            .where(Order.shop_id == shop.id, _touched_by(region, shop), _reportable())
            .with_for_update()
            .limit(MAX_REPORT_ORDERS)
        )
    )
    if not order_ids:
        raise ConflictError(_("No order of this shop is left to report in this region."))
    report = ExemptionReport(
        shop_id=shop.id,
        kind=ReportKind.ONE_CLICK,
        status=ReportStatus.APPROVED,
        region_id=region.id,
        reason=region.name,
        created_by_id=actor.id,
        decided_at=now,
    )
    _add_report(report, order_ids)
    # Conditional: of two clicks at once (or a manual report filed meanwhile), the orders go to one report only.
    if _set_exemption(order_ids, Exemption.ONE_CLICK, report, region_id=region.id) != len(order_ids):
        raise ConflictError(_("No order of this shop is left to report in this region."))
    audit.record(
        "exemption_one_click", actor=actor, shop=shop, target=region.code, report_id=report.id, orders=len(order_ids)
    )
    return report


def _add_report(report: ExemptionReport, order_ids: list[int]) -> None:
    db.session.add(report)
    db.session.flush()
    db.session.execute(
        ExemptionReportOrder.__table__.insert(), [{"report_id": report.id, "order_id": i} for i in order_ids]
    )


def _set_exemption(order_ids: list[int], exemption: str, report: ExemptionReport, region_id: int | None = None) -> int:
    """Give the orders that are still reportable the report's exemption; returns how many were."""
    values: dict[str, Any] = {"exemption": exemption, "exemption_report_id": report.id}
    if region_id is not None:
        values["exempt_region_id"] = region_id
    return db.session.execute(
        update(Order)
        .where(Order.id.in_(order_ids), _reportable())
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount


# Manual reports ---------------------------------------------------------------------------------


@dataclass
class EvidenceUpload:
    kind: str
    upload: FileStorage


@dataclass
class _CheckedFile:
    kind: str
    name: str
    content_type: str
    data: bytes


def parse_order_numbers(text: str) -> list[str]:
    """Order numbers from a textarea: one per line, or separated by commas, spaces or semicolons."""
    seen: dict[str, None] = {}
    for part in text.replace(",", " ").replace(";", " ").replace("，", " ").split():
        seen.setdefault(part.strip().strip("=\"'"), None)
    return [no for no in seen if no]


def file_manual(
    shop: Shop, order_numbers: list[str], reason: str, files: list[EvidenceUpload], *, actor: User
) -> ExemptionReport:
    """File a manual report for the operator to review. All checked first; no commit; files stored last.

    :raise InvalidDataError: no orders, an order that is not this shop's or cannot be reported, no reason,
        no evidence, or a file that is not a PNG, JPEG or PDF within the size cap (``field_errors`` name
        ``order_numbers``, ``reason`` or ``evidence``).
    :raise ConflictError: an order was reported or exempted by another request since it was checked.
    """
    errors: dict[str, str] = {}
    order_ids = []
    if not order_numbers:
        errors["order_numbers"] = _("Choose at least one order.")
    elif len(order_numbers) > MAX_REPORT_ORDERS:
        errors["order_numbers"] = _("At most %(n)d orders per report.", n=MAX_REPORT_ORDERS)
    else:
        found = dict(
            db.session.execute(
                select(Order.platform_order_no, Order.id).where(
                    Order.shop_id == shop.id, Order.platform_order_no.in_(order_numbers)
                )
            ).all()
        )
        reportable = set(db.session.scalars(select(Order.id).where(Order.id.in_(list(found.values())), _reportable())))
        unknown = [no for no in order_numbers if no not in found]
        refused = [no for no in order_numbers if no in found and found[no] not in reportable]
        if unknown:
            errors["order_numbers"] = _("Not an order of this shop: %(numbers)s.", numbers=", ".join(unknown[:10]))
        elif refused:
            errors["order_numbers"] = _(
                "These orders are cancelled, shipped on time, already exempt or under review: %(numbers)s.",
                numbers=", ".join(refused[:10]),
            )
        order_ids = [found[no] for no in order_numbers if no in found]
    reason = reason.strip()
    if len(reason) < 5:
        errors["reason"] = _("Say what happened (at least 5 characters).")
    elif len(reason) > 2000:
        errors["reason"] = _("The reason can be at most 2,000 characters.")
    checked, file_error = check_evidence(files)
    if file_error:
        errors["evidence"] = file_error
    if errors:
        raise InvalidDataError(next(iter(errors.values())), errors)
    report = ExemptionReport(
        shop_id=shop.id, kind=ReportKind.MANUAL, status=ReportStatus.PENDING, reason=reason, created_by_id=actor.id
    )
    _add_report(report, order_ids)
    # Conditional: an order another report (or an auto region) took since the check above is not taken over.
    if _set_exemption(order_ids, Exemption.MANUAL_PENDING, report) != len(order_ids):
        lost = db.session.scalars(
            select(Order.platform_order_no).where(
                Order.id.in_(order_ids), Order.exemption_report_id.is_distinct_from(report.id)
            )
        ).all()
        raise ConflictError(
            _(
                "These orders are cancelled, shipped on time, already exempt or under review: %(numbers)s.",
                numbers=", ".join(lost[:10]),
            )
        )
    keys = []
    try:
        for item in checked:
            key = storage.put_bytes(item.data)
            keys.append(key)
            db.session.add(
                Evidence(
                    report_id=report.id,
                    kind=item.kind,
                    file_name=item.name,
                    storage_key=key,
                    content_type=item.content_type,
                    size=len(item.data),
                    sha256=storage.digest(item.data),
                )
            )
        db.session.flush()
        audit.record(
            "exemption_filed",
            actor=actor,
            shop=shop,
            target=f"report {report.id}",
            orders=len(order_ids),
            files=len(keys),
        )
    except Exception:
        discard_files(keys)
        raise
    return report


def evidence_keys(report: ExemptionReport) -> list[str]:
    """The storage keys of a report's evidence files (to discard them when its transaction fails)."""
    return list(db.session.scalars(select(Evidence.storage_key).where(Evidence.report_id == report.id)))


def discard_files(keys: list[str]) -> None:
    for key in keys:
        storage.discard_bytes(key)


def check_evidence(files: list[EvidenceUpload]) -> tuple[list[_CheckedFile], str]:
    """Read and check the evidence files: (files, "") or ([], the message naming the first bad file)."""
    files = [f for f in files if f.upload is not None and f.upload.filename]
    if not files:
        return [], _("Attach at least one evidence file (PNG, JPEG or PDF).")
    if len(files) > EVIDENCE_MAX_FILES:
        return [], _("At most %(n)d evidence files per report.", n=EVIDENCE_MAX_FILES)
    checked = []
    for item in files:
        name = safe_display_name(item.upload.filename)
        if item.kind not in {kind.value for kind in EvidenceKind}:
            return [], _("%(name)s: choose what the file shows.", name=name)
        data = item.upload.stream.read(EVIDENCE_MAX_BYTES + 1)
        if len(data) > EVIDENCE_MAX_BYTES:
            return [], _("%(name)s is larger than %(mb)d MB.", name=name, mb=EVIDENCE_MAX_BYTES // (1024 * 1024))
        content_type = next((kind for magic, kind in EVIDENCE_TYPES.items() if data.startswith(magic)), None)
        if content_type is None:
            return [], _("%(name)s is not a PNG, JPEG or PDF file.", name=name)
        if content_type != "application/pdf" and (problem := _image_problem(name, data)):
            return [], problem
        checked.append(_CheckedFile(item.kind, name, content_type, data))
    return checked, ""


def _image_problem(name: str, data: bytes) -> str:
    """ "" for an image whose header reads and whose size is within EVIDENCE_MAX_PIXELS, else why not. Only the
    header is read: a small file can claim a picture that would take gigabytes to show (in the operator's
    browser, which decodes it)."""
    too_large = _(
        "%(name)s is a picture of more than %(mp)d megapixels, the most accepted.",
        name=name,
        mp=EVIDENCE_MAX_PIXELS // 1_000_000,
    )
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        return too_large
    except (OSError, ValueError):
        return _("%(name)s is not a readable PNG or JPEG picture.", name=name)
    return too_large if width * height > EVIDENCE_MAX_PIXELS else ""


def safe_display_name(file_name: str) -> str:
    """The last part of an uploaded file's name, for display only (never used as a path)."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    return name[:200]


def evidence_path(evidence: Evidence) -> Path:
    """Where the file is. :raise GoneError: removed with the buyer details (see retention.purge_details)."""
    if evidence.purged_at is not None:
        raise GoneError(_("This file was removed with the buyer details when the shop's retention period ended."))
    return storage.bytes_path(evidence.storage_key)


# Review -----------------------------------------------------------------------------------------


def review_queue():
    """Manual reports waiting for the operator, oldest first."""
    return (
        select(ExemptionReport)
        .where(ExemptionReport.status == ReportStatus.PENDING)
        .order_by(ExemptionReport.created_at, ExemptionReport.id)
    )


def decided_reports():
    return (
        select(ExemptionReport)
        .where(ExemptionReport.kind == ReportKind.MANUAL, ExemptionReport.status != ReportStatus.PENDING)
        .order_by(ExemptionReport.decided_at.desc(), ExemptionReport.id.desc())
    )


def reports_of(shop_id: int):
    return (
        select(ExemptionReport)
        .where(ExemptionReport.shop_id == shop_id)
        .order_by(ExemptionReport.created_at.desc(), ExemptionReport.id.desc())
    )


def decide(report: ExemptionReport, *, approve: bool, comment: str, actor: User) -> None:
    """Approve (exempting the report's orders) or reject a pending manual report. No commit.

    :raise ConflictError: the report was already decided (also when another operator just did).
    :raise InvalidDataError: rejecting without a comment, or a comment over 2,000 characters.
    """
    comment = comment.strip()
    if not approve and not comment:
        message = _("Say why the report is rejected: the seller reads the comment.")
        raise InvalidDataError(message, {"comment": message})
    if len(comment) > 2000:
        message = _("The comment can be at most 2,000 characters.")
        raise InvalidDataError(message, {"comment": message})
    status = ReportStatus.APPROVED if approve else ReportStatus.REJECTED
    now = utcnow()
    # Conditional: of two operators deciding at once, one wins and the other gets the conflict.
    won = db.session.execute(
        update(ExemptionReport)
        .where(ExemptionReport.id == report.id, ExemptionReport.status == ReportStatus.PENDING)
        .values(status=status, decided_at=now, decided_by_id=actor.id, decision_comment=comment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise ConflictError(_("This report has already been decided."))
    db.session.refresh(report)
    order_ids = [order.id for order in report.orders]
    db.session.execute(
        update(Order)
        .where(
            Order.id.in_(order_ids),
            Order.exemption_report_id == report.id,
            Order.exemption == Exemption.MANUAL_PENDING,
        )
        .values(exemption=Exemption.MANUAL_APPROVED if approve else Exemption.MANUAL_REJECTED)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        "exemption_approved" if approve else "exemption_rejected",
        actor=actor,
        shop=report.shop,
        target=f"report {report.id}",
        orders=len(order_ids),
    )


# Figures ----------------------------------------------------------------------------------------


def exemption_counts(shop_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Order.exemption, func.count())
        .where(Order.shop_id == shop_id, Order.exemption != Exemption.NONE)
        .group_by(Order.exemption)
    )
    return dict(rows.all())


def exempt_condition() -> ColumnElement[bool]:
    return Order.exemption.in_(EXEMPT)
