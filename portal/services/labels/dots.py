"""One label laid out on a 203-dpi printer's dot grid, shared by the PDF, ZPL and TSPL renderings.

Each rendering supplies a ``Canvas``: the font heights it can print, each character's width, and how it
draws text, bars, boxes, a Code 128 and a QR code. ``paint`` places every zone of the label's ``Layout``
on it, fitting each text to its zone by the canvas's own measure (Chinese wraps anywhere; "…" only when a
text does not fit), so a text can never run past its zone, whatever the renderer.
"""

from typing import Protocol

from portal.services import barcodes
from portal.services.labels.data import (
    MARGIN_MM,
    STUB_BARCODE_DOTS,
    LabelData,
    mm_to_dots,
    pt_to_dots,
    qr_module_dots,
    quantity_text,
    wrap,
)

RULE_DOTS = 2  # the lines between zones: 0.25 mm
QR_CAPTION = "扫码查看"  # under the QR code: "scan to view" (the hidden details, for those allowed)


class Canvas(Protocol):
    """Where ``paint`` draws; every coordinate is in dots from the label's top-left corner, y downwards."""

    def font(self, height: int) -> int:
        """The font height the device prints for ``height`` (its nearest size not above it, or its smallest)."""

    def printable(self, text: str) -> str:
        """``text`` as the device prints it (characters it has no glyph for replaced)."""

    def advance(self, char: str, height: int) -> float:
        """Width in dots of ``char`` at font ``height``."""

    def text(self, x: int, y: int, height: int, text: str) -> None:
        """One line of text, ``y`` the top of its em box."""

    def bar(self, x: int, y: int, width: int, height: int) -> None:
        """A filled rectangle."""

    def box(self, x: int, y: int, width: int, height: int, thickness: int) -> None:
        """A rectangle outline drawn inside the given bounds."""

    def code128(self, x: int, y: int, value: str, dots: int, height: int) -> None:
        """A Code 128 symbol without its quiet zones or human-readable line, ``dots`` per module."""

    def qr(self, x: int, y: int, value: str, dots: int) -> None:
        """A QR symbol without its quiet zone, ``dots`` per module; ``x``, ``y`` its top-left module."""


def paint(label: LabelData, canvas: Canvas) -> None:
    """Draw ``label`` on ``canvas``, zone by zone (GB/T 41833-2022 order), then the stub when the size has one."""
    _Painter(label, canvas).paint()


