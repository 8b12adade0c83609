"""The packing desk in Chromium, as a USB scanner uses it: type the number, Enter, Enter again."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Order, OrderStatus, User
from portal.services import printing, waybills
from tests import scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_scan_confirm_scan_again(app, world, live_url, browser):
    scanning.require(browser is not None, missing_tool() or "")
    shop = world["shops"]["seller1"]
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop, Order.address_flagged.is_(False))
                .order_by(Order.id)
                .limit(2)
            )
        )
        courier = db.session.scalar(select(User).where(User.username == "courier1"))
        printing.create_print_job(
            courier, ids, allowed_shop_ids={shop}, company=waybills.company_by_code("ZTO"), size="100x150"
        )
        db.session.commit()
        numbers = [db.session.get(Order, i).tracking_no for i in ids]

    base = live_url
    page = browser.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "packer1")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{base}/staff/shops/{shop}/packing")
    assert page.evaluate("document.activeElement.id") == "code"  # ready for the scanner

    page.keyboard.type(numbers[0])
    page.keyboard.press("Enter")
    page.wait_for_selector("#pack-items")
    assert page.evaluate("document.activeElement.classList.contains('confirm-button')")
    page.keyboard.press("Enter")  # confirm without touching the mouse
    page.wait_for_selector(".scan-ok")
    assert page.evaluate("document.activeElement.id") == "code"
    assert page.input_value("#code") == ""

    page.keyboard.type(numbers[0])  # the same parcel again: a loud refusal
    page.keyboard.press("Enter")
    page.wait_for_selector(".scan-error")
    assert "already packed" in page.inner_text("#scan-result")
    page.close()
    with app.app_context():
        statuses = [db.session.scalar(select(Order.status).where(Order.tracking_no == n)) for n in numbers]
    assert statuses == [OrderStatus.PACKED, OrderStatus.LABELLED]
