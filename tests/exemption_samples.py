"""Sample data the exemption tests share: addresses in places the demo world has no orders in, and
evidence files (portal.services.exemptions checks a file's type by its first bytes, and an image's size)."""

import io
import struct
import zlib

from PIL import Image


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "white").save(out, kind)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb for a viewer)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


NANGANG = "黑龙江省 哈尔滨市 南岗区 西大直街 92 号"  # 230000 / 230100 / 230103
DAOLI = "黑龙江省 哈尔滨市 道里区 中央大街 1 号"  # 230000 / 230100 / 230102
LONGSHA = "黑龙江省 齐齐哈尔市 龙沙区 龙华路 1 号"  # 230000 / 230200 / 230202
PNG = _image("PNG")
JPEG = _image("JPEG")
PDF = b"%PDF-1.7\n" + b"0" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64  # a Windows program
