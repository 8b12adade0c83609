"""seller1 makes a batch of 5 from the order list, prints it with the shop's own range, Chromium's PDF has the 5
labels, one a page, each scannable; then one parcel is packed at the desk with its goods scanned (验货)."""

import io
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Order, OrderStatus, PrintBatch, Shop
from portal.services import batches
from tests import scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser
# The README's screenshots, refreshed when PORTAL_SCREENSHOTS is set (else written to the test's tmp_path).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "static" / "img" / "screenshots"


def screenshot(page, name: str, tmp_path) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str((SCREENSHOTS if os.environ.get("PORTAL_SCREENSHOTS") else tmp_path) / name))


def test_seller_batches_prints_and_packs(app, world, live_url, browser, tmp_path):
    scanning.require(browser is not None, missing_tool() or "")
    from pypdf import PdfReader

    shop = world["shops"]["seller1"]
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == shop).values(check_goods=True))
        db.session.commit()
    page = browser.new_page()
    page.add_init_script("window.__prints = 0; window.print = function () { window.__prints += 1; };")
    page.goto(f"{live_url}/login")
    if page.locator("#username").count():
        page.fill("#username", "seller1")
        page.fill("#password", DEMO_PASSWORD)
        page.click("main button[type=submit]")
    page.goto(f"{live_url}/shops/{shop}/orders?status=pending&flagged=no")
    boxes = page.locator("input.order-check")
    for index in range(5):
        boxes.nth(index).check()
    screenshot(page, "seller-orders.png", tmp_path)
    page.click("#bulk-batch")
    page.wait_for_url(re.compile(r".*/batches/\d+$"))
    assert page.inner_text("#count-total") == "5" and page.inner_text("#count-printed") == "0"
    batch_url = page.url

    page.select_option("#batch-print-form select[name=company]", "ZTO")
    page.select_option("#batch-print-form select[name=size]", "100x150")
    page.click("#batch-print")
    page.wait_for_url("**/print-jobs/*/summary")
    assert page.inner_text("#job-count") == "5"
    page.goto(live_url + page.get_attribute("#open-labels", "href"))
    page.wait_for_load_state("load")
    assert page.evaluate("window.__prints") == 1  # the print page prints itself on open
    pdf = page.pdf(prefer_css_page_size=True)

    with app.app_context():
        batch = db.session.scalar(select(PrintBatch))
        order_ids = batches.order_ids_of(batch)
        numbers = [db.session.get(Order, i).tracking_no for i in order_ids]
    assert all(numbers) and len(set(numbers)) == 5
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 5
    decoded = [scanning.decode(image) for image in scanning.pdf_to_images(pdf)]
    assert sorted(code for codes in decoded for code in codes) == sorted(numbers)
    assert all(len(codes) == 1 for codes in decoded)

    # Pack the first parcel from the batch's page: its number, then every item's SKU until the count is met.
    page.goto(batch_url)
    assert page.inner_text("#count-printed") == "5"
    page.click("#packing-desk")
    page.wait_for_selector("#code")
    with app.app_context():
        order = db.session.get(Order, order_ids[0])
        goods = [(item.sku, item.quantity) for item in order.items]
    assert goods and all(sku for sku, _quantity in goods)
    page.keyboard.type(numbers[0])
    page.keyboard.press("Enter")
    page.wait_for_selector("#pack-goods")
    assert page.locator(".confirm-button").count() == 0  # not before the goods are checked
    for sku, quantity in goods:
        for _ in range(quantity):
            page.keyboard.type(sku)
            page.keyboard.press("Enter")
            page.wait_for_timeout(150)
    page.wait_for_selector(".confirm-button")
    page.keyboard.press("Enter")
    page.wait_for_selector(".scan-ok")
    page.goto(batch_url)
    assert page.inner_text("#count-packed") == "1"
    screenshot(page, "seller-batch.png", tmp_path)
    page.close()
    with app.app_context():
        assert db.session.get(Order, order_ids[0]).status == OrderStatus.PACKED
        assert {db.session.get(Order, i).status for i in order_ids[1:]} == {OrderStatus.LABELLED}
