"""Anomaly regions found from the portal's own data: couriers' outlet declarations and pickup delays.

Couriers declare that their outlet cannot pick up from the ship-from districts they serve, or cannot deliver to
some districts (``declare``). ``detect`` (``flask detect-anomalies``, every 15 minutes) looks at each origin
district (a shop's ship-from, GB/T 2260) over the last 15 days, in days of ``PORTAL_ANOMALY_DAY_HOURS`` ending now:

- *due*: orders whose ship-by fell in that day and that were labelled (packed, shipped) — a courier's business;
- *late*: of those, the ones not picked up by their ship-by (still labelled or packed, or shipped after it);
- *overdue now*: labelled or packed, past the ship-by, not picked up (the whole 15 days).

A district's *share* is late / due of the last day; its *baseline* the median share of the 14 days before (a
median, so one bad day does not raise it). It is flagged when its overdue orders reach ``PORTAL_ANOMALY_MIN_ORDERS``
from ``PORTAL_ANOMALY_MIN_SHOPS`` shops, and its share rose over its baseline by ``PORTAL_ANOMALY_MARGIN`` more
than the rest of the platform's share rose over the rest's baseline: on a holiday with no pickups anywhere every
district rises together and nothing stands out. A signal (a flagged district, or live declarations) becomes an
open proposal; the operator publishes it (an anomaly region, ``exemptions.publish_region``) or dismisses it,
which holds for the proposal's window unless the overdue count grows by ``PORTAL_ANOMALY_REGROW`` or a new
source (a declaration) joins. Every figure a proposal shows is kept in its ``evidence``.
"""

import logging
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    AnomalyProposal,
    AnomalyRegion,
    CourierGrant,
    Order,
    OrderEvent,
    OrderStatus,
    OutletDeclaration,
    OutletKind,
    OutletReason,
    ProposalStatus,
    RegionLevel,
    RegionScope,
    RegionSource,
    Shop,
    User,
)
from portal.models.base import utcnow
from portal.services import audit, exemptions, orders, regions, shops
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

MAX_DECLARATION = timedelta(days=90)
# A declaration may say "since this morning"; further back is a typo or a record of the past.
DECLARATION_BACKDATE = timedelta(hours=24)
BASELINE_DAYS = 14

KIND_LABELS = {
    OutletKind.NO_PICKUP: _l("No pickups from"),
    OutletKind.NO_DELIVERY: _l("No deliveries to"),
}
REASON_LABELS = {
    OutletReason.WEATHER: _l("Weather"),
    OutletReason.EPIDEMIC: _l("Epidemic control"),
    OutletReason.OUTLET_CLOSED: _l("Outlet closed"),
    OutletReason.TRAFFIC: _l("Traffic control"),
    OutletReason.OTHER: _l("Other"),
}
PROPOSAL_STATUS_LABELS = {
    ProposalStatus.OPEN: _l("Waiting"),
    ProposalStatus.PUBLISHED: _l("Published"),
    ProposalStatus.DISMISSED: _l("Dismissed"),
    ProposalStatus.LAPSED: _l("Signal gone"),
}
SIGNAL_LABELS = {"declaration": _l("Courier declarations"), "statistics": _l("Pickup delay")}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    min_orders: int = 20
    min_shops: int = 2
    margin: float = 0.25
    day_hours: int = 24
    regrow: float = 1.5
    window_hours: int = 48

    @classmethod
    def from_config(cls, config: Any = None) -> "Settings":
        config = config if config is not None else current_app.config
        return cls(
            min_orders=int(config.get("PORTAL_ANOMALY_MIN_ORDERS", cls.min_orders)),
            min_shops=int(config.get("PORTAL_ANOMALY_MIN_SHOPS", cls.min_shops)),
            margin=float(config.get("PORTAL_ANOMALY_MARGIN", cls.margin)),
            day_hours=int(config.get("PORTAL_ANOMALY_DAY_HOURS", cls.day_hours)),
            regrow=float(config.get("PORTAL_ANOMALY_REGROW", cls.regrow)),
            window_hours=int(config.get("PORTAL_ANOMALY_WINDOW_HOURS", cls.window_hours)),
        )


