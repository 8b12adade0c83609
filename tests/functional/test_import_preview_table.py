"""The import preview shows the orders as they will be stored: masked buyer, placed region, items, deadline."""

import re

from portal.services import imports
from tests.functional.test_import_pages import upload

HEADER = "订单编号,买家会员名,收货人姓名,收货地址,联系手机,订单状态,订单付款时间,宝贝标题,宝贝总数量,买家实际支付金额\n"
PAID = "买家已付款，等待卖家发货"


def _row(no, name="陈晨", address="福建省 福州市 鼓楼区 五四路158号3单元502室(350003)", phone="13512345678"):
    return f"{no},nick{no},{name},{address},{phone},{PAID},2024-07-01 09:30:00,大红袍 100g,2,98.00\n"


def _preview(seller, shop, text: str) -> str:
    response = upload(seller, shop, "orders.csv", content=text.encode("utf-8-sig"))
    assert response.status_code in (302, 303), response.text
    return seller.get(response.headers["Location"]).text


def _sample_rows(page: str) -> list[str]:
    table = page.split('id="import-sample"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", table.split("<tbody>", 1)[1], re.S)


def test_the_preview_lists_orders_as_stored(world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    text = HEADER + _row("9000000000000000001") + _row("9000000000000000002", address="火星 奥林帕斯山 1号")
    page = _preview(seller, shop, text)
    rows = _sample_rows(page)
    assert len(rows) == 2
    first, flagged = rows
    assert "9000000000000000001" in first
    assert "陈*" in first and "135******78" in first  # the buyer masked (GB/T 41833)
    assert "13512345678" not in page and "陈晨" not in page
    assert "福建省" in first and "福州市" in first and "鼓楼区" in first
    assert "大红袍 100g ×2" in first
    assert "2024-07-03" in first or "7/3/24" in first  # paid + the shop's 48 h
    assert 'data-flagged="yes"' in flagged and "table-warning" in flagged and "Address needs fixing" in flagged
    assert "data-flagged" not in first
    assert "import-sample-rest" not in page  # nothing more to count


def test_invalid_rows_are_listed_with_row_column_and_reason(world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    text = HEADER + _row("9000000000000000011") + _row("9000000000000000012", phone="12") + _row("")
    page = _preview(seller, shop, text)
    errors = page.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    assert "<td>3</td>" in errors and "联系手机" in errors  # row 3 (the header is row 1), the column as headed
    assert "<td>4</td>" in errors and "订单编号" in errors
    assert "Import 1 orders" not in page  # nothing to confirm while a row is invalid


def test_only_the_first_rows_are_shown_and_the_rest_counted(world, login, monkeypatch):
    monkeypatch.setattr(imports, "PREVIEW_ROWS", 3)
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    text = HEADER + "".join(_row(f"90000000000000001{n:02d}") for n in range(7))
    page = _preview(seller, shop, text)
    assert len(_sample_rows(page)) == 3
    rest = page.split('id="import-sample-rest"', 1)[1].split("</p>", 1)[0]
    assert "3" in rest and "4" in rest


def test_user_text_is_escaped(world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    text = HEADER + _row("9000000000000000021").replace("大红袍 100g", "<script>alert(1)</script>")
    page = _preview(seller, shop, text)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_preview_in_chinese(world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    response = upload(seller, shop, "orders.csv", content=(HEADER + _row("9000000000000000031")).encode("utf-8-sig"))
    page = seller.get(response.headers["Location"], headers={"Accept-Language": "zh-CN"}).text
    assert "将保存的订单" in page and "新订单" in page
