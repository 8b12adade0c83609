"""Packing with the goods checked (验货): after the parcel's number the desk asks for each item's SKU barcode."""

from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.models import Order, OrderItem, OrderStatus, Shop
from tests.functional.test_packing_pickup import labelled, status_of


def _setup(app, world, *, check=True, items=(("TEE-RED-M", 2), ("MUG-01", 1)), owner="seller1"):
    """A labelled parcel of the owner's shop with these items; the shop checks the goods or not.
    Returns (shop id, order id, tracking number)."""
    shop_id = world["shops"][owner]
    number = labelled(app, world, owner=owner, n=1, company="ZTO" if owner == "seller1" else "JT")[0]
    with app.app_context():
        db.session.execute(update(Shop).where(Shop.id == shop_id).values(check_goods=check))
        order = db.session.scalar(select(Order).where(Order.tracking_no == number))
        db.session.execute(delete(OrderItem).where(OrderItem.order_id == order.id))
        for sku, quantity in items:
            db.session.add(OrderItem(order_id=order.id, title=f"Item {sku}", sku=sku, quantity=quantity))
        db.session.commit()
        return shop_id, order.id, number


def _scan(packer, shop_id, order_id, item, scanned):
    return packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/item", data={"item": item, "scanned": scanned})


def test_every_item_is_scanned_before_confirm(app, world, login):
    shop_id, order_id, number = _setup(app, world)
    packer = login("packer1")
    found = packer.post(f"/staff/shops/{shop_id}/packing/scan", data={"code": number})
    assert found.status_code == 200
    assert 'id="pack-goods"' in found.text and 'id="item-code"' in found.text
    assert "confirm-button" not in found.text  # confirm only when complete

    scanned = []
    for code in ("tee-red-m", " MUG-01 ", "TEE-RED-M"):  # case and spaces as a person types them
        response = _scan(packer, shop_id, order_id, code, scanned)
        assert response.status_code == 200, response.text
        scanned.append(code.strip().upper())
    assert "confirm-button" in response.text and 'id="item-code"' not in response.text
    assert 'data-complete="yes"' in response.text
    assert status_of(app, number) == OrderStatus.LABELLED  # scans alone change nothing

    packed = packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/pack", data={"scanned": scanned})
    assert packed.status_code == 200 and "scan-ok" in packed.text
    assert status_of(app, number) == OrderStatus.PACKED


def test_wrong_items_are_refused_and_nothing_changes(app, world, login):
    shop_id, order_id, number = _setup(app, world)
    # Another order of the shop holds a SKU this parcel does not.
    with app.app_context():
        other = db.session.scalar(select(Order).where(Order.shop_id == shop_id, Order.id != order_id))
        db.session.add(OrderItem(order_id=other.id, title="Socks", sku="SOCK-9", quantity=1))
        db.session.commit()
    packer = login("packer1")
    refusals = [
        ("SOCK-9", ["TEE-RED-M"], "belongs to another order"),
        ("NOPE-404", ["TEE-RED-M"], "not a known item barcode"),
        ("MUG-01", ["MUG-01"], "already in: that one is extra"),
        ("", [], "Scan the barcode of an item"),
        ("x" * 500, [], "not an item barcode"),
        (number, [], "this parcel&#39;s label"),
    ]
    for item, scanned, message in refusals:
        response = _scan(packer, shop_id, order_id, item, scanned)
        assert response.status_code == 422, item[:20]
        assert message in response.text, (item[:20], response.text)
        assert 'data-outcome="error"' in response.text and 'id="item-error"' in response.text
        # The scans so far stay as they were: the page carries them on, unchanged.
        assert response.text.count('name="scanned"') == len(scanned)
        assert "confirm-button" not in response.text
    assert status_of(app, number) == OrderStatus.LABELLED


