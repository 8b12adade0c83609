"""Labels printed by Debian's Chromium to PDF, then rasterised at 203 dpi and scanned, page by page: every
page's Code 128 and QR code decode, and the bars are as wide as the module rule says."""

import io
from datetime import UTC, datetime

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.models import Order, OrderItem, Shop
from portal.services import barcodes, labels
from tests import scanning
from tests.browser.conftest import missing_tool

pytestmark = pytest.mark.browser

ZTO = "73123456789012"  # a 14-digit ZTO number
NUMBERS = [ZTO, "SF1234567890123", "773012345678901"]
TOKENS = ["kP3xV9_qL2mN8-rT5wY7zA1bC4dE6fG0hJ2kL4mN6pQ", "Zx-9" * 10 + "abc", "0" * 43]


def reveal_url(i: int) -> str:
    return f"https://portal.example/r/{TOKENS[i]}"


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
            address_detail="民族大道100号 东方花园3栋2单元1502室" * (1 + 10 * (i == 2)),
            item_summary="",
            item_count=0,
            buyer_message="不要放快递柜 😀 请打13912345678" * (1 + 50 * (i == 2)),
            seller_memo='送试饮装 "2" 包 ^~' * (1 + 50 * (i == 2)),
        )
        order.items = [
            OrderItem(title=f"西湖龙井 明前特级 250g 第{k}款" * (1 + 20 * (i == 2)), quantity=k)
            for k in range(1, 2 + 2 * i)
        ]
        rows.append(
            labels.build_label_data(
                order,
                shop,
                tracking_no=number,
                courier_code="ZTO",
                courier_name="中通快递",
                size=size,
                printed_at=datetime(2026, 11, 26, 6, 5, tzinfo=UTC),
                reprint=i == 2,
                reveal_url=reveal_url(i),
            )
        )
    return rows


@pytest.mark.parametrize("size", list(labels.LABEL_SIZES))
def test_chromium_prints_one_scannable_label_per_page(browser, tmp_path, size):
    scanning.require(browser is not None, missing_tool() or "")
    import zxingcpp
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
    assert len(pages) == len(rows)  # long text never spills onto another page
    width, height = labels.LABEL_SIZES[size]
    for pdf_page in pages:
        assert float(pdf_page.mediabox.width) * 25.4 / 72 == pytest.approx(width, abs=0.5)
        assert float(pdf_page.mediabox.height) * 25.4 / 72 == pytest.approx(height, abs=0.5)

    images = scanning.pdf_to_images(pdf)
    assert len(images) == len(rows)
    for i, (image, row) in enumerate(zip(images, rows, strict=True)):
        found = zxingcpp.read_barcodes(image)
        codes = [r.text for r in found if r.format == zxingcpp.BarcodeFormat.Code128]
        assert codes == [row.tracking_no] * (2 if size == "100x180" else 1)  # 100×180: and the stub's
        assert [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode] == [reveal_url(i)]
        # Printed at 100 %: first bar to last spans the module rule's dots per module (+1: pdftoppm fills
        # every dot a bar touches), and the narrowest bar is at least that many dots.
        modules = barcodes.code128_modules(row.tracking_no)
        y = round((row.layout.header_mm + 1.5 + row.layout.barcode_mm / 2) * scanning.DPI / 25.4)
        runs = scanning.dark_runs(image, y)
        assert len(runs) == len(barcodes.bar_runs(modules))
        span = runs[-1][0] + runs[-1][1] - runs[0][0]
        assert abs(span - len(modules) * row.barcode_dots) <= 1
        narrowest = min(width for _, width in runs)
        assert narrowest >= row.barcode_dots
        if row.tracking_no == ZTO and size == "100x150":
            assert narrowest >= 3  # 0.375 mm or wider: the floor for a 14-digit number on 100×150
