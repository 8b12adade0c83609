"""ZPL II rendering, for Zebra-style thermal printers driven directly: one ``^XA … ^XZ`` block per label."""

import unicodedata

from portal.services.labels.data import LabelData, mm_to_dots
from portal.services.labels.dots import paint

# A TrueType CJK font stored on the printer. Assumption: SimSun was downloaded to the printer's E: drive
# (ZebraNet Bridge, or ~DY/^DU). ^A@ names it in each field, so no ^CW mapping is needed; with ^CI28
# field data is UTF-8.
ZPL_FONT = "E:SIMSUN.TTF"
# Characters that would end a field or start a command, and ^FH's own escape character.
_ZPL_SPECIAL = {"^": "\\5E", "~": "\\7E", "\\": "\\5C"}


def render_zpl(labels: list[LabelData]) -> str:
    """ZPL II for 203-dpi printers, one ``^XA … ^XZ`` block per label.

    Assumes a printer-resident CJK TrueType font at ``ZPL_FONT`` (see above) and firmware that knows
    ^CI28 (UTF-8), ^BC mode A and ^BQ (x.14 and later). Text is wrapped here, one field per line, because
    ^FB only breaks at spaces and Chinese has none. Every field goes through ^FH hex escapes, so ``^`` and
    ``~`` cannot end a field or start a command. The Code 128 module (^BY) is the label's ``barcode_dots``.

    :raise ValueError: no labels.
    """
    if not labels:
        raise ValueError("no labels to print")
    return "".join(_zpl_label(label) for label in labels)


def zpl_escape(text: str) -> str:
    """Field data for ^FH\\: control characters dropped, ^ ~ \\ as hex escapes."""
    return "".join(_ZPL_SPECIAL.get(c, c) for c in text if c >= " " and c != "\x7f")


def _zpl_label(label: LabelData) -> str:
    canvas = _ZplCanvas()
    canvas.out += ["^XA", "^CI28", f"^PW{mm_to_dots(label.width_mm)}", f"^LL{mm_to_dots(label.height_mm)}", "^LH0,0"]
    paint(label, canvas)
    canvas.out.append("^XZ")
    return "\n".join(canvas.out) + "\n"


class _ZplCanvas:
    """``dots.Canvas`` as ZPL commands; the printer's TrueType font scales to any height."""

    def __init__(self):
        self.out: list[str] = []

    def font(self, height: int) -> int:
        return max(height, 12)

    def printable(self, text: str) -> str:
        return text

    def advance(self, char: str, height: int) -> float:
        # SimSun: Chinese and the ambiguous-width signs (× … “ ”) take a full em, Latin letters and digits half.
        return height if unicodedata.east_asian_width(char) in "WFA" else height / 2

    def text(self, x: int, y: int, height: int, text: str) -> None:
        self.out.append(f"^FO{x},{y}^A@N,{height},{height},{ZPL_FONT}^FH\\^FD{zpl_escape(text)}^FS")

    def bar(self, x: int, y: int, width: int, height: int) -> None:
        self.out.append(f"^FO{x},{y}^GB{width},{height},{min(width, height)}^FS")

    def box(self, x: int, y: int, width: int, height: int, thickness: int) -> None:
        self.out.append(f"^FO{x},{y}^GB{width},{height},{thickness}^FS")

    def code128(self, x: int, y: int, value: str, dots: int, height: int) -> None:
        self.out.append(f"^BY{dots}^FO{x},{y}^BCN,{height},N,N,N,A^FH\\^FD{zpl_escape(value)}^FS")

    def qr(self, x: int, y: int, value: str, dots: int) -> None:
        # Model 2, magnification = dots per module; "MA,": error correction M, automatic data mode.
        self.out.append(f"^FO{x},{y}^BQN,2,{dots}^FH\\^FDMA,{zpl_escape(value)}^FS")
