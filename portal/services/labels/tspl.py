"""TSPL rendering, for the 76/100 mm Chinese thermal printers most shops have (Gprinter, Xprinter, HPRT).

Text uses the printer's built-in GB font ``TSS24.BF2`` (24 × 24 dots, Chinese full width, ASCII half
width, magnified 1-10 times) and the command stream is GB18030. The printer draws the Code 128 (module =
the label's ``barcode_dots``, as in the HTML) and the QR code (``QRCODE``) itself.
"""

from functools import lru_cache

from portal.services.labels.data import LabelData
from portal.services.labels.dots import paint

TSPL_FONT = "TSS24.BF2"
TSPL_FONT_DOTS = 24
TSPL_GAP_MM = 2  # die-cut waybill rolls; a printer on continuous or black-mark stock takes GAP/BLINE from its setup
TSPL_DIRECTION = "1,0"  # the label's top leaves the printer first, not mirrored
ENCODING = "gb18030"


def render_tspl(labels: list[LabelData]) -> bytes:
    """TSPL for 203-dpi printers, GB18030-encoded: SIZE/GAP/DIRECTION once, then per label CLS, the
    drawing commands and ``PRINT 1``.

    Strings are double-quoted; a ``"`` inside one is written ``\\["]`` (TSPL2), a backslash becomes the
    full-width ＼ so that no ``\\[…]`` escape can be formed, and control characters are gone already
    (``data.clean``). Characters the GB font has no glyph for (outside GBK: emoji, rare ideographs) print
    as "?"; nothing raises.

    :raise ValueError: no labels, or labels of different sizes (one roll in the printer).
    """
    if not labels:
        raise ValueError("no labels to print")
    if len({label.size for label in labels}) > 1:
        raise ValueError("a print job holds labels of one size only")
    first = labels[0]
    lines = [
        f"SIZE {first.width_mm} mm,{first.height_mm} mm",
        f"GAP {TSPL_GAP_MM} mm,0 mm",
        f"DIRECTION {TSPL_DIRECTION}",
        "REFERENCE 0,0",
    ]
    for label in labels:
        canvas = _TsplCanvas()
        paint(label, canvas)
        lines += ["CLS", *canvas.out, "PRINT 1"]
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")


def tspl_string(text: str) -> str:
    """``text`` as a TSPL string literal, quotes included."""
    return '"' + "".join(map(_glyph, text)).replace('"', '\\["]') + '"'


@lru_cache(maxsize=8192)
def _glyph(char: str) -> str:
    """What the GB font prints for ``char``: itself when GBK has it (one or two bytes), else "?"."""
    if char == "\\":
        return "＼"
    if char < " " or char == "\x7f":
        return ""
    try:
        return char if len(char.encode(ENCODING)) <= 2 else "?"
    except UnicodeEncodeError:  # a lone surrogate
        return "?"


@lru_cache(maxsize=8192)
def _is_full_width(char: str) -> bool:
    """Two bytes in GB18030: a full-width glyph in the GB font."""
    return len(_glyph(char).encode(ENCODING)) > 1


class _TsplCanvas:
    """``dots.Canvas`` as TSPL commands; the font comes in whole multiples of 24 dots."""

    def __init__(self):
        self.out: list[str] = []

    def font(self, height: int) -> int:
        return TSPL_FONT_DOTS * max(1, min(10, height // TSPL_FONT_DOTS))

    def printable(self, text: str) -> str:
        return "".join(map(_glyph, text))

    def advance(self, char: str, height: int) -> float:
        return height if _is_full_width(char) else height / 2

    def text(self, x: int, y: int, height: int, text: str) -> None:
        scale = height // TSPL_FONT_DOTS
        self.out.append(f'TEXT {x},{y},"{TSPL_FONT}",0,{scale},{scale},{tspl_string(text)}')

    def bar(self, x: int, y: int, width: int, height: int) -> None:
        self.out.append(f"BAR {x},{y},{width},{height}")

    def box(self, x: int, y: int, width: int, height: int, thickness: int) -> None:
        self.out.append(f"BOX {x},{y},{x + width},{y + height},{thickness}")

    def code128(self, x: int, y: int, value: str, dots: int, height: int) -> None:
        # Human-readable 0: the number is a TEXT line of its own, placed like the other renderings'.
        self.out.append(f'BARCODE {x},{y},"128",{height},0,0,{dots},{dots},{tspl_string(value)}')

    def qr(self, x: int, y: int, value: str, dots: int) -> None:
        self.out.append(f"QRCODE {x},{y},M,{dots},A,0,{tspl_string(value)}")
