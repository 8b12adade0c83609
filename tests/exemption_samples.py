"""Sample data the exemption tests share: addresses in places the demo world has no orders in, and the
first bytes of evidence files (what portal.services.exemptions checks a file's type by)."""

NANGANG = "黑龙江省 哈尔滨市 南岗区 西大直街 92 号"  # 230000 / 230100 / 230103
DAOLI = "黑龙江省 哈尔滨市 道里区 中央大街 1 号"  # 230000 / 230100 / 230102
LONGSHA = "黑龙江省 齐齐哈尔市 龙沙区 龙华路 1 号"  # 230000 / 230200 / 230202
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64  # a Windows program
