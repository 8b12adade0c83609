"""Shipping labels: the data printed on one, and its HTML, PDF and ZPL renderings.

``build_label_data`` turns an order into plain, already-masked text; the renderers only lay it out.
Zones run top to bottom as GB/T 41833-2022 orders them: header (courier, print time), code (Code 128
of the tracking number), destination (sorting text in large type), recipient, sender, contents,
signature. Every size is laid out in mm and every barcode module is 2 printer dots (203 dpi), so a
label prints at 100 % without "fit to page" and scans on a thermal printer.
"""

import io
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models import Order, Shop
from portal.services import barcodes
from portal.services.privacy import mask_address_detail, mask_name, mask_phone

LABEL_SIZES = {"100x150": (100, 150), "100x180": (100, 180), "76x130": (76, 130)}
DEFAULT_SIZE = "100x150"
CHINA = ZoneInfo("Asia/Shanghai")
ITEM_SUMMARY_CHARS = 60
BUYER_MESSAGE_CHARS = 40
BARCODE_DOTS = 2  # dots per Code 128 module: 0.25 mm at 203 dpi, the narrowest that always scans
# Blank paper the barcode keeps from each label edge; Chromium prints a 100 mm page about 0.2 mm narrower.
BARCODE_EDGE_MM = 1.0

# What a courier sorts by: the province without its suffix (浙江省 → 浙江, 广西壮族自治区 → 广西).
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")
# City-level names that are no place of their own (municipalities, 省直辖县): left off the label.
_CITY_PLACEHOLDERS = frozenset(
    ("市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划")
)
# Longer text is set smaller: a destination in characters (黑龙江 大兴安岭地区 加格达奇区), an address.
LONG_DESTINATION_CHARS = 12
LONG_ADDRESS_CHARS = 60
# Seven or more digits in free text, maybe split by spaces or dashes: a phone number ("请打138-1234-5678").
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){6,}")


@dataclass(frozen=True)
class Layout:
    """Zone heights in mm, top to bottom (the signature zone takes the rest), and the big type sizes."""

    header_mm: float
    code_mm: float
    barcode_mm: float
    destination_mm: float
    recipient_mm: float
    sender_mm: float
    contents_mm: float
    destination_pt: float


_WIDE = Layout(8, 24, 15, 12, 27, 16, 18, destination_pt=20)
_NARROW = Layout(7, 20.5, 12, 11, 25, 15, 16, destination_pt=17)
LAYOUTS = {"100x150": _WIDE, "100x180": _WIDE, "76x130": _NARROW}


