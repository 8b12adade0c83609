""" "Scan with camera" beyond the pickup: the packing desk takes what the camera reads as a scanner's typing, the
reveal page opens the next label's QR code and refuses any other, the pickup refuses a product's EAN; the torch
button, and a browser's own BarcodeDetector used instead of the vendored decoder where it has one."""

import io
import logging

import pytest
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import Order, OrderItem, OrderStatus, PrintedLabel, Shop
from portal.services import accounts, printing, waybills
from tests import scanning
from tests.browser import fake_camera
from tests.browser.conftest import missing_tool
from tests.browser.test_pickup_phone import packed_pickup, shipped
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser
log = logging.getLogger(__name__)


def labelled(app, n: int) -> list[tuple[int, str, str]]:
    """n pending orders of seller1's shop printed by courier1: (order id, tracking number, reveal token)."""
    with app.app_context():
        courier = accounts.find_user("courier1")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == accounts.find_user("seller1").id))
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
                .order_by(Order.id)
                .limit(n)
            )
        )
        job = printing.create_print_job(
            courier, ids, allowed_shop_ids={shop.id}, company=waybills.company_by_code("ZTO"), size="100x150"
        )
        db.session.commit()
        tokens = dict(
            db.session.execute(
                select(PrintedLabel.order_id, PrintedLabel.reveal_token).where(PrintedLabel.job_id == job.id)
            ).all()
        )
        return [(i, db.session.get(Order, i).tracking_no, tokens[i]) for i in ids]


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def status_of(app, order_id: int) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_the_packing_desk_takes_the_camera_like_a_scanner(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    [(order_id, number, _token)] = labelled(app, 1)
    shop = world["shops"]["seller1"]
    with fake_camera.camera_browser(playwright_driver, tmp_path, fake_camera.code128(number), live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "packer1")
        page.goto(f"{live_url}/staff/shops/{shop}/packing")
        page.click("#camera-toggle")
        page.wait_for_selector("#pack-items", timeout=20_000)  # the parcel's goods, as after a typed scan
        assert number in page.inner_text("#scan-result")
        assert page.get_attribute("#camera-scan", "data-last-code") == number
        page.click(".confirm-button")
        page.wait_for_selector(".scan-ok")
        # The label is still in view: not taken again (it would say "already packed" in red).
        page.wait_for_timeout(1500)
        assert page.locator(".scan-error").count() == 0
        log.info("packing desk camera: code read to answer %s ms", page.get_attribute("#camera-scan", "data-result-ms"))
    assert status_of(app, order_id) == OrderStatus.PACKED


def test_the_camera_checks_the_goods_after_the_label(app, world, live_url, playwright_driver, tmp_path):
    """验货 with the camera: the label, then the item's barcode, go each to its own input; confirm appears."""
    scanning.require(playwright_driver is not None, missing_tool() or "")
    [(order_id, number, _token)] = labelled(app, 1)
    shop = world["shops"]["seller1"]
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == shop).values(check_goods=True))
        db.session.execute(delete(OrderItem).where(OrderItem.order_id == order_id))
        db.session.add(OrderItem(order_id=order_id, title="茶杯", sku="CUP-01", quantity=1))
        db.session.commit()
    shown = [fake_camera.code128(number), fake_camera.code128("CUP-01")]  # the label, then the cup, in turn
    with fake_camera.camera_browser(playwright_driver, tmp_path, shown, live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "packer1")
        page.goto(f"{live_url}/staff/shops/{shop}/packing")
        page.click("#camera-toggle")
        page.wait_for_selector("#pack-goods", timeout=20_000)
        page.wait_for_selector(".confirm-button", timeout=20_000)  # the cup was read into the item input
        assert page.locator("tr[data-sku='CUP-01']").get_attribute("data-scanned") == "1"
        page.click(".confirm-button")
        page.wait_for_selector(".scan-ok")
    assert status_of(app, order_id) == OrderStatus.PACKED


