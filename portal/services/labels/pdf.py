"""PDF rendering: one page per label at its exact size, drawn on the 203-dpi dot grid by ``dots.paint``."""

import io
import logging
from functools import cache
from pathlib import Path

from portal.services import barcodes
from portal.services.labels.data import LabelData
from portal.services.labels.dots import paint

PT_PER_MM = 72 / 25.4
DOT_PT = 72 / barcodes.DPI
# TrueType CJK fonts the PDF embeds (subset); reportlab reads TrueType outlines only, not CFF/OTF.
PDF_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# Without one of those: reportlab's built-in CID font, not embedded; the viewer or printer supplies the glyphs.
PDF_FALLBACK_FONT = "STSong-Light"
ASCENT = 0.86  # baseline below the top of the em box, in ems (WenQuanYi Micro Hei and STSong alike)


def render_pdf(labels: list[LabelData], *, font_file: str | None = None) -> bytes:
    """A PDF with one page per label at the label's size; bars and QR modules are filled rectangles on the
    203-dpi dot grid, with the same module widths as the HTML.

    Chinese text uses ``font_file`` or the first of ``PDF_FONT_FILES`` found (embedded as a subset),
    else the non-embedded ``STSong-Light``.

    :raise ValueError: no labels.
    """
    from reportlab import rl_config
    from reportlab.pdfgen.canvas import Canvas

    if not labels:
        raise ValueError("no labels to print")
    # Compressed streams stay binary: reportlab's ASCII85 step is pure Python and took over half the time
    # (and a quarter of the size) of a 1,000-label PDF. This process draws no other PDFs that would mind.
    rl_config.useA85 = 0
    font = _pdf_font(font_file)
    out = io.BytesIO()
    pdf = Canvas(out, pageCompression=1, invariant=1)
    pdf.setTitle("Shipping labels")
    pdf.setCreator("Courier Partner Portal")
    for label in labels:
        paint(label, _PdfCanvas(pdf, font, label))
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


class _PdfCanvas:
    """``dots.Canvas`` on a reportlab page: dots from the top-left become points from the bottom-left."""

    def __init__(self, pdf, font: str, label: LabelData):
        self.pdf, self.font_name = pdf, font
        self.page_h = label.height_mm * PT_PER_MM
        pdf.setPageSize((label.width_mm * PT_PER_MM, self.page_h))

    def font(self, height: int) -> int:
        return height

    def printable(self, text: str) -> str:
        return text

    def advance(self, char: str, height: int) -> float:
        return _char_width(self.font_name, char) * height

    def text(self, x: int, y: int, height: int, text: str) -> None:
        self.pdf.setFont(self.font_name, height * DOT_PT)
        self.pdf.drawString(x * DOT_PT, self.page_h - (y + height * ASCENT) * DOT_PT, text)

    def bar(self, x: int, y: int, width: int, height: int) -> None:
        self.pdf.addLiteral(f"{self._rect(x, y, width, height)} re f")

    def box(self, x: int, y: int, width: int, height: int, thickness: int) -> None:
        inset = thickness / 2
        rect = self._rect(x + inset, y + inset, width - thickness, height - thickness)
        self.pdf.addLiteral(f"{thickness * DOT_PT:.3f} w {rect} re S")

    def _rect(self, x: float, y: float, width: float, height: float) -> str:
        """x y width height of a rectangle given in dots from the top-left, as PDF points."""
        return f"{x * DOT_PT:.3f} {self.page_h - (y + height) * DOT_PT:.3f} {width * DOT_PT:.3f} {height * DOT_PT:.3f}"

    def code128(self, x: int, y: int, value: str, dots: int, height: int) -> None:
        """Bars as one path of filled rectangles in dot units, each module exactly ``dots`` dots.

        A quarter dot off the grid: a rasteriser sampling dot centres gets exactly ``dots`` per module, one
        filling every dot a shape touches (pdftoppm -aa no) gets every bar one dot wider, all alike; on the grid,
        its rounding would widen some edges and not others.
        """
        runs = barcodes.bar_runs(barcodes.code128_modules(value))
        bars = "".join(f"{start * dots} {-height} {run * dots} {height} re\n" for start, run in runs)
        left, top = x * DOT_PT + DOT_PT / 4, self.page_h - y * DOT_PT
        self.pdf.addLiteral(f"q {DOT_PT:.6f} 0 0 {DOT_PT:.6f} {left:.4f} {top:.4f} cm\n{bars}f Q")

    def qr(self, x: int, y: int, value: str, dots: int) -> None:
        """The symbol as a 1-bit image mask, one sample per module, scaled to ``dots`` per module on the grid:
        a few hundred bytes of hex instead of a rectangle per run."""
        matrix = barcodes.qr_matrix(value)
        side = len(matrix)
        pad = -side % 8
        data = b"".join((int(row, 2) << pad).to_bytes((side + pad) // 8, "big") for row in matrix)
        size = side * dots * DOT_PT
        left, bottom = x * DOT_PT + DOT_PT / 4, self.page_h - y * DOT_PT - size
        self.pdf.addLiteral(
            f"q {size:.4f} 0 0 {size:.4f} {left:.4f} {bottom:.4f} cm\n"
            f"BI /W {side} /H {side} /IM true /BPC 1 /D [1 0] /F /AHx ID\n{data.hex()}> EI Q"
        )
