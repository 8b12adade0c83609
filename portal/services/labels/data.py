"""What one label prints: ``LabelData`` built from an order and its shop, masked, and each size's zones in mm."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from portal.models import Order, Shop
from portal.services import barcodes
from portal.services.privacy import mask_address_detail, mask_name, mask_phone

LABEL_SIZES = {"100x150": (100, 150), "100x180": (100, 180), "76x130": (76, 130)}
DEFAULT_SIZE = "100x150"
CHINA = ZoneInfo("Asia/Shanghai")
ITEM_LINES = 4  # item lines a label lists; past that, one "…另有 N 种商品" line
# The most of any one text a label keeps: more than any zone shows even in its narrowest characters, so
# cutting here never shortens what would have fitted, and a 2,000-character title costs no more than this.
TEXT_CHARS = 500
# Blank paper the barcode keeps from each label edge; Chromium prints a 100 mm page about 0.2 mm narrower.
BARCODE_EDGE_MM = 1.0
MARGIN_MM = 2.0  # text inset from the label's left and right edges
# The stub's second barcode: the narrowest module (2 dots at 203 dpi), for a hand scanner at the desk.
STUB_BARCODE_DOTS = barcodes.module_dots_range()[0]

# What a courier sorts by: the province without its suffix (浙江省 → 浙江, 广西壮族自治区 → 广西).
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")
# City-level names that are no place of their own (municipalities, 省直辖县): left off the label.
_CITY_PLACEHOLDERS = frozenset(
    ("市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划")
)
# Seven or more digits in free text, maybe split by spaces or dashes: a phone number ("请打138-1234-5678").
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){6,}")
# Control characters become spaces (then runs of spaces one); invisible format characters (zero-width
# spaces, bidi overrides that would reorder a line, BOM) and lone surrogates are dropped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]")
# The stored item summary writes "title ×N" for N != 1, items joined by "; " (services/orders.py).
_QUANTITY = re.compile(r"^(.*?)\s*×\s*(\d{1,6})$")


@dataclass(frozen=True)
class Layout:
    """Zone heights in mm, top to bottom, type sizes in pt and line counts: one table all four renderings
    (HTML, PDF, ZPL, TSPL) lay a label out from. The stub (存根联, 100×180 only) sits below the rest."""

    header_mm: float
    code_mm: float
    barcode_mm: float  # bar height of the main Code 128 (at least 10 mm)
    destination_mm: float
    recipient_mm: float
    sender_mm: float
    contents_mm: float
    sign_mm: float
    qr_mm: float  # width of the QR column at the right of the contents zone
    courier_pt: float
    time_pt: float
    digits_pt: float
    destination_pt: float
    name_pt: float
    address_pt: float
    sender_pt: float
    item_pt: float
    note_pt: float  # buyer's message and seller's memo
    small_pt: float  # order number, captions, signature zone, stub
    address_lines: int = 3
    sender_lines: int = 2
    message_lines: int = 3
    memo_lines: int = 3
    stub_mm: float = 0
    stub_barcode_mm: float = 9

    @property
    def tops(self) -> dict[str, float]:
        """Top of each zone in mm from the label's top edge."""
        zones = ("header", "code", "destination", "recipient", "sender", "contents", "sign", "stub")
        heights = (
            self.header_mm,
            self.code_mm,
            self.destination_mm,
            self.recipient_mm,
            self.sender_mm,
            self.contents_mm,
            self.sign_mm,
            self.stub_mm,
        )
        out, top = {}, 0.0
        for zone, height in zip(zones, heights, strict=True):
            out[zone] = top
            top += height
        out["end"] = top
        return out


_WIDE = Layout(
    header_mm=7,
    code_mm=23,
    barcode_mm=14,
    destination_mm=15,
    recipient_mm=24,
    sender_mm=14,
    contents_mm=54,
    sign_mm=13,
    qr_mm=22,
    courier_pt=12,
    time_pt=7.5,
    digits_pt=11,
    destination_pt=24,
    name_pt=13,
    address_pt=11,
    sender_pt=8.5,
    item_pt=10,
    note_pt=9,
    small_pt=8,
)
_NARROW = Layout(
    header_mm=6,
    code_mm=20,
    barcode_mm=12,
    destination_mm=12,
    recipient_mm=21,
    sender_mm=12,
    contents_mm=48,
    sign_mm=11,
    qr_mm=19,
    courier_pt=10.5,
    time_pt=7,
    digits_pt=9.5,
    destination_pt=19,
    name_pt=11,
    address_pt=9.5,
    sender_pt=7.5,
    item_pt=9,
    note_pt=8,
    small_pt=7.5,
)
LAYOUTS = {"100x150": _WIDE, "100x180": replace(_WIDE, stub_mm=30), "76x130": _NARROW}