# Declarations -----------------------------------------------------------------------------------


def pickup_districts(user: User) -> list[regions.Region]:
    """The ship-from districts of the shops where the courier holds an active grant (where they may declare)."""
    codes = {grant.shop.sender_region_code for grant in shops.active_grants(user) if grant.shop.sender_region_code}
    found = [regions.region(code) for code in sorted(codes)]
    return [r for r in found if r is not None]


def declare(data: dict[str, Any], *, actor: User, now: datetime | None = None) -> list[OutletDeclaration]:
    """Record a courier's outlet declaration, one row per district. No commit.

    ``data``: ``kind`` (no_pickup / no_delivery), ``codes`` (list of GB/T 2260 codes), ``valid_from`` (empty:
    now), ``valid_to`` (empty: open-ended), ``reason``, ``note``.

    :raise InvalidDataError: a field is wrong (all field errors given): no active grant, an unknown code, a
        pickup district none of the courier's shops ships from, a window that ends before it starts, ends in
        the past, or lasts more than 90 days.
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    grants = shops.active_grants(actor)
    if not grants:
        raise InvalidDataError(_("Only a courier with an active sub-account can declare an outlet's status."))
    kind = str(data.get("kind") or "").strip()
    if kind not in {k.value for k in OutletKind}:
        errors["kind"] = _("Choose whether the outlet cannot pick up or cannot deliver.")
    raw_codes = data.get("codes") or []
    if isinstance(raw_codes, str):
        raw_codes = raw_codes.replace(",", " ").split()
    codes = list(dict.fromkeys(str(c).strip() for c in raw_codes if str(c).strip()))
    if not codes:
        errors["codes"] = _("Choose at least one district.")
    elif len(codes) > 50:
        errors["codes"] = _("At most %(n)d districts at once.", n=50)
    else:
        unknown = [c[:20] for c in codes if regions.region(c) is None]
        served = {grant.shop.sender_region_code for grant in grants}
        if unknown:
            errors["codes"] = _("Not a division code (GB/T 2260): %(codes)s.", codes=", ".join(unknown[:5]))
        elif kind == OutletKind.NO_PICKUP and (outside := [c for c in codes if c not in served]):
            errors["codes"] = _(
                "You may only declare pickups for the ship-from districts of the shops you work for, not %(codes)s.",
                codes=", ".join(outside[:5]),
            )
    valid_from = _moment(data.get("valid_from")) if data.get("valid_from") not in (None, "") else now
    valid_to = _moment(data.get("valid_to")) if data.get("valid_to") not in (None, "") else None
    if valid_from is None:
        errors["valid_from"] = _("Give a date and time such as 2026-11-26 08:00.")
    elif valid_from < now - DECLARATION_BACKDATE:
        errors["valid_from"] = _("The window cannot start more than a day ago.")
    elif valid_from > now + MAX_DECLARATION:
        errors["valid_from"] = _("The window must start within 90 days.")
    if data.get("valid_to") not in (None, "") and valid_to is None:
        errors["valid_to"] = _("Give a date and time such as 2026-11-26 08:00.")
    elif valid_to is not None and valid_from is not None:
        if valid_to <= valid_from:
            errors["valid_to"] = _("The window must end after it starts.")
        elif valid_to <= now:
            errors["valid_to"] = _("The window has already ended.")
        elif valid_to - valid_from > MAX_DECLARATION:
            errors["valid_to"] = _("A window can last at most 90 days (leave the end empty for open-ended).")
    reason = str(data.get("reason") or "").strip()
    if reason not in {r.value for r in OutletReason}:
        errors["reason"] = _("Choose a reason: weather, epidemic control, outlet closed, traffic control or other.")
    note = str(data.get("note") or "").strip()
    if len(note) > 500:
        errors["note"] = _("The note can be at most 500 characters.")
    if errors:
        raise InvalidDataError(next(iter(errors.values())), errors)
    named = [grant for grant in grants if grant.company_id is not None]
    made = []
    for code in codes:
        # The company of the grant in a shop shipping from there (a pickup), else of any grant.
        here = [g for g in named if regions.covers(code, g.shop.sender_region_code)] or named
        declaration = OutletDeclaration(
            user_id=actor.id,
            company_id=here[0].company_id if here else None,
            kind=kind,
            code=code,
            name=" ".join(r.name for r in regions.region_path(code)),
            valid_from=valid_from,
            valid_to=valid_to,
            reason=reason,
            note=note,
            created_at=now,
        )
        db.session.add(declaration)
        made.append(declaration)
    db.session.flush()
    for declaration in made:
        _audit_declaration("outlet_declared", declaration, actor, grants)
    return made


def _moment(value: Any) -> datetime | None:
    return orders.parse_time(value)


def _audit_declaration(action: str, declaration: OutletDeclaration, actor: User, grants: list[CourierGrant]) -> None:
    """One event in the log of every shop of the courier the declaration touches (its ship-from), else one."""
    details = {
        "declaration_id": declaration.id,
        "kind": declaration.kind,
        "until": declaration.valid_to.isoformat() if declaration.valid_to else "",
    }
    touched = [g.shop for g in grants if regions.covers(declaration.code, g.shop.sender_region_code)]
    for shop in touched or [None]:
        audit.record(action, actor=actor, shop=shop, target=declaration.code, **details)


def declarations_of(user: User) -> Select:
    return (
        select(OutletDeclaration)
        .where(OutletDeclaration.user_id == user.id)
        .order_by(OutletDeclaration.created_at.desc(), OutletDeclaration.id.desc())
    )


def declaration_for(user: User, declaration_id: int) -> OutletDeclaration:
    """:raise NotFoundError: no such declaration of this courier."""
    declaration = db.session.get(OutletDeclaration, declaration_id) if 0 < declaration_id < 2**31 else None
    if declaration is None or declaration.user_id != user.id:
        raise NotFoundError(_("No such declaration of yours."))
    return declaration


def end_declaration(declaration: OutletDeclaration, *, actor: User, now: datetime | None = None) -> None:
    """End a declaration early. No commit.

    :raise ConflictError: it has already ended.
    """
    now = now or utcnow()
    if declaration.ended_at is not None or (declaration.valid_to is not None and declaration.valid_to <= now):
        raise ConflictError(_("This declaration has already ended."))
    declaration.ended_at = now
    _audit_declaration("outlet_declaration_ended", declaration, actor, shops.active_grants(actor))


def live_declarations(now: datetime | None = None) -> list[OutletDeclaration]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(OutletDeclaration)
            .where(
                OutletDeclaration.ended_at.is_(None),
                OutletDeclaration.valid_from <= now,
                or_(OutletDeclaration.valid_to.is_(None), OutletDeclaration.valid_to > now),
            )
            .order_by(OutletDeclaration.valid_from, OutletDeclaration.id)
        )
    )


def declarations_touching(shop: Shop, now: datetime | None = None) -> list[OutletDeclaration]:
    """Live declarations that touch the shop: no pickups from its ship-from, or no deliveries where its open
    orders go."""
    touching = []
    destinations: set[str] | None = None
    for declaration in live_declarations(now):
        if declaration.kind == OutletKind.NO_PICKUP:
            if shop.sender_region_code and regions.covers(declaration.code, shop.sender_region_code):
                touching.append(declaration)
            continue
        if destinations is None:
            destinations = _open_destinations(shop)
        if declaration.code in destinations:
            touching.append(declaration)
    return touching


def _open_destinations(shop: Shop) -> set[str]:
    rows = db.session.execute(
        select(Order.province_code, Order.city_code, Order.district_code)
        .where(Order.shop_id == shop.id, Order.status.in_(orders.OPEN_STATES))
        .distinct()
    )
    return {code for row in rows for code in row if code}


# Statistics -------------------------------------------------------------------------------------


@dataclass
class DistrictFigures:
    """One origin district's figures: per day (0 = the last ``day_hours``, 1..14 before), and now."""

    code: str
    due: list[int]
    late: list[int]
    overdue: int = 0
    overdue_shops: int = 0
    shops: int = 0
    since: datetime | None = None

    @property
    def share(self) -> float:
        return self.late[0] / self.due[0] if self.due[0] else 0.0

    @property
    def shares(self) -> list[float | None]:
        return [late / due if due else None for due, late in zip(self.due, self.late, strict=True)]

    @property
    def baseline(self) -> float:
        past = [s for s in self.shares[1:] if s is not None]
        return statistics.median(past) if past else 0.0


