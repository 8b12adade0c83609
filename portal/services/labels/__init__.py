"""Shipping labels: the data printed on one, and its HTML, PDF, ZPL and TSPL renderings.

One builder, four renderings. ``build_label_data`` turns an order into plain, already-masked text
(``data.py``); the renderers only lay it out: ``render_html`` (the page the browser prints, ``html.py``),
``render_pdf``, ``render_zpl`` (Zebra-style printers) and ``render_tspl`` (Gprinter, Xprinter, HPRT), the
last three from one layout on the printer's dot grid (``dots.py``).

Zones run top to bottom as GB/T 41833-2022 orders them: header (courier, print time), code (Code 128 of
the tracking number, its digits under it), destination (province city district in large type), recipient
(masked per the shop's setting), sender (the shop's phone in full only when the seller marks it a
business line), contents (order number, up to four item lines with quantities, the buyer's message, the
seller's memo, and a QR code of ``reveal_url`` when there is one), signature. 100×150 and 100×180 share
one layout, and 100×180 adds a tear-off stub (存根联) with a second, smaller barcode; 76×130 is a compact
one-part layout. Every size is laid out in mm, so a label prints at 100 % without "fit to page".

The main barcode's module is the widest whole number of printer dots, 2 to 4 at 203 dpi (0.25-0.5 mm),
that fits the label's width with 10-module quiet zones (``barcodes.module_dots``), fixed per label in
``LabelData.barcode_dots`` so every rendering prints the same bars. Texts are fitted to their zones by
each rendering's own measure and end in "…" only when they do not fit.
"""

from portal.services.labels.data import (
    BARCODE_EDGE_MM,
    DEFAULT_SIZE,
    ITEM_LINES,
    LABEL_SIZES,
    LAYOUTS,
    STUB_BARCODE_DOTS,
    LabelData,
    Layout,
    build_label_data,
    code_zone_mm,
)
from portal.services.labels.html import render_html
from portal.services.labels.pdf import render_pdf
from portal.services.labels.tspl import render_tspl
from portal.services.labels.zpl import ZPL_FONT, render_zpl

__all__ = [
    "BARCODE_EDGE_MM",
    "DEFAULT_SIZE",
    "ITEM_LINES",
    "LABEL_SIZES",
    "LAYOUTS",
    "STUB_BARCODE_DOTS",
    "ZPL_FONT",
    "LabelData",
    "Layout",
    "build_label_data",
    "code_zone_mm",
    "render_html",
    "render_pdf",
    "render_tspl",
    "render_zpl",
]
