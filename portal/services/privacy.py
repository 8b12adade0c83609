"""Masking of buyer details as GB/T 41833-2022 asks for privacy labels and lists.

A name hides at least one character, a phone at least six digits (138******34), an address its
unit and room numbers. Masked strings are for display only: they never go back into an order.
"""

import re

_NUMBER = r"[0-9０-９A-Za-z一二三四五六七八九十]+"
# Unit and room: 3单元, 302室, 5户, 12层/楼 (floor gives the room away), 3-1201, and a bare number at the end.
_UNIT_ROOM = re.compile(rf"{_NUMBER}\s*(?:单元|室|户|层|楼(?!道|盘))|\d+\s*-\s*\d+|\d+\s*$")


def mask_name(name: str) -> str:
    """Keep the first character: 张三 → 张*, 欧阳娜娜 → 欧***, Li → L*."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    """A mobile keeps its first 3 and last 2 digits (138******34); anything else only its last 2."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return digits[:3] + "*" * 6 + digits[-2:]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_address_detail(detail: str) -> str:
    """Hide unit and room numbers: 文三路90号5幢302室 → 文三路90号5幢***室."""
    return _UNIT_ROOM.sub(lambda m: re.sub(r"[0-9０-９A-Za-z一二三四五六七八九十]", "*", m.group(0)), detail or "")
