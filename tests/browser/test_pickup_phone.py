"""The pickup on a courier's phone in Chromium: scans kept with no signal and sent when it returns, and the
camera reading a parcel's label (Chromium's fake camera playing a video made here from the real barcode)."""

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order, OrderStatus, Shop
from portal.services import accounts, printing, scanning, waybills
from tests import scanning as label_scanning
from tests.browser import fake_camera
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser
log = logging.getLogger(__name__)
PHONE = fake_camera.PHONE
# The README's screenshot of the pickup on a phone, refreshed when PORTAL_SCREENSHOTS is set (else to tmp_path).
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "img" / "screenshots" / "courier-pickup-phone.png"


def packed_pickup(app, n: int) -> tuple[int, list[str]]:
    """n parcels of seller1's shop labelled and packed, and a pickup started there by courier1:
    (pickup id, tracking numbers)."""
    with app.app_context():
        courier = accounts.find_user("courier1")
        packer = accounts.find_user("packer1")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == accounts.find_user("seller1").id))
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
                .order_by(Order.id)
                .limit(n)
            )
        )
        printing.create_print_job(
            courier, ids, allowed_shop_ids={shop.id}, company=waybills.company_by_code("ZTO"), size="100x150"
        )
        for order_id in ids:
            scanning.pack(db.session.get(Order, order_id), actor=packer)
            db.session.flush()
        pickup = scanning.start_pickup(shop, courier=courier)
        db.session.commit()
        return pickup.id, [db.session.get(Order, i).tracking_no for i in ids]


def shipped(app, numbers: list[str]) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(Order.tracking_no.in_(numbers), Order.status == OrderStatus.SHIPPED)
        )


def phone_page(context):
    page = context.new_page()
    page.set_viewport_size(PHONE)
    return page


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    if page.locator("#username").count() == 0:  # this browser signed in already (an earlier test)
        return
    page.fill("#username", "courier1")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def test_scans_with_no_signal_survive_a_reload_and_are_sent_once(app, world, live_url, browser, tmp_path):
    label_scanning.require(browser is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 5)
    url = f"{live_url}/courier/pickups/{pickup_id}"
    page = phone_page(browser)
    try:
        sign_in(page, live_url)
        page.goto(url)
        # The service worker controls the page and has kept it and its assets.
        page.wait_for_selector("#pickup-scan-form[data-offline-ready='1']")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")

        browser.set_offline(True)
        for number in numbers:
            page.fill("#code", number)
            page.press("#code", "Enter")
        page.wait_for_selector("#pickup-scan-form[data-waiting='5']")
        assert page.inner_text("#queue-waiting") == "5 waiting to send"
        assert page.locator("#scan-log li[data-status='queued']").count() == 5
        assert shipped(app, numbers) == 0
        page.screenshot(path=str(SCREENSHOT if os.environ.get("PORTAL_SCREENSHOTS") else tmp_path / SCREENSHOT.name))

        reopened = page.reload()  # no signal: the service worker answers with the kept page
        assert reopened is not None and reopened.from_service_worker
        page.wait_for_selector("#pickup-scan-form[data-waiting='5']")
        assert page.locator("#scan-log li[data-status='queued']").count() == 5  # kept in IndexedDB
        assert shipped(app, numbers) == 0

        browser.set_offline(False)  # the signal returns: sent in order, each answer against its scan
        page.wait_for_selector("#pickup-scan-form[data-waiting='0']", timeout=20_000)
        page.wait_for_function("() => document.querySelectorAll(\"#scan-log li[data-status='shipped']\").length === 5")
        assert page.inner_text("#pickup-count") == "5"
        assert page.is_hidden("#queue-waiting")
        assert page.evaluate("window.pickupQueue.pending().then(scans => scans.length)") == 0
        log_text = page.inner_text("#scan-log")
        assert all(f"{number} shipped." in log_text for number in numbers)
    finally:
        browser.set_offline(False)
        page.close()
    assert shipped(app, numbers) == 5
    with app.app_context():
        assert scanning.scanned_count(pickup_id) == 5  # each once

    # Reopened online: the server's count, nothing left to send.
    page = phone_page(browser)
    try:
        page.goto(url)
        page.wait_for_selector("#pickup-scan-form[data-waiting='0']")
        assert page.inner_text("#pickup-count") == "5"
        assert page.locator("#scan-log li").count() == 0
    finally:
        page.close()


