"""Print jobs through the pages: numbers, labels, all-or-nothing refusals, reprint, void, downloads."""

import io
import re

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, Order, OrderStatus, Shop, Waybill, WaybillRange, WaybillStatus
from portal.services import waybills

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


def zto_range(app, shop_id):
    with app.app_context():
        return db.session.scalar(select(WaybillRange).where(WaybillRange.shop_id == shop_id).order_by(WaybillRange.id))


def print_job(client, order_ids, company="ZTO", size="100x150", **extra):
    data = {"company": company, "size": size, "scope": "selected", "order_ids": [str(i) for i in order_ids], **extra}
    return client.post("/courier/print-jobs", data=data)


def test_print_selected_orders(app, world, login):
    shop = world["shops"]["seller1"]
    ids = pending_ids(app, shop, 3)
    first = zto_range(app, shop).start_serial
    courier = login("courier1")
    response = print_job(courier, ids)
    assert response.status_code == 302
    # The job's page first (a way back, downloads, reprint); it links the labels to print.
    assert response.headers["Location"].endswith("/summary")
    job_url = response.headers["Location"].removesuffix("/summary")
    assert f'href="{job_url}"' in courier.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        printed = db.session.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)).all()
        assert {o.status for o in printed} == {OrderStatus.LABELLED}
        assert [o.tracking_no for o in printed] == [f"{first + i:014d}" for i in range(3)]
        assert {o.courier_company for o in printed} == {"ZTO"}
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "labels_printed"))
        assert event.details["count"] == 3 and event.shop_id == shop

    page = courier.get(job_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "size: 100mm 150mm" in html.replace("  ", " ")
    assert sorted(set(NUMBER.findall(html))) == sorted(o.tracking_no for o in printed)
    assert "Labels (3)" in html and html.count("<svg") >= 3  # a barcode each (and a QR code each, when it has one)
    assert not re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", html)  # privacy labels: no whole mobile number
    assert page.headers["Cache-Control"] == "no-store"

    pdf = courier.get(job_url + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 3
    zpl = courier.get(job_url + ".zpl").get_data(as_text=True)
    assert zpl.count("^XA") == 3 and printed[0].tracking_no in zpl


def test_print_all_pending_in_all_my_shops(app, world, login):
    courier = login("courier1")  # ZTO in seller1's shop, J&T in seller2's
    before = {owner: zto_range(app, shop).next_serial for owner, shop in world["shops"].items()}
    # Each shop's own company: two companies in one job is refused, naming both; nothing is taken.
    response = courier.post("/courier/print-jobs", data={"company": "", "size": "76x130", "scope": "all"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "different courier companies" in text and "ZTO Express" in text and "J&amp;T Express" in text
    # ZTO: all pending in the shops where the sub-account names ZTO, after confirming the count.
    response = courier.post("/courier/print-jobs", data={"company": "ZTO", "size": "76x130", "scope": "all"})
    assert response.status_code == 200 and 'id="print-confirm"' in response.get_data(as_text=True)
    shops = response.get_data(as_text=True).split('id="confirm-shops"')[1].split("</ul>")[0]
    assert "Li&#39;s Tea" in shops and "Wang Digital" not in shops
    assert {owner: zto_range(app, shop).next_serial for owner, shop in world["shops"].items()} == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Waybill)) == 0


def test_exhausted_range_gives_no_order_a_number(app, world, login):
    shop = world["shops"]["seller1"]
    with app.app_context():
        r = db.session.scalar(select(WaybillRange).where(WaybillRange.shop_id == shop).order_by(WaybillRange.id))
        db.session.execute(
            update(WaybillRange).where(WaybillRange.shop_id == shop).values(next_serial=WaybillRange.end_serial - 1)
        )
        db.session.commit()
        label = waybills.range_label(r)
    response = print_job(login("courier1"), pending_ids(app, shop, 3))
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert label in text and "2 numbers left" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Waybill)) == 0
        assert db.session.scalar(select(func.count()).where(Order.status == OrderStatus.LABELLED)) == 0


