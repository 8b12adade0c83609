"""Pages for one hand: at 390 px every page a courier reaches fits the screen, the queue is cards with the print
bar in reach, buttons are thumb-sized; the web app manifest, its icons and the favicon answer."""

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Order, OrderStatus, PrintedLabel, Shop, WaybillRange
from portal.services import accounts, printing, scanning
from tests import scanning as label_scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1024, "height": 768}
# The README's phone screenshot, refreshed when PORTAL_SCREENSHOTS is set (else written to the test's tmp_path).
SCREENSHOT = Path(__file__).resolve().parents[2] / "static" / "img" / "screenshots" / "courier-queue-phone.png"


def courier_world(app) -> dict:
    """As courier1: a print job of three orders in seller1's shop, two of them packed and picked up (one pickup,
    ended); the ids and URLs a courier reaches from there."""
    with app.app_context():
        courier = accounts.find_user("courier1")
        packer = accounts.find_user("packer1")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == accounts.find_user("seller1").id))
        order_ids = db.session.scalars(
            select(Order.id)
            .where(Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
            .order_by(Order.id)
            .limit(3)
        ).all()
        company = db.session.scalar(
            select(WaybillRange).where(WaybillRange.shop_id == shop.id).order_by(WaybillRange.id)
        ).company
        job = printing.create_print_job(
            courier, list(order_ids), allowed_shop_ids={shop.id}, company=company, size="100x150"
        )
        token = db.session.scalar(select(PrintedLabel.reveal_token).where(PrintedLabel.job_id == job.id))
        pickup = scanning.start_pickup(shop, courier=courier)
        for order_id in order_ids[:2]:
            order = db.session.get(Order, order_id)
            scanning.pack(order, actor=packer)
            db.session.flush()
            scanning.ship_scan(pickup.id, order.tracking_no, actor_id=courier.id)
        scanning.end_pickup(pickup, actor=courier)
        db.session.commit()
        return {"shop": shop.id, "order": order_ids[0], "job": job.id, "token": token, "pickup": pickup.id}


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def overflow(page) -> list[str]:
    """What sticks out of the screen sideways, if anything (empty when the page fits)."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > width + 0.5)
                .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className);
        }"""
    )


def test_every_courier_page_fits_a_phone(app, world, live_url, browser):
    label_scanning.require(browser is not None, missing_tool() or "")
    made = courier_world(app)
    shop = made["shop"]
    pages = {
        "courier home": "/courier/",
        "queue": "/courier/queue",
        "queue, one shop": f"/courier/queue?shop={shop}",
        "queue, labelled": f"/courier/queue?shop={shop}&status=labelled",
        "shop page": f"/courier/shops/{shop}",
        "order page": f"/courier/shops/{shop}/orders/{made['order']}",
        "print job summary": f"/courier/print-jobs/{made['job']}/summary",
        "pickup start": "/courier/pickup",
        "pickup": f"/courier/pickups/{made['pickup']}",
        "handover list": f"/courier/pickups/{made['pickup']}/handover",
        "reveal": f"/r/{made['token']}",
        "my work": "/account/",
        "password": "/account/password",
        "companies": "/account/companies",
        "tokens": "/account/tokens",
    }
    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, live_url, "courier1")
    too_wide = {}
    for language in ("en", "zh_CN"):  # Chinese labels are shorter but break differently
        page.request.post(f"{live_url}/language/{language}", form={"next": "/"})
        for name, path in pages.items():
            response = page.goto(live_url + path)
            assert response.status == 200, (language, name, response.status)
            if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                too_wide[f"{name} ({language})"] = overflow(page)
    assert too_wide == {}
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    # The navbar folds behind its toggler; opened, with the shop switcher open, it still fits.
    page.goto(f"{live_url}/courier/queue")
    assert not page.locator("#mainnav").is_visible()
    page.click(".navbar-toggler")
    page.locator("#mainnav").wait_for(state="visible")
    page.click("#shop-switcher > a")
    page.locator("#shop-switcher .dropdown-menu").wait_for(state="visible")
    assert overflow(page) == []

    # Revealed phone numbers call: on the order page (full details) as on the label's reveal page.
    page.goto(f"{live_url}/courier/shops/{shop}/orders/{made['order']}")
    assert page.locator("#recipient-phone").get_attribute("href").startswith("tel:")
    page.goto(f"{live_url}/r/{made['token']}")
    assert page.locator("#recipient-phone").get_attribute("href").startswith("tel:")
    page.close()


