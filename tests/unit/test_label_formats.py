"""ZPL and TSPL, read back command by command by the small parsers below: one label per order, every text
field escaped, the Code 128 module = the HTML's dots, sizes in mm = the job's, every field inside the label."""

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from portal import create_app
from portal.config import TestConfig
from portal.models import Order, OrderItem, Shop
from portal.services import barcodes, labels
from portal.services.labels import LABEL_SIZES, render_html, render_tspl, render_zpl

DOTS_PER_MM = 203 / 25.4
REVEAL_URL = "https://portal.example/r/" + "Qz9_-" * 8 + "k2Z"  # a 43-character token
NUMBERS = ["73123456789012", "SF1234567890123", "773012345678901"]
HOSTILE = '^XZ^XA~JR\\&"quoted" 引号"^FS~DG 😀 end\\["]\n\r\t\x00\x07\x1b' * 60


def build(number: str, size: str, *, hostile: bool = False, reveal_url: str = REVEAL_URL) -> labels.LabelData:
    shop = Shop(
        name="西湖茶庄",
        sender_name='西湖茶庄 "总店"',
        sender_phone="0571-87654321",
        sender_address="浙江省杭州市上城区南山路100号",
        privacy_labels=not hostile,
    )
    order = Order(
        platform_order_no="3908123456789012345",
        recipient_name="欧阳娜娜",
        recipient_phone="13812345678",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail=HOSTILE if hostile else "文三路90号5幢302室",
        item_summary="",
        item_count=0,
        buyer_message=HOSTILE if hostile else "不要放快递柜",
        seller_memo=HOSTILE if hostile else "送试饮装",
    )
    titles = [HOSTILE] * 6 if hostile else ["安吉白茶 礼盒装", "紫砂壶 300ml"]
    order.items = [OrderItem(title=title, quantity=i + 1) for i, title in enumerate(titles)]
    return labels.build_label_data(
        order,
        shop,
        tracking_no=number,
        courier_code="ZTO",
        courier_name="中通快递",
        size=size,
        printed_at=datetime(2026, 11, 26, 6, 5, tzinfo=UTC),
        reveal_url=reveal_url,
    )