def test_the_reveal_page_opens_the_next_label_from_its_qr_code(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    (_first_id, _first_no, first), (second_id, _second_no, second) = labelled(app, 2)
    with app.app_context():
        name = db.session.get(Order, second_id).recipient_name
    next_label = fake_camera.qr(f"{live_url}/r/{second}")
    with fake_camera.camera_browser(playwright_driver, tmp_path, next_label, live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/r/{first}")
        assert page.locator("#recipient-phone").count() == 1
        page.click("#camera-toggle")
        page.wait_for_url(f"{live_url}/r/{second}", timeout=20_000)
        assert page.inner_text("#recipient-name") == name
        assert page.evaluate("document.documentElement.scrollWidth") <= fake_camera.PHONE["width"]


def test_the_reveal_page_refuses_a_code_that_is_not_ours(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    [(_order_id, _number, token)] = labelled(app, 1)
    foreign = fake_camera.qr("https://example.com/r/" + token)  # our token on someone else's address
    with fake_camera.camera_browser(playwright_driver, tmp_path, foreign, live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/r/{token}")
        page.click("#camera-toggle")
        page.wait_for_selector("#camera-message:not([hidden])", timeout=20_000)
        assert "not a label of this portal" in page.inner_text("#camera-message")
        assert page.url == f"{live_url}/r/{token}"
        assert page.get_attribute("#camera-scan", "data-camera") == "on"  # still scanning: the next code may be ours


def ean13(digits: str):
    """A product's EAN-13 as an image (python-barcode draws it; the check digit is its own)."""
    from barcode import EAN13
    from barcode.writer import ImageWriter

    out = io.BytesIO()
    EAN13(digits, writer=ImageWriter()).write(out, {"module_width": 0.4, "module_height": 20, "write_text": False})
    from PIL import Image

    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def test_a_products_ean_read_by_the_camera_is_refused_on_screen(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 1)
    with fake_camera.camera_browser(playwright_driver, tmp_path, ean13("690123456789"), live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")
        page.wait_for_selector("#scan-log li[data-status='refused']", timeout=20_000)
        assert "6901234567892 is a product barcode (EAN), not a parcel label." in page.inner_text("#scan-log")
    assert shipped(app, numbers) == 0


def test_a_blurred_picture_gets_advice_and_ships_nothing(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    from PIL import ImageFilter

    pickup_id, numbers = packed_pickup(app, 1)
    blurred = fake_camera.code128(numbers[0]).filter(ImageFilter.GaussianBlur(6))
    with fake_camera.camera_browser(playwright_driver, tmp_path, blurred, live_url) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")
        page.wait_for_selector("#camera-scan[data-camera='on']", timeout=20_000)
        page.wait_for_selector("#camera-hint:not([hidden])", timeout=15_000)
        assert "Nothing read yet" in page.inner_text("#camera-hint")
        assert page.locator("#scan-log li").count() == 0
        page.click("#camera-toggle")
        assert page.is_hidden("#camera-hint")
    assert shipped(app, numbers) == 0


def test_a_refused_camera_is_said_and_the_typed_input_still_works(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 1)
    image = fake_camera.code128(numbers[0])
    with fake_camera.camera_browser(playwright_driver, tmp_path, image, live_url, allowed=False) as camera:
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")
        page.wait_for_selector("#camera-message:not([hidden])", timeout=20_000)
        assert "permission denied" in page.inner_text("#camera-message")
        assert page.is_hidden("#camera-view")
        page.fill("#code", numbers[0])
        page.press("#code", "Enter")
        page.wait_for_selector("#scan-log li[data-status='shipped']")
    assert shipped(app, numbers) == 1


# Chromium on Linux has no BarcodeDetector and its fake camera no torch. These stand-ins have the browser APIs'
# shapes: the detector answers with the codes the test queues, the track says it has a torch and records what the
# page asks of it. What is tested is the page's side: it prefers the browser's detector, asks it for our formats,
# never loads the vendored decoder then, and switches the torch on and off.
STAND_INS = """
window.__detected = [];
window.__constraints = [];
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["code_128", "qr_code", "ean_13", "ean_8", "upc_a"]); }
  constructor(options) { window.__formats = options.formats; }
  detect(source) {
    if (!(source instanceof HTMLVideoElement) || !source.videoWidth) return Promise.reject(new Error("no frame"));
    return Promise.resolve(window.__detected.splice(0).map(function (v) { return { rawValue: v }; }));
  }
};
const capabilities = MediaStreamTrack.prototype.getCapabilities;
MediaStreamTrack.prototype.getCapabilities = function () {
  return Object.assign({}, capabilities.call(this), { torch: true });
};
MediaStreamTrack.prototype.applyConstraints = function (c) {
  window.__constraints.push(JSON.stringify(c));
  return Promise.resolve();
};
"""


def test_the_browsers_own_detector_and_the_torch(app, world, live_url, playwright_driver, tmp_path):
    scanning.require(playwright_driver is not None, missing_tool() or "")
    pickup_id, numbers = packed_pickup(app, 1)
    blank = fake_camera.code128("0")  # any picture: the stand-in detector reads what the test queues
    with fake_camera.camera_browser(playwright_driver, tmp_path, blank, live_url) as camera:
        camera.add_init_script(STAND_INS)
        page = camera.new_page()
        sign_in(page, live_url, "courier1")
        page.goto(f"{live_url}/courier/pickups/{pickup_id}")
        page.click("#camera-toggle")
        page.wait_for_selector("#camera-scan[data-camera='on']")
        assert page.evaluate("window.__formats") == ["code_128", "qr_code", "ean_13", "ean_8"]

        assert page.is_visible("#torch-toggle")
        page.click("#torch-toggle")
        page.wait_for_selector("#torch-toggle[aria-pressed='true']")
        page.click("#torch-toggle")
        page.wait_for_selector("#torch-toggle[aria-pressed='false']")
        assert page.evaluate("window.__constraints") == [
            '{"advanced":[{"torch":true}]}',
            '{"advanced":[{"torch":false}]}',
        ]

        page.evaluate(f"window.__detected.push({numbers[0]!r})")
        page.wait_for_selector("#scan-log li[data-status='shipped']", timeout=10_000)
        # The vendored decoder was never run (the service worker fetches it into its cache for later, unrun).
        assert page.evaluate("typeof window.ZXingWASM") == "undefined"
        page.click("#camera-toggle")  # off: the torch button goes with the camera
        assert page.is_hidden("#torch-toggle")
    assert shipped(app, numbers) == 1
