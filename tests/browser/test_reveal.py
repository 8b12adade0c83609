"""A label's QR code, end to end: Chromium prints the job, the code is scanned off the page at 203 dpi, and its URL
is opened on a phone-sized screen by each kind of person, up to the hourly limit."""

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, PrintedLabel, Shop, WaybillRange
from portal.services import accounts, labels, memberships, printing, waybills
from tests import scanning
from tests.browser.conftest import missing_tool
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

LIMIT = 3  # reveals per person per hour in this module's app
PHONE_SCREEN = {"width": 390, "height": 844}


@pytest.fixture
def app(app):
    """The usual app's database, served with the rate limits on (Flask-Limiter reads them at init_app)."""
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        PORTAL_REVEAL_LIMIT=f"{LIMIT} per hour",
    )
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def printed_label_page(app, base: str) -> tuple[str, str, str]:
    """The shop's owner prints one order; the job's label page as the print page renders it on ``base``; the
    label's code and the order's phone."""
    with app.app_context():
        seller = accounts.find_user("seller1")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == seller.id))
        order = db.session.scalars(
            select(Order)
            .where(Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
            .order_by(Order.id)
        ).first()
        company = db.session.scalar(
            select(WaybillRange).where(WaybillRange.shop_id == shop.id).order_by(WaybillRange.id)
        ).company
        job = printing.create_print_job(seller, [order.id], allowed_shop_ids={shop.id}, company=company, size="100x150")
        token = db.session.scalar(select(PrintedLabel.reveal_token).where(PrintedLabel.job_id == job.id))
        phone = order.recipient_phone
        # Staff of the label's company with no grant anywhere, and staff of another company.
        operator = accounts.find_user("operator")
        for username, code in (("outlet1", company.code), ("outlet2", "YTO" if company.code != "YTO" else "ZTO")):
            user = accounts.create_user(username, DEMO_PASSWORD)
            memberships.confirm(memberships.request_membership(user, waybills.company_by_code(code)), actor=operator)
        db.session.commit()
        with app.test_request_context("/", base_url=base):
            html = labels.render_html(printing.job_labels(job), autoprint=False)
    return html, token, phone


def sign_in(page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def reveals_by(app, username: str) -> int:
    with app.app_context():
        user_id = accounts.find_user(username).id
        return db.session.scalar(
            select(func.count()).where(AuditEvent.action == "recipient_revealed", AuditEvent.actor_id == user_id)
        )


def test_the_scanned_code_opens_the_details_for_the_right_people_only(app, world, live_url, browser, tmp_path):
    scanning.require(browser is not None, missing_tool() or "")
    import zxingcpp

    html, token, phone = printed_label_page(app, live_url)
    label_file = tmp_path / "label.html"
    label_file.write_text(html, encoding="utf-8")
    page = browser.new_page()
    page.goto(label_file.as_uri())
    pdf = page.pdf(prefer_css_page_size=True)
    page.close()
    [image] = scanning.pdf_to_images(pdf)
    [url] = [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert url == f"{live_url}/r/{token}"

    browser.clear_cookies()
    page = browser.new_page()
    page.set_viewport_size(PHONE_SCREEN)
    # Signed out: the sign-in page, then back to the label's details.
    page.goto(url)
    assert "/login" in page.url
    sign_in(page, "courier1")  # a grant in the shop with the view switch
    assert page.url == url
    call = page.locator("#recipient-phone")
    assert call.get_attribute("href") == f"tel:{phone}"
    assert phone in call.inner_text()
    # Made for a phone: nothing wider than the screen, the number large enough to read at arm's length.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
    assert float(call.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 24
    page.screenshot(path=str(tmp_path / "reveal-390.png"), full_page=True)

    # Confirmed staff of the label's company, with no grant in the shop.
    browser.clear_cookies()
    page.goto(url)
    sign_in(page, "outlet1")
    assert page.url == url and phone in page.locator("#recipient-phone").inner_text()

    # Staff of another company: the unknown-code page.
    browser.clear_cookies()
    page.goto(url)
    sign_in(page, "outlet2")
    assert page.locator("#recipient-phone").count() == 0
    assert page.goto(url).status == 404

    # The granted courier again, up to the hourly limit: then a 429 and no reveal.
    browser.clear_cookies()
    page.goto(url)
    sign_in(page, "courier1")
    for _ in range(LIMIT - 2):
        assert page.goto(url).status == 200
    assert reveals_by(app, "courier1") == LIMIT
    refused = page.goto(url)
    assert refused.status == 429
    assert page.locator("#recipient-phone").count() == 0
    assert reveals_by(app, "courier1") == LIMIT
    page.close()