def test_confirm_refuses_missing_extra_or_foreign_goods(app, world, login):
    shop_id, order_id, number = _setup(app, world)
    packer = login("packer1")
    cases = [
        ([], 409, "Not every item is in the box"),
        (["TEE-RED-M", "MUG-01"], 409, "TEE-RED-M ×1"),
        (["TEE-RED-M", "TEE-RED-M", "MUG-01", "MUG-01"], 422, "Only 1 × MUG-01"),
        (["TEE-RED-M", "TEE-RED-M", "SOCK-9"], 422, "not an item of this parcel"),
    ]
    for scanned, status, message in cases:
        response = packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/pack", data={"scanned": scanned})
        assert response.status_code == status, scanned
        assert message in response.text and "scan-error" in response.text
        assert status_of(app, number) == OrderStatus.LABELLED


def test_a_shop_that_does_not_check_keeps_one_scan_packing(app, world, login):
    shop_id, order_id, number = _setup(app, world, check=False)
    packer = login("packer1")
    found = packer.post(f"/staff/shops/{shop_id}/packing/scan", data={"code": number})
    assert 'id="pack-items"' in found.text and "confirm-button" in found.text and "item-code" not in found.text
    refused = _scan(packer, shop_id, order_id, "MUG-01", [])  # no item scans to take
    assert refused.status_code == 422 and "scan-error" in refused.text and "confirm-button" not in refused.text
    assert packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/pack").status_code == 200
    assert status_of(app, number) == OrderStatus.PACKED


def test_items_without_sku_keep_one_scan_packing(app, world, login):
    shop_id, order_id, number = _setup(app, world, items=(("", 2),))
    packer = login("packer1")
    found = packer.post(f"/staff/shops/{shop_id}/packing/scan", data={"code": number})
    assert "confirm-button" in found.text and "item-code" not in found.text
    assert packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/pack").status_code == 200
    assert status_of(app, number) == OrderStatus.PACKED


def test_lines_without_sku_are_checked_by_eye(app, world, login):
    shop_id, order_id, number = _setup(app, world, items=(("MUG-01", 1), ("", 3)))
    packer = login("packer1")
    found = packer.post(f"/staff/shops/{shop_id}/packing/scan", data={"code": number})
    assert "check by eye" in found.text and "confirm-button" not in found.text
    done = _scan(packer, shop_id, order_id, "MUG-01", [])
    assert "confirm-button" in done.text
    packed = packer.post(f"/staff/shops/{shop_id}/packing/{order_id}/pack", data={"scanned": ["MUG-01"]})
    assert packed.status_code == 200


def test_the_setting_is_the_sellers(app, world, login):
    shop_id = world["shops"]["seller1"]
    seller = login("seller1")
    page = seller.get(f"/shops/{shop_id}/settings")
    assert 'name="check_goods"' in page.text
    form = {
        "name": "Shop one",
        "promise_hours": 48,
        "detail_days": 7,
        "retention_days": 90,
        "privacy_labels": "y",
        "require_packed_for_pickup": "y",
        "check_goods": "y",
    }
    assert seller.post(f"/shops/{shop_id}/settings", data=form).status_code in (302, 303)
    with app.app_context():
        assert db.session.get(Shop, shop_id).check_goods is True
    del form["check_goods"]
    seller.post(f"/shops/{shop_id}/settings", data=form)
    with app.app_context():
        assert db.session.get(Shop, shop_id).check_goods is False


def test_another_shops_order_is_not_reachable(app, world, login):
    _, other_order, _ = _setup(app, world, owner="seller2")
    own_shop = world["shops"]["seller1"]
    packer = login("packer1")
    response = _scan(packer, own_shop, other_order, "MUG-01", [])
    assert response.status_code == 404


def test_changed_scans_or_a_parcel_packed_meanwhile_start_again(app, world, login):
    shop_id, order_id, _ = _setup(app, world)
    packer = login("packer1")
    # The page's scans were changed (not this parcel's, or more than it holds): the parcel is scanned again.
    for scanned in (["SOCK-9"], ["MUG-01", "MUG-01"]):
        response = _scan(packer, shop_id, order_id, "TEE-RED-M", scanned)
        assert response.status_code == 422
        assert 'data-outcome="error"' in response.text and "pack-goods" not in response.text
    # Someone else packed it: the next item scan says so.
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == order_id).values(status=OrderStatus.PACKED))
        db.session.commit()
    response = _scan(packer, shop_id, order_id, "TEE-RED-M", [])
    assert response.status_code == 409 and "already packed" in response.text