@dataclass
class Flag:
    """Why a district was (or was not) flagged: the numbers the proposal page shows."""

    figures: DistrictFigures
    rest_share: float
    rest_baseline: float
    flagged: bool
    median_hours: float | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def rise(self) -> float:
        return self.figures.share - self.figures.baseline

    @property
    def rest_rise(self) -> float:
        return self.rest_share - self.rest_baseline


_LABELLED = (OrderStatus.LABELLED, OrderStatus.PACKED)


def _read_window(now: datetime, settings: Settings) -> tuple[ColumnElement[bool], ...]:
    """The orders detection reads: due in the last 15 days, and labelled, packed or shipped."""
    start = now - timedelta(hours=settings.day_hours) * (BASELINE_DAYS + 1)
    return (
        Order.ship_by > start,
        Order.ship_by <= now,
        Order.status.in_((OrderStatus.LABELLED, OrderStatus.PACKED, OrderStatus.SHIPPED)),
    )


def statistics_query(now: datetime, settings: Settings) -> Select:
    """Per ship-from district and day: due, late, overdue now and the earliest overdue ship-by.

    PostgreSQL reads the covering index ``ix_order_ship_by_status`` (ship_by, status, shop_id, shipped_at)
    alone and joins the shops by hash; SQLite, given ANALYZE figures, may skip-scan a (shop_id, ..., ship_by)
    index instead, as fast within a factor of two."""
    day = timedelta(hours=settings.day_hours)
    bucket = case(*[(Order.ship_by > now - day * (i + 1), i) for i in range(BASELINE_DAYS)], else_=BASELINE_DAYS)
    waiting = Order.status.in_(_LABELLED)
    late = or_(waiting, Order.shipped_at > Order.ship_by)
    return (
        select(
            Shop.sender_region_code.label("code"),
            bucket.label("day"),
            func.count().label("due"),
            func.sum(case((late, 1), else_=0)).label("late"),
            func.sum(case((waiting, 1), else_=0)).label("overdue"),
            func.min(case((waiting, Order.ship_by))).label("since"),
        )
        .join(Shop, Shop.id == Order.shop_id)
        .where(*_read_window(now, settings), Shop.sender_region_code != "")
        .group_by(Shop.sender_region_code, bucket)
    )


