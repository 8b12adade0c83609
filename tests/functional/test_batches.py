"""Print batches (波次) through the pages: made from a selection or a filter, one open batch per order (also
under two processes at once), printed, picked, packed and handed over."""

import multiprocessing
import re
import traceback

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Order,
    OrderItem,
    OrderStatus,
    PrintBatch,
    PrintBatchOrder,
    PrintJob,
    Shop,
    ShopStaff,
    User,
)
from portal.services import batches
from portal.services.errors import ConflictError
from tests.functional.test_seller_printing import pending_ids


def make_batch(client, shop_id, order_ids=(), **extra):
    data = {"scope": "selected", "order_ids": [str(i) for i in order_ids], **extra}
    return client.post(f"/shops/{shop_id}/batches", data=data)


def batch_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PrintBatch))


def test_a_batch_from_the_selection_has_a_number_pick_list_and_progress(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 5)
    response = make_batch(seller, shop, ids)
    assert response.status_code == 303
    page = seller.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with app.app_context():
        batch = db.session.scalar(select(PrintBatch))
        assert batch.order_count == 5 and batch.status == "open" and batch.made_from == "5 selected orders"
        assert batches.order_ids_of(batch) == ids
        skus = set(db.session.scalars(select(OrderItem.sku).where(OrderItem.order_id.in_(ids))))
        numbers = db.session.scalars(select(Order.platform_order_no).where(Order.id.in_(ids))).all()
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "batch_made")).target == batch.number
    assert f"Batch {batch.number}" in html
    assert all(f"<code>{sku}</code>" in html for sku in skus)  # the pick list by SKU
    assert all(no in html for no in numbers)  # by order
    assert re.search(r'id="count-total">5<', html) and re.search(r'id="count-printed">0<', html)
    assert "Print 5 labels" in html


def test_a_batch_from_the_filter_is_read_by_the_server_not_from_posted_ids(app, world, login):
    shop, other = world["shops"]["seller1"], world["shops"]["seller2"]
    seller = login("seller1")
    with app.app_context():
        expected = set(
            db.session.scalars(
                select(Order.id)
                .join(OrderItem)
                .where(Order.shop_id == shop, Order.status == "pending", OrderItem.sku == "LJ-250")
            )
        )
    # Ids posted with scope=filter (even another shop's) are ignored: the filter decides.
    foreign = pending_ids(app, other, 3)
    response = make_batch(seller, shop, foreign, scope="filter", status="pending", sku="LJ-250")
    assert response.status_code == 303
    with app.app_context():
        batch = db.session.scalar(select(PrintBatch))
        assert set(batches.order_ids_of(batch)) == expected
        assert batch.made_from == f"all {len(expected)} orders matching the filter"
    # The list filters by the batch.
    listed = seller.get(f"/shops/{shop}/orders?batch={batch.id}&per_page=500").get_data(as_text=True)
    assert f"{len(expected)} orders" in listed


def test_a_filter_that_matches_nothing_makes_nothing(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    response = make_batch(seller, shop, scope="filter", sku="NO-SUCH-SKU")
    assert response.status_code == 422
    assert "No orders match this filter: nothing was done." in response.get_data(as_text=True)
    nothing = make_batch(seller, shop, [])
    assert nothing.status_code == 422 and "Tick the orders first" in nothing.get_data(as_text=True)
    assert batch_count(app) == 0


def test_orders_already_in_an_open_batch_are_refused_until_it_closes(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 4)
    first = make_batch(seller, shop, ids[:2])
    again = make_batch(seller, shop, ids[1:])
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "1 of these orders are already in an open batch" in html and "No batch was made." in html
    assert batch_count(app) == 1
    batch_url = first.headers["Location"]
    assert seller.post(f"{batch_url}/close").status_code == 303
    assert seller.post(f"{batch_url}/close").status_code == 409  # closed already
    assert make_batch(seller, shop, ids[1:]).status_code == 303
    assert batch_count(app) == 2


def test_shipped_or_cancelled_orders_do_not_go_in_a_batch(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 2)
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == ids[0]).values(status=OrderStatus.CANCELLED))
        db.session.commit()
    response = make_batch(seller, shop, ids)
    assert response.status_code == 409 and "only pending, labelled or packed orders" in response.get_data(as_text=True)
    assert batch_count(app) == 0