@dataclass(frozen=True)
class LabelData:
    """Everything one label prints, as display text: masked values stay here, real ones on the order."""

    tracking_no: str
    courier_code: str
    courier_name: str
    size: str
    width_mm: int
    height_mm: int
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
    buyer_message: str
    print_time: str
    masked: bool
    reprint: bool

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.size]

    @property
    def contents(self) -> str:
        """The contents line: 内件 西湖龙井 250g ×2 (no count when unknown)."""
        return f"内件 {self.item_summary} ×{self.item_count}" if self.item_count else f"内件 {self.item_summary}"


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
) -> LabelData:
    """The label of ``order`` shipped from ``shop``, masked when the shop prints privacy labels.

    Reads the order and shop only; masked strings never go back into them. Touches ``order.items``
    (load them with the orders) only when the order has no item summary or count.

    :raise ValueError: unknown size, naive ``printed_at``, or a tracking number that Code 128 cannot
        encode or that does not fit the label width at 2 dots per module.
    """
    if size not in LABEL_SIZES:
        raise ValueError(f"unknown label size {size!r}; choose one of {', '.join(LABEL_SIZES)}")
    if printed_at.tzinfo is None:
        raise ValueError("printed_at must be timezone-aware")
    width, height = LABEL_SIZES[size]
    tracking_no = tracking_no.strip()
    _check_barcode_fits(tracking_no, width)
    masked = shop.privacy_labels is not False  # unset (a shop not yet flushed) means private

    province, city, district = (_clean(order.province), _clean(order.city), _clean(order.district))
    if city in _CITY_PLACEHOLDERS or city == province:
        city = ""
    region = " ".join(part for part in (province, city, district) if part)
    detail = _clean(order.address_detail) or ("" if region else _clean(order.address_raw))
    destination = " ".join(part for part in (_short_province(province), city, district) if part)

    name, phone = _clean(order.recipient_name), _clean(order.recipient_phone)
    sender_phone = _clean(shop.sender_phone)
    message = _clean(order.buyer_message)
    if masked:
        name, phone, detail = mask_name(name), mask_phone(phone), mask_address_detail(detail)
        sender_phone = mask_phone(sender_phone)
        # Buyers write phone numbers and rooms into messages too; mask before cutting, so no half is left bare.
        message = mask_address_detail(_LONG_NUMBER.sub(lambda m: mask_phone(m.group(0)), message))
    message = _truncate(message, BUYER_MESSAGE_CHARS)

    summary, count = _clean(order.item_summary), order.item_count or 0
    if not summary or not count:
        items = list(getattr(order, "items", None) or ())
        summary = summary or "，".join(_clean(item.title) for item in items if _clean(item.title))
        count = count or sum(item.quantity or 0 for item in items)

    return LabelData(
        tracking_no=tracking_no,
        courier_code=courier_code,
        courier_name=_clean(courier_name),
        size=size,
        width_mm=width,
        height_mm=height,
        destination=destination,
        recipient_name=name,
        recipient_phone=phone,
        recipient_address=" ".join(part for part in (region, detail) if part),
        sender_name=_clean(shop.sender_name) or _clean(shop.name),
        sender_phone=sender_phone,
        sender_address=_clean(shop.sender_address),
        order_no=_clean(order.platform_order_no),
        item_summary=_truncate(summary, ITEM_SUMMARY_CHARS),
        item_count=count,
        buyer_message=message,
        print_time=printed_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        masked=masked,
        reprint=reprint,
    )


