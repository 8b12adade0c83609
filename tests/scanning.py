"""Test helpers that print and scan labels as a 203-dpi thermal printer would (shared/ENVIRONMENT.md).

A PDF page is rasterised with ``pdftoppm -r 203 -gray -aa no -aaVector no``, an SVG with cairosvg at
dpi=203; both are thresholded at 50 % and read with zxing-cpp. A tool that is missing skips the test,
except under ``CI=true``, where it fails: CI must really print and scan.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

DPI = 203


def require(available: bool, what: str) -> None:
    """Skip (or, under CI=true, fail) when a tool the test needs is missing."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not installed")


def threshold(image):
    """A 1-bit-looking greyscale image: black where the source is darker than 50 %."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image)
    return image.convert("L").point(lambda v: 0 if v < 128 else 255)


def svg_to_image(svg: str):
    """The SVG rasterised at 203 dpi by cairo, thresholded."""
    import io

    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(bytestring=svg.encode(), dpi=DPI)
    return threshold(Image.open(io.BytesIO(png)))


def pdf_to_images(pdf: bytes) -> list:
    """Every page of the PDF as a thermal printer's dots: pdftoppm at 203 dpi, no anti-aliasing, thresholded."""
    from PIL import Image

    pdftoppm = shutil.which("pdftoppm")
    require(pdftoppm is not None, "pdftoppm (Debian poppler-utils)")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        command = [
            pdftoppm,
            "-r",
            str(DPI),
            "-gray",
            "-aa",
            "no",
            "-aaVector",
            "no",
            "-png",
            str(source),
            f"{folder}/page",
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        pages = sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [threshold(Image.open(page)) for page in pages]


def decode(image) -> list[str]:
    """The Code 128 symbols zxing-cpp reads in the image."""
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.Code128]


def dark_runs(image, y: int) -> list[tuple[int, int]]:
    """(start, width) in dots of each dark run along row ``y``."""
    row = [image.getpixel((x, y)) < 128 for x in range(image.width)]
    runs, start = [], None
    for x, dark in enumerate([*row, False]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            runs.append((start, x - start))
            start = None
    return runs