def html_module_dots(label: labels.LabelData) -> int:
    """The main barcode's module in dots, read from the HTML's SVG: its width in mm over its modules."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        html = render_html([label])
    width, modules = re.search(r'<svg[^>]* width="([\d.]+)mm"[^>]*viewBox="0 0 (\d+) ', html).groups()
    dots = float(width) / int(modules) * DOTS_PER_MM
    assert dots == pytest.approx(round(dots), abs=1e-3)
    return round(dots)


# --- ZPL ---


def parse_zpl(zpl: str) -> list[list[tuple[str, str]]]:
    """Labels (^XA … ^XZ) as lists of (command, argument). A command starts at ^ or ~ and runs to the next;
    ^FD data ends at its ^FS, so a raw ^ or ~ inside field data would split it and fail the check below."""
    assert "~" not in zpl  # no tilde commands, and none smuggled in by user text
    commands = [(token[:2], token[2:].rstrip("\n")) for token in re.split(r"\^", zpl) if token.strip()]
    blocks, current = [], None
    for i, (command, argument) in enumerate(commands):
        if command == "XA":
            assert current is None, "^XA inside a label"
            current = []
        elif command == "XZ":
            assert current is not None, "^XZ outside a label"
            blocks.append(current)
            current = None
        else:
            assert current is not None, f"^{command} outside a label"
            current.append((command, argument))
            if command == "FD":
                assert commands[i + 1][0] == "FS", f"field data not ended by ^FS: {argument!r}"
    assert current is None
    return blocks


def zpl_unhex(data: str) -> str:
    raw = re.sub(rb"\\([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data.encode("utf-8"))
    return raw.decode("utf-8")


def zpl_fields(block: list[tuple[str, str]]) -> list[dict]:
    """Each field: its origin, the command that draws it (A@ text, BC Code 128, BQ QR, GB box) and its data."""
    fields, field, module = [], {}, None
    for command, argument in block:
        if command == "BY":  # the module width stays set for the barcodes that follow
            module = argument
        elif command == "FO":
            field = {"x": int(argument.split(",")[0]), "y": int(argument.split(",")[1]), "BY": module}
        elif command in ("A@", "BC", "BQ", "GB"):
            field[command] = argument
        elif command == "FH":
            assert argument == "\\"
            field["FH"] = True
        elif command == "FD":
            assert field.get("FH"), "field data without ^FH escapes"
            assert not re.search(r"[\x00-\x1f\x7f]", argument)
            field["data"] = zpl_unhex(argument)
        elif command == "FS":
            fields.append(field)
            field = {}
    return fields


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_zpl_one_block_per_label_with_the_jobs_size_and_the_htmls_module(size):
    rows = [build(number, size) for number in NUMBERS]
    blocks = parse_zpl(render_zpl(rows))
    assert len(blocks) == len(rows)
    width, height = LABEL_SIZES[size]
    for block, row in zip(blocks, rows, strict=True):
        commands = dict(block[:4])
        assert block[0] == ("CI", "28")  # UTF-8 field data
        assert int(commands["PW"]) / DOTS_PER_MM == pytest.approx(width, abs=0.1)
        assert int(commands["LL"]) / DOTS_PER_MM == pytest.approx(height, abs=0.1)
        fields = zpl_fields(block)
        codes = [f for f in fields if "BC" in f]
        assert [f["data"] for f in codes] == [row.tracking_no] * (2 if size == "100x180" else 1)
        main = codes[0]
        assert int(main["BY"]) == row.barcode_dots == html_module_dots(row) >= 3
        assert int(main["BC"].split(",")[1]) / DOTS_PER_MM >= 10  # bars at least 10 mm tall
        # Quiet zones of 10 modules inside the label on both sides.
        symbol = len(barcodes.code128_modules(row.tracking_no)) * row.barcode_dots
        assert main["x"] >= 10 * row.barcode_dots and main["x"] + symbol + 10 * row.barcode_dots <= int(commands["PW"])
        if size == "100x180":
            assert int(codes[1]["BY"]) == labels.STUB_BARCODE_DOTS
        (qr,) = [f for f in fields if "BQ" in f]
        assert qr["data"] == f"MA,{REVEAL_URL}" and qr["BQ"].startswith("N,2,")
        texts = [f["data"] for f in fields if "A@" in f]
        assert "浙江 杭州市 西湖区" in texts and "欧***  138******78" in texts
        assert "安吉白茶 礼盒装 ×1" in texts and "紫砂壶 300ml ×2" in texts and "共 3 件" in texts


def test_zpl_escapes_every_text_field():
    row = build(NUMBERS[0], "100x150", hostile=True)
    (block,) = parse_zpl(render_zpl([row]))
    texts = [f["data"] for f in zpl_fields(block) if "A@" in f]
    # The hostile characters come back from the escapes, in order, with control characters gone.
    assert any("^XZ^XA~JR\\&" in text for text in texts)
    assert all(not re.search(r"[\x00-\x1f]", text) for text in texts)
    assert sum(1 for text in texts if text.endswith("…") or text.endswith("… ×1")) >= 4  # cut, not run off


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_zpl_fields_stay_inside_the_label(size):
    (block,) = parse_zpl(render_zpl([build(NUMBERS[1], size, hostile=True)]))
    commands = dict(block[:4])
    page_w, page_h = int(commands["PW"]), int(commands["LL"])
    for field in zpl_fields(block):
        if "A@" in field:
            height = int(field["A@"].split(",")[1])
            # The printer's SimSun: full width for Chinese and ambiguous signs, half for the rest.
            ems = sum(1 if labels.zpl.unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in field["data"])
            assert field["x"] + ems * height <= page_w, field
            assert field["y"] + height <= page_h, field
        assert 0 <= field["x"] < page_w and 0 <= field["y"] < page_h


# --- TSPL ---


def tspl_arguments(line: str) -> tuple[str, list[str]]:
    """(command, arguments) of one TSPL line; a string argument is unquoted and its \\["] read back as ".
    Fails on a quote that ends a string anywhere but before a comma or the end of the line."""
    command, _, rest = line.partition(" ")
    args, i = [], 0
    while i < len(rest):
        if rest[i] == '"':
            i += 1
            value = []
            while True:
                assert i < len(rest), f"unterminated string: {line!r}"
                if rest.startswith('\\["]', i):
                    value.append('"')
                    i += 4
                elif rest[i] == '"':
                    i += 1
                    break
                else:
                    value.append(rest[i])
                    i += 1
            args.append("".join(value))
            assert i == len(rest) or rest[i] == ",", f"unescaped quote in {line!r}"
            i += 1
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            assert '"' not in rest[i:end], f"stray quote in {line!r}"
            args.append(rest[i:end])
            i = end + 1
    return command, args


def parse_tspl(data: bytes) -> tuple[list[tuple[str, list[str]]], list[list[tuple[str, list[str]]]]]:
    """(set-up commands, labels): each label runs from CLS to PRINT."""
    text = data.decode("gb18030")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text[:-2].split("\r\n")
    assert all(not re.search(r"[\x00-\x1f\x7f]", line) for line in lines)
    setup, labels_, current = [], [], None
    for line in lines:
        command, args = tspl_arguments(line)
        if command == "CLS":
            assert current is None
            current = []
        elif command == "PRINT":
            assert current is not None and args == ["1"]
            labels_.append(current)
            current = None
        elif current is None:
            setup.append((command, args))
        else:
            current.append((command, args))
    assert current is None
    return setup, labels_


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_tspl_one_print_per_label_with_the_jobs_size_and_the_htmls_module(size):
    rows = [build(number, size) for number in NUMBERS]
    setup, blocks = parse_tspl(render_tspl(rows))
    width, height = LABEL_SIZES[size]
    assert setup[0] == ("SIZE", [f"{width} mm", f"{height} mm"])
    assert [command for command, _ in setup] == ["SIZE", "GAP", "DIRECTION", "REFERENCE"]
    assert len(blocks) == len(rows)
    for block, row in zip(blocks, rows, strict=True):
        codes = [args for command, args in block if command == "BARCODE"]
        assert [args[-1] for args in codes] == [row.tracking_no] * (2 if size == "100x180" else 1)
        main = codes[0]
        assert main[2] == "128" and int(main[6]) == int(main[7]) == row.barcode_dots == html_module_dots(row)
        assert int(main[3]) / DOTS_PER_MM >= 10
        (qr,) = [args for command, args in block if command == "QRCODE"]
        assert qr[2:6] == ["M", "3", "A", "0"] and qr[-1] == REVEAL_URL
        texts = [args[-1] for command, args in block if command == "TEXT"]
        assert all(args[2] == "TSS24.BF2" for command, args in block if command == "TEXT")
        assert "浙江 杭州市 西湖区" in texts and "欧***  138******78" in texts and row.tracking_no in texts
        assert "安吉白茶 礼盒装 ×1" in texts and "紫砂壶 300ml ×2" in texts
        assert ("存根联" in texts) == (size == "100x180")


@pytest.mark.parametrize("size", list(LABEL_SIZES))
def test_tspl_escapes_quotes_drops_controls_and_replaces_what_gb18030_fonts_lack(size):
    row = build(NUMBERS[2], size, hostile=True)
    _, (block,) = parse_tspl(render_tspl([row]))
    texts = [args for command, args in block if command == "TEXT"]
    joined = "".join(args[-1] for args in texts)
    assert '"quoted" 引号"' in joined  # quotes read back through \["]
    assert "😀" not in joined and "?" in joined  # no glyph in the GB font: "?"
    assert "\\" not in joined and "＼" in joined  # no backslash can start a \[…] escape
    width, height = (round(v * DOTS_PER_MM) for v in LABEL_SIZES[size])
    for x, y, _, _, scale, _, value in texts:
        dots = 24 * int(scale)
        used = sum(dots if len(c.encode("gb18030")) > 1 else dots / 2 for c in value)
        assert int(x) + used <= width and int(y) + dots <= height, value


def test_tspl_and_zpl_never_raise_on_any_character():
    odd = "".join(chr(c) for c in range(0x20, 0x3000, 7)) + "\ud800\U0001f600\U00020000\ufffd"
    row = build(NUMBERS[0], "76x130", hostile=True)
    row = replace(row, buyer_message=odd, seller_memo=odd, recipient_name=odd)
    parse_tspl(render_tspl([row]))
    parse_zpl(render_zpl([row]))


def test_tspl_refuses_an_empty_or_mixed_job():
    with pytest.raises(ValueError):
        render_tspl([])
    with pytest.raises(ValueError, match="one size"):
        render_tspl([build(NUMBERS[0], "100x150"), build(NUMBERS[0], "76x130")])


def test_zpl_refuses_no_labels():
    with pytest.raises(ValueError):
        render_zpl([])
