"""The packing desk in Chromium, as a USB scanner uses it: type the number, Enter, Enter again."""

import pytest
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import Order, OrderItem, OrderStatus, Shop, User
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


# A stand-in for the Web Audio API that records the tones the desk plays (type and pitch), so the test hears them.
_RECORD_TONES = """
window.__tones = [];
window.AudioContext = function () {
  this.currentTime = 0;
  this.destination = {};
  this.createGain = function () { return {gain: {value: 0}, connect: function () {}}; };
  this.createOscillator = function () {
    var osc = {type: "", frequency: {value: 0}, connect: function () {}, stop: function () {},
               start: function () { window.__tones.push(osc.type + ":" + osc.frequency.value); }};
    return osc;
  };
};
"""


def test_goods_checked_item_by_item(app, world, live_url, browser):
    """验货: after the parcel, each item's SKU; a wrong one is refused in red with the low tone, and confirm appears
    only when every quantity matches."""
    scanning.require(browser is not None, missing_tool() or "")
    shop = world["shops"]["seller1"]
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == shop).values(check_goods=True))
        order_id = db.session.scalar(
            select(Order.id).where(Order.shop_id == shop, Order.address_flagged.is_(False)).order_by(Order.id).limit(1)
        )
        db.session.execute(delete(OrderItem).where(OrderItem.order_id == order_id))
        db.session.add(OrderItem(order_id=order_id, title="大红袍 100g", sku="TEA-DHP-100", quantity=2))
        db.session.add(OrderItem(order_id=order_id, title="茶杯", sku="CUP-01", quantity=1))
        courier = db.session.scalar(select(User).where(User.username == "courier1"))
        printing.create_print_job(
            courier, [order_id], allowed_shop_ids={shop}, company=waybills.company_by_code("ZTO"), size="100x150"
        )
        db.session.commit()
        number = db.session.get(Order, order_id).tracking_no

    page = browser.new_page()
    page.add_init_script(_RECORD_TONES)
    page.goto(f"{live_url}/login")
    if page.locator("#username").count():  # the browser's profile may still be signed in from the test above
        page.fill("#username", "packer1")
        page.fill("#password", DEMO_PASSWORD)
        page.click("main button[type=submit]")
    page.goto(f"{live_url}/staff/shops/{shop}/packing")
    # htmx wires up what it swapped in when that settles; a scanner may type the next code before then. A long
    # settle makes that moment last: each scan below comes before its form settles, and must be answered in place.
    page.evaluate("htmx.config.defaultSettleDelay = 2000")
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    page.wait_for_selector("#pack-goods")
    assert page.evaluate("document.activeElement.id") == "item-code"  # the scanner now types items
    assert page.locator(".confirm-button").count() == 0

    def scan(code):
        page.evaluate("window.__tones = []")
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        for _ in range(100):  # the page's CSP forbids wait_for_function's eval: poll
            tones = page.evaluate("window.__tones")
            if tones:
                return tones[0]
            page.wait_for_timeout(50)
        raise AssertionError(f"no tone after scanning {code}")

    assert scan("TEA-DHP-100") == "sine:1320"
    assert scan("WRONG-1") == "square:220"  # refused: the low tone
    error = page.locator("#item-error")
    assert "not a known item barcode" in error.inner_text()
    assert (
        page.evaluate("getComputedStyle(document.getElementById('item-error')).backgroundColor") == "rgb(220, 53, 69)"
    )
    assert page.locator("tr[data-sku='TEA-DHP-100']").get_attribute("data-scanned") == "1"  # unchanged by the refusal
    assert page.evaluate("document.activeElement.id") == "item-code"
    assert page.locator(".confirm-button").count() == 0

    assert scan("CUP-01") == "sine:1320"
    assert scan("CUP-01") == "square:220"  # one too many
    assert "extra" in page.inner_text("#item-error")
    assert page.locator(".confirm-button").count() == 0
    scan("tea-dhp-100")  # the last piece, typed in lower case
    page.wait_for_selector(".confirm-button")
    assert page.evaluate("document.activeElement.classList.contains('confirm-button')")
    page.keyboard.press("Enter")
    page.wait_for_selector(".scan-ok")
    assert page.evaluate("document.activeElement.id") == "code"
    page.close()
    with app.app_context():
        assert db.session.get(Order, order_id).status == OrderStatus.PACKED