def _clean(value) -> str:
    """One line of text: runs of whitespace (newlines, tabs) become one space."""
    return " ".join(str(value or "").split())


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_province(province: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if province.endswith(suffix) and len(province) > len(suffix) + 1:
            return province.removesuffix(suffix)
    return province


def _barcode_max_mm(width_mm: float) -> float:
    return width_mm - 2 * BARCODE_EDGE_MM


def _check_barcode_fits(tracking_no: str, width_mm: float) -> None:
    modules = barcodes.code128_modules(tracking_no)
    barcodes.fit_quiet_zone(len(modules), _barcode_max_mm(width_mm), dots_per_module=BARCODE_DOTS)


def _single_size(labels: list[LabelData]) -> LabelData:
    """The first label, after checking the job has labels, all of one size (one roll in the printer)."""
    if not labels:
        raise ValueError("no labels to print")
    if len({label.size for label in labels}) > 1:
        raise ValueError("a print job holds labels of one size only")
    return labels[0]


# --- HTML: printed by the browser ---


def render_html(labels: list[LabelData], *, autoprint: bool = True, script_url: str | None = None) -> str:
    """A standalone page (no site navigation) with one label per printed page, CSS inline.

    Needs an app context (the template comes from the app). ``script_url`` is where the page finds
    static/js/autoprint.js; views pass ``url_for("static", filename="js/autoprint.js")``.

    :raise ValueError: no labels, or labels of different sizes.
    """
    first = _single_size(labels)
    layout = first.layout
    max_mm = _barcode_max_mm(first.width_mm)
    rows = [
        (
            label,
            barcodes.code128_svg(
                label.tracking_no, dots_per_module=BARCODE_DOTS, height_mm=layout.barcode_mm, max_width_mm=max_mm
            ),
        )
        for label in labels
    ]
    # Not flask.render_template: the site's context processors (the nav bar's queries) need a request
    # and a signed-in user, and a label page shows no nav. The app's environment still autoescapes .html.
    template = current_app.jinja_env.get_template("labels/print.html")
    return template.render(
        labels=rows,
        width_mm=first.width_mm,
        height_mm=first.height_mm,
        layout=layout,
        long_destination=LONG_DESTINATION_CHARS,
        long_address=LONG_ADDRESS_CHARS,
        autoprint=autoprint,
        script_url=script_url or f"{current_app.static_url_path}/js/autoprint.js",
    )


# --- PDF: one page per label at its exact size ---

PT_PER_MM = 72 / 25.4
DOT_PT = 72 / barcodes.DPI
# TrueType CJK fonts the PDF embeds (subset); reportlab reads TrueType outlines only, not CFF/OTF.
PDF_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# Without one of those: reportlab's built-in CID font, not embedded; the viewer or printer supplies the glyphs.
PDF_FALLBACK_FONT = "STSong-Light"


def render_pdf(labels: list[LabelData], *, font_file: str | None = None) -> bytes:
    """A PDF with one page per label at the label's size; bars are filled rectangles on the 203-dpi dot grid.

    Chinese text uses ``font_file`` or the first of ``PDF_FONT_FILES`` found (embedded as a subset),
    else the non-embedded ``STSong-Light``.

    :raise ValueError: no labels.
    """
    from reportlab.pdfgen.canvas import Canvas

    if not labels:
        raise ValueError("no labels to print")
    font = _pdf_font(font_file)
    out = io.BytesIO()
    pdf = Canvas(out, pageCompression=1, invariant=1)
    pdf.setTitle("Shipping labels")
    pdf.setCreator("Courier Partner Portal")
    for label in labels:
        _PdfLabel(pdf, font, label).draw()
        pdf.showPage()
    pdf.save()
    return out.getvalue()


@cache
def _pdf_font(font_file: str | None) -> str:
    """Register the label font with reportlab once per process and return its name."""
    from reportlab.pdfbase import pdfmetrics

    candidates = (font_file,) if font_file else PDF_FONT_FILES
    for path in candidates:
        if path and Path(path).is_file():
            from reportlab.pdfbase.ttfonts import TTFont

            name = f"LabelFont-{Path(path).stem}"
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
            return name
    if font_file:
        raise ValueError(f"label font {font_file} not found")
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    logging.getLogger(__name__).warning("no CJK TrueType font found: label PDFs use STSong-Light, not embedded")
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FALLBACK_FONT))
    return PDF_FALLBACK_FONT


@cache
def _char_width(font: str, char: str) -> float:
    """Advance width of one character at 1 pt."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(char, font, 1000) / 1000


def _wrap(text: str, width: float, max_lines: int, advance: Callable[[str], float]) -> list[str]:
    """Greedy wrap by character (Chinese breaks anywhere) into lines ``width`` wide, ``advance`` giving each
    character's width; when text is left over, the last line ends in "…"."""
    lines: list[str] = []
    line, used = "", 0.0
    for char in text:
        step = advance(char)
        if used + step > width and line:
            lines.append(line)
            if len(lines) == max_lines:
                while line and sum(map(advance, line)) + advance("…") > width:
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