def _gap(height: int) -> int:
    return max(2, height // 5)


class _Painter:
    def __init__(self, label: LabelData, canvas: Canvas):
        self.label, self.c, self.layout = label, canvas, label.layout
        self.w = mm_to_dots(label.width_mm)
        self.m = mm_to_dots(MARGIN_MM)
        self.tops = {zone: mm_to_dots(top) for zone, top in self.layout.tops.items()}

    def paint(self) -> None:
        label, layout, tops = self.label, self.layout, self.tops
        self.header()
        self.code()
        self.destination()
        self.party(
            tops["recipient"],
            tops["sender"],
            "收",
            f"{label.recipient_name}  {label.recipient_phone}",
            label.recipient_address,
            layout.name_pt,
            layout.address_pt,
            layout.address_lines,
            tag_mm=6,
        )
        self.party(
            tops["sender"],
            tops["contents"],
            "寄",
            f"{label.sender_name}  {label.sender_phone}",
            label.sender_address,
            layout.sender_pt,
            layout.sender_pt,
            layout.sender_lines,
            tag_mm=5,
        )
        self.contents()
        self.sign()
        if layout.stub_mm:
            self.stub()

    # --- zones ---

    def header(self) -> None:
        label, c, m = self.label, self.c, self.m
        top, bottom = self.tops["header"], self.tops["code"]
        time_h = self.font(self.layout.time_pt)
        time = c.printable(label.print_time)
        time_w = self.measure(time, time_h)
        c.text(int(self.w - m - time_w), top + (bottom - top - time_h) // 2, time_h, time)
        h = self.font(self.layout.courier_pt)
        room = self.w - 2 * m - time_w - mm_to_dots(2)
        tag_h = self.font(self.layout.small_pt + 0.5)
        tag_w = int(self.measure("重印", tag_h)) + mm_to_dots(1.6) if label.reprint else 0
        name = self.fit(label.courier_name, h, room - (tag_w + mm_to_dots(2) if tag_w else 0))
        c.text(m, top + (bottom - top - h) // 2, h, name)
        if tag_w:
            x = m + int(self.measure(name, h)) + mm_to_dots(2)
            box_h = tag_h + mm_to_dots(1)
            c.box(x, top + (bottom - top - box_h) // 2, tag_w, box_h, RULE_DOTS)
            c.text(x + mm_to_dots(0.8), top + (bottom - top - tag_h) // 2, tag_h, "重印")
        self.rule(bottom)

    def code(self) -> None:
        label = self.label
        top, bottom = self.tops["code"], self.tops["destination"]
        y = top + mm_to_dots(1.5)
        self.barcode(y, label.barcode_dots, mm_to_dots(self.layout.barcode_mm))
        y += mm_to_dots(self.layout.barcode_mm) + mm_to_dots(0.6)
        self.line(self.m, y, self.font(self.layout.digits_pt), label.tracking_no, self.w - 2 * self.m, "center")
        self.rule(bottom)

    def destination(self) -> None:
        top, bottom = self.tops["destination"], self.tops["recipient"]
        text = self.c.printable(self.label.destination)
        width = self.w - 2 * self.m
        h = self.font(self.layout.destination_pt)
        floor = self.font(self.layout.name_pt)
        while h > floor and self.measure(text, h) > width:  # long names: smaller type rather than cut
            smaller = self.c.font(max(floor, int(h * width / self.measure(text, h))))
            if smaller >= h:
                break
            h = smaller
        self.line(self.m, top + (bottom - top - h) // 2, h, text, width, "center")
        self.rule(bottom)

    def party(self, top, bottom, tag, who, address, name_pt, address_pt, lines, *, tag_mm) -> None:
        c, m = self.c, self.m
        box = mm_to_dots(tag_mm)
        y = top + mm_to_dots(1.5)
        c.box(m, y, box, box, RULE_DOTS)
        tag_h = min(self.font(name_pt + 1), box - 6)
        c.text(m + (box - tag_h) // 2, y + (box - tag_h) // 2, tag_h, tag)
        x = m + box + mm_to_dots(2)
        width = self.w - x - m
        name_h = self.font(name_pt)
        y = self.line(x, y, name_h, who, width)
        h = self.font(address_pt)
        address = c.printable(address)
        if len(wrap(address, width, lines + 1, self.advance(h))) > lines:  # long: smaller type, one more line
            smaller = self.font(address_pt * 0.8)
            if smaller < h:
                h, lines = smaller, lines + 1
        self.block(x, y, h, address, width, lines, bottom - RULE_DOTS)
        self.rule(bottom)

    def contents(self) -> None:
        label, layout, c, m = self.label, self.layout, self.c, self.m
        top, bottom = self.tops["contents"], self.tops["sign"]
        limit = bottom - RULE_DOTS
        qr_w = mm_to_dots(layout.qr_mm) if label.reveal_url else 0
        width = self.w - 2 * m - (qr_w + mm_to_dots(2) if qr_w else 0)
        y = top + mm_to_dots(1)
        small = self.font(layout.small_pt)
        count = c.printable(f"共 {label.item_count} 件") if label.item_count else ""
        count_w = int(self.measure(count, small))
        if count:
            c.text(m + width - count_w, y, small, count)
        y = self.line(m, y, small, f"订单号 {label.order_no}", width - count_w - mm_to_dots(2))
        h = self.font(layout.item_pt)
        for title, quantity in label.items:  # the quantity always shows; a long title gives way
            if y + h > limit:
                break
            tail = c.printable(quantity_text(quantity))
            tail_w = self.measure(tail, h)
            title = self.fit(title, h, width - tail_w)
            c.text(m, y, h, title + tail)
            y += h + _gap(h)
        if label.items_more and y + h <= limit:
            y = self.line(m, y, h, f"…另有 {label.items_more} 种商品", width)
        h = self.font(layout.note_pt)
        if label.buyer_message:
            y = self.block(m, y, h, f"留言：{label.buyer_message}", width, layout.message_lines, limit)
        if label.seller_memo:
            y = self.block(m, y, h, f"备注：{label.seller_memo}", width, layout.memo_lines, limit)
        if label.reveal_url:
            dots = qr_module_dots(label.qr, layout)
            side = barcodes.qr_side(label.qr) + 2 * barcodes.QR_BORDER
            x, y = self.w - m - side * dots, top + mm_to_dots(0.5)
            c.qr(x + barcodes.QR_BORDER * dots, y + barcodes.QR_BORDER * dots, label.reveal_url, dots)
            self.line(x, y + side * dots, small, QR_CAPTION, side * dots, "center")
        self.rule(bottom)

    def sign(self) -> None:
        y = self.tops["sign"] + mm_to_dots(1.5)
        h = self.font(self.layout.small_pt + 0.5)
        self.c.text(self.m, y, h, "签收人：")
        self.c.text(self.w // 2, y, h, "签收时间：")

    def stub(self) -> None:
        """The tear-off stub (存根联) below a dashed line: order number, a second, smaller barcode, recipient."""
        label, c, m = self.label, self.c, self.m
        top = self.tops["stub"]
        dash, space = mm_to_dots(2), mm_to_dots(1.5)
        for x in range(0, self.w, dash + space):
            c.bar(x, top - RULE_DOTS // 2, min(dash, self.w - x), RULE_DOTS)
        small = self.font(self.layout.small_pt)
        y = top + mm_to_dots(1.5)
        tag_w = int(self.measure("存根联", small)) + mm_to_dots(1.6)
        c.box(m, y - mm_to_dots(0.5), tag_w, small + mm_to_dots(1), RULE_DOTS)
        c.text(m + mm_to_dots(0.8), y, small, "存根联")
        time_w = int(self.measure(label.print_time, small))
        c.text(self.w - m - time_w, y, small, label.print_time)
        x = m + tag_w + mm_to_dots(2)
        self.line(x, y, small, f"订单号 {label.order_no}", self.w - m - time_w - mm_to_dots(2) - x)
        y += small + mm_to_dots(1.5)
        height = mm_to_dots(self.layout.stub_barcode_mm)
        self.barcode(y, STUB_BARCODE_DOTS, height)
        y += height + mm_to_dots(0.5)
        y = self.line(m, y, self.font(self.layout.small_pt + 1), label.tracking_no, self.w - 2 * m, "center")
        count = f"共 {label.item_count} 件" if label.item_count else ""
        count_w = int(self.measure(count, small))
        if count:
            c.text(self.w - m - count_w, y, small, count)
        who = f"收 {label.recipient_name}  {label.destination}"
        self.line(m, y, small, who, self.w - 2 * m - count_w - mm_to_dots(2))

    # --- helpers ---

    def barcode(self, y: int, dots: int, height: int) -> None:
        """The tracking number's Code 128, centred; its quiet zones are the blank paper either side."""
        width = len(barcodes.code128_modules(self.label.tracking_no)) * dots
        self.c.code128((self.w - width) // 2, y, self.label.tracking_no, dots, height)

    def font(self, pt: float) -> int:
        return self.c.font(pt_to_dots(pt))

    def advance(self, height: int):
        canvas = self.c
        return lambda char: canvas.advance(char, height)

    def measure(self, text: str, height: int) -> float:
        return sum(self.c.advance(char, height) for char in text)

    def fit(self, text: str, height: int, width: float) -> str:
        """The first line of ``text`` within ``width``, with "…" when cut."""
        lines = wrap(self.c.printable(text), width, 1, self.advance(height))
        return lines[0] if lines else ""

    def line(self, x: int, y: int, height: int, text: str, width: float, align: str = "left") -> int:
        """One line of text fitted to ``width``; returns the top of the next line."""
        text = self.fit(text, height, width)
        if text:
            if align != "left":
                spare = width - self.measure(text, height)
                x += int(spare if align == "right" else spare / 2)
            self.c.text(x, y, height, text)
        return y + height + _gap(height)

    def block(self, x: int, y: int, height: int, text: str, width: float, max_lines: int, bottom: int) -> int:
        """Text wrapped into at most ``max_lines`` lines and never below ``bottom``; returns the next top."""
        step = height + _gap(height)
        room = min(max_lines, (bottom - y + _gap(height)) // step)
        for line in wrap(self.c.printable(text), width, room, self.advance(height)):
            self.c.text(x, y, height, line)
            y += step
        return y

    def rule(self, y: int) -> None:
        """The line under a zone, ending at ``y``."""
        self.c.bar(0, y - RULE_DOTS, self.w, RULE_DOTS)
