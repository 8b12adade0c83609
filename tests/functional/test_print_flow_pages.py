"""The print flow around a job: the company the grant names, the numbers left, confirming a big job, a refused
job that keeps its selection, the job's page (downloads, summary) and reprinting some of its pages."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import AuditEvent, CourierGrant, Order, OrderStatus, PrintedLabel, PrintJob, Waybill, WaybillRange
from portal.services import printing, shops, waybills
from portal.services.errors import ConflictError, InvalidDataError


def pending_ids(app, shop_id, n):
    """The first n printable orders of the shop in the queue's order (the first page shows them)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == shop_id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
                .order_by(Order.ship_by, Order.id)
                .limit(n)
            )
        )


def flagged_id(app, shop_id):
    """A flagged order of the shop, made the most urgent so that the queue's first page shows it."""
    with app.app_context():
        order = db.session.scalar(
            select(Order).where(Order.shop_id == shop_id, Order.address_flagged.is_(True)).order_by(Order.id)
        )
        earliest = db.session.scalar(select(func.min(Order.ship_by)).where(Order.shop_id == shop_id))
        order.ship_by = earliest - timedelta(hours=1)
        db.session.commit()
        return order.id


def waybill_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Waybill))


def print_job(client, order_ids, company="ZTO", query="", headers=None, **extra):
    data = {"company": company, "size": "100x150", "scope": "selected", "order_ids": [str(i) for i in order_ids]}
    return client.post(f"/courier/print-jobs{query}", data={**data, **extra}, headers=headers)


def company_options(html: str) -> list[tuple[str, str]]:
    """(value, text) of each option of the print form's company select."""
    select_html = html.split('id="company"')[1].split("</select>")[0]
    return re.findall(r'<option (?:selected )?value="([^"]*)">([^<]*)</option>', select_html)


def exhaust(app, shop_id, company_code):
    with app.app_context():
        company = waybills.company_by_code(company_code)
        db.session.execute(
            update(WaybillRange)
            .where(WaybillRange.shop_id == shop_id, WaybillRange.company_id == company.id)
            .values(next_serial=WaybillRange.end_serial + 1)
        )
        db.session.commit()


# The company on the grant ---------------------------------------------------------------------


def test_print_form_offers_only_the_grants_company_with_the_numbers_left(app, world, login):
    shop_a = world["shops"]["seller1"]
    # courier2's one grant names YTO: the only choice, preselected; never ZTO although the shop holds ZTO numbers.
    html = login("courier2").get("/courier/queue").get_data(as_text=True)
    assert [value for value, _text in company_options(html)] == ["YTO"]
    assert '<option selected value="YTO">' in html
    assert "Li&#39;s Tea: 2,000" in html  # YTO numbers left in the shop
    # courier1 in one shop: that shop's company only.
    one_shop = login("courier1").get(f"/courier/queue?shop={shop_a}").get_data(as_text=True)
    assert [value for value, _text in company_options(one_shop)] == ["ZTO"]
    assert "Li&#39;s Tea: 5,000" in one_shop
    # courier1 in all shops: their two companies (ZTO here, J&T there), and by default each shop's own.
    everything = login("courier1").get("/courier/queue").get_data(as_text=True)
    assert [value for value, _text in company_options(everything)] == ["", "JT", "ZTO"]
    assert "Wang Digital: 3,000" in everything


def test_a_grant_without_a_company_prints_nothing_and_the_form_says_why(app, world, login):
    shop_a = world["shops"]["seller1"]
    with app.app_context():
        db.session.get(CourierGrant, world["grants"]["courier2:seller1"]).company_id = None
        db.session.commit()
    courier = login("courier2")
    page = courier.get("/courier/queue").get_data(as_text=True)
    assert "Li&#39;s Tea has not named your courier company on your sub-account" in page
    assert company_options(page) == []
    response = print_job(courier, pending_ids(app, shop_a, 2), company="")
    assert response.status_code == 409
    assert "Li&#39;s Tea has not named your courier company" in response.get_data(as_text=True)
    response = print_job(courier, pending_ids(app, shop_a, 2), company="ZTO")
    assert response.status_code == 409
    assert waybill_count(app) == 0


