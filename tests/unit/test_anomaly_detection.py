"""Anomaly detection (services/anomalies.py) over generated worlds: what is proposed, and what is not."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AnomalyProposal,
    AnomalyRegion,
    Exemption,
    Order,
    OrderEvent,
    OrderStatus,
    ProposalStatus,
    RegionLevel,
    RegionSource,
    User,
)
from portal.models.base import utcnow
from portal.services import anomalies
from portal.services.errors import ConflictError, InvalidDataError
from tests.anomaly_world import GONGSHU, NANSHAN, SHANGCHENG, XIHU, grant, make_world


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def operator() -> User:
    user = db.session.scalar(select(User).where(User.username == "op"))
    if user is None:
        user = User(username="op", password_hash="x", is_operator=True)
        db.session.add(user)
        db.session.flush()
    return user


def courier(name: str = "zto-xihu") -> User:
    user = User(username=name, password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def test_an_empty_database_proposes_nothing(ctx):
    result = anomalies.detect()
    assert (result.districts, result.flagged, result.opened) == (0, [], [])
    assert db.session.scalar(select(func.count()).select_from(AnomalyProposal)) == 0


def test_a_district_whose_pickups_stopped_is_proposed_with_its_counts_and_its_neighbour_is_not(ctx):
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3, GONGSHU: 2, NANSHAN: 2}, stopped=(XIHU,))
    result = anomalies.detect(now)
    assert result.districts == 4
    assert result.flagged == [XIHU]
    [proposal] = result.opened
    assert (proposal.code, proposal.applies_to, proposal.status) == (XIHU, "origin", ProposalStatus.OPEN)
    assert proposal.from_statistics and not proposal.from_declarations
    assert proposal.level == RegionLevel.ONE_CLICK  # statistics alone: the seller confirms
    # 3 shops x 10 orders due in the last day, none picked up; all packed (open) now.
    assert (proposal.overdue_orders, proposal.overdue_shops, proposal.shops, proposal.open_orders) == (30, 3, 3, 30)
    stats = proposal.evidence["statistics"]
    assert (stats["due"], stats["late"], stats["share"], stats["baseline"]) == (30, 30, 1.0, 0.1)
    assert stats["rest_share"] == pytest.approx(0.1)
    assert len(stats["shares"]) == 15 and stats["shares"][-1] == 1.0
    assert proposal.valid_from < now - timedelta(hours=22) and proposal.valid_to > now
    # The neighbour was looked at and is at its usual 10 %.
    flags = {
        f.figures.code: f
        for f in anomalies.flags(anomalies.district_figures(now, anomalies.Settings())[0], anomalies.Settings())
    }
    assert flags[SHANGCHENG].figures.share == pytest.approx(0.1) and not flags[SHANGCHENG].flagged


def test_a_platform_wide_holiday_proposes_nothing(ctx):
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3, GONGSHU: 2}, holiday=True)
    result = anomalies.detect(now)
    assert result.flagged == [] and result.opened == []
    figures, _ = anomalies.district_figures(now, anomalies.Settings())
    flag = anomalies.flags(figures, anomalies.Settings())[0]
    # Every district is at 100 % late, as is the rest of the platform: the district did not stand out.
    assert flag.figures.share == 1.0 and flag.rest_share == 1.0 and "platform" in flag.reasons


def test_a_district_with_one_shop_is_weighed_but_not_proposed_on_statistics_alone(ctx):
    now = utcnow()
    make_world(now, {XIHU: 1, SHANGCHENG: 2}, per_day=25, stopped=(XIHU,))
    result = anomalies.detect(now)
    assert result.opened == []
    figures, _ = anomalies.district_figures(now, anomalies.Settings())
    flag = next(f for f in anomalies.flags(figures, anomalies.Settings()) if f.figures.code == XIHU)
    assert flag.figures.overdue == 25 and flag.reasons == ["min_shops"]


def test_too_few_overdue_orders_are_not_proposed(ctx):
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3}, per_day=5, stopped=(XIHU,))  # 15 overdue < 20
    assert anomalies.detect(now).opened == []


def test_a_courier_declaration_and_the_delay_agreeing_propose_automatic(ctx):
    now = utcnow()
    shops = make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
    person = courier()
    grant(person, shops[XIHU][0])
    anomalies.declare(
        {
            "kind": "no_pickup",
            "codes": [XIHU],
            "reason": "weather",
            "note": "台风",
            "valid_to": now + timedelta(days=2),
        },
        actor=person,
        now=now,
    )
    [proposal] = anomalies.detect(now).opened
    assert proposal.from_statistics and proposal.from_declarations
    assert proposal.level == RegionLevel.AUTO
    assert proposal.evidence["declarations"][0]["courier"] == "zto-xihu"
    assert anomalies.proposal_region_data(proposal)["source"] == RegionSource.OUTLET_STATUS


def test_a_declaration_alone_proposes_one_click_for_its_window(ctx):
    now = utcnow()
    shops = make_world(now, {XIHU: 3, SHANGCHENG: 3})
    person = courier()
    grant(person, shops[XIHU][0])
    until = now + timedelta(days=3)
    anomalies.declare(
        {"kind": "no_delivery", "codes": ["110108"], "reason": "epidemic", "valid_to": until}, actor=person, now=now
    )
    [proposal] = anomalies.detect(now).opened
    assert (proposal.code, proposal.applies_to, proposal.level) == ("110108", "destination", RegionLevel.ONE_CLICK)
    assert proposal.from_declarations and not proposal.from_statistics
    assert proposal.valid_to == until
    assert proposal.shops == 0 and proposal.open_orders == 0  # every world order is shipped


def test_publishing_creates_the_region_and_exempts_the_open_orders_it_touches(ctx):
    now = utcnow()
    shops = make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
    person = courier()
    grant(person, shops[XIHU][0])
    anomalies.declare({"kind": "no_pickup", "codes": [XIHU], "reason": "outlet_closed"}, actor=person, now=now)
    [proposal] = anomalies.detect(now).opened
    region = anomalies.publish(proposal, actor=operator())
    assert (region.code, region.applies_to, region.level, region.source) == (XIHU, "origin", "auto", "outlet_status")
    assert region.proposal is proposal and proposal.status == ProposalStatus.PUBLISHED
    exempt = db.session.scalars(select(Order).where(Order.exemption == Exemption.AUTO)).all()
    assert len(exempt) == 30 and {o.shop_id for o in exempt} == set(shops[XIHU])
    assert all(o.exempt_region_id == region.id and o.status == OrderStatus.PACKED for o in exempt)
    # A published, live region is not proposed again.
    assert anomalies.detect(now + timedelta(minutes=15)).opened == []
    with pytest.raises(ConflictError):
        anomalies.publish(proposal, actor=operator())


def test_an_edited_publish_keeps_the_operators_choices(ctx):
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
    [proposal] = anomalies.detect(now).opened
    region = anomalies.publish(proposal, {"level": "auto", "note": "checked with ZTO"}, actor=operator())
    assert (region.level, region.note, region.source) == ("auto", "checked with ZTO", "statistics")
    assert db.session.scalar(select(func.count()).select_from(Order).where(Order.exemption == Exemption.AUTO)) == 30


def test_dismissing_suppresses_the_signal_for_its_window_unless_it_grows(ctx):
    now = utcnow()
    shops = make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
    [proposal] = anomalies.detect(now).opened
    with pytest.raises(InvalidDataError):
        anomalies.dismiss(proposal, "", actor=operator())
    anomalies.dismiss(proposal, "a local fair, known", actor=operator())
    later = now + timedelta(minutes=15)
    result = anomalies.detect(later)
    assert result.opened == [] and result.suppressed == [XIHU]
    # The signal grows (20 more stuck orders, 50 >= 30 x 1.5): proposed again.
    more = [
        {
            "shop_id": shops[XIHU][i % 3],
            "platform_order_no": f"more{i}",
            "status": "packed",
            "paid_at": later - timedelta(hours=49),
            "ship_by": later - timedelta(hours=1),
            "district_code": "110108",
        }
        for i in range(20)
    ]
    db.session.execute(Order.__table__.insert(), more)
    [again] = anomalies.detect(later).opened
    assert again.id != proposal.id and again.overdue_orders == 50


def test_a_signal_that_goes_away_lapses_and_a_refresh_updates_in_place(ctx):
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
    [proposal] = anomalies.detect(now).opened
    refreshed = anomalies.detect(now + timedelta(minutes=15))
    assert refreshed.opened == [] and refreshed.updated == [proposal]
    db.session.execute(
        Order.__table__.update()
        .where(Order.status == "packed")
        .values(status="shipped", shipped_at=now + timedelta(minutes=20))
    )
    result = anomalies.detect(now + timedelta(minutes=30))
    assert result.lapsed == 1 and proposal.status == ProposalStatus.LAPSED
    assert db.session.scalar(select(func.count()).select_from(AnomalyRegion)) == 0


def test_the_statistics_read_orders_of_the_last_fifteen_days_only(ctx):
    now = utcnow()
    make_world(now, {XIHU: 2})
    sql = str(anomalies.statistics_query(now, anomalies.Settings()).compile(db.engine))
    assert "ship_by >" in sql and "ship_by <=" in sql
    figures, _ = anomalies.district_figures(now, anomalies.Settings())
    assert sum(figures[XIHU].due) == 2 * 10 * 15


def test_a_declaration_shows_the_districts_delay_below_the_line_with_the_median_hours_to_pickup(ctx):
    now = utcnow()
    shops = make_world(now, {XIHU: 3, SHANGCHENG: 3})
    # Each order shipped in the last day was packed 3 hours before its pickup.
    day0 = db.session.execute(
        select(Order.id, Order.shipped_at).where(
            Order.shop_id.in_(shops[XIHU]), Order.shipped_at > now - timedelta(days=1)
        )
    ).all()
    db.session.execute(
        OrderEvent.__table__.insert(),
        [
            {"order_id": i, "at": shipped - timedelta(hours=3), "action": "pack", "to_status": "packed"}
            for i, shipped in day0
        ],
    )
    person = courier()
    grant(person, shops[XIHU][0])
    anomalies.declare({"kind": "no_pickup", "codes": [XIHU], "reason": "traffic"}, actor=person, now=now)
    [proposal] = anomalies.detect(now).opened
    assert proposal.from_declarations and not proposal.from_statistics and proposal.level == RegionLevel.ONE_CLICK
    stats = proposal.evidence["statistics"]
    assert stats["flagged"] is False and "baseline" in stats["not_flagged_because"]
    assert stats["median_hours_packed_to_shipped"] == 3.0 and len(day0) > 20


def test_two_runs_at_once_open_one_proposal(ctx, monkeypatch):
    """Cron and the jobs consumer at the same moment: the run whose insert comes second is refused by the
    one-open-proposal index and rolls back whole; the first run's proposal stands."""
    now = utcnow()
    make_world(now, {XIHU: 3, SHANGCHENG: 3, GONGSHU: 2, NANSHAN: 2}, stopped=(XIHU,))
    db.session.commit()
    real_detect = anomalies.detect

    def raced(at=None):
        result = real_detect(at)
        first = result.opened[0]
        # What the other run committed meanwhile: the same open proposal.
        db.session.add(
            AnomalyProposal(
                code=first.code,
                applies_to=first.applies_to,
                level=first.level,
                valid_from=first.valid_from,
                valid_to=first.valid_to,
                status=ProposalStatus.OPEN,
            )
        )
        return result

    monkeypatch.setattr(anomalies, "detect", raced)
    assert anomalies.detect_and_commit(now) is None
    assert db.session.scalar(select(func.count()).select_from(AnomalyProposal)) == 0  # nothing half-written
    monkeypatch.setattr(anomalies, "detect", real_detect)
    assert [p.code for p in anomalies.detect_and_commit(now).opened] == [XIHU]
    assert anomalies.detect_and_commit(now).opened == []  # refreshed in place, not opened again
    # A dismissed or published proposal does not hold the place of an open one.
    [proposal] = db.session.scalars(select(AnomalyProposal)).all()
    proposal.status = ProposalStatus.DISMISSED
    db.session.add(
        AnomalyProposal(
            code=XIHU,
            applies_to=proposal.applies_to,
            level=proposal.level,
            valid_from=now,
            valid_to=now + timedelta(days=1),
            status=ProposalStatus.OPEN,
        )
    )
    db.session.flush()