class _PdfLabel:
    """Draws one label on the current page; coordinates are mm from the top-left corner."""

    MARGIN = 2.0  # mm of text inset from the label's left and right edges

    def __init__(self, pdf, font: str, label: LabelData):
        self.pdf, self.font, self.label = pdf, font, label
        self.w, self.h = label.width_mm, label.height_mm
        pdf.setPageSize((self.w * PT_PER_MM, self.h * PT_PER_MM))

    def draw(self) -> None:
        label, layout, m = self.label, self.label.layout, self.MARGIN
        y = 0.0
        # Header: courier, reprint mark, print time.
        self.text(m, y + layout.header_mm * 0.68, label.courier_name, 12)
        self.text_right(self.w - m, y + layout.header_mm * 0.68, label.print_time, 7)
        if label.reprint:
            self.tag(m + self.width(label.courier_name, 12) + 2, y + 1.6, "重印", 8)
        y = self.rule(y + layout.header_mm)
        # Code: the barcode, the number under it.
        self.barcode(y + 1.5, layout.barcode_mm)
        self.text_center(self.w / 2, y + 1.5 + layout.barcode_mm + 4, label.tracking_no, 10)
        y = self.rule(y + layout.code_mm)
        # Destination, large.
        size = (
            layout.destination_pt if len(label.destination) <= LONG_DESTINATION_CHARS else layout.destination_pt * 0.75
        )
        self.text_center(self.w / 2, y + layout.destination_mm * 0.5 + size / PT_PER_MM * 0.36, label.destination, size)
        y = self.rule(y + layout.destination_mm)
        # Recipient and sender.
        y = self.party(
            y,
            layout.recipient_mm,
            "收",
            label.recipient_name,
            label.recipient_phone,
            label.recipient_address,
            name_pt=11,
            address_pt=9.5,
        )
        y = self.party(
            y,
            layout.sender_mm,
            "寄",
            label.sender_name,
            label.sender_phone,
            label.sender_address,
            name_pt=8,
            address_pt=7.5,
        )
        # Contents.
        text_w = (self.w - 2 * m) * PT_PER_MM
        lines = [f"订单号 {label.order_no}"]
        lines += _wrap(label.contents, text_w, 2, self.advance(7.5))
        if label.buyer_message:
            lines += _wrap(f"留言 {label.buyer_message}", text_w, 1, self.advance(7.5))
        for i, line in enumerate(lines):
            self.text(m, y + 3.5 + i * 3.4, line, 7.5)
        y = self.rule(y + layout.contents_mm)
        # Signature.
        self.text(m, y + 4, "签收人：", 8)
        self.text(self.w / 2, y + 4, "签收时间：", 8)

    def party(self, y, height, tag, name, phone, address, *, name_pt, address_pt) -> float:
        m, tag_mm = self.MARGIN, 6.0
        self.tag(m, y + 1.5, tag, name_pt + 1, box=tag_mm)
        x = m + tag_mm + 2
        self.text(x, y + 1.5 + name_pt / PT_PER_MM, f"{name}  {phone}", name_pt)
        width = (self.w - x - m) * PT_PER_MM
        line_mm = address_pt / PT_PER_MM * 1.3
        room = int((height - 3 - name_pt / PT_PER_MM * 1.4) / line_mm)
        size = address_pt
        lines = _wrap(address, width, room + 1, self.advance(size))
        if len(lines) > room:  # a long address: smaller type rather than cut off
            size = address_pt * 0.8
            line_mm = size / PT_PER_MM * 1.3
            room = int((height - 3 - name_pt / PT_PER_MM * 1.4) / line_mm)
            lines = _wrap(address, width, room, self.advance(size))
        top = y + 1.5 + name_pt / PT_PER_MM * 1.4
        for i, line in enumerate(lines):
            self.text(x, top + (i + 1) * line_mm - line_mm * 0.25, line, size)
        return self.rule(y + height)

    # Drawing primitives, in mm from the top-left.

    def advance(self, size: float) -> Callable[[str], float]:
        """Width of one character in pt at ``size``."""
        return lambda char: _char_width(self.font, char) * size

    def width(self, text: str, size: float) -> float:
        return sum(_char_width(self.font, c) for c in text) * size / PT_PER_MM

    def text(self, x: float, baseline: float, text: str, size: float) -> None:
        self.pdf.setFont(self.font, size)
        self.pdf.drawString(x * PT_PER_MM, (self.h - baseline) * PT_PER_MM, text)

    def text_right(self, x: float, baseline: float, text: str, size: float) -> None:
        self.text(x - self.width(text, size), baseline, text, size)

    def text_center(self, x: float, baseline: float, text: str, size: float) -> None:
        width = self.width(text, size)
        if width > self.w - 2 * self.MARGIN:
            size *= (self.w - 2 * self.MARGIN) / width
            width = self.width(text, size)
        self.text(x - width / 2, baseline, text, size)

    def tag(self, x: float, top: float, text: str, size: float, box: float | None = None) -> None:
        """A character in a square box (收, 寄) or a short word in a frame (重印)."""
        box_w = box or self.width(text, size) + 1.6
        box_h = box or size / PT_PER_MM + 1.4
        self.pdf.setLineWidth(0.25 * PT_PER_MM)
        self.pdf.rect(x * PT_PER_MM, (self.h - top - box_h) * PT_PER_MM, box_w * PT_PER_MM, box_h * PT_PER_MM)
        self.text(x + (box_w - self.width(text, size)) / 2, top + box_h / 2 + size / PT_PER_MM * 0.35, text, size)

    def rule(self, y: float) -> float:
        self.pdf.setLineWidth(0.25 * PT_PER_MM)
        self.pdf.line(0, (self.h - y) * PT_PER_MM, self.w * PT_PER_MM, (self.h - y) * PT_PER_MM)
        return y

    def barcode(self, top: float, height: float) -> None:
        """Bars as filled rectangles, each module exactly 2 dots, the symbol snapped to the dot grid."""
        modules = barcodes.code128_modules(self.label.tracking_no)
        module = BARCODE_DOTS * DOT_PT
        page_w, page_h = self.w * PT_PER_MM, self.h * PT_PER_MM
        # A quarter dot off the grid: a rasteriser sampling dot centres gets exactly 2 dots per module, one
        # filling every dot a bar touches (pdftoppm -aa no) gets bars one dot wider, all alike; on the grid, its
        # rounding would widen some edges and not others.
        x0 = round((page_w - len(modules) * module) / 2 / DOT_PT) * DOT_PT + DOT_PT / 4
        y0 = round((page_h - (top + height) * PT_PER_MM) / DOT_PT) * DOT_PT
        bar_h = round(height * PT_PER_MM / DOT_PT) * DOT_PT
        path = self.pdf.beginPath()
        for start, run in barcodes.bar_runs(modules):
            path.rect(x0 + start * module, y0, run * module, bar_h)
        self.pdf.drawPath(path, stroke=0, fill=1)