def test_print_the_batch_then_pack_and_the_page_counts(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 3)
    batch_url = make_batch(seller, shop, ids).headers["Location"]
    printed = seller.post(f"{batch_url}/print", data={"company": "ZTO", "size": "100x150"})
    assert printed.status_code == 303 and printed.headers["Location"].endswith("/summary")
    with app.app_context():
        assert db.session.scalar(select(PrintJob.label_count)) == 3
        tracking = db.session.scalar(select(Order.tracking_no).where(Order.id == ids[0]))
    packer = login("packer1")
    desk = packer.post(f"/staff/shops/{shop}/packing/scan", data={"code": tracking})
    assert desk.status_code == 200
    assert packer.post(f"/staff/shops/{shop}/packing/{ids[0]}/pack").status_code == 200
    html = packer.get(batch_url).get_data(as_text=True)  # packers see the batch page
    assert re.search(r'id="count-printed">3<', html) and re.search(r'id="count-packed">1<', html)
    assert 'id="batch-print-form"' not in html  # no print switch, no print form
    assert "Print job" in seller.get(batch_url).get_data(as_text=True)
    # Nothing left to print: a second print is refused, naming why.
    again = seller.post(f"{batch_url}/print", data={"company": "ZTO", "size": "100x150"})
    assert again.status_code == 422 and "Select at least one order to print." in again.get_data(as_text=True)
    slips = packer.get(f"{batch_url}/slips")
    assert slips.status_code == 200 and slips.get_data(as_text=True).count("packing-slip") == 3


def test_staff_without_the_switch_cannot_make_print_or_close(app, world, login):
    shop = world["shops"]["seller1"]
    batch_url = make_batch(login("seller1"), shop, pending_ids(app, shop, 2)).headers["Location"]
    packer = login("packer1")
    assert make_batch(packer, shop, pending_ids(app, shop, 5)[2:]).status_code == 403
    assert packer.post(f"{batch_url}/print", data={"company": "ZTO", "size": "100x150"}).status_code == 403
    assert packer.post(f"{batch_url}/close").status_code == 403
    assert packer.get(f"/shops/{shop}/batches").status_code == 200
    # Another shop's batch does not exist for seller2.
    assert login("seller2").get(batch_url).status_code == 404


def test_over_100_orders_confirm_the_count_first(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    first = make_batch(seller, shop, scope="filter", status="pending", flagged="no")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "Make a batch of 144 orders?" in html
    assert batch_count(app) == 0
    assert 'name="sku"' not in html and 'name="status" value="pending"' in html
    done = make_batch(seller, shop, scope="filter", status="pending", flagged="no", confirm_count="144")
    assert done.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(PrintBatch.order_count)) == 144


# Two people making batches of overlapping orders at the same moment, in two OS processes --------------------


def batch_in_process(uri, shop_id, user_id, order_ids, barrier, results):
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
        with app.app_context(), force_locale("en"):
            shop, actor = db.session.get(Shop, shop_id), db.session.get(User, user_id)
            db.session.commit()
            barrier.wait(timeout=60)
            try:
                batch = batches.create_batch(shop, order_ids, actor=actor)
                db.session.commit()
                results.put(("made", batch.id))
            except ConflictError as error:
                db.session.rollback()
                results.put(("refused", error.message))
            db.session.remove()
            db.engine.dispose()
    except BaseException:
        results.put(("error", traceback.format_exc()))


@pytest.mark.parametrize("round_", range(3))
def test_two_processes_batching_overlapping_orders_leave_each_order_in_one_batch(app, world, round_):
    shop, user = world["shops"]["seller1"], world["users"]["seller1"]
    ids = pending_ids(app, shop, 30)
    # Ten orders in both; the second picks them in the reverse order (a deadlock, were rows inserted as given).
    selections = [ids[:20], ids[10:][::-1]]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        context.Process(target=batch_in_process, args=(uri, shop, user, chosen, barrier, results))
        for chosen in selections
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    assert sorted(kind for kind, _detail in outcomes) == ["made", "refused"], outcomes
    with app.app_context():
        rows = db.session.execute(select(PrintBatchOrder.order_id, PrintBatchOrder.batch_id)).all()
        assert len(rows) == 20 and len({order_id for order_id, _batch in rows}) == 20
        assert db.session.scalar(select(func.count()).select_from(PrintBatch)) == 1


def test_staff_model_switch_defaults_off(app, world):
    with app.app_context():
        assert db.session.get(ShopStaff, world["staff"]["packer1:seller1"]).print_labels is False
