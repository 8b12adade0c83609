"""Label data (masking, items, the barcode module rule), the Code 128 and QR symbols, and the HTML and PDF
renderings scanned at 203 dpi. ZPL and TSPL are parsed in test_label_formats.py."""

import random
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.models import Order, OrderItem, Shop
from portal.services import barcodes, labels
from portal.services.labels import LABEL_SIZES, build_label_data, render_html, render_pdf, render_tspl, render_zpl
from tests import scanning

NUMBERS = ["SF1234567890123", "YT1234567890123", "773012345678901", "JT0001234567890", "EA123456789CN"]
ZTO = "73123456789012"  # 14 digits: 112 modules
PRINTED_AT = datetime(2026, 11, 26, 6, 5, tzinfo=UTC)  # 14:05 in China
MODULE_DOTS = 2
REVEAL_URL = "https://portal.example/r/" + "Ab3_-" * 8 + "xyz"  # a 43-character token


def make_shop(*, privacy: bool | None = True, phone_public: bool | None = None) -> Shop:
    return Shop(
        name="西湖茶庄",
        sender_name="西湖茶庄 王经理",
        sender_phone="13987654321",
        sender_address="浙江省杭州市上城区南山路100号",
        privacy_labels=privacy,
        sender_phone_public=phone_public,
    )


def make_order(**fields) -> Order:
    values = {
        "platform_order_no": "3908123456789012345",
        "recipient_name": "张三丰",
        "recipient_phone": "13812345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address_detail": "文三路90号5幢302室",
        "item_summary": "西湖龙井 明前特级 250g",
        "item_count": 2,
        "buyer_message": "不要放快递柜",
    }
    return Order(**(values | fields))


def make_label(
    tracking_no: str = "SF1234567890123",
    *,
    privacy: bool = True,
    size: str = "100x150",
    items=None,
    reveal_url: str = "",
    phone_public: bool | None = None,
    **order_fields,
):
    order = make_order(**order_fields)
    if items is not None:
        order.items = [OrderItem(title=title, quantity=quantity) for title, quantity in items]
    return build_label_data(
        order,
        make_shop(privacy=privacy, phone_public=phone_public),
        tracking_no=tracking_no,
        courier_code="SF",
        courier_name="顺丰速运",
        size=size,
        printed_at=PRINTED_AT,
        reveal_url=reveal_url,
    )