def test_another_company_than_the_grants_is_refused_naming_shop_and_company(app, world, login):
    shop_a = world["shops"]["seller1"]
    response = print_job(login("courier2"), pending_ids(app, shop_a, 2), company="ZTO")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Your sub-account in 李记茶庄 Li&#39;s Tea prints with YTO Express, not ZTO Express" in text
    assert waybill_count(app) == 0
    # The company omitted: the grant's.
    done = print_job(login("courier2"), pending_ids(app, shop_a, 2), company="")
    assert done.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Order.courier_company).where(Order.tracking_no.is_not(None)))) == {"YTO"}


def test_the_service_is_the_one_check(app, world):
    """create_print_job refuses another company than the grant's in each shop, whoever calls it."""
    shop_b = world["shops"]["seller2"]
    ids = pending_ids(app, shop_b, 1)
    with app.app_context():
        courier = db.session.get(CourierGrant, world["grants"]["courier1:seller2"]).user
        with pytest.raises(InvalidDataError, match="Wang Digital prints with J&T Express, not ZTO Express") as error:
            printing.create_print_job(
                courier, ids, allowed_shop_ids={shop_b}, company=waybills.company_by_code("ZTO"), size="100x150"
            )
        assert error.value.order_ids == ids
        job = printing.create_print_job(courier, ids, allowed_shop_ids={shop_b}, company=None, size="100x150")
        assert job.company.code == "JT"


def test_no_numbers_left_names_shop_and_company_and_takes_nothing(app, world, login):
    shop_a = world["shops"]["seller1"]
    exhaust(app, shop_a, "ZTO")
    courier = login("courier1")
    page = courier.get(f"/courier/queue?shop={shop_a}").get_data(as_text=True)
    assert "李记茶庄 Li&#39;s Tea has no ZTO Express numbers left" in page
    ids = pending_ids(app, shop_a, 3)
    response = print_job(courier, ids, query=f"?shop={shop_a}")
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "李记茶庄 Li&#39;s Tea has no ZTO Express numbers left" in text and "Nothing was printed" in text
    # The selection stays ticked, and every order of that shop is marked as what stopped the job.
    for order_id in ids:
        culprit_row = rf'<tr class="table-danger culprit"[^>]*>\s*<td>(?:<label[^>]*>)?<input [^>]*value="{order_id}"'
        assert re.search(culprit_row + r"[^>]*checked>", text)
    assert waybill_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Order.status == OrderStatus.LABELLED)) == 0


def test_a_refused_job_keeps_the_selection_and_marks_the_culprit(app, world, login):
    shop_a = world["shops"]["seller1"]
    ids = pending_ids(app, shop_a, 2)
    flagged = flagged_id(app, shop_a)
    response = print_job(login("courier1"), [*ids, flagged], query=f"?shop={shop_a}")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "must fix it first" in text
    for order_id in ids:  # still ticked, not blamed
        row = re.search(rf"<tr[^>]*>\s*<td>(?:<label[^>]*>)?<input [^>]*value=\"{order_id}\"[^>]*>", text)[0]
        assert "checked" in row and "culprit" not in row
    assert re.search(r'<tr class="table-danger culprit"[^>]*>\s*<td><i class="bi bi-x-octagon', text)
    assert text.count("culprit") == 1
    assert waybill_count(app) == 0


# Big jobs are confirmed first -----------------------------------------------------------------


def test_more_than_100_labels_are_confirmed_before_any_number_is_taken(app, world, login):
    shop_a = world["shops"]["seller1"]
    ids = pending_ids(app, shop_a, 120)
    assert len(ids) == 120
    courier = login("courier1")
    asked = print_job(courier, ids)
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Print 120 labels with 中通快递?" in page
    assert '<input type="hidden" name="confirm_count" value="120">' in page
    assert sorted(int(i) for i in re.findall(r'name="order_ids" value="(\d+)"', page)) == sorted(ids)
    assert waybill_count(app) == 0
    # A count that does not match (the selection changed) asks again.
    assert print_job(courier, ids, confirm_count="100").status_code == 200
    assert waybill_count(app) == 0
    done = print_job(courier, ids, confirm_count="120")
    assert done.status_code == 302 and done.headers["Location"].endswith("/summary")
    assert waybill_count(app) == 120
    # 100 labels or fewer: no question.
    assert print_job(courier, pending_ids(app, shop_a, 5)).status_code == 302


