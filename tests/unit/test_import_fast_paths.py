"""The import's faster per-row code (issue #3, bench/import_orders.py) keeps the rules of the general code."""

from datetime import datetime
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.services import imports, orders, spreadsheets


def reference_clean_text(value) -> str:
    """clean_text as it was written before its fast path for str: the rule it must keep."""
    if value is None:
        return ""
    text = str(value).strip()
    if text[:1] == "=":
        if text.startswith('="') and text.endswith('"'):
            return text[2:-1].strip()
    elif text[:1] == "'":
        return text[1:].strip()
    return text


class Colour(StrEnum):
    RED = " 'red "


# Short texts made of the characters clean_text looks at, so wrappers, quotes and spaces meet in every order.
@given(st.text(alphabet=st.sampled_from([" ", "\t", "\u3000", "=", "'", '"', "x", "1", "龙"]), max_size=8))
def test_clean_text_keeps_its_rule(text):
    assert orders.clean_text(text) == reference_clean_text(text)


@pytest.mark.parametrize(
    "value", [None, "", 12, 3.5, datetime(2024, 6, 18, 20, 15), Colour.RED, ' ="0571" ', "'", '="', "=x"]
)
def test_clean_text_of_other_values(value):
    assert orders.clean_text(value) == reference_clean_text(value)
    assert type(orders.clean_text(value)) is str


ROW_ITEMS = [("'  'x", "2"), ('="龙井"', ""), ("茶", "0.5"), ("茶", "abc"), ("茶", None), ("", "1"), ("t" * 400, 3)]


@pytest.mark.parametrize(("title", "quantity"), ROW_ITEMS)
def test_an_export_rows_item_is_an_items_entry_without_price_sku_or_attributes(app, title, quantity):
    """item_title + quantity (cleaned once more as an entry's title) == an entry whose price, SKU and attributes
    are absent or blank."""
    with app.test_request_context():
        from_row = orders.validate_items({"item_title": title, "quantity": quantity})
        clean = orders.clean_text(title)
        absent = {"title": clean, "quantity": quantity}
        blank = {**absent, "price": "", "sku": "", "attributes": ""}
        if not clean:
            assert from_row == ([], [])
            return
        expected = orders.validate_items({"items": [absent]})
        assert from_row == expected
        assert orders.validate_items({"items": [blank]}) == expected


def test_an_export_rows_title_is_cleaned_twice_as_before():
    assert orders.validate_items({"item_title": "'  'x", "quantity": "2"}) == ([orders.ItemInput("x", 2)], [])


def test_order_data_reads_the_columns_in_order_columns_order():
    cells = tuple(column.key for column in imports.ORDER_COLUMNS)
    assert imports._order_data(cells) == {
        "platform_order_no": "order_no",
        "recipient_name": "recipient_name",
        "recipient_phone": "mobile",
        "address": "address_modified",
        "paid_at": "paid_at",
        "buyer_nick": "buyer_nick",
        "item_title": "item_title",
        "quantity": "quantity",
        "amount": "amount",
        "buyer_message": "buyer_message",
        "seller_memo": "seller_memo",
    }


def test_order_data_falls_back_to_landline_and_address():
    values = dict.fromkeys(imports._ORDER_KEYS, "x") | {"mobile": '=""', "landline": "0571-1", "address_modified": " "}
    data = imports._order_data(tuple(values[key] for key in imports._ORDER_KEYS))
    assert data["recipient_phone"] == "0571-1"
    assert data["address"] == "x"


def test_header_row_pads_and_agrees_with_values():
    headings = ["订单编号", "其它", "收货人姓名", "收货地址", "联系手机", "订单付款时间", "订单状态"]
    header = spreadsheets.read_header(
        iter([(1, headings)]), imports.ORDER_COLUMNS, imports.ORDER_REQUIRED, "orders_file"
    )
    row = header.row(['="1"', "y", "王伟"])  # short: the missing cells read ""
    values = dict(zip(imports._ORDER_KEYS, row, strict=True))
    assert values["order_no"] == '="1"' and values["recipient_name"] == "王伟"
    assert values["address"] == values["paid_at"] == values["buyer_nick"] == ""  # buyer_nick: no such column
    assert header.values(['="1"', "y", "王伟"]) == values
