"""Chromium's fake camera: a YUV4MPEG2 video made here from a real barcode, played as the phone's rear camera
(`--use-file-for-fake-video-capture`, a launch flag: each camera test launches a browser of its own)."""

import io
from contextlib import contextmanager

from portal.services import barcodes
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

PHONE = {"width": 390, "height": 844}


def _drawn(svg: str):
    """The SVG's black marks on white, as an 8-bit greyscale image."""
    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(bytestring=svg.encode(), dpi=203)
    drawn = Image.open(io.BytesIO(png)).convert("RGBA")  # black marks on a transparent ground
    ground = Image.new("RGBA", drawn.size, "white")
    ground.alpha_composite(drawn)
    return ground.convert("L")


def code128(number: str):
    return _drawn(barcodes.code128_svg(number, dots_per_module=3))


def qr(text: str):
    return _drawn(barcodes.qr_svg(text, dots_per_module=4))


def write_y4m(image, path, *, frames: int = 20, width: int = 640, height: int = 480) -> None:
    """A couple of seconds of video (10 frames a second) of the image centred on a white frame; a list of images
    plays one after the other, ``frames`` each (Chromium loops the file)."""
    from PIL import Image

    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for shown in image if isinstance(image, list) else [image]:
            if shown.width > width - 40 or shown.height > height - 40:
                shown = shown.copy()
                shown.thumbnail((width - 40, height - 40))
            frame = Image.new("L", (width, height), 255)
            frame.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2))
            chroma = bytes([128]) * (width // 2 * height // 2)
            picture = b"FRAME\n" + frame.tobytes() + chroma + chroma
            for _ in range(frames):
                out.write(picture)


@contextmanager
def camera_browser(playwright_driver, tmp_path, image, origin: str, *, viewport=PHONE, allowed: bool = True):
    """A phone-sized Chromium whose camera shows the image (or the images in turn), the camera allowed for
    origin (or, not ``allowed``, refused as a person tapping "Block" would)."""
    video = tmp_path / "camera.y4m"
    write_y4m(image, video)
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    if allowed:
        args.append("--use-fake-ui-for-media-stream")  # the permission prompt answered yes
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "camera-profile"), executable_path=CHROMIUM, args=args, headless=True, viewport=viewport
    )
    try:
        if allowed:
            context.grant_permissions(["camera"], origin=origin)
        yield context
    finally:
        context.close()