def test_all_pending_in_this_shop_goes_through_the_same_confirmation(app, world, login):
    shop_a = world["shops"]["seller1"]
    courier = login("courier1")
    data = {"company": "ZTO", "size": "100x150", "scope": "shop", "shop": str(shop_a)}
    asked = courier.post(f"/courier/print-jobs?shop={shop_a}", data=data)
    assert asked.status_code == 200 and 'id="print-confirm"' in asked.get_data(as_text=True)
    assert waybill_count(app) == 0
    page = asked.get_data(as_text=True)
    ids = re.findall(r'name="order_ids" value="(\d+)"', page)
    count = re.search(r'name="confirm_count" value="(\d+)"', page)[1]
    assert len(ids) == int(count) > 100
    confirmed = {**data, "scope": "selected", "order_ids": ids, "confirm_count": count}
    done = courier.post(f"/courier/print-jobs?shop={shop_a}", data=confirmed)
    assert done.status_code == 302
    assert waybill_count(app) == int(count)


# The job's page --------------------------------------------------------------------------------


@pytest.fixture
def job(app, world, login):
    """courier1's job of 4 labels in seller1's shop: (client, job id, tracking numbers in print order)."""
    courier = login("courier1")
    ids = pending_ids(app, world["shops"]["seller1"], 4)
    response = print_job(courier, ids)
    job_id = int(re.search(r"/print-jobs/(\d+)/summary$", response.headers["Location"])[1])
    with app.app_context():
        numbers = list(
            db.session.scalars(
                select(Waybill.tracking_no)
                .join(PrintedLabel, PrintedLabel.waybill_id == Waybill.id)
                .where(PrintedLabel.job_id == job_id)
                .order_by(PrintedLabel.position)
            )
        )
    return courier, job_id, numbers


def test_the_job_page_links_back_and_to_every_rendering(app, job):
    courier, job_id, numbers = job
    page = courier.get(f"/courier/print-jobs/{job_id}/summary")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/courier/queue"' in html
    assert f'href="/courier/print-jobs/{job_id}"' in html  # open the labels to print
    assert '<dd class="col-sm-8" id="job-count">4</dd>' in html
    assert "李记茶庄 Li&#39;s Tea (4)" in html and "中通快递 ZTO Express" in html and "100×150 mm" in html
    from pypdf import PdfReader

    for suffix, mimetype in (
        ("", "text/html"),
        (".pdf", "application/pdf"),
        (".zpl", "application/zpl"),
        (".tspl", "application/tspl"),
    ):
        url = f"/courier/print-jobs/{job_id}{suffix}"
        assert f'href="{url}"' in html, suffix
        rendered = courier.get(url)
        assert rendered.status_code == 200 and rendered.mimetype == mimetype, suffix
        assert rendered.headers["Cache-Control"] == "no-store"
    assert len(PdfReader(io.BytesIO(courier.get(f"/courier/print-jobs/{job_id}.pdf").data)).pages) == 4
    tspl = courier.get(f"/courier/print-jobs/{job_id}.tspl")
    assert tspl.headers["Content-Disposition"] == f'attachment; filename="labels-{job_id}.tspl"'
    assert all(number in tspl.data.decode("gb18030") for number in numbers)


def test_reprint_pages_with_the_same_numbers_and_the_reason_logged(app, job):
    courier, job_id, numbers = job
    response = courier.post(f"/courier/print-jobs/{job_id}/reprint", data={"pages": "1, 3-4", "reason": "paper jam"})
    assert response.status_code == 302
    again = int(re.search(r"/print-jobs/(\d+)/summary$", response.headers["Location"])[1])
    assert again != job_id
    page = courier.get(response.headers["Location"]).get_data(as_text=True)
    assert "paper jam" in page and '<dd class="col-sm-8" id="job-count">3</dd>' in page
    with app.app_context():
        reprint = db.session.get(PrintJob, again)
        assert (reprint.reprint_reason, reprint.label_count, reprint.size) == ("paper jam", 3, "100x150")
        assert [label.tracking_no for label in printing.job_labels(reprint)] == [numbers[0], numbers[2], numbers[3]]
        assert db.session.scalar(select(func.count()).select_from(Waybill)) == 4  # no new number
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "labels_reprinted"))
        assert event.details["reason"] == "paper jam" and event.details["pages"] == [1, 3, 4]
        assert event.details["source_job"] == job_id and event.target == f"job {again}"


