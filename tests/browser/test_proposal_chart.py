"""A proposed anomaly region in Chromium: its 14-day chart draws (Chart.js under the CSP), one click publishes it."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AnomalyProposal, AnomalyRegion
from portal.models.base import utcnow
from portal.services import accounts, anomalies
from tests import scanning
from tests.anomaly_world import GONGSHU, SHANGCHENG, XIHU, make_world
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# The README's screenshot of a proposal, refreshed when PORTAL_SCREENSHOTS is set (else written to tmp_path).
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "img" / "screenshots" / "operator-proposal.png"


def test_the_chart_draws_and_the_proposal_publishes(app, world, live_url, browser, tmp_path):
    scanning.require(browser is not None, missing_tool() or "")
    with app.app_context():
        now = utcnow()
        make_world(now, {XIHU: 4, SHANGCHENG: 3, GONGSHU: 3}, per_day=12, stopped=(XIHU,))
        anomalies.declare(
            {"kind": "no_pickup", "codes": [XIHU], "reason": "weather", "note": "暴雪，网点停收", "valid_from": now},
            actor=accounts.find_user("courier1"),
            now=now,
        )
        proposal_id = anomalies.detect(now).opened[0].id
        db.session.commit()
    page = browser.new_page()
    page.set_viewport_size({"width": 1200, "height": 1100})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_url}/login")
    page.fill("#username", "operator")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{live_url}/operator/proposals/{proposal_id}")
    page.wait_for_selector("#proposal-chart[data-ready='1']")
    points = page.evaluate("Chart.getChart(document.getElementById('proposal-chart')).data.datasets[0].data")
    assert len(points) == 15 and points[-1] > 50 and points[0] < 50
    # Something was drawn: the canvas is not blank.
    painted = page.evaluate(
        """() => { const c = document.getElementById('proposal-chart');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted > 1000
    assert problems == []  # no CSP refusal, no script error
    assert "(a courier declaration and the pickup delay agree)" in page.inner_text("#proposal-facts")
    page.screenshot(
        path=str(SCREENSHOT if os.environ.get("PORTAL_SCREENSHOTS") else tmp_path / SCREENSHOT.name), full_page=True
    )
    page.click("#publish-form button[type=submit]")
    page.wait_for_selector("#published-region")
    page.close()
    with app.app_context():
        proposal = db.session.get(AnomalyProposal, proposal_id)
        region = db.session.scalar(select(AnomalyRegion).where(AnomalyRegion.id == proposal.region_id))
        assert (region.code, region.level, region.source) == (XIHU, "auto", "outlet_status")
