"""A courier signs in, ticks orders in the queue, prints: Chromium's PDF has one scannable label per page."""

import io

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Order
from tests import scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_courier_prints_a_job_from_the_queue(app, world, live_url, browser):
    scanning.require(browser is not None, missing_tool() or "")
    from pypdf import PdfReader

    shop = world["shops"]["seller1"]
    base = live_url
    page = browser.new_page()
    # Count the page's own window.print() calls; the test prints with page.pdf() instead of a dialog.
    page.add_init_script("window.__prints = 0; window.print = function () { window.__prints += 1; };")
    page.goto(f"{base}/login")
    page.fill("#username", "courier1")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{base}/courier/queue?shop={shop}")
    boxes = page.locator("input.order-check")
    for index in range(4):
        boxes.nth(index).check()
    page.select_option("#company", "ZTO")
    page.select_option("#size", "100x150")
    page.click("#print-form button[type=submit]")
    page.wait_for_url("**/courier/print-jobs/*/summary")  # the job's page: back, downloads, the labels to open
    page.goto(base + page.get_attribute("#open-labels", "href"))
    page.wait_for_load_state("load")
    assert page.evaluate("window.__prints") == 1  # the print page prints itself on open
    pdf = page.pdf(prefer_css_page_size=True)
    page.close()

    with app.app_context():
        printed = db.session.scalars(
            select(Order).where(Order.shop_id == shop, Order.tracking_no.is_not(None)).order_by(Order.ship_by, Order.id)
        ).all()
        numbers = [order.tracking_no for order in printed]
    assert len(numbers) == 4
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 4
    for pdf_page in pages:
        assert float(pdf_page.mediabox.width) * 25.4 / 72 == pytest.approx(100, abs=0.5)
        assert float(pdf_page.mediabox.height) * 25.4 / 72 == pytest.approx(150, abs=0.5)
    decoded = [scanning.decode(image) for image in scanning.pdf_to_images(pdf)]
    assert decoded == [[number] for number in numbers]