def district_figures(now: datetime, settings: Settings) -> tuple[dict[str, DistrictFigures], dict[int, str]]:
    """Every origin district's figures, and each shop's district (shops without a ship-from are left out)."""
    shop_district = {
        shop_id: code
        for shop_id, code in db.session.execute(select(Shop.id, Shop.sender_region_code))
        if code and regions.region(code) is not None
    }
    days = BASELINE_DAYS + 1
    figures: dict[str, DistrictFigures] = {}
    for row in db.session.execute(statistics_query(now, settings)):
        if regions.region(row.code) is None:
            continue
        item = figures.setdefault(row.code, DistrictFigures(row.code, [0] * days, [0] * days))
        item.due[row.day] += row.due
        item.late[row.day] += int(row.late or 0)
        if row.overdue:
            item.overdue += int(row.overdue)
            since = _aware(row.since)
            if since is not None and (item.since is None or since < item.since):
                item.since = since
    for code, count in Counter(shop_district.values()).items():
        if code in figures:
            figures[code].shops = count
    waiting_shops = select(Order.shop_id).where(*_read_window(now, settings), Order.status.in_(_LABELLED)).distinct()
    for shop_id in db.session.scalars(waiting_shops):
        if (code := shop_district.get(shop_id)) in figures:
            figures[code].overdue_shops += 1
    return figures, shop_district


