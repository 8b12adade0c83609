"""The shop's own people print: the owner, and staff given the print switch, through the courier's print job."""

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, PrintJob, ShopStaff, WaybillStatus
from portal.services import printing, waybills

NUMBER = re.compile(r"\b73\d{12}\b")


def pending_ids(app, shop_id, n):
    with app.app_context():
        return list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop_id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
                .order_by(Order.id)
                .limit(n)
            )
        )


def seller_print(client, shop_id, order_ids, company="ZTO", size="100x150", **extra):
    data = {"company": company, "size": size, "scope": "selected", "order_ids": [str(i) for i in order_ids], **extra}
    return client.post(f"/shops/{shop_id}/orders/print", data=data)


def switch_printing(app, world, on=True):
    with app.app_context():
        staff = db.session.get(ShopStaff, world["staff"]["packer1:seller1"])
        staff.print_labels = on
        db.session.commit()


def test_owner_prints_from_the_order_list_with_the_shops_range(app, world, login):
    shop = world["shops"]["seller1"]
    ids = pending_ids(app, shop, 3)
    seller = login("seller1")
    response = seller_print(seller, shop, ids)
    assert response.status_code == 303
    summary_url = response.headers["Location"]
    assert re.search(rf"/shops/{shop}/print-jobs/\d+/summary$", summary_url)
    summary = seller.get(summary_url).get_data(as_text=True)
    job_url = summary_url.removesuffix("/summary")
    assert f'href="{job_url}"' in summary and f'href="{job_url}.pdf"' in summary
    with app.app_context():
        printed = db.session.scalars(select(Order).where(Order.id.in_(ids))).all()
        assert {o.status for o in printed} == {OrderStatus.LABELLED}
        assert {o.courier_company for o in printed} == {"ZTO"}
        job = db.session.scalar(select(PrintJob).order_by(PrintJob.id.desc()))
        assert job.actor.username == "seller1" and job.label_count == 3
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "labels_printed"))
        assert event.shop_id == shop and event.details["count"] == 3
    labels = seller.get(job_url)
    assert labels.status_code == 200 and len(set(NUMBER.findall(labels.get_data(as_text=True)))) == 3
    pdf = seller.get(f"{job_url}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        opened = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "print_job_opened")).all()
        assert {e.details["format"] for e in opened} == {"html", "pdf"}


def test_staff_without_the_switch_gets_403_and_no_print_form(app, world, login):
    shop = world["shops"]["seller1"]
    packer = login("packer1")
    ids = pending_ids(app, shop, 1)
    assert seller_print(packer, shop, ids).status_code == 403
    assert packer.get(f"/shops/{shop}/orders").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 0


def test_the_owner_turns_the_switch_on_and_the_packer_prints(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    staff_id = world["staff"]["packer1:seller1"]
    response = seller.post(f"/shops/{shop}/staff/{staff_id}/print", data={"print_labels": "y"})
    assert response.status_code == 303
    assert "Prints labels" in seller.get(f"/shops/{shop}/staff").get_data(as_text=True)
    packer = login("packer1")
    page = packer.get(f"/shops/{shop}/orders")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="bulk-print"' in html
    assert 'id="bulk-cancel"' not in html and 'id="bulk-export"' not in html  # the owner's actions only
    ids = pending_ids(app, shop, 2)
    response = seller_print(packer, shop, ids)
    assert response.status_code == 303
    job_url = response.headers["Location"].removesuffix("/summary")
    assert packer.get(job_url).status_code == 200
    # The owner opens the packer's job; the packer may not open the owner's.
    assert seller.get(job_url).status_code == 200
    owner_job = seller_print(seller, shop, pending_ids(app, shop, 1)).headers["Location"]
    assert packer.get(owner_job).status_code == 404
    # Switched off: the next request is refused.
    seller.post(f"/shops/{shop}/staff/{staff_id}/print", data={})
    assert packer.get(job_url).status_code == 404
    assert seller_print(packer, shop, pending_ids(app, shop, 1)).status_code == 403
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "staff_print_switch").order_by(AuditEvent.id)
        ).all()
        assert [d["print_labels"] for d in actions] == [True, False]


def test_a_refused_print_takes_no_number_and_says_why(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 2)
    assert seller_print(seller, shop, ids).status_code == 303
    again = seller_print(seller, shop, [*pending_ids(app, shop, 1), ids[0]])
    assert again.status_code == 409
    assert "only pending orders get a new label" in again.get_data(as_text=True)
    unknown = seller_print(seller, shop, ids, company="NOPE")
    assert unknown.status_code == 422 and "Choose a courier company." in unknown.get_data(as_text=True)
    other = seller_print(seller, shop, pending_ids(app, world["shops"]["seller2"], 1))
    assert other.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 1


def test_over_100_labels_confirm_the_count_first(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    ids = pending_ids(app, shop, 101)
    assert len(ids) == 101
    first = seller_print(seller, shop, ids)
    assert first.status_code == 200 and 'id="bulk-confirm"' in first.get_data(as_text=True)
    assert 'name="confirm_count" value="101"' in first.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 0
    done = seller_print(seller, shop, ids, confirm_count="101")
    assert done.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(PrintJob.label_count)) == 101


def test_owner_reprints_and_voids_through_the_same_services(app, world, login):
    shop = world["shops"]["seller1"]
    seller = login("seller1")
    order_id = pending_ids(app, shop, 1)[0]
    summary = seller_print(seller, shop, [order_id]).headers["Location"]
    page = seller.get(f"/shops/{shop}/orders/{order_id}/label")
    assert page.status_code == 200 and 'id="reprint-form"' in page.get_data(as_text=True)
    refused = seller.post(f"/shops/{shop}/orders/{order_id}/reprint", data={"size": "100x150", "reason": ""})
    assert refused.status_code == 422
    again = seller.post(f"/shops/{shop}/orders/{order_id}/reprint", data={"size": "100x150", "reason": "smudged"})
    assert again.status_code == 303 and again.headers["Location"] != summary
    pages = seller.post(summary.replace("/summary", "/reprint"), data={"pages": "1", "reason": "jammed"})
    assert pages.status_code == 303
    bad_pages = seller.post(summary.replace("/summary", "/reprint"), data={"pages": "9", "reason": "jammed"})
    assert bad_pages.status_code == 422 and "There is no page 9" in bad_pages.get_data(as_text=True)
    void = seller.post(f"/shops/{shop}/orders/{order_id}/void", data={"reason": "wrong size"})
    assert void.status_code == 303
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING and order.tracking_no is None
        history = printing.print_history(order)
        assert [line.reprint_reason for line in history] == ["", "smudged", "jammed"]
        assert all(line.voided for line in history)
        assert {w.status for w in waybills.waybills_of(order)} == {WaybillStatus.VOIDED}
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "label_reprinted", AuditEvent.actor_name == "seller1")
        )
