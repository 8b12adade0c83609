"""The operator's region picker in Chromium: each level's choices follow the level above (htmx), then publish."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AnomalyRegion, Exemption, Order
from tests import scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def picked(page, option: str) -> None:
    """Wait until ``option`` is offered and htmx has settled the swap (the new pickers answer changes only then)."""
    page.wait_for_selector(option, state="attached")
    page.wait_for_selector("#region-lower:not(.htmx-swapping):not(.htmx-settling)", state="attached")


def test_pick_province_city_district_and_publish(app, world, live_url, browser):
    scanning.require(browser is not None, missing_tool() or "")
    page = browser.new_page()
    page.goto(f"{live_url}/login")
    page.fill("#username", "operator")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{live_url}/operator/regions")
    assert page.locator("#city option").count() == 1  # nothing to pick before a province

    page.select_option("#province", "330000")  # 浙江省
    picked(page, "#city option[value='330100']")
    assert "杭州市" in page.inner_text("#city")
    page.select_option("#city", "330100")
    picked(page, "#district option[value='330106']")
    assert "西湖区" in page.inner_text("#district")

    # Another province: the cities follow and the district list empties.
    page.select_option("#province", "440000")  # 广东省
    picked(page, "#city option[value='440300']")  # 深圳市
    assert page.locator("#district option").count() == 1
    page.select_option("#province", "330000")
    picked(page, "#city option[value='330100']")
    page.select_option("#city", "330100")
    picked(page, "#district option[value='330106']")
    page.select_option("#district", "330106")

    page.fill("#valid_from", "2026-01-01T00:00")
    page.fill("#valid_to", "2036-01-01T00:00")
    page.fill("#note", "<script>alert(1)</script> 封控")
    page.click("#region-form button[type=submit]")
    page.wait_for_selector("#regions td.handle")
    assert page.inner_text("#regions td.handle") == "330106"
    assert "<script>alert(1)</script> 封控" in page.inner_text("#regions")  # shown as text, not run
    page.close()

    with app.app_context():
        region = db.session.scalar(select(AnomalyRegion).where(AnomalyRegion.code == "330106"))
        assert (region.code, region.level, region.applies_to) == ("330106", "auto", "destination")
        assert region.name == "浙江省 杭州市 西湖区"
        inside = db.session.scalars(
            select(Order.exemption).where(Order.district_code == "330106", Order.status.in_(("pending", "labelled")))
        ).all()
    assert inside and set(inside) == {Exemption.AUTO}
