"""HTML rendering: the page the browser prints, one label per page, zones and type from the same ``Layout``.

The browser fits the text: one-line zones end in "…" by ``text-overflow``, several-line zones by line
clamping, so "…" appears only when a text does not fit. Each text is first cut to a character budget
(lines × what fits a line in the narrowest characters), which keeps a 1,000-label page small without ever
cutting text that would have fitted.
"""

import unicodedata

from flask import current_app

from portal.services import barcodes
from portal.services.labels.data import (
    MARGIN_MM,
    STUB_BARCODE_DOTS,
    LabelData,
    cap,
    code_zone_mm,
    qr_module_dots,
    quantity_text,
)

# The narrowest glyphs (i, l, 1, full stop) are about a quarter of an em.
NARROWEST_EM = 0.25
# Destination type steps, as fractions of the layout's size: the first at which the text fits one line.
DESTINATION_STEPS = (1.0, 0.8, 0.65, 0.5)
MM_PER_PT = 25.4 / 72


def render_html(labels: list[LabelData], *, autoprint: bool = True, script_url: str | None = None) -> str:
    """A standalone page (no site navigation) with one label per printed page, CSS inline.

    Needs an app context (the template comes from the app). ``script_url`` is where the page finds
    static/js/autoprint.js; views pass ``url_for("static", filename="js/autoprint.js")``.

    :raise ValueError: no labels, or labels of different sizes.
    """
    if not labels:
        raise ValueError("no labels to print")
    if len({label.size for label in labels}) > 1:
        raise ValueError("a print job holds labels of one size only")
    first = labels[0]
    layout = first.layout
    budgets = _Budgets(first)
    rows = [_row(label, budgets) for label in labels]
    # Not flask.render_template: the site's context processors (the nav bar's queries) need a request
    # and a signed-in user, and a label page shows no nav. The app's environment still autoescapes .html.
    template = current_app.jinja_env.get_template("labels/print.html")
    return template.render(
        labels=rows,
        width_mm=first.width_mm,
        height_mm=first.height_mm,
        layout=layout,
        steps=DESTINATION_STEPS,
        autoprint=autoprint,
        script_url=script_url or f"{current_app.static_url_path}/js/autoprint.js",
    )


class _Budgets:
    """Characters each text may keep on this size of label, and the room its one-line texts have."""

    def __init__(self, label: LabelData):
        layout = label.layout
        text_w = label.width_mm - 2 * MARGIN_MM
        party_w = text_w - 6 - 2  # the 收/寄 box and its gap
        self.destination_w = text_w
        self.address_w = party_w
        self.address = _chars(party_w, layout.address_pt * 0.8, layout.address_lines + 1)
        self.sender = _chars(party_w, layout.sender_pt, layout.sender_lines)
        self.line = _chars(text_w, layout.small_pt, 1)
        self.item = _chars(text_w, layout.item_pt, 1)
        self.message = _chars(text_w, layout.note_pt, layout.message_lines)
        self.memo = _chars(text_w, layout.note_pt, layout.memo_lines)


def _chars(width_mm: float, pt: float, lines: int) -> int:
    return int(lines * width_mm / (pt * MM_PER_PT * NARROWEST_EM))


def _ems(text: str, narrow: float = 0.6) -> float:
    """Width in ems, Chinese one each, anything else ``narrow`` (a generous guess for a proportional font)."""
    return sum(1 if unicodedata.east_asian_width(c) in "WF" else narrow for c in text)


def _row(label: LabelData, budgets: _Budgets) -> dict:
    """What the template prints for one label: its data, its symbols as SVG, and its texts cut to budget."""
    layout = label.layout
    destination_ems = _ems(label.destination) * layout.destination_pt * MM_PER_PT
    step = next(
        (i for i, f in enumerate(DESTINATION_STEPS) if destination_ems * f <= budgets.destination_w),
        len(DESTINATION_STEPS) - 1,
    )
    address_room = layout.address_lines * budgets.address_w / (layout.address_pt * MM_PER_PT)
    return {
        "label": label,
        "barcode": barcodes.code128_svg(
            label.tracking_no,
            dots_per_module=label.barcode_dots,
            height_mm=layout.barcode_mm,
            max_width_mm=code_zone_mm(label.width_mm),
        ),
        "stub_barcode": barcodes.code128_svg(
            label.tracking_no, dots_per_module=STUB_BARCODE_DOTS, height_mm=layout.stub_barcode_mm
        )
        if layout.stub_mm
        else "",
        "qr": barcodes.qr_svg(label.qr, dots_per_module=qr_module_dots(label.qr, layout)) if label.reveal_url else "",
        "destination_step": step,
        "address_long": _ems(label.recipient_address) > address_room,
        "who": cap(label.recipient_name, budgets.line),
        "address": cap(label.recipient_address, budgets.address),
        "sender_address": cap(label.sender_address, budgets.sender),
        "items": [(cap(title, budgets.item), quantity_text(quantity)) for title, quantity in label.items],
        "message": cap(label.buyer_message, budgets.message),
        "memo": cap(label.seller_memo, budgets.memo),
    }