# --- ZPL II: for thermal printers driven directly ---

ZPL_DOTS_PER_MM = barcodes.DPI / 25.4
# A TrueType CJK font stored on the printer. Assumption: SimSun was downloaded to the printer's E: drive
# (ZebraNet Bridge, or ~DY/^DU). ^A@ names it in each field, so no ^CW mapping is needed; with ^CI28
# field data is UTF-8.
ZPL_FONT = "E:SIMSUN.TTF"
# Characters that would end a field or start a command, and ^FH's own escape character.
_ZPL_SPECIAL = {"^": "\\5E", "~": "\\7E", "\\": "\\5C"}


def render_zpl(labels: list[LabelData]) -> str:
    """ZPL II for 203-dpi printers, one ``^XA … ^XZ`` block per label.

    Assumes a printer-resident CJK TrueType font at ``ZPL_FONT`` (see above) and firmware that knows
    ^CI28 (UTF-8) and ^BC mode A (x.14 and later). Text is wrapped here, one field per line, because
    ^FB only breaks at spaces and Chinese has none. User text goes through ^FH hex escapes, so ``^``
    and ``~`` cannot end a field or start a command.

    :raise ValueError: no labels.
    """
    if not labels:
        raise ValueError("no labels to print")
    return "".join(_zpl_label(label) for label in labels)


def _dots(mm: float) -> int:
    return round(mm * ZPL_DOTS_PER_MM)


def _zpl_escape(text: str) -> str:
    """Field data for ^FH\\: control characters dropped, ^ ~ \\ as hex escapes."""
    return "".join(_ZPL_SPECIAL.get(c, c) for c in text if c >= " " and c != "\x7f")


def _zpl_char_dots(char: str, height: int) -> float:
    """Approximate advance in a CJK TrueType font: full width for Chinese, half width for the rest."""
    return height if unicodedata.east_asian_width(char) in "WF" else height / 2


