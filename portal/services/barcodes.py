"""Code 128 and QR symbols as SVG whose modules land on a thermal printer's dot grid.

A bar a whole number of dots wide prints exactly that wide at any offset; 0.2 mm (1.6 dots at 203 dpi)
does not (measured in shared/DEPENDENCIES.md, part 2). python-barcode only encodes: the SVG is our own,
one ``<path>`` in module units, so nothing but geometry comes from the value.
"""

import io
from functools import lru_cache

from barcode.codex import Code128
from barcode.errors import BarcodeError

DPI = 203
QUIET_ZONE = 10  # modules each side, the Code 128 minimum
MAX_LENGTH = 40
MIN_DOTS_PER_MODULE = 2  # one dot wide bars vanish or merge under thermal dot gain
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


def qr_svg(data: str, *, dots_per_module: int = 3, dpi: int = DPI) -> str:
    """An SVG QR code (error correction M, 4-module border) sized in mm, whole dots per module.

    :raise ValueError: ``data`` is empty or too long for a QR code, or ``dots_per_module`` is below 2.
    """
    import segno  # only a few labels carry a QR code

    _check_dots(dots_per_module)
    if not data:
        raise ValueError("a QR code needs data")
    try:
        qr = segno.make(data, error="m", micro=False)
    except segno.DataOverflowError as exc:
        raise ValueError(str(exc)) from exc
    out = io.BytesIO()
    # The namespace stays in so the SVG also works as a file; no title or description from the data.
    qr.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=module_mm(dots_per_module, dpi),
        unit="mm",
        svgclass="qrcode",
        lineclass=None,
    )
    return out.getvalue().decode().replace("<svg ", '<svg shape-rendering="crispEdges" aria-hidden="true" ', 1)


def _check_dots(dots_per_module: int) -> None:
    if not isinstance(dots_per_module, int) or dots_per_module < MIN_DOTS_PER_MODULE:
        raise ValueError(f"dots_per_module must be a whole number >= {MIN_DOTS_PER_MODULE}")