@pytest.fixture(scope="module")
def label_app():
    """An app for the template only: rendering labels needs no database."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")


# --- label data and masking ---


def test_privacy_label_masks_recipient_and_sender_phone_per_gbt_41833():
    order, shop = make_order(), make_shop(privacy=True)
    label = build_label_data(
        order, shop, tracking_no="SF1234567890123", courier_code="SF", courier_name="顺丰速运", printed_at=PRINTED_AT
    )
    assert label.masked
    assert label.recipient_name == "张**"
    assert label.recipient_phone == "138******78"  # at least 6 digits hidden
    assert label.recipient_address == "浙江省 杭州市 西湖区 文三路90号5幢***室"
    assert label.sender_phone == "139******21"
    assert label.sender_name == "西湖茶庄 王经理" and label.sender_address == shop.sender_address
    # The real values stay on the order and shop.
    assert (order.recipient_name, order.recipient_phone, order.address_detail) == (
        "张三丰",
        "13812345678",
        "文三路90号5幢302室",
    )
    assert shop.sender_phone == "13987654321"


def test_plain_label_prints_full_details():
    label = make_label(privacy=False)
    assert not label.masked
    assert (label.recipient_name, label.recipient_phone) == ("张三丰", "13812345678")
    assert label.recipient_address == "浙江省 杭州市 西湖区 文三路90号5幢302室"
    assert label.sender_phone == "13987654321"


def test_seller_marks_the_sender_phone_a_business_line_in_the_settings(app, world, login):
    from portal.extensions import db

    shop_id = world["shops"]["seller1"]
    seller = login("seller1")
    page = seller.get(f"/shops/{shop_id}/settings", headers={"Accept-Language": "zh-CN"})
    assert "这是营业电话：隐私面单上完整打印" in page.text and 'name="sender_phone_public"' in page.text
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        assert shop.sender_phone_public is False  # the default, for existing shops too (migration)
        form = {
            "name": shop.name,
            "promise_hours": shop.promise_hours,
            "detail_days": shop.detail_days,
            "retention_days": shop.retention_days,
            "privacy_labels": "y",
            "sender_name": "西湖茶庄",
            "sender_phone": "0571-87654321",
            "sender_address": shop.sender_address,
        }
    saved = seller.post(f"/shops/{shop_id}/settings", data=form | {"sender_phone_public": "y"})
    assert saved.status_code in (302, 303)
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        label = build_label_data(
            make_order(), shop, tracking_no=ZTO, courier_code="ZTO", courier_name="中通", printed_at=PRINTED_AT
        )
        assert shop.sender_phone_public is True and label.sender_phone == "0571-87654321"
        assert label.recipient_phone == "138******78"
    seller.post(f"/shops/{shop_id}/settings", data=form)  # unticked
    with app.app_context():
        assert db.session.get(Shop, shop_id).sender_phone_public is False


def test_privacy_is_the_default_when_the_shop_setting_is_unset():
    # A Shop built in memory has no column defaults yet: fail closed.
    assert make_label(privacy=None).masked


def test_masked_label_hides_phone_numbers_in_the_buyer_message():
    assert (
        make_label(buyer_message="放门卫 请打13912345678").buyer_message == "放门卫 请打139********"
    )  # the address rule also hides trailing digits
    assert make_label(buyer_message="请打139-1234-5678 送3单元502室").buyer_message == "请打139******78 送*单元***室"
    # Masked before it is cut to length, so no part of a number is left bare.
    cut = make_label(buyer_message="很" * 495 + "13912345678").buyer_message
    assert len(cut) == labels.data.TEXT_CHARS and cut.endswith("139*…")
    assert make_label(privacy=False, buyer_message="请打13912345678").buyer_message == "请打13912345678"


def test_label_fields():
    label = make_label(size="76x130")
    assert (label.size, label.width_mm, label.height_mm) == ("76x130", 76, 130)
    assert label.destination == "浙江 杭州市 西湖区"
    assert label.print_time == "2026-11-26 14:05"
    assert (label.order_no, label.item_summary, label.item_count) == (
        "3908123456789012345",
        "西湖龙井 明前特级 250g",
        2,
    )
    assert label.items == (("西湖龙井 明前特级 250g", 2),) and label.items_more == 0
    assert (label.courier_code, label.courier_name, label.reprint) == ("SF", "顺丰速运", False)
    assert label.reveal_url == "" and label.seller_memo == ""


def test_seller_memo_is_masked_like_the_message():
    memo = "客户电话 13912345678 改送3单元502室"
    assert make_label(seller_memo=memo).seller_memo == "客户电话 139******78 改送*单元***室"
    assert make_label(privacy=False, seller_memo=memo).seller_memo == memo
    # A query row without the memo column (or the items) prints no memo rather than failing.
    columns = ("platform_order_no", "recipient_name", "recipient_phone", "province", "city", "district")
    columns += ("address_detail", "address_raw", "buyer_message", "item_summary", "item_count")
    order = make_order(item_summary="安吉白茶 ×3", item_count=3)
    row = SimpleNamespace(**{column: getattr(order, column) for column in columns})
    label = build_label_data(
        row, make_shop(), tracking_no=ZTO, courier_code="ZTO", courier_name="中通", printed_at=PRINTED_AT
    )
    assert label.seller_memo == "" and label.items == (("安吉白茶", 3),)


@pytest.mark.parametrize(
    "privacy, public, shown",
    [
        (True, None, "139******21"),
        (True, False, "139******21"),
        (True, True, "13987654321"),
        (False, False, "13987654321"),
    ],
)
def test_sender_phone_is_masked_unless_the_seller_marks_it_a_business_line(privacy, public, shown):
    label = make_label(privacy=privacy, phone_public=public)
    assert label.sender_phone == shown
    assert label.recipient_phone == ("138******78" if privacy else "13812345678")  # the buyer's stays masked


@pytest.mark.parametrize(
    "province, city, district, destination",
    [
        ("广西壮族自治区", "南宁市", "青秀区", "广西 南宁市 青秀区"),
        ("内蒙古自治区", "呼和浩特市", "新城区", "内蒙古 呼和浩特市 新城区"),
        ("北京市", "市辖区", "朝阳区", "北京 朝阳区"),
        ("上海市", "上海市", "浦东新区", "上海 浦东新区"),
        ("湖北省", "省直辖县级行政区划", "仙桃市", "湖北 仙桃市"),
        ("香港特别行政区", "", "", "香港"),
    ],
)
def test_destination_uses_the_short_province_name(province, city, district, destination):
    assert make_label(province=province, city=city, district=district).destination == destination


def test_unplaced_address_falls_back_to_the_raw_text():
    label = make_label(privacy=False, province="", city="", district="", address_detail="", address_raw="火星 基地1号")
    assert (label.destination, label.recipient_address) == ("", "火星 基地1号")


def test_item_summary_is_capped_and_items_come_from_the_order():
    long = make_label(item_summary="茶" * 1000)
    assert len(long.item_summary) == labels.data.TEXT_CHARS and long.item_summary.endswith("…")
    label = make_label(item_summary="", item_count=0, items=[("安吉白茶", 2), ("紫砂壶", 1)])
    assert label.items == (("安吉白茶", 2), ("紫砂壶", 1)) and label.item_count == 3


# --- the quantity printed once (issue 14: "安吉白茶 礼盒装 ×3 ×3") ---


def rendered_texts(label) -> str:
    """Every text of the label as each renderer prints it, one string per renderer, joined."""
    import io

    from pypdf import PdfReader

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        html = render_html([label])
    pdf = PdfReader(io.BytesIO(render_pdf([label]))).pages[0].extract_text()
    zpl = unhex(render_zpl([label]))
    tspl = render_tspl([label]).decode("gb18030")
    return "\n----\n".join((re.sub(r"<[^>]+>", "", html), pdf, zpl, tspl))


def unhex(data: str) -> str:
    return re.sub(r"\\([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data)


@pytest.mark.parametrize(
    "summary, count, items, lines",
    [
        # As services/orders.py stores it: "title ×N" for N != 1, items joined by "; ".
        ("安吉白茶 礼盒装", 1, None, [("安吉白茶 礼盒装", 1)]),
        ("安吉白茶 礼盒装 ×3", 3, None, [("安吉白茶 礼盒装", 3)]),
        ("安吉白茶 礼盒装 ×3; 紫砂壶; 西湖龙井 ×2", 6, None, [("安吉白茶 礼盒装", 3), ("紫砂壶", 1), ("西湖龙井", 2)]),
        # From the order's items, whatever the summary says.
        ("安吉白茶 礼盒装 ×3", 3, [("安吉白茶 礼盒装", 3)], [("安吉白茶 礼盒装", 3)]),
        ("x", 4, [("安吉白茶 礼盒装", 1), ("紫砂壶", 3)], [("安吉白茶 礼盒装", 1), ("紫砂壶", 3)]),
        # An older summary without quantities: the order's count is the one item's quantity.
        ("安吉白茶 礼盒装", 3, None, [("安吉白茶 礼盒装", 3)]),
    ],
)
def test_each_item_prints_its_quantity_once(summary, count, items, lines):
    label = make_label(privacy=False, item_summary=summary, item_count=count, items=items, buyer_message="")
    assert label.items == tuple(lines)
    texts = rendered_texts(label)
    for title, quantity in lines:
        assert texts.count(f"{title} ×{quantity}") == 4, (title, texts)  # HTML, PDF, ZPL, TSPL
        assert f"×{quantity} ×" not in texts
    assert re.search(r"×\d+\s*×", texts) is None


def test_four_item_lines_then_how_many_more():
    items = [(f"商品{i}", i) for i in range(1, 8)]
    label = make_label(items=items, item_count=0)
    assert label.items == tuple(items[:4]) and label.items_more == 3 and label.item_count == 28
    texts = rendered_texts(label)
    assert texts.count("…另有 3 种商品") == 4 and texts.count("共 28 件") >= 4
    assert "商品5" not in texts
    exactly_four = make_label(items=items[:4])
    assert exactly_four.items_more == 0 and "另有" not in rendered_texts(exactly_four)


# --- the barcode module: the widest whole number of dots that fits ---


@pytest.mark.parametrize(
    "modules, width_mm, dpi, dots",
    [
        (112, 98, 203, 4),  # a 14-digit ZTO number on 100 mm: 132 × 0.5 mm = 66 mm
        (156, 98, 203, 4),  # SF + 13 digits: 176 × 0.5 = 88 mm
        (156, 74, 203, 3),  # ... on 76 mm: 176 × 0.375 = 66 mm
        (300, 98, 203, 2),  # 320 × 0.25 = 80 mm
        (365, 98, 203, 2),  # 30 letters: 385 × 0.25 = 96.3 mm
        (112, 98, 300, 6),  # 300 dpi: 3 to 6 dots (0.25-0.51 mm); 132 × 0.508 = 67 mm
        (156, 74, 300, 4),  # 176 × 0.339 = 59.6 mm; 5 dots = 74.5 mm is too wide
        (300, 98, 300, 3),  # 320 × 0.254 = 81 mm
    ],
)
def test_module_dots_is_the_widest_that_fits_with_quiet_zones(modules, width_mm, dpi, dots):
    assert barcodes.module_dots(modules, width_mm, dpi=dpi) == dots
    assert (modules + 2 * barcodes.QUIET_ZONE) * barcodes.module_mm(dots, dpi) <= width_mm
    if dots < barcodes.module_dots_range(dpi)[1]:  # one dot more would not fit
        assert (modules + 2 * barcodes.QUIET_ZONE) * barcodes.module_mm(dots + 1, dpi) > width_mm


def test_module_dots_range_and_refusal():
    assert barcodes.module_dots_range(203) == (2, 4) and barcodes.module_dots_range(300) == (3, 6)
    with pytest.raises(ValueError, match="does not fit"):
        barcodes.module_dots(365, 74)  # 385 × 0.25 = 96 mm


@pytest.mark.parametrize(
    "number, size, dots",
    [(ZTO, "100x150", 4), (ZTO, "76x130", 4), ("SF1234567890123", "100x180", 4), ("SF1234567890123", "76x130", 3),
     ("A" * 30, "100x150", 2)],
)  # fmt: skip
def test_each_label_fixes_its_barcode_module(number, size, dots):
    label = make_label(number, size=size)
    assert label.barcode_dots == dots
    assert label.barcode_dots >= 3 or number == "A" * 30  # 0.375 mm and wider for real tracking numbers


def test_layout_zones_fill_each_size_exactly():
    for size, (_, height) in LABEL_SIZES.items():
        layout = labels.LAYOUTS[size]
        assert layout.tops["end"] == pytest.approx(height), size
        assert layout.barcode_mm >= 10
        assert (size == "100x180") == bool(layout.stub_mm)


def test_reveal_url_too_long_for_the_qr_column_is_refused():
    assert make_label(reveal_url=REVEAL_URL).reveal_url == REVEAL_URL
    with pytest.raises(ValueError, match="QR"):
        make_label(size="76x130", reveal_url="https://portal.example/r/" + "x" * 400)


# --- hostile text ---

HOSTILE = '超长标题😀^XZ~JA"引号"\'\n换行\x07\x00\u202e反转\u200b' * 200  # 2,000+ characters


def hostile_label(size: str = "100x150", number: str = ZTO):
    return make_label(
        number,
        size=size,
        privacy=False,
        recipient_name=HOSTILE[:80],
        address_detail=HOSTILE,
        items=[(HOSTILE, 3)] * 6,
        buyer_message=HOSTILE,
        seller_memo=HOSTILE,
        reveal_url=REVEAL_URL,
    )


def test_label_text_is_one_clean_line():
    label = hostile_label()
    for value in (label.recipient_name, label.recipient_address, label.buyer_message, label.items[0][0]):
        assert len(value) <= labels.data.TEXT_CHARS
        assert not re.search("[\x00-\x1f\x7f\u202e\u200b]", value)
        assert "  " not in value
    assert label.items[0] == (label.items[0][0], 3) and "😀" in label.items[0][0]


def test_hostile_text_renders_everywhere_and_still_scans(label_app):
    for size in LABEL_SIZES:
        label = hostile_label(size)
        with label_app.app_context():
            html = render_html([label])
        assert "\x00" not in html and "\x07" not in html and "\u202e" not in html
        assert "&#34;引号&#34;" in html and "<script" not in html.split("<main>")[1].split("</main>")[0]
        render_zpl([label])
        render_tspl([label])
        (image,) = scanning.pdf_to_images(render_pdf([label]))
        assert set(scanning.decode(image)) == {ZTO}


def test_newlines_in_user_text_become_spaces():
    assert make_label(privacy=False, recipient_name="张\n三\t丰").recipient_name == "张 三 丰"


def test_print_time_is_china_time_and_needs_an_aware_datetime():
    eastern = datetime(2026, 11, 26, 1, 5, tzinfo=timezone(timedelta(hours=-5)))
    label = build_label_data(
        make_order(), make_shop(), tracking_no="SF1", courier_code="SF", courier_name="顺丰", printed_at=eastern
    )
    assert label.print_time == "2026-11-26 14:05"
    with pytest.raises(ValueError, match="aware"):
        build_label_data(
            make_order(),
            make_shop(),
            tracking_no="SF1",
            courier_code="SF",
            courier_name="顺丰",
            printed_at=datetime(2026, 11, 26, 14, 5),
        )


@pytest.mark.parametrize(
    "tracking_no, size", [("", "100x150"), ("顺丰123", "100x150"), ("A" * 41, "100x150"), ("SF1", "A4")]
)
def test_bad_tracking_number_or_size_is_refused(tracking_no, size):
    with pytest.raises(ValueError):
        make_label(tracking_no, size=size)


def test_a_tracking_number_too_wide_for_the_label_is_refused():
    # 30 letters in code set B: 30 × 11 + 35 modules = 365 × 0.25 mm = 91 mm; a 76 mm label cannot hold it.
    make_label("A" * 30, size="100x150")
    with pytest.raises(ValueError, match="does not fit"):
        make_label("A" * 30, size="76x130")


# --- Code 128 SVG ---


@pytest.mark.parametrize("number", NUMBERS)
def test_code128_svg_scans_at_203_dpi_with_whole_dot_bars(number):
    svg = barcodes.code128_svg(number)
    image = scanning.svg_to_image(svg)
    assert scanning.decode(image) == [number]
    modules = barcodes.code128_modules(number)
    runs = scanning.dark_runs(image, image.height // 2)
    assert [w for _, w in runs] == [w * MODULE_DOTS for _, w in barcodes.bar_runs(modules)]
    assert image.width == (len(modules) + 2 * barcodes.QUIET_ZONE) * MODULE_DOTS
    assert runs[0][0] == barcodes.QUIET_ZONE * MODULE_DOTS


def test_code128_svg_markup():
    svg = barcodes.code128_svg("EA123456789CN", dots_per_module=3, height_mm=12)
    modules = len(barcodes.code128_modules("EA123456789CN")) + 2 * barcodes.QUIET_ZONE
    assert f'width="{modules * 3 * 25.4 / 203:.4f}mm"' in svg
    assert 'height="12.0000mm"' in svg
    assert f'viewBox="0 0 {modules} ' in svg
    assert 'shape-rendering="crispEdges"' in svg
    assert svg.count("<path") == 1 and "<text" not in svg and "EA123" not in svg and "px" not in svg


def test_code128_svg_refuses_what_it_cannot_encode():
    for value in ("", "顺丰", "a" * 41, "tab\there"):
        with pytest.raises(ValueError):
            barcodes.code128_svg(value)
    with pytest.raises(ValueError, match="dots_per_module"):
        barcodes.code128_svg("SF1", dots_per_module=1)


def test_code128_svg_narrows_the_quiet_zone_before_refusing():
    value = "A" * 30  # 365 modules
    svg = barcodes.code128_svg(value, max_width_mm=92)
    quiet = int(92 / barcodes.module_mm()) - 365
    assert f'viewBox="0 0 {365 + 2 * (quiet // 2)} ' in svg
    assert scanning.decode(scanning.svg_to_image(svg)) == [value]
    with pytest.raises(ValueError, match="does not fit"):
        barcodes.code128_svg(value, max_width_mm=80)


def test_code128_encoder_round_trips_any_printable_ascii():
    rng = random.Random(41833)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " "
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))) for _ in range(20)]
    values += ["0", "12", "123", "A1", "1A", "12345X67890", "a1b2c3d4"]
    for value in values:
        assert scanning.decode(scanning.svg_to_image(barcodes.code128_svg(value))) == [value], value


def test_qr_svg_scans():
    import zxingcpp

    svg = barcodes.qr_svg("https://example.com/t/YT1234567890123")
    assert 'unit="mm"' not in svg and "mm" in svg
    results = zxingcpp.read_barcodes(scanning.svg_to_image(svg))
    assert [r.text for r in results] == ["https://example.com/t/YT1234567890123"]


def test_qr_encoder_reads_back_at_every_version_and_either_module():
    import zxingcpp

    rng = random.Random(18004)
    alphabet = string.ascii_letters + string.digits + "-_/:.?=&"
    # Versions 1-10 (up to 213 bytes) and longer; UTF-8 too.
    values = ["".join(rng.choice(alphabet) for _ in range(n)) for n in (1, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213)]
    values += ["https://portal.example/r/" + "x" * 300, "收件人 张三 " + REVEAL_URL]
    for value in values:
        for dots in (2, 3):
            results = zxingcpp.read_barcodes(scanning.svg_to_image(barcodes.qr_svg(value, dots_per_module=dots)))
            assert [r.text for r in results] == [value], (len(value), dots)
        assert len(barcodes.qr_matrix(value)) == barcodes.qr_side(value)


# --- HTML ---


def test_html_has_one_page_box_per_label_and_escapes_user_text(label_app):
    rows = [make_label(n, privacy=False, recipient_name="<script>alert(1)</script>") for n in NUMBERS]
    with label_app.app_context():
        html = render_html(rows)
    assert html.count('<section class="label"') == len(NUMBERS)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for number in NUMBERS:
        assert f'<div class="tracking">{number}</div>' in html
    assert html.count("<svg") == len(NUMBERS)
    assert "<nav" not in html


def test_html_page_size_per_label_size(label_app):
    for size, (width, height) in LABEL_SIZES.items():
        with label_app.app_context():
            html = render_html([make_label(size=size)])
        assert f"@page {{ size: {width}mm {height}mm; margin: 0; }}" in html
        assert f"width: {width}mm; height: {height}mm; overflow: hidden;" in html
        # The barcode keeps inside the label (wider content would make Chromium shrink the whole print).
        svg_width = float(re.search(r'<svg[^>]* width="([\d.]+)mm"', html).group(1))
        assert svg_width <= width - 2 * labels.BARCODE_EDGE_MM


def test_html_is_laid_out_in_mm_and_pt_and_has_no_inline_script(label_app):
    with label_app.app_context():
        html = render_html([make_label()], autoprint=True)
    assert not re.search(r"\d\s*px\b", html)
    assert "page-break-after: always" in html
    assert '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif' in html
    assert html.count("<script") == 1 and '<script src="/static/js/autoprint.js"></script>' in html
    assert 'data-autoprint="1"' in html and re.search(r"@media print \{[^}]*\.toolbar \{ display: none; \}", html)
    assert " on" + "load=" not in html and "onclick=" not in html
    with label_app.app_context():
        assert 'data-autoprint="0"' in render_html([make_label()], autoprint=False)


def test_the_symbols_we_draw_are_the_only_unescaped_output():
    folder = Path(__file__).resolve().parents[2] / "templates/labels"
    unescaped = [
        found
        for template in sorted(folder.glob("*.html"))
        for found in re.findall(r"\{\{[^}]*\|\s*safe[^}]*\}\}", template.read_text(encoding="utf-8"))
    ]
    assert unescaped == ["{{ row.barcode|safe }}", "{{ row.qr|safe }}", "{{ row.stub_barcode|safe }}"]
    for module in Path(labels.__file__).parent.glob("*.py"):
        assert "Markup" not in module.read_text(encoding="utf-8"), module


def test_html_draws_the_qr_and_the_stub_where_they_belong(label_app):
    for size in LABEL_SIZES:
        with label_app.app_context():
            plain = render_html([make_label(size=size)])
            with_qr = render_html([make_label(size=size, reveal_url=REVEAL_URL)])
        stub = size == "100x180"
        assert plain.count("<svg") == 1 + stub and 'class="qrcode"' not in plain
        assert with_qr.count('class="qrcode"') == 1 and with_qr.count("<svg") == 2 + stub
        assert ("存根联" in plain) == stub
        assert REVEAL_URL not in with_qr  # only inside the symbol
    svg = re.search(r'<svg[^>]*class="qrcode".*?</svg>', with_qr).group(0)
    assert scanning_qr(svg) == [REVEAL_URL]


def scanning_qr(svg: str) -> list[str]:
    import zxingcpp

    results = zxingcpp.read_barcodes(scanning.svg_to_image(svg))
    return [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_html_barcode_module_is_the_labels(label_app):
    for number, size in ((ZTO, "100x150"), ("SF1234567890123", "76x130"), ("A" * 30, "100x150")):
        label = make_label(number, size=size)
        with label_app.app_context():
            html = render_html([label])
        width, total = re.search(r'<svg[^>]* width="([\d.]+)mm"[^>]*viewBox="0 0 (\d+) ', html).groups()
        assert round(float(width) / int(total) * barcodes.DPI / 25.4, 3) == label.barcode_dots
        assert int(total) == len(barcodes.code128_modules(number)) + 2 * barcodes.QUIET_ZONE  # full quiet zones


def test_html_texts_are_clamped_and_cut_only_past_their_budget(label_app):
    label = hostile_label()
    with label_app.app_context():
        html = render_html([label])
    # Several-line zones are clamped by the browser; one-line zones end in "…" by text-overflow.
    assert re.search(r"\.message \{ -webkit-line-clamp: 3; line-clamp: 3; \}", html)
    assert re.search(r"\.line, \.who \{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis;", html)
    message = unescape(re.search(r'<div class="note message clamp">留言：([^<]*)</div>', html).group(1))
    assert 100 < len(message) < 400 and message.endswith("…")  # a budget, not the whole 2,000 characters
    short = make_label(buyer_message="不要放快递柜")
    with label_app.app_context():
        assert '<div class="note message clamp">留言：不要放快递柜</div>' in render_html([short])


def test_html_marks_a_reprint(label_app):
    label = build_label_data(
        make_order(),
        make_shop(),
        tracking_no="SF1",
        courier_code="SF",
        courier_name="顺丰",
        printed_at=PRINTED_AT,
        reprint=True,
    )
    with label_app.app_context():
        assert '<span class="reprint">重印</span>' in render_html([label])
        assert 'class="reprint"' not in render_html([make_label()])


def test_html_refuses_an_empty_or_mixed_job(label_app):
    with label_app.app_context(), pytest.raises(ValueError):
        render_html([])
    with label_app.app_context(), pytest.raises(ValueError, match="one size"):
        render_html([make_label(size="100x150"), make_label(size="76x130")])


# --- PDF ---


def test_pdf_pages_have_the_label_size_and_scan_at_203_dpi():
    import io

    from pypdf import PdfReader

    rows = [make_label(n, size=size) for n, size in zip(NUMBERS, [*LABEL_SIZES, *LABEL_SIZES], strict=False)]
    pdf = render_pdf(rows)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == len(rows)
    for page, row in zip(pages, rows, strict=True):
        width, height = (float(v) * 25.4 / 72 for v in (page.mediabox.width, page.mediabox.height))
        assert (round(width, 2), round(height, 2)) == (row.width_mm, row.height_mm)
    assert "顺丰速运" in pages[0].extract_text() and "张**" in pages[0].extract_text()
    assert b"/FontFile2" in pdf  # the Chinese font is embedded, not left to the printer
    for image, row in zip(scanning.pdf_to_images(pdf), rows, strict=True):
        # 100×180 has the stub's second barcode of the same number.
        assert scanning.decode(image) == [row.tracking_no] * (2 if row.layout.stub_mm else 1)


def test_pdf_qr_code_scans():
    import zxingcpp

    for size in LABEL_SIZES:
        (image,) = scanning.pdf_to_images(render_pdf([make_label(size=size, reveal_url=REVEAL_URL)]))
        qr = [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
        assert qr == [REVEAL_URL], size


@pytest.mark.parametrize(
    "number, size", [("YT1234567890123", "100x150"), (ZTO, "76x130"), ("SF1234567890123", "76x130")]
)
def test_pdf_bars_are_whole_dots(number, size):
    # pdftoppm -aa no fills every dot a shape touches, so each bar comes out exactly one dot wider.
    label = make_label(number, size=size)
    (image,) = scanning.pdf_to_images(render_pdf([label]))
    modules = barcodes.code128_modules(label.tracking_no)
    top = label.layout.header_mm + 1.5 + label.layout.barcode_mm / 2
    runs = scanning.dark_runs(image, round(top * scanning.DPI / 25.4))
    assert [w for _, w in runs] == [w * label.barcode_dots + 1 for _, w in barcodes.bar_runs(modules)]


def test_pdf_without_a_font_file_falls_back_to_the_builtin_cid_font(monkeypatch):
    monkeypatch.setattr(labels.pdf, "PDF_FONT_FILES", ("/nonexistent/font.ttc",))
    labels.pdf._pdf_font.cache_clear()
    try:
        pdf = render_pdf([make_label()])
    finally:
        labels.pdf._pdf_font.cache_clear()
    assert b"/STSong-Light" in pdf and b"/FontFile2" not in pdf
    with pytest.raises(ValueError, match="not found"):
        render_pdf([make_label()], font_file="/nonexistent/font.ttc")


def test_pdf_refuses_no_labels():
    with pytest.raises(ValueError):
        render_pdf([])


def test_pdf_long_address_is_set_smaller_and_still_scans():
    import io

    from pypdf import PdfReader

    row = make_label("JT0001234567890", address_detail="人民路100号幸福小区" * 8 + "3单元502室")
    pdf = render_pdf([row])
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "人民路100号幸福小区" in text
    (image,) = scanning.pdf_to_images(pdf)
    assert scanning.decode(image) == ["JT0001234567890"]


def test_html_sets_long_destinations_and_addresses_smaller(label_app):
    row = make_label(province="黑龙江省", city="大兴安岭地区", district="加格达奇区", address_detail="幸福小区" * 20)
    short = make_label()
    with label_app.app_context():
        html, plain = render_html([row]), render_html([short])
    # 14 ems at 24 pt is 120 mm: the third step (65 %, 78 mm) is the first that fits 96 mm.
    assert '<div class="zone dest s2"><span class="line">黑龙江 大兴安岭地区 加格达奇区</span></div>' in html
    assert '<div class="zone dest s0"><span class="line">浙江 杭州市 西湖区</span></div>' in plain
    assert '<div class="addr clamp long">' in html and '<div class="addr clamp">' in plain