@dataclass(frozen=True)
class LabelData:
    """Everything one label prints, as display text: masked values stay here, real ones on the order.

    ``barcode_dots`` is the main Code 128's module in printer dots at 203 dpi (``barcodes.module_dots``);
    every rendering uses it. ``items`` are (title, quantity) of the first four items, quantity 0 when
    unknown, each printed as one line "title ×quantity" whose title alone is shortened when it does not
    fit; ``items_more`` counts the items past them. ``reveal_url``, when set, is drawn as a QR code.
    """

    tracking_no: str
    courier_code: str
    courier_name: str
    size: str
    width_mm: int
    height_mm: int
    barcode_dots: int
    destination: str
    recipient_name: str
    recipient_phone: str
    recipient_address: str
    sender_name: str
    sender_phone: str
    sender_address: str
    order_no: str
    item_summary: str
    item_count: int
    items: tuple[tuple[str, int], ...]
    items_more: int
    buyer_message: str
    seller_memo: str
    print_time: str
    masked: bool
    reprint: bool
    reveal_url: str = ""
    qr: barcodes.QrSymbol | None = field(default=None, compare=False, repr=False)  # reveal_url's, made once

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.size]


def build_label_data(
    order: Order,
    shop: Shop,
    *,
    tracking_no: str,
    courier_code: str,
    courier_name: str,
    size: str = DEFAULT_SIZE,
    printed_at: datetime,
    reprint: bool = False,
    items: Iterable | None = None,
    reveal_url: str = "",
) -> LabelData:
    """The label of ``order`` shipped from ``shop``, masked when the shop prints privacy labels.

    ``order`` may be an ``Order`` or a row with the same column names (``seller_memo`` may be missing).
    Item lines come from ``items`` (objects with ``title`` and ``quantity``), else ``order.items`` when it
    has any (load them with the orders), else the stored item summary. Reads the order and shop only;
    masked strings never go back into them.

    :raise ValueError: unknown size, naive ``printed_at``, a tracking number that Code 128 cannot encode or
        whose symbol does not fit the label width with its quiet zones, or a ``reveal_url`` too long for
        the label's QR column.
    """
    if size not in LABEL_SIZES:
        raise ValueError(f"unknown label size {size!r}; choose one of {', '.join(LABEL_SIZES)}")
    if printed_at.tzinfo is None:
        raise ValueError("printed_at must be timezone-aware")
    width, height = LABEL_SIZES[size]
    tracking_no = tracking_no.strip()
    modules = barcodes.code128_modules(tracking_no)
    barcode_dots = barcodes.module_dots(len(modules), code_zone_mm(width))
    masked = shop.privacy_labels is not False  # unset (a shop not yet flushed) means private
    reveal_url = clean(reveal_url)
    qr = barcodes.qr_symbol(reveal_url) if reveal_url else None
    if qr:
        qr_module_dots(qr, LAYOUTS[size])  # raises when it cannot fit

    province, city, district = (clean(order.province), clean(order.city), clean(order.district))
    if city in _CITY_PLACEHOLDERS or city == province:
        city = ""
    region = " ".join(part for part in (province, city, district) if part)
    detail = clean(order.address_detail) or ("" if region else clean(order.address_raw))
    destination = " ".join(part for part in (_short_province(province), city, district) if part)

    name, phone = clean(order.recipient_name), clean(order.recipient_phone)
    sender_phone = clean(shop.sender_phone)
    message, memo = clean(order.buyer_message), clean(getattr(order, "seller_memo", ""))
    if masked:
        name, phone, detail = mask_name(name), mask_phone(phone), mask_address_detail(detail)
        if not getattr(shop, "sender_phone_public", False):  # a business line the seller chose to show
            sender_phone = mask_phone(sender_phone)
        # Buyers write phone numbers and rooms into messages, sellers into memos; mask before cutting.
        message, memo = _mask_free_text(message), _mask_free_text(memo)

    summary = clean(order.item_summary)
    pairs = _item_pairs(order, items, summary, order.item_count or 0)
    count = order.item_count or sum(quantity or 0 for _, quantity in pairs)

    return LabelData(
        tracking_no=tracking_no,
        courier_code=courier_code,
        courier_name=cap(clean(courier_name)),
        size=size,
        width_mm=width,
        height_mm=height,
        barcode_dots=barcode_dots,
        destination=cap(destination),
        recipient_name=cap(name),
        recipient_phone=cap(phone),
        recipient_address=cap(" ".join(part for part in (region, detail) if part)),
        sender_name=cap(clean(shop.sender_name) or clean(shop.name)),
        sender_phone=cap(sender_phone),
        sender_address=cap(clean(shop.sender_address)),
        order_no=cap(clean(order.platform_order_no)),
        item_summary=cap(summary),
        item_count=count,
        items=tuple((title, quantity or 0) for title, quantity in pairs[:ITEM_LINES]),
        items_more=max(0, len(pairs) - ITEM_LINES),
        buyer_message=cap(message),
        seller_memo=cap(memo),
        print_time=printed_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        masked=masked,
        reprint=reprint,
        reveal_url=reveal_url,
        qr=qr,
    )