def _aware(value: Any) -> datetime | None:
    """MIN() over a CASE loses the column type: SQLite hands back text, PostgreSQL a datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def flags(figures: dict[str, DistrictFigures], settings: Settings) -> list[Flag]:
    """Each district weighed against its own baseline and against the rest of the platform."""
    days = BASELINE_DAYS + 1
    total_due = [sum(f.due[i] for f in figures.values()) for i in range(days)]
    total_late = [sum(f.late[i] for f in figures.values()) for i in range(days)]
    result = []
    for item in figures.values():
        rest = DistrictFigures(
            "rest",
            [total_due[i] - item.due[i] for i in range(days)],
            [total_late[i] - item.late[i] for i in range(days)],
        )
        flag = Flag(item, rest.share, rest.baseline, flagged=False)
        if item.overdue < settings.min_orders:
            flag.reasons.append("min_orders")
        if item.overdue_shops < settings.min_shops:
            flag.reasons.append("min_shops")
        if flag.rise < settings.margin:
            flag.reasons.append("baseline")
        if flag.rise - max(flag.rest_rise, 0.0) < settings.margin:
            flag.reasons.append("platform")
        flag.flagged = not flag.reasons
        result.append(flag)
    return sorted(result, key=lambda f: f.figures.code)


def _median_hours_packed_to_shipped(shop_ids: list[int], now: datetime, settings: Settings) -> float | None:
    """Median hours from packing to pickup of the district's orders shipped in the last day (None: none)."""
    if not shop_ids:
        return None
    day = timedelta(hours=settings.day_hours)
    rows = db.session.execute(
        select(Order.shipped_at, func.max(OrderEvent.at))
        .join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(
            Order.shop_id.in_(shop_ids),
            Order.status == OrderStatus.SHIPPED,
            Order.ship_by > now - day * (BASELINE_DAYS + 1),  # the (shop_id, status, ship_by) index
            Order.shipped_at > now - day,
            Order.shipped_at <= now,
            OrderEvent.to_status == OrderStatus.PACKED,
        )
        .group_by(Order.id, Order.shipped_at)
        .limit(5000)
    ).all()
    hours = [(shipped - _aware(packed_at)).total_seconds() / 3600 for shipped, packed_at in rows if packed_at]
    return round(statistics.median(hours), 1) if hours else None


# Detection --------------------------------------------------------------------------------------


@dataclass
class DetectionResult:
    districts: int = 0
    flagged: list[str] = field(default_factory=list)
    opened: list[AnomalyProposal] = field(default_factory=list)
    updated: list[AnomalyProposal] = field(default_factory=list)
    lapsed: int = 0
    suppressed: list[str] = field(default_factory=list)


@dataclass
class _Signal:
    code: str
    applies_to: str
    flag: Flag | None = None
    declarations: list[OutletDeclaration] = field(default_factory=list)


def detect(now: datetime | None = None, settings: Settings | None = None) -> DetectionResult:
    """Run the detection once: open, refresh or lapse proposals. No commit (the command or job commits)."""
    now = now or utcnow()
    settings = settings or Settings.from_config()
    figures, shop_district = district_figures(now, settings)
    result = DetectionResult(districts=len(figures))
    signals: dict[tuple[str, str], _Signal] = {}
    for flag in flags(figures, settings):
        if flag.flagged:
            key = (flag.figures.code, RegionScope.ORIGIN.value)
            signals[key] = _Signal(*key, flag=flag)
            result.flagged.append(flag.figures.code)
    for declaration in live_declarations(now):
        scope = RegionScope.ORIGIN if declaration.kind == OutletKind.NO_PICKUP else RegionScope.DESTINATION
        key = (declaration.code, scope.value)
        signal = signals.setdefault(key, _Signal(*key))
        signal.declarations.append(declaration)
        if signal.flag is None and scope == RegionScope.ORIGIN and declaration.code in figures:
            # The delay's numbers are shown beside a declaration even when they did not cross the line.
            signal.flag = next(f for f in flags({declaration.code: figures[declaration.code]}, settings))
            signal.flag.flagged = False
    existing: dict[tuple[str, str], list[AnomalyProposal]] = defaultdict(list)
    for proposal in db.session.scalars(
        select(AnomalyProposal)
        .where(
            or_(
                AnomalyProposal.status == ProposalStatus.OPEN,
                and_(
                    AnomalyProposal.status.in_((ProposalStatus.DISMISSED, ProposalStatus.PUBLISHED)),
                    AnomalyProposal.valid_to > now,
                ),
            )
        )
        .order_by(AnomalyProposal.id)
    ):
        existing[(proposal.code, proposal.applies_to)].append(proposal)
    for key, signal in signals.items():
        _apply_signal(signal, existing.get(key, []), shop_district, now, settings, result)
    for key, proposals in existing.items():
        if key not in signals:
            for proposal in proposals:
                if proposal.status == ProposalStatus.OPEN:
                    proposal.status = ProposalStatus.LAPSED
                    result.lapsed += 1
    return result


