"""Code 128 and QR symbols as SVG whose modules land on a thermal printer's dot grid.

A bar a whole number of dots wide prints exactly that wide at any offset; 0.2 mm (1.6 dots at 203 dpi)
does not (measured in shared/DEPENDENCIES.md, part 2). python-barcode only encodes Code 128: the SVG is our
own, one ``<path>`` in module units, so nothing but geometry comes from the value. ``module_dots`` is the
one rule for how wide a module is: the widest whole number of dots, 0.25 to 0.5 mm, that fits.

QR codes (error correction M) come from zxing-cpp's writer (C++): about 0.2 ms a symbol, mask chosen as
the standard says, where segno takes 6 ms, which 1,000 labels a page could not afford. Only the drawing on
the dot grid is ours.
"""

import re
from functools import cache, lru_cache
from typing import NamedTuple

import zxingcpp
from barcode.codex import Code128
from barcode.errors import BarcodeError

DPI = 203
QUIET_ZONE = 10  # modules each side, the Code 128 minimum
MAX_LENGTH = 40
MIN_DOTS_PER_MODULE = 2  # one dot wide bars vanish or merge under thermal dot gain
# A Code 128 module is 0.25 to 0.5 mm: 2, 3 or 4 dots at 203 dpi, 3 to 6 at 300 dpi. Narrower did not scan
# reliably at 203 dpi (shared/ENVIRONMENT.md); wider makes a 15-character number too wide for 100 mm.
MIN_MODULE_MM = 0.25
MAX_MODULE_MM = 0.5
# Printable ASCII: tracking numbers never hold control characters, and every reader handles these.
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))


def module_mm(dots_per_module: int = 2, dpi: int = DPI) -> float:
    """Width of one module in mm: a whole number of printer dots."""
    return dots_per_module * 25.4 / dpi


