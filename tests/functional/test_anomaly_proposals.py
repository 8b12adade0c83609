"""Proposed anomaly regions through the operator's pages: list, chart, publish (as is or edited), dismiss."""

import json
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AnomalyProposal, AnomalyRegion, AuditEvent, Exemption, Order, ProposalStatus, Shop, User
from portal.models.base import utcnow
from portal.services import accounts, anomalies
from tests.anomaly_world import SHANGCHENG, XIHU, grant, make_world

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def stopped_world(app, *, declare: bool = False) -> int:
    """Pickups stopped in 西湖区 for the last day (3 shops), 上城区 normal; the detection run. The proposal's id."""
    with app.app_context():
        now = utcnow()
        shops = make_world(now, {XIHU: 3, SHANGCHENG: 3}, stopped=(XIHU,))
        db.session.add(User(username="operator", password_hash="x", is_operator=True))
        if declare:
            courier = User(username="zto-xihu", password_hash="x")
            db.session.add(courier)
            db.session.flush()
            grant(courier, shops[XIHU][0])
            anomalies.declare(
                {"kind": "no_pickup", "codes": [XIHU], "reason": "weather", "note": "暴雪"}, actor=courier, now=now
            )
        proposal = anomalies.detect(now).opened[0]
        db.session.commit()
        return proposal.id


def signed_in(app, username: str):
    client = app.test_client()
    with app.app_context():
        session_id = accounts.find_user(username).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    return client


def proposal(app, proposal_id: int) -> AnomalyProposal:
    with app.app_context():
        return db.session.get(AnomalyProposal, proposal_id)


def test_the_list_and_the_page_show_the_numbers_that_triggered_it_and_its_chart(app):
    proposal_id = stopped_world(app)
    operator = signed_in(app, "operator")
    listing = operator.get("/operator/proposals").get_data(as_text=True)
    assert listing.count('class="proposal"') == 1 and f'data-code="{XIHU}"' in listing and SHANGCHENG not in listing
    assert "Pickup delay" in listing and "One-click report" in listing
    page = operator.get(f"/operator/proposals/{proposal_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert re.search(r'id="stat-overdue">30<', text) and re.search(r'id="stat-share">100%<', text)
    assert re.search(r'id="stat-baseline">10%<', text) and "3 shops, 30 open orders" in text
    chart = json.loads(unescape(re.search(r'id="proposal-chart-data">(.*?)</script>', text, re.S).group(1)))
    assert len(chart["labels"]) == 15 and chart["share"][-1] == 100.0 and set(chart["baseline"]) == {10.0}
    assert "chart.umd.min.js" in text and "js/proposal-chart.js" in text
    assert operator.get(f"/operator/proposals/{proposal_id}", headers=ZH).status_code == 200


def test_publishing_creates_the_region_with_a_link_back_and_exempts_the_open_orders(app):
    proposal_id = stopped_world(app, declare=True)
    operator = signed_in(app, "operator")
    assert (
        "(a courier declaration and the pickup delay agree)" in operator.get(f"/operator/proposals/{proposal_id}").text
    )
    form = re.search(r'name="valid_from"[^>]*value="([^"]+)"', operator.get(f"/operator/proposals/{proposal_id}").text)
    assert form is not None
    response = operator.post(
        f"/operator/proposals/{proposal_id}/publish",
        data={
            "applies_to": "origin",
            "level": "auto",
            "valid_from": form.group(1),
            "valid_to": (utcnow() + timedelta(hours=8 + 48)).strftime("%Y-%m-%dT%H:%M"),
            "note": "ZTO 西湖 暴雪",
        },
    )
    assert response.status_code in (302, 303) and response.headers["Location"].endswith(
        f"/operator/proposals/{proposal_id}"
    )
    published = proposal(app, proposal_id)
    assert published.status == ProposalStatus.PUBLISHED and published.region_id is not None
    with app.app_context():
        region = db.session.get(AnomalyRegion, published.region_id)
        assert (region.code, region.level, region.source, region.note) == (
            XIHU,
            "auto",
            "outlet_status",
            "ZTO 西湖 暴雪",
        )
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Order)
                .where(Order.exempt_region_id == region.id, Order.exemption == Exemption.AUTO)
            )
            == 30
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "proposal_published")
            )
            == 1
        )
    # The operator's list of regions links the region back to its evidence.
    listed = operator.get("/operator/regions")
    assert f'href="/operator/proposals/{proposal_id}"' in listed.text
    # A second click finds it decided.
    again = operator.post(f"/operator/proposals/{proposal_id}/publish", data={"applies_to": "origin", "level": "auto"})
    assert again.status_code == 409 and "already been decided" in again.text


