"""Label data, its masking, and the Code 128 SVG, HTML, PDF and ZPL renderings, scanned at 203 dpi."""

import random
import re
import string
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.models import Order, OrderItem, Shop
from portal.services import barcodes, labels
from portal.services.labels import LABEL_SIZES, build_label_data, render_html, render_pdf, render_zpl
from tests import scanning

NUMBERS = ["SF1234567890123", "YT1234567890123", "773012345678901", "JT0001234567890", "EA123456789CN"]
PRINTED_AT = datetime(2026, 11, 26, 6, 5, tzinfo=UTC)  # 14:05 in China
MODULE_DOTS = 2


def make_shop(*, privacy: bool | None = True) -> Shop:
    return Shop(
        name="西湖茶庄",
        sender_name="西湖茶庄 王经理",
        sender_phone="13987654321",
        sender_address="浙江省杭州市上城区南山路100号",
        privacy_labels=privacy,
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


def make_label(tracking_no: str = "SF1234567890123", *, privacy: bool = True, size: str = "100x150", **order_fields):
    return build_label_data(
        make_order(**order_fields),
        make_shop(privacy=privacy),
        tracking_no=tracking_no,
        courier_code="SF",
        courier_name="顺丰速运",
        size=size,
        printed_at=PRINTED_AT,
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


def test_privacy_is_the_default_when_the_shop_setting_is_unset():
    # A Shop built in memory has no column defaults yet: fail closed.
    assert make_label(privacy=None).masked


def test_masked_label_hides_phone_numbers_in_the_buyer_message():
    assert (
        make_label(buyer_message="放门卫 请打13912345678").buyer_message == "放门卫 请打139********"
    )  # the address rule also hides trailing digits
    assert make_label(buyer_message="请打139-1234-5678 送3单元502室").buyer_message == "请打139******78 送*单元***室"
    # Masked before it is cut to length, so no part of a number is left bare.
    cut = make_label(buyer_message="很长的留言" * 7 + "13912345678").buyer_message
    assert len(cut) == labels.BUYER_MESSAGE_CHARS and cut.endswith("139*…")
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
    assert (label.courier_code, label.courier_name, label.reprint) == ("SF", "顺丰速运", False)


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


def test_item_summary_is_truncated_and_falls_back_to_items():
    long = make_label(item_summary="茶" * 100)
    assert len(long.item_summary) == labels.ITEM_SUMMARY_CHARS and long.item_summary.endswith("…")
    order = make_order(item_summary="", item_count=0)
    order.items = [OrderItem(title="安吉白茶", quantity=2), OrderItem(title="紫砂壶", quantity=1)]
    label = build_label_data(
        order,
        make_shop(),
        tracking_no="YT1234567890123",
        courier_code="YTO",
        courier_name="圆通",
        printed_at=PRINTED_AT,
    )
    assert (label.item_summary, label.item_count) == ("安吉白茶，紫砂壶", 3)


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


def test_the_barcode_is_the_only_unescaped_output():
    template = (Path(__file__).resolve().parents[2] / "templates/labels/print.html").read_text(encoding="utf-8")
    assert re.findall(r"\{\{[^}]*\|\s*safe[^}]*\}\}", template) == ["{{ barcode|safe }}"]
    assert "Markup" not in Path(labels.__file__).read_text(encoding="utf-8")


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
        assert scanning.decode(image) == [row.tracking_no]


def test_pdf_bars_are_whole_dots():
    # pdftoppm -aa no fills every dot a shape touches, so each bar comes out exactly one dot wider.
    label = make_label("YT1234567890123")
    (image,) = scanning.pdf_to_images(render_pdf([label]))
    modules = barcodes.code128_modules(label.tracking_no)
    top = round(label.layout.header_mm + 1.5 + label.layout.barcode_mm / 2)
    runs = scanning.dark_runs(image, round(top * scanning.DPI / 25.4))
    assert [w for _, w in runs] == [w * MODULE_DOTS + 1 for _, w in barcodes.bar_runs(modules)]


def test_pdf_without_a_font_file_falls_back_to_the_builtin_cid_font(monkeypatch):
    monkeypatch.setattr(labels, "PDF_FONT_FILES", ("/nonexistent/font.ttc",))
    labels._pdf_font.cache_clear()
    try:
        pdf = render_pdf([make_label()])
    finally:
        labels._pdf_font.cache_clear()
    assert b"/STSong-Light" in pdf and b"/FontFile2" not in pdf
    with pytest.raises(ValueError, match="not found"):
        render_pdf([make_label()], font_file="/nonexistent/font.ttc")


def test_pdf_refuses_no_labels():
    with pytest.raises(ValueError):
        render_pdf([])


# --- ZPL ---

ZPL_COMMANDS = {"XA", "CI", "PW", "LL", "LH", "FO", "A@", "FB", "FH", "FD", "FS", "GB", "BY", "BC", "XZ"}


def zpl_commands(zpl: str) -> list[tuple[str, str]]:
    """(command, argument) pairs, field data included as the FD argument."""
    return [(m.group(1)[:2], m.group(1)[2:]) for m in re.finditer(r"\^([^^]*)", zpl)]


def unhex(data: str) -> str:
    return re.sub(r"\\([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data)


@pytest.mark.parametrize("size, dots", [("100x150", (799, 1199)), ("100x180", (799, 1439)), ("76x130", (607, 1039))])
def test_zpl_structure_and_size(size, dots):
    rows = [make_label(n, size=size) for n in NUMBERS[:3]]
    zpl = render_zpl(rows)
    assert zpl.count("^XA") == zpl.count("^XZ") == 3
    for block, row in zip(zpl.split("^XZ")[:3], rows, strict=True):
        assert block.strip().startswith("^XA\n^CI28\n")
        assert f"^PW{dots[0]}\n^LL{dots[1]}\n^LH0,0" in block
        bar_h = round(row.layout.barcode_mm * 203 / 25.4)
        assert "^BY2^FO" in block and f"^BCN,{bar_h},Y,N,N,A^FH\\^FD{row.tracking_no}^FS" in block
        assert f"^A@N,32,32,{labels.ZPL_FONT}" in block and "^GB" in block
        assert "^FD浙江 杭州市 西湖区^FS" in block and "^FD张**  138******78^FS" in block
    assert {command for command, _ in zpl_commands(zpl)} <= ZPL_COMMANDS


def test_zpl_neutralises_control_characters_in_user_text():
    hostile = "^XZ^XA~JR\\&张"
    zpl = render_zpl([make_label(privacy=False, recipient_name=hostile, buyer_message="~JA^FS")])
    assert "~" not in zpl
    commands = zpl_commands(zpl)
    assert {command for command, _ in commands} <= ZPL_COMMANDS
    assert [c for c, _ in commands].count("XZ") == 1
    fields = [unhex(argument) for command, argument in commands if command == "FD"]
    assert f"{hostile}  13812345678" in fields
    assert "留言 ~JA^FS" in fields


def test_zpl_refuses_no_labels():
    with pytest.raises(ValueError):
        render_zpl([])


def test_zpl_text_fields_stay_inside_the_label():
    long_address = "黑龙江省大兴安岭地区加格达奇区" + "人民路100号幸福小区" * 12 + "3单元502室"
    for size, (width, height) in LABEL_SIZES.items():
        row = make_label(
            size=size,
            privacy=False,
            province="黑龙江省",
            city="大兴安岭地区",
            district="加格达奇区",
            address_detail=long_address,
            item_summary="茶" * 100,
            buyer_message="W" * 100,
        )
        zpl = render_zpl([row])
        page_w, page_h = round(width * 203 / 25.4), round(height * 203 / 25.4)
        fields = re.findall(r"\^FO(\d+),(\d+)\^A@N,(\d+),\d+,[^^]*\^FB(\d+),1,0,[LCR],0\^FH\\\^FD([^^]*)\^FS", zpl)
        assert len(fields) > 10
        for x, y, h, w, data in fields:
            x, y, h, w = int(x), int(y), int(h), int(w)
            assert x + w <= page_w and y + h <= page_h
            ems = sum(1 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in unhex(data))
            assert ems * h <= w, data
        assert "…" in zpl  # the 100-character summary was cut, not run off the label


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
    with label_app.app_context():
        html = render_html([row])
    assert '<div class="zone dest long">黑龙江 大兴安岭地区 加格达奇区</div>' in html
    assert '<div class="addr long">' in html