@pytest.mark.parametrize("state", [OrderStatus.LABELLED, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_orders_not_pending_are_refused_whole(app, world, login, state):
    shop = world["shops"]["seller1"]
    ids = pending_ids(app, shop, 3)
    with app.app_context():
        db.session.execute(update(Order).where(Order.id == ids[1]).values(status=state))
        db.session.commit()
    response = print_job(login("courier1"), ids)
    assert response.status_code == 409
    assert "Nothing was printed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Waybill)) == 0


def test_flagged_address_and_other_shops_are_refused(app, world, login):
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    with app.app_context():
        flagged = db.session.scalar(select(Order.id).where(Order.shop_id == shop_a, Order.address_flagged.is_(True)))
    response = print_job(login("courier1"), [flagged])
    assert response.status_code == 422
    assert "must fix it first" in response.get_data(as_text=True)
    # courier2 has no grant in shop B
    other = print_job(login("courier2"), pending_ids(app, shop_b, 1), company="YTO")
    assert other.status_code == 404
    assert print_job(login("courier1"), [], company="ZTO").status_code == 422
    assert print_job(login("courier1"), pending_ids(app, shop_a, 1), company="NOPE").status_code == 422


def test_recipient_html_prints_as_text_and_privacy_setting(app, world, login):
    shop = world["shops"]["seller1"]
    [order_id] = pending_ids(app, shop, 1)
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.recipient_name = "<script>alert(1)</script>"
        order.recipient_phone = "13912345678"
        db.session.get(Shop, shop).privacy_labels = False
        db.session.commit()
    courier = login("courier1")
    html = courier.get(print_job(courier, [order_id]).headers["Location"].removesuffix("/summary")).get_data(
        as_text=True
    )
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "13912345678" in html  # privacy labels off: the full phone


def test_reprint_keeps_the_number_and_void_never_reuses_it(app, world, login):
    shop = world["shops"]["seller1"]
    [order_id] = pending_ids(app, shop, 1)
    courier = login("courier1")
    print_job(courier, [order_id])
    with app.app_context():
        number = db.session.get(Order, order_id).tracking_no
    base = f"/shops/{shop}/orders/{order_id}"
    assert courier.post(f"/courier{base}/reprint", data={"size": "100x150", "reason": ""}).status_code == 422
    again = courier.post(f"/courier{base}/reprint", data={"size": "100x180", "reason": "label torn"})
    assert again.status_code == 302
    reprinted = courier.get(again.headers["Location"].removesuffix("/summary")).get_data(as_text=True)
    assert number in reprinted and "size: 100mm 180mm" in reprinted.replace("  ", " ")
    history = courier.get(f"/courier{base}").get_data(as_text=True)
    assert history.count(number) >= 2 and "label torn" in history

    assert courier.post(f"/courier{base}/void", data={"reason": ""}).status_code == 422
    assert courier.post(f"/courier{base}/void", data={"reason": "printer jam"}).status_code == 302
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING and order.tracking_no is None
        assert db.session.scalar(select(Waybill.status).where(Waybill.tracking_no == number)) == WaybillStatus.VOIDED
    print_job(courier, [order_id])
    with app.app_context():
        new_number = db.session.get(Order, order_id).tracking_no
    assert new_number and new_number != number


def test_a_revoked_courier_loses_the_print_page(app, world, login):
    shop = world["shops"]["seller1"]
    courier = login("courier1")
    job_url = print_job(courier, pending_ids(app, shop, 2)).headers["Location"]  # the job's page
    assert courier.get(job_url).status_code == 200
    login("seller1").post(f"/shops/{shop}/subaccounts/{world['grants']['courier1:seller1']}/revoke")
    assert courier.get(job_url).status_code == 404
    assert login("courier2").get(job_url).status_code == 404  # not their job


def test_courier_sees_full_details_only_with_the_switch(app, world, login):
    shop = world["shops"]["seller1"]
    [order_id] = pending_ids(app, shop, 1)
    with app.app_context():
        phone = db.session.get(Order, order_id).recipient_phone
    full = login("courier1").get(f"/courier/shops/{shop}/orders/{order_id}").get_data(as_text=True)
    masked = login("courier2").get(f"/courier/shops/{shop}/orders/{order_id}").get_data(as_text=True)
    assert phone in full
    assert phone not in masked and f"{phone[:3]}******{phone[-2:]}" in masked
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "recipient_viewed")) == 1


def test_seller_records_ranges(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    ok = seller.post(f"/shops/{shop}/ranges", data={"company": "EMS", "start": "EA000000014CN", "count": "100"})
    assert ok.status_code == 302
    page = seller.get(f"/shops/{shop}/ranges").get_data(as_text=True)
    assert "EA000000014CN" in page
    bad_check = seller.post(f"/shops/{shop}/ranges", data={"company": "EMS", "start": "EA000000015CN", "count": "5"})
    assert bad_check.status_code == 422 and "check digit" in bad_check.get_data(as_text=True)
    overlap = seller.post(f"/shops/{shop}/ranges", data={"company": "EMS", "start": "EA000000028CN", "count": "5"})
    assert overlap.status_code == 409
