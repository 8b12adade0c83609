"""Labels printed by Debian's Chromium to PDF, then rasterised at 203 dpi and scanned, page by page."""

import io
from datetime import UTC, datetime

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.models import Order, Shop
from portal.services import barcodes, labels
from tests import scanning
from tests.browser.conftest import missing_tool

pytestmark = pytest.mark.browser

NUMBERS = ["SF1234567890123", "YT1234567890123", "773012345678901"]


def label_rows(size: str) -> list[labels.LabelData]:
    shop = Shop(
        name="西湖茶庄",
        sender_name="西湖茶庄",
        sender_phone="0571-87654321",
        sender_address="浙江省杭州市上城区南山路100号",
        privacy_labels=True,
    )
    rows = []
    for i, number in enumerate(NUMBERS):
        order = Order(
            platform_order_no=f"390812345678901234{i}",
            recipient_name="欧阳娜娜",
            recipient_phone="13812345678",
            province="广西壮族自治区",
            city="南宁市",
            district="青秀区",
            address_detail="民族大道100号 东方花园3栋2单元1502室",
            item_summary="西湖龙井 明前特级 250g，安吉白茶 礼盒装",
            item_count=i + 1,
            buyer_message="不要放快递柜",
        )
        rows.append(
            labels.build_label_data(
                order,
                shop,
                tracking_no=number,
                courier_code="SF",
                courier_name="顺丰速运",
                size=size,
                printed_at=datetime(2026, 11, 26, 6, 5, tzinfo=UTC),
                reprint=i == 2,
            )
        )
    return rows


@pytest.mark.parametrize("size", list(labels.LABEL_SIZES))
def test_chromium_prints_one_scannable_label_per_page(browser, tmp_path, size):
    scanning.require(browser is not None, missing_tool() or "")
    from pypdf import PdfReader

    rows = label_rows(size)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        html = labels.render_html(rows, autoprint=False)
    page_file = tmp_path / "labels.html"
    page_file.write_text(html, encoding="utf-8")

    page = browser.new_page()
    page.goto(page_file.as_uri())
    pdf = page.pdf(prefer_css_page_size=True)
    page.close()

    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == len(rows)
    width, height = labels.LABEL_SIZES[size]
    for pdf_page in pages:
        assert float(pdf_page.mediabox.width) * 25.4 / 72 == pytest.approx(width, abs=0.5)
        assert float(pdf_page.mediabox.height) * 25.4 / 72 == pytest.approx(height, abs=0.5)

    images = scanning.pdf_to_images(pdf)
    assert len(images) == len(rows)
    for image, row in zip(images, rows, strict=True):
        assert scanning.decode(image) == [row.tracking_no]
        # Printed at 100 %: first bar to last spans 2 dots per module (+1: pdftoppm fills every dot a bar touches).
        modules = barcodes.code128_modules(row.tracking_no)
        y = round((row.layout.header_mm + 1.5 + row.layout.barcode_mm / 2) * scanning.DPI / 25.4)
        runs = scanning.dark_runs(image, y)
        span = runs[-1][0] + runs[-1][1] - runs[0][0]
        assert abs(span - len(modules) * 2) <= 1
        assert len(runs) == len(barcodes.bar_runs(modules))