@pytest.mark.parametrize(
    "pages, named",
    [
        ("0", "no page 0"),
        ("9999", "no page 9999"),
        ("2-9999", "no page 9999"),
        ("1-", "“1-”"),
        ("a", "“a”"),
        ("3-1", "“3-1” runs backwards"),
        ("", "Give the pages"),
    ],
)
def test_reprint_pages_outside_the_job_are_refused_naming_the_page(app, job, pages, named):
    courier, job_id, _numbers = job
    response = courier.post(f"/courier/print-jobs/{job_id}/reprint", data={"pages": pages, "reason": "jam"})
    assert response.status_code == 422
    assert named in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 1


def test_reprint_pages_needs_a_reason_and_a_label_still_valid(app, job):
    courier, job_id, numbers = job
    no_reason = courier.post(f"/courier/print-jobs/{job_id}/reprint", data={"pages": "1", "reason": " "})
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
    with app.app_context():
        waybill = db.session.scalar(select(Waybill).where(Waybill.tracking_no == numbers[1]))
        order = waybill.order
        printing.void_label(order, actor=order.shop.owner, reason="torn")
        db.session.commit()
    voided = courier.post(f"/courier/print-jobs/{job_id}/reprint", data={"pages": "1-2", "reason": "jam"})
    assert voided.status_code == 409 and "Page 2" in voided.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 1


def test_parse_pages():
    assert printing.parse_pages("1,3,5-7", 8) == [1, 3, 5, 6, 7]
    assert printing.parse_pages(" 2 ，1、 2 - 3 ,", 3) == [1, 2, 3]
    for text in ("0", "9", "1-", "-1", "a", "1.5", "2-1", ",", "1--2"):
        with pytest.raises(InvalidDataError):
            printing.parse_pages(text, 8)


def test_redeemed_invitation_names_the_company(app, world):
    ids = pending_ids(app, world["shops"]["seller2"], 1)
    with app.app_context():
        shop = db.session.get(CourierGrant, world["grants"]["courier1:seller2"]).shop
        seller = shop.owner
        company = waybills.company_by_code("EMS")
        _invitation, code = shops.create_invitation(
            shop, actor=seller, terms=shops.GrantTerms(print_labels=True, company=company)
        )
        courier2 = db.session.get(CourierGrant, world["grants"]["courier2:seller1"]).user
        grant = shops.redeem_invitation(courier2, code)
        assert grant.company.code == "EMS"
        with pytest.raises(ConflictError, match="no EMS / China Post number range"):
            printing.create_print_job(courier2, ids, allowed_shop_ids={shop.id}, company=None, size="100x150")


def test_the_new_pages_in_chinese(app, world, login, job):
    courier, job_id, _numbers = job
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    summary = courier.get(f"/courier/print-jobs/{job_id}/summary", headers=zh).get_data(as_text=True)
    assert "打开面单进行打印" in summary and "重新打印指定页" in summary and "返回待办队列" in summary
    assert "Open the labels" not in summary and "Reprint pages" not in summary
    bad = courier.post(f"/courier/print-jobs/{job_id}/reprint", data={"pages": "9999", "reason": "x"}, headers=zh)
    assert "本打印任务没有第 9999 页" in bad.get_data(as_text=True)
    confirm = print_job(courier, pending_ids(app, world["shops"]["seller1"], 101), headers=zh)
    assert "用中通快递打印 101 张面单？" in confirm.get_data(as_text=True)
    exhaust(app, world["shops"]["seller1"], "ZTO")
    queue = courier.get(f"/courier/queue?shop={world['shops']['seller1']}", headers=zh).get_data(as_text=True)
    assert "李记茶庄 Li&#39;s Tea 的 ZTO Express 单号已用完" in queue