@lru_cache(maxsize=4096)
def code128_modules(value: str) -> str:
    """The symbol as a string of "1" (bar) and "0" (space) modules, start to stop, without quiet zones.

    Cached: a label job checks that each number fits, then draws it; both need the same encoding.

    :raise ValueError: empty, longer than 40 characters, or not printable ASCII.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("a Code 128 value must be a non-empty string")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"a Code 128 value is at most {MAX_LENGTH} characters, got {len(value)}")
    if not set(value) <= _PRINTABLE:
        raise ValueError("a Code 128 value may only hold printable ASCII characters")
    try:
        # A new instance per value: Code128 keeps its charset state between calls.
        return Code128(value).build()[0]
    except (BarcodeError, LookupError, RuntimeError) as exc:
        raise ValueError(f"cannot encode {value!r} as Code 128: {exc}") from exc


def bar_runs(modules: str) -> list[tuple[int, int]]:
    """(first module, width in modules) of each bar."""
    runs = []
    start = None
    for i, module in enumerate(modules):
        if module == "1":
            if start is None:
                start = i
        elif start is not None:
            runs.append((start, i - start))
            start = None
    if start is not None:
        runs.append((start, len(modules) - start))
    return runs


def module_dots_range(dpi: int = DPI) -> tuple[int, int]:
    """The narrowest and widest module in whole dots at ``dpi``: (2, 4) at 203 dpi, (3, 6) at 300."""
    return max(MIN_DOTS_PER_MODULE, round(MIN_MODULE_MM * dpi / 25.4)), round(MAX_MODULE_MM * dpi / 25.4)


def module_dots(symbol_modules: int, max_width_mm: float, *, dpi: int = DPI) -> int:
    """Dots per module for a Code 128 symbol of ``symbol_modules`` in a zone ``max_width_mm`` wide: the largest
    whole number in ``module_dots_range`` that fits the symbol with a full quiet zone (10 modules) each side.

    :raise ValueError: the symbol does not fit even at the narrowest module.
    """
    total = symbol_modules + 2 * QUIET_ZONE
    low, high = module_dots_range(dpi)
    for dots in range(high, low - 1, -1):
        if total * module_mm(dots, dpi) <= max_width_mm + 1e-9:
            return dots
    raise ValueError(
        f"a Code 128 symbol of {symbol_modules} modules and its quiet zones at {low} dots does not fit in "
        f"{max_width_mm} mm"
    )


def fit_quiet_zone(symbol_modules: int, max_width_mm: float | None, *, dots_per_module: int = 2, dpi: int = DPI) -> int:
    """Modules of quiet zone each side: 10, or fewer when the symbol would be wider than ``max_width_mm``.

    :raise ValueError: the bars alone are wider than ``max_width_mm`` (modules never get narrower).
    """
    if max_width_mm is None:
        return QUIET_ZONE
    fits = int(max_width_mm / module_mm(dots_per_module, dpi) + 1e-9)
    if symbol_modules > fits:
        raise ValueError(
            f"a Code 128 symbol of {symbol_modules} modules at {dots_per_module} dots does not fit in {max_width_mm} mm"
        )
    return min(QUIET_ZONE, (fits - symbol_modules) // 2)


def code128_svg(
    value: str,
    *,
    dots_per_module: int = 2,
    height_mm: float = 15,
    dpi: int = DPI,
    max_width_mm: float | None = None,
) -> str:
    """An SVG of ``value`` as Code 128, sized in mm, without human-readable text.

    The viewBox is in modules (quiet zones included), so each module is exactly ``dots_per_module``
    dots at ``dpi``. With ``max_width_mm`` the quiet zones shrink to fit; modules never do.

    :raise ValueError: the value cannot be encoded (see ``code128_modules``), ``dots_per_module`` is
        below 2, or the bars do not fit in ``max_width_mm``.
    """
    _check_dots(dots_per_module)
    modules = code128_modules(value)
    quiet = fit_quiet_zone(len(modules), max_width_mm, dots_per_module=dots_per_module, dpi=dpi)
    unit = module_mm(dots_per_module, dpi)
    total = len(modules) + 2 * quiet
    height = height_mm / unit
    path = "".join(f"M{quiet + x} 0h{w}v{height:.2f}h-{w}z" for x, w in bar_runs(modules))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" width="{total * unit:.4f}mm" '
        f'height="{height_mm:.4f}mm" viewBox="0 0 {total} {height:.2f}" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges" aria-hidden="true"><path fill="#000" d="{path}"/></svg>'
    )


# --- QR code ---

QR_BORDER = 4  # modules of quiet zone each side, the QR minimum


class QrSymbol(NamedTuple):
    """A QR symbol without its border: ``size`` modules per side, the rows one after the other in ``cells``,
    each padded with b"0" to ``stride`` (a multiple of 8); b"1" dark, b"0" light."""

    size: int
    stride: int
    cells: bytes


def qr_matrix(data: "str | QrSymbol") -> list[bytes]:
    """The QR symbol of ``data`` (error correction M, the smallest version), without its border: one ``bytes``
    per row, ``b"1"`` dark and ``b"0"`` light. ``data`` may be the symbol made already (``qr_symbol``).

    :raise ValueError: ``data`` is empty or too long for a QR code.
    """
    size, stride, cells = _symbol(data)
    return [cells[row : row + size] for row in range(0, size * stride, stride)]


def qr_side(data: "str | QrSymbol") -> int:
    """Modules per side of ``data``'s QR symbol, border not included.

    :raise ValueError: ``data`` is empty or too long for a QR code.
    """
    return _symbol(data).size


_DARK_AS_ONE = bytes.maketrans(bytes(range(256)), b"1" * 128 + b"0" * 128)  # zxing-cpp: 0 dark, 255 light


def _symbol(data: "str | QrSymbol") -> QrSymbol:
    """The symbol itself, or the symbol of a string (cached for the few calls a lone code makes)."""
    return data if isinstance(data, QrSymbol) else _cached_symbol(data)


def qr_symbol(data: str) -> QrSymbol:
    """``data``'s QR symbol (error correction M, the smallest version), made once: a label keeps its own for
    every later use (its size, its drawing), so a job of a thousand labels encodes each code once.

    :raise ValueError: ``data`` is empty or too long for a QR code.
    """
    if not data:
        raise ValueError("a QR code needs data")
    try:
        symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    except ValueError as error:
        raise ValueError(f"too long for a QR code: {error}") from error
    image = memoryview(symbol.to_image(scale=1, add_quiet_zones=False))
    size = image.shape[0]
    stride = -(-size // 8) * 8
    cells = image.tobytes().translate(_DARK_AS_ONE)
    padded = b"".join(cells[row : row + size].ljust(stride, b"0") for row in range(0, size * size, size))
    return QrSymbol(size, stride, padded)


_cached_symbol = lru_cache(maxsize=4)(qr_symbol)


def qr_svg(data: "str | QrSymbol", *, dots_per_module: int = 3, dpi: int = DPI) -> str:
    """An SVG QR code (error correction M, 4-module border) sized in mm, whole dots per module; ``data`` may be
    the symbol made already (``qr_symbol``).

    Each row is one stroke one module high, walked eight modules at a time from a table of path pieces,
    so a symbol costs a few dozen lookups rather than one formatted rectangle per run.

    :raise ValueError: ``data`` is empty or too long for a QR code, or ``dots_per_module`` is below 2.
    """
    _check_dots(dots_per_module)
    size, stride, cells = _symbol(data)
    total = size + 2 * QR_BORDER
    side = f"{total * module_mm(dots_per_module, dpi):.4f}mm"
    pieces = _path_pieces()
    steps = [pieces[cells[i : i + 8]] for i in range(0, len(cells), 8)]
    per_row = stride // 8
    for y in range(size):
        steps[y * per_row] = f"M{QR_BORDER} {y + QR_BORDER}.5{steps[y * per_row]}"
    path = "".join(steps)
    # No title or description from the data: the URL is only in the symbol.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qrcode" width="{side}" height="{side}" '
        f'viewBox="0 0 {total} {total}" shape-rendering="crispEdges" aria-hidden="true">'
        f'<path stroke="#000" stroke-width="1" fill="none" d="{path}"/></svg>'
    )


@cache
def _path_pieces() -> dict[bytes, str]:
    """SVG path steps for every run of 1 to 8 modules (b"0110"): "h" draws dark ones, "m" skips light ones."""
    pieces = {}
    for length in range(1, 9):
        for value in range(1 << length):
            key = format(value, f"0{length}b").encode("ascii")
            pieces[key] = "".join(
                f"h{m.end() - m.start()}" if key[m.start()] == 49 else f"m{m.end() - m.start()} 0"
                for m in re.finditer(rb"1+|0+", key)
            )
    return pieces


def _check_dots(dots_per_module: int) -> None:
    if not isinstance(dots_per_module, int) or dots_per_module < MIN_DOTS_PER_MODULE:
        raise ValueError(f"dots_per_module must be a whole number >= {MIN_DOTS_PER_MODULE}")