def _zpl_label(label: LabelData) -> str:
    layout = label.layout
    page_w, page_h = _dots(label.width_mm), _dots(label.height_mm)
    margin = _dots(2)
    text_w = page_w - 2 * margin
    out = ["^XA", "^CI28", f"^PW{page_w}", f"^LL{page_h}", "^LH0,0"]

    def text(x: int, y: int, value: str, height: int, width: int, align: str = "L") -> None:
        out.append(
            f"^FO{x},{y}^A@N,{height},{height},{ZPL_FONT}^FB{width},1,0,{align},0^FH\\^FD{_zpl_escape(value)}^FS"
        )

    def rule(y_mm: float) -> float:
        out.append(f"^FO0,{_dots(y_mm)}^GB{page_w},2,2^FS")
        return y_mm

    def party(y: float, height_mm: float, tag: str, name: str, phone: str, address: str, name_h: int) -> float:
        box = _dots(6)
        top = _dots(y + 1.5)
        out.append(f"^FO{margin},{top}^GB{box},{box},2^FS")
        text(margin, top + (box - name_h) // 2 + 2, tag, name_h, box, "C")
        x = margin + box + _dots(2)
        width = page_w - x - margin
        text(x, top, f"{name}  {phone}", name_h, width)
        address_h = max(16, name_h * 4 // 5)
        line_h = address_h + 4
        room = (_dots(y + height_mm) - top - name_h - 8) // line_h
        for i, line in enumerate(_wrap(address, width, room, lambda c: _zpl_char_dots(c, address_h))):
            text(x, top + name_h + 8 + i * line_h, line, address_h, width)
        return rule(y + height_mm)

    # Header.
    y = 0.0
    header_h = _dots(layout.header_mm)
    text(margin, (header_h - 28) // 2, label.courier_name + ("  [重印]" if label.reprint else ""), 28, text_w)
    text(margin, (header_h - 18) // 2, label.print_time, 18, text_w, "R")
    y = rule(layout.header_mm)
    # Code 128: the printer encodes it and prints the number under it (interpretation line).
    modules = len(barcodes.code128_modules(label.tracking_no))
    bar_x = max(0, (page_w - modules * BARCODE_DOTS) // 2)
    out.append(
        f"^BY{BARCODE_DOTS}^FO{bar_x},{_dots(y + 1.5)}"
        f"^BCN,{_dots(layout.barcode_mm)},Y,N,N,A^FH\\^FD{_zpl_escape(label.tracking_no)}^FS"
    )
    y = rule(y + layout.code_mm)
    # Destination: large, set smaller when long, and never wider than the label.
    dest_h = _dots(
        layout.destination_pt * 25.4 / 72 * (1 if len(label.destination) <= LONG_DESTINATION_CHARS else 0.75)
    )
    ems = sum(_zpl_char_dots(c, 1) for c in label.destination)
    dest_h = min(dest_h, int(text_w / ems)) if ems else dest_h
    text(margin, _dots(y) + (_dots(layout.destination_mm) - dest_h) // 2, label.destination, dest_h, text_w, "C")
    y = rule(y + layout.destination_mm)
    y = party(y, layout.recipient_mm, "收", label.recipient_name, label.recipient_phone, label.recipient_address, 32)
    y = party(y, layout.sender_mm, "寄", label.sender_name, label.sender_phone, label.sender_address, 22)

    # Contents.
    def small(char: str) -> float:
        return _zpl_char_dots(char, 20)

    lines = [f"订单号 {label.order_no}"]
    lines += _wrap(label.contents, text_w, 2, small)
    if label.buyer_message:
        lines += _wrap(f"留言 {label.buyer_message}", text_w, 1, small)
    for i, line in enumerate(lines):
        text(margin, _dots(y + 1.2) + i * 26, line, 20, text_w)
    y = rule(y + layout.contents_mm)
    # Signature.
    text(margin, _dots(y + 1.5), "签收人：", 22, text_w // 2)
    text(margin + text_w // 2, _dots(y + 1.5), "签收时间：", 22, text_w // 2)
    out.append("^XZ")
    return "\n".join(out) + "\n"