def clean(value) -> str:
    """One line of printable text: control characters and runs of whitespace become one space, invisible
    format characters go."""
    text = str(value or "")
    if not text.isprintable():
        text = _INVISIBLE.sub("", _CONTROL.sub(" ", text))
    return " ".join(text.split())


def cap(text: str, limit: int = TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the last one "…", when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quantity_text(quantity: int) -> str:
    """How an item line ends: " ×3" (nothing when the quantity is unknown)."""
    return f" ×{quantity}" if quantity else ""


def _mask_free_text(text: str) -> str:
    return mask_address_detail(_LONG_NUMBER.sub(lambda m: mask_phone(m.group(0)), text))


def _item_pairs(order, items, summary: str, count: int) -> list[tuple[str, int | None]]:
    """(title, quantity) of each item: from ``items``, else the order's items, else the stored summary."""
    if items is None:
        items = getattr(order, "items", None) or ()
    pairs = [(cap(clean(item.title)), item.quantity or 0) for item in items]
    pairs = [(title, quantity) for title, quantity in pairs if title]
    if pairs or not summary:
        return pairs
    # The summary already carries the quantities ("安吉白茶 礼盒装 ×3; 紫砂壶"): read them back, never add.
    parsed = []
    for part in summary.split("; "):
        match = _QUANTITY.match(part.strip())
        parsed.append((match.group(1), int(match.group(2))) if match else (part.strip(), None))
    parsed = [(title, quantity) for title, quantity in parsed if title]
    if len(parsed) == 1 and parsed[0][1] is None:  # one title without ×N: the order's count is its quantity
        return [(parsed[0][0], count or None)]
    return [(title, 1 if quantity is None else quantity) for title, quantity in parsed]


def _short_province(province: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if province.endswith(suffix) and len(province) > len(suffix) + 1:
            return province.removesuffix(suffix)
    return province


def code_zone_mm(width_mm: float) -> float:
    """How wide the main barcode, quiet zones included, may be."""
    return width_mm - 2 * BARCODE_EDGE_MM


def qr_module_dots(code: "str | barcodes.QrSymbol", layout: Layout) -> int:
    """Dots per QR module: 3 (0.375 mm, what a phone reads at arm's length) or 2, the larger that fits the
    layout's QR column with the 4-module quiet zone. ``code`` is the text or its symbol.

    :raise ValueError: the symbol does not fit even at 2 dots.
    """
    modules = barcodes.qr_side(code)
    side = modules + 2 * barcodes.QR_BORDER
    room = mm_to_dots(layout.qr_mm)
    for dots in (3, 2):
        if side * dots <= room:
            return dots
    raise ValueError(f"a QR code of {modules} modules a side does not fit a {layout.qr_mm} mm column")


def mm_to_dots(mm: float) -> int:
    return round(mm * barcodes.DPI / 25.4)


def pt_to_dots(pt: float) -> int:
    return round(pt * barcodes.DPI / 72)


def wrap(text: str, width: float, max_lines: int, advance: Callable[[str], float]) -> list[str]:
    """Greedy wrap by character (Chinese breaks anywhere) into at most ``max_lines`` lines ``width`` wide,
    ``advance`` giving each character's width; when text is left over, the last line ends in "…"."""
    lines: list[str] = []
    line, used = "", 0.0
    if max_lines < 1:
        return lines
    for char in text:
        step = advance(char)
        if used + step > width and line:
            lines.append(line)
            if len(lines) == max_lines:
                ellipsis = advance("…")
                while line and sum(map(advance, line)) + ellipsis > width:
                    line = line[:-1]
                lines[-1] = line + "…"
                return lines
            line, used = "", 0.0
        if line or char != " ":
            line += char
            used += step
    if line:
        lines.append(line)
    return lines