def detect_and_commit(now: datetime | None = None) -> DetectionResult | None:
    """``detect`` in a transaction of its own; None when another run (cron and the jobs consumer at once) opened
    one of the same proposals first (the one-open-proposal index refused ours): rolled back, the next run
    refreshes it."""
    try:
        result = detect(now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("anomaly detection: another run opened the same proposal first; rolled back")
        return None
    return result


def _apply_signal(
    signal: _Signal,
    proposals: list[AnomalyProposal],
    shop_district: dict[int, str],
    now: datetime,
    settings: Settings,
    result: DetectionResult,
) -> None:
    by_statistics = signal.flag is not None and signal.flag.flagged
    open_one = next((p for p in proposals if p.status == ProposalStatus.OPEN), None)
    if open_one is None:
        for proposal in proposals:
            if proposal.status == ProposalStatus.PUBLISHED and _region_live(proposal.region, now):
                return  # already a region: nothing to propose
            if proposal.status == ProposalStatus.DISMISSED and not _grew(proposal, signal, settings):
                result.suppressed.append(signal.code)
                return
    proposal = open_one or AnomalyProposal(
        code=signal.code,
        name=" ".join(r.name for r in regions.region_path(signal.code)),
        applies_to=signal.applies_to,
        status=ProposalStatus.OPEN,
        first_seen_at=now,
    )
    proposal.from_statistics = by_statistics
    proposal.from_declarations = bool(signal.declarations)
    proposal.level = RegionLevel.AUTO if by_statistics and signal.declarations else RegionLevel.ONE_CLICK
    proposal.last_seen_at = now
    valid_from, valid_to = _window(signal, now, settings)
    proposal.valid_from = min(valid_from, proposal.valid_from) if open_one else valid_from
    proposal.valid_to = valid_to
    if signal.applies_to == RegionScope.ORIGIN:
        shop_ids = [shop_id for shop_id, code in shop_district.items() if regions.covers(signal.code, code)]
        proposal.shops = len(shop_ids)
        proposal.open_orders = _count_open(Order.shop_id.in_(shop_ids)) if shop_ids else 0
    else:
        where = or_(
            Order.province_code == signal.code, Order.city_code == signal.code, Order.district_code == signal.code
        )
        proposal.open_orders = _count_open(where)
        proposal.shops = db.session.scalar(
            select(func.count(func.distinct(Order.shop_id))).where(where, Order.status.in_(orders.OPEN_STATES))
        )
    flag = signal.flag
    proposal.overdue_orders = flag.figures.overdue if flag else 0
    proposal.overdue_shops = flag.figures.overdue_shops if flag else 0
    median = None
    if flag is not None:
        median = _median_hours_packed_to_shipped(
            [s for s, c in shop_district.items() if c == signal.code], now, settings
        )
    proposal.evidence = _evidence(signal, median, now, settings)
    if open_one is None:
        db.session.add(proposal)
        db.session.flush()
        result.opened.append(proposal)
    else:
        result.updated.append(proposal)


def _count_open(where) -> int:
    return db.session.scalar(select(func.count()).select_from(Order).where(where, Order.status.in_(orders.OPEN_STATES)))


def _region_live(region: AnomalyRegion | None, now: datetime) -> bool:
    return region is not None and region.valid_to > now


def _grew(dismissed: AnomalyProposal, signal: _Signal, settings: Settings) -> bool:
    """Whether a signal is bigger than the one dismissed: more overdue orders by the regrow factor, or a
    source the dismissed proposal did not have."""
    if signal.declarations and not dismissed.from_declarations:
        return True
    flagged = signal.flag is not None and signal.flag.flagged
    if flagged and not dismissed.from_statistics:
        return True
    return flagged and signal.flag.figures.overdue >= max(dismissed.overdue_orders, 1) * settings.regrow


def _window(signal: _Signal, now: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """From the earliest overdue ship-by (an hour before, so those orders fall inside) or declaration start;
    to the declarations' end when all have one, else ``window_hours`` from now."""
    starts = [d.valid_from for d in signal.declarations]
    if signal.flag is not None and signal.flag.flagged and signal.flag.figures.since is not None:
        starts.append(signal.flag.figures.since - timedelta(hours=1))
    valid_from = min(starts) if starts else now
    ends = [d.valid_to for d in signal.declarations]
    if ends and all(end is not None for end in ends) and not (signal.flag and signal.flag.flagged):
        valid_to = max(ends)
    else:
        valid_to = max([now + timedelta(hours=settings.window_hours)] + [e for e in ends if e is not None])
    return valid_from, valid_to


def _evidence(signal: _Signal, median: float | None, now: datetime, settings: Settings) -> dict[str, Any]:
    evidence: dict[str, Any] = {"computed_at": now.isoformat(), "settings": settings.__dict__}
    flag = signal.flag
    if flag is not None:
        item = flag.figures
        day = timedelta(hours=settings.day_hours)
        evidence["statistics"] = {
            "flagged": flag.flagged,
            "not_flagged_because": flag.reasons,
            "overdue": item.overdue,
            "overdue_shops": item.overdue_shops,
            "shops": item.shops,
            "due": item.due[0],
            "late": item.late[0],
            "share": round(item.share, 4),
            "baseline": round(item.baseline, 4),
            "rest_share": round(flag.rest_share, 4),
            "rest_baseline": round(flag.rest_baseline, 4),
            "median_hours_packed_to_shipped": median,
            "since": item.since.isoformat() if item.since else None,
            # Oldest day first, for the chart.
            "days": [(now - day * i).isoformat() for i in range(BASELINE_DAYS, -1, -1)],
            "shares": [None if s is None else round(s, 4) for s in item.shares[::-1]],
            "due_by_day": item.due[::-1],
            "late_by_day": item.late[::-1],
        }
    evidence["declarations"] = [
        {
            "id": d.id,
            "kind": d.kind,
            "courier": d.user.username,
            "company": d.company.code if d.company else "",
            "company_name": (d.company.name_zh or d.company.name) if d.company else "",
            "reason": d.reason,
            "note": d.note,
            "valid_from": d.valid_from.isoformat(),
            "valid_to": d.valid_to.isoformat() if d.valid_to else None,
        }
        for d in signal.declarations
    ]
    return evidence


# The operator's decisions -----------------------------------------------------------------------


def proposals(status: str | None = ProposalStatus.OPEN) -> Select:
    query = select(AnomalyProposal).order_by(AnomalyProposal.last_seen_at.desc(), AnomalyProposal.id.desc())
    return query.where(AnomalyProposal.status == status) if status else query


def _require_open(proposal: AnomalyProposal) -> None:
    if proposal.status != ProposalStatus.OPEN:
        raise ConflictError(_("This proposal has already been decided."))


def proposal_region_data(proposal: AnomalyProposal) -> dict[str, Any]:
    """What the proposal suggests, as ``exemptions.publish_region`` takes it (the operator may edit it first)."""
    source = RegionSource.OUTLET_STATUS if proposal.from_declarations else RegionSource.STATISTICS
    return {
        "code": proposal.code,
        "applies_to": proposal.applies_to,
        "level": proposal.level,
        "valid_from": proposal.valid_from,
        "valid_to": proposal.valid_to,
        "source": source.value,
        "note": summary(proposal),
    }


def summary(proposal: AnomalyProposal) -> str:
    """One line of what triggered the proposal (the region's note)."""
    parts = []
    stats = proposal.evidence.get("statistics") or {}
    if proposal.from_statistics and stats:
        parts.append(
            _(
                "%(n)d orders from %(shops)d shops overdue for pickup; "
                "%(share)d%% late against %(baseline)d%% usually.",
                n=stats["overdue"],
                shops=stats["overdue_shops"],
                share=round(stats["share"] * 100),
                baseline=round(stats["baseline"] * 100),
            )
        )
    for d in proposal.evidence.get("declarations", [])[:3]:
        parts.append(
            _(
                "%(company)s outlet: %(kind)s %(name)s (%(reason)s).",
                company=d["company"] or d["courier"],
                kind=KIND_LABELS[d["kind"]],
                name=proposal.name,
                reason=REASON_LABELS[d["reason"]],
            )
        )
    return " ".join(parts)[:500]


def publish(proposal: AnomalyProposal, data: dict[str, Any] | None = None, *, actor: User) -> AnomalyRegion:
    """Publish a proposal as an anomaly region (as suggested, or with the operator's edits), exempting the open
    orders it touches as any region does. No commit.

    :raise ConflictError: already decided. :raise InvalidDataError: an edited field is invalid.
    """
    _require_open(proposal)
    values = proposal_region_data(proposal)
    values.update({k: v for k, v in (data or {}).items() if v not in (None, "")})
    region = exemptions.publish_region(values, actor=actor)
    proposal.status = ProposalStatus.PUBLISHED
    proposal.region_id = region.id
    proposal.decided_at = utcnow()
    proposal.decided_by_id = actor.id
    audit.record("proposal_published", actor=actor, target=proposal.code, proposal_id=proposal.id, region_id=region.id)
    return region


def dismiss(proposal: AnomalyProposal, reason: str, *, actor: User) -> None:
    """Dismiss a proposal: not proposed again for its window unless the signal grows. No commit.

    :raise ConflictError: already decided. :raise InvalidDataError: no reason, or longer than 500 characters.
    """
    _require_open(proposal)
    reason = reason.strip()
    if len(reason) < 3:
        message = _("Say why the proposal is dismissed.")
        raise InvalidDataError(message, {"reason": message})
    if len(reason) > 500:
        message = _("The reason can be at most 500 characters.")
        raise InvalidDataError(message, {"reason": message})
    proposal.status = ProposalStatus.DISMISSED
    proposal.dismiss_reason = reason
    proposal.decided_at = utcnow()
    proposal.decided_by_id = actor.id
    audit.record("proposal_dismissed", actor=actor, target=proposal.code, proposal_id=proposal.id)


def chart_data(proposal: AnomalyProposal) -> dict[str, Any] | None:
    """The 14-day overdue share and its baseline for the page's chart (None without statistics)."""
    stats = proposal.evidence.get("statistics")
    if not stats:
        return None
    return {
        "labels": [day[5:10] for day in stats["days"]],
        "share": [None if s is None else round(s * 100, 1) for s in stats["shares"]],
        "baseline": [round(stats["baseline"] * 100, 1)] * len(stats["days"]),
        "rest": round(stats["rest_share"] * 100, 1),
        "share_label": _("Overdue share (%)"),
        "baseline_label": _("Baseline (%)"),
    }


@dataclass
class SellerPanel:
    """What the seller's exemption page shows of this module: live declarations touching the shop, and labels."""

    declarations: list[OutletDeclaration]
    kind_labels: dict = field(default_factory=lambda: KIND_LABELS)
    reason_labels: dict = field(default_factory=lambda: REASON_LABELS)


def seller_panel(shop: Shop, now: datetime | None = None) -> SellerPanel:
    return SellerPanel(declarations_touching(shop, now))