def test_the_queue_is_cards_on_a_phone_and_a_table_on_a_desk(app, world, live_url, browser, tmp_path):
    label_scanning.require(browser is not None, missing_tool() or "")
    shop = world["shops"]["seller1"]
    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, live_url, "courier1")
    page.goto(f"{live_url}/courier/queue?shop={shop}")

    # One table drawn two ways: below 768 px its header is hidden and each row is a card the screen's width.
    table, cards = page.locator("#queue"), page.locator("#queue > tbody > tr")
    assert cards.count() > 5 and cards.first.is_visible()
    assert not page.locator("#queue > thead").is_visible()
    assert table.evaluate("e => getComputedStyle(e).display") == "block"
    assert cards.first.evaluate("e => getComputedStyle(e).display") == "grid"
    box = cards.first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # A card shows number, destination, deadline, masked recipient and state, each on screen.
    for column in (3, 4, 5, 6, 7):
        cell = cards.first.locator(f"td:nth-child({column})")
        assert cell.is_visible() and cell.text_content().strip()
        cell_box = cell.bounding_box()
        assert cell_box["x"] >= box["x"] and cell_box["x"] + cell_box["width"] <= box["x"] + box["width"] + 1
    assert "*" in cards.first.locator("td:nth-child(6)").text_content()
    # Thumb-sized: every visible button and the ticks' rows are at least 44 px high.
    heights = page.evaluate(
        """() => [...document.querySelectorAll('main .btn, .navbar-toggler, #queue .queue-tick')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect().height])"""
    )
    assert heights and [h for h in heights if h[1] < 44] == []

    # Tick two cards; the print bar is on screen at the bottom of a long list and prints just those two.
    cards.nth(0).locator(".queue-tick").click()  # the whole left column of a card is the tick
    cards.nth(1).locator(".order-check").check()
    assert cards.nth(0).locator(".order-check").is_checked()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    bar = page.locator("#print-bar")
    box = bar.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 1
    page.mouse.wheel(0, -400)  # halfway up the list the bar still sits at the bottom of the screen
    page.wait_for_timeout(100)
    box = bar.bounding_box()
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=2)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT if os.environ.get("PORTAL_SCREENSHOTS") else tmp_path / SCREENSHOT.name))

    page.select_option("#company", "ZTO")
    page.click("#print-bar button[type=submit]")
    page.wait_for_url("**/courier/print-jobs/*/summary")
    with app.app_context():
        printed = db.session.scalars(select(Order).where(Order.shop_id == shop, Order.tracking_no.is_not(None))).all()
    assert len(printed) == 2

    # At 1024 px: the table, no cards.
    page.set_viewport_size(DESK)
    page.goto(f"{live_url}/courier/queue?shop={shop}")
    assert page.locator("#queue > thead").is_visible()
    assert page.locator("#queue").evaluate("e => getComputedStyle(e).display") == "table"
    assert page.locator("#queue > tbody > tr").first.evaluate("e => getComputedStyle(e).display") == "table-row"
    assert not page.locator("#select-all-cards").is_visible()
    page.close()


def test_the_manifest_icons_and_favicon_answer(app, world, live_url, browser):
    label_scanning.require(browser is not None, missing_tool() or "")
    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{live_url}/login")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(live_url + href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text())
    assert manifest["name"] == "Courier Partner Portal" and manifest["short_name"]
    assert manifest["start_url"] == "/courier/" and manifest["display"] == "standalone"
    assert manifest["theme_color"] == page.locator("meta[name=theme-color]").get_attribute("content")
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        size = int(icon["sizes"].split("x")[0])
        loaded = page.evaluate(
            """src => new Promise(done => { const img = new Image();
                img.onload = () => done([img.naturalWidth, img.naturalHeight]); img.onerror = () => done(null);
                img.src = src; })""",
            icon["src"],
        )
        assert loaded == [size, size], icon
    favicon = page.request.get(f"{live_url}/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert page.request.get(live_url + page.locator("link[rel=icon]").first.get_attribute("href")).status == 200
    page.close()