def test_a_shop_sees_where_its_region_came_from(app):
    proposal_id = stopped_world(app, declare=True)
    operator = signed_in(app, "operator")
    operator.post(
        f"/operator/proposals/{proposal_id}/publish",
        data={"applies_to": "origin", "level": "auto", "valid_from": "", "valid_to": "", "note": ""},
    )
    with app.app_context():
        shop = db.session.scalar(select(Order.shop_id).where(Order.exemption == Exemption.AUTO))
        owner_name = db.session.get(Shop, shop).owner.username
    page = signed_in(app, owner_name).get(f"/shops/{shop}/exemptions").text
    assert "Where it came from:" in page and "origin-declaration" in page and "origin-statistics" in page
    assert "30 orders from 3 shops overdue, 100% late against 10% usually" in page


def test_an_edit_with_a_bad_window_is_refused_with_the_field_named(app):
    proposal_id = stopped_world(app)
    operator = signed_in(app, "operator")
    response = operator.post(
        f"/operator/proposals/{proposal_id}/publish",
        data={
            "applies_to": "origin",
            "level": "auto",
            "valid_from": "2026-12-09T08:00",
            "valid_to": "2026-12-08T08:00",
        },
    )
    assert response.status_code == 422 and "The window must end after it starts." in response.text
    assert proposal(app, proposal_id).status == ProposalStatus.OPEN
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AnomalyRegion)) == 0


def test_dismissing_needs_a_reason_and_suppresses_the_proposal(app):
    proposal_id = stopped_world(app)
    operator = signed_in(app, "operator")
    refused = operator.post(f"/operator/proposals/{proposal_id}/dismiss", data={"reason": ""})
    assert refused.status_code == 422 and "Say why the proposal is dismissed." in refused.text
    response = operator.post(f"/operator/proposals/{proposal_id}/dismiss", data={"reason": "<b>local fair</b>"})
    assert response.status_code in (302, 303)
    assert proposal(app, proposal_id).status == ProposalStatus.DISMISSED
    detail = operator.get(f"/operator/proposals/{proposal_id}").text
    assert "&lt;b&gt;local fair&lt;/b&gt;" in detail
    # The next detection run does not propose it again.
    operator.post("/operator/proposals/detect")
    assert 'class="proposal"' not in operator.get("/operator/proposals").text
    assert operator.get("/operator/proposals?status=dismissed").text.count('class="proposal"') == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AnomalyProposal)) == 1


def test_unknown_proposals_are_404(app):
    stopped_world(app)
    operator = signed_in(app, "operator")
    assert operator.get("/operator/proposals/999").status_code == 404
    assert operator.post("/operator/proposals/999/dismiss", data={"reason": "x"}).status_code == 404
    assert operator.get("/operator/proposals?status=nonsense").status_code == 200


def test_the_cli_command_runs_the_detection(app):
    stopped_world(app)
    result = app.test_cli_runner().invoke(args=["detect-anomalies"])
    assert result.exit_code == 0, result.output
    assert "2 origin districts checked; flagged: 330106; proposals opened 0, refreshed 1" in result.output