def test_the_camera_reads_a_label_and_ships_the_parcel(app, world, live_url, playwright_driver, tmp_path):
    label_scanning.require(playwright_driver is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 1)
    with fake_camera.camera_browser(playwright_driver, tmp_path, fake_camera.code128(numbers[0]), live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url)
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")
        page.wait_for_selector("#scan-log li[data-status='shipped']", timeout=20_000)
        assert f"{numbers[0]} shipped." in page.inner_text("#scan-log")
        assert page.inner_text("#pickup-count") == "1"
        assert page.get_attribute("#camera-scan", "data-last-code") == numbers[0]
        # The same label stays in view: counted once (seen again within 3 s, or answered "already").
        page.wait_for_timeout(1500)
        assert page.locator("#scan-log li[data-status='shipped']").count() == 1
        log.info(
            "camera: frame grabbed to code read %s ms, to its answer on screen %s ms",
            page.get_attribute("#camera-scan", "data-decode-ms"),
            page.get_attribute("#camera-scan", "data-result-ms"),
        )
    assert shipped(app, numbers) == 1
    with app.app_context():
        assert scanning.scanned_count(pickup_id) == 1


def test_no_camera_keeps_the_typed_input(app, world, live_url, browser):
    label_scanning.require(browser is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 1)
    page = phone_page(browser)
    try:
        sign_in(page, live_url)
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")  # the default browser has no camera device
        page.wait_for_selector("#camera-message:not([hidden])")
        assert "Type or scan the number instead" in page.inner_text("#camera-message")
        page.fill("#code", numbers[0])
        page.press("#code", "Enter")
        page.wait_for_selector("#scan-log li[data-status='shipped']")
    finally:
        page.close()
    assert shipped(app, numbers) == 1


def test_quick_scans_online_are_each_sent_once(app, world, live_url, browser):
    """Scans faster than the answers: each sent in one request only, so none reads "already scanned"."""
    label_scanning.require(browser is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 3)
    page = phone_page(browser)
    try:
        sign_in(page, live_url)
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        for number in numbers:
            page.fill("#code", number)
            page.press("#code", "Enter")
        page.wait_for_function("() => document.querySelectorAll(\"#scan-log li[data-status='shipped']\").length === 3")
        assert page.locator("#scan-log li").count() == 3
        assert page.inner_text("#pickup-count") == "3"
        assert page.locator("#pickup-waiting li").count() == 0  # each shipped parcel left the waiting list
    finally:
        page.close()
    assert shipped(app, numbers) == 3


def test_the_service_worker_may_serve_the_pickup_pages(client):
    response = client.get("/static/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/courier/pickups/"
    assert "Service-Worker-Allowed" not in client.get("/static/js/scan.js").headers
    assert "'wasm-unsafe-eval'" in response.headers["Content-Security-Policy"]  # the vendored decoder


def test_the_queue_and_camera_words_are_translated(app, world, login):
    pickup_id, _numbers = packed_pickup(app, 1)
    courier = login("courier1")
    chinese = courier.get(f"/courier/pickups/{pickup_id}", headers={"Accept-Language": "zh-CN"}).text
    for words in (
        "{n} 条待发送",
        "用摄像头扫描",
        "未找到摄像头",
        "无法使用摄像头",
        "待发送",
        "已扫过",
        "被拒绝",
        "手电筒",
    ):
        assert words in chinese, words
    english = courier.get(f"/courier/pickups/{pickup_id}", headers={"Accept-Language": "en"}).text
    assert "{n} waiting to send" in english and "Scan with camera" in english
