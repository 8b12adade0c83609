"""Exemptions through the pages: anomaly regions, one-click and manual reports, review, evidence, region sheets."""

import io
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import func, select, update

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import (
    AnomalyRegion,
    AuditEvent,
    Evidence,
    ExemptionReport,
    ExemptionReportOrder,
    Order,
)
from portal.models.base import utcnow
from tests.exemption_samples import DAOLI, EXE, LONGSHA, NANGANG, PNG, png_claiming


def china(moment) -> str:
    """A datetime-local form value in China time."""
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def region_form(**overrides) -> dict:
    now = utcnow()
    return {
        "province": "230000",
        "city": "230100",
        "district": "230103",
        "applies_to": "destination",
        "level": "auto",
        "source": "health_notice",
        "valid_from": china(now - timedelta(days=1)),
        "valid_to": china(now + timedelta(days=2)),
        "note": "",
        **overrides,
    }


def api_orders(client, shop: int, specs: list[tuple[str, str, int]]) -> None:
    """New orders through the JSON API: (number, address, hours since payment)."""
    payload = [
        {
            "platform_order_no": number,
            "recipient_name": "王芳",
            "recipient_phone": "13900001111",
            "address": address,
            "paid_at": china(utcnow() - timedelta(hours=hours)).replace("T", " "),
            "item_title": "数据线",
        }
        for number, address, hours in specs
    ]
    response = client.post(f"/api/v1/shops/{shop}/orders", json=payload)
    assert response.status_code == 200, response.json
    assert response.json["created"] == len(specs)


def exemption(app, number: str) -> tuple[str, int | None, int | None]:
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.platform_order_no == number))
        return order.exemption, order.exempt_region_id, order.exemption_report_id


def order_id(app, number: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Order.id).where(Order.platform_order_no == number))


def stored(app) -> tuple:
    """Rows of every exemption table and the files under the uploads dir."""
    root = Path(app.config["PORTAL_UPLOAD_DIR"])
    with app.app_context():
        rows = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (AnomalyRegion, ExemptionReport, ExemptionReportOrder, Evidence)
        )
    return rows, sorted(str(p) for p in root.rglob("*") if p.is_file())


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def latest_report(app) -> ExemptionReport:
    with app.app_context():
        return db.session.scalar(select(ExemptionReport).order_by(ExemptionReport.id.desc()))


def manual_form(numbers: str, *files: tuple[str, bytes, str], reason: str = "Road closed by snow") -> dict:
    data = {"order_numbers": numbers, "reason": reason}
    for n, (kind, content, name) in enumerate(files):
        data[f"evidence-{n}-kind"] = kind
        data[f"evidence-{n}-file"] = (io.BytesIO(content), name)
    return data


def file_manual(client, shop: int, data: dict):
    return client.post(f"/shops/{shop}/exemptions/new", data=data, content_type="multipart/form-data")


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# Regions by form ---------------------------------------------------------------------------------


def test_region_pickers_follow_the_level_above(app, world, login):
    operator = login("operator")
    page = operator.get("/operator/regions")
    assert page.status_code == 200 and 'value="230000"' in page.text and 'id="region-form"' in page.text
    cities = operator.get("/operator/regions/children?province=230000")
    assert cities.status_code == 200 and 'value="230100"' in cities.text and 'value="230103"' not in cities.text
    districts = operator.get("/operator/regions/children?province=230000&city=230100")
    assert 'value="230103"' in districts.text and 'value="230202"' not in districts.text
    # A city not under the province is dropped, and so are its districts.
    stale = operator.get("/operator/regions/children?province=110000&city=230100")
    assert 'value="230103"' not in stale.text and 'value="110105"' not in stale.text
    assert login("seller1").get("/operator/regions/children?province=230000").status_code == 403


def test_auto_region_exempts_open_and_new_orders(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("OPEN-IN", NANGANG, 3), ("OPEN-OUT", DAOLI, 3), ("SHIPPED-IN", NANGANG, 3)])
    with app.app_context():
        db.session.execute(
            update(Order).where(Order.platform_order_no == "SHIPPED-IN").values(status="shipped", shipped_at=utcnow())
        )
        db.session.commit()
    operator = login("operator")
    response = operator.post("/operator/regions", data=region_form(note="<script>alert(1)</script>"))
    assert response.status_code == 302 and response.headers["Location"] == "/operator/regions"
    with app.app_context():
        region = db.session.scalar(select(AnomalyRegion).order_by(AnomalyRegion.id.desc()))
        assert (region.code, region.name, region.level) == ("230103", "黑龙江省 哈尔滨市 南岗区", "auto")
        # The form's times are China time.
        assert region.valid_to - region.valid_from == timedelta(days=3)
    assert exemption(app, "OPEN-IN") == ("auto", region.id, None)
    assert exemption(app, "OPEN-OUT") == ("", None, None)
    assert exemption(app, "SHIPPED-IN") == ("", None, None)
    listing = operator.get("/operator/regions").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert(1)" not in listing

    # Orders added afterwards: by the API, and by hand.
    api_orders(seller, shop, [("API-IN", NANGANG, 1), ("API-OUT", LONGSHA, 1)])
    assert exemption(app, "API-IN")[:2] == ("auto", region.id)
    assert exemption(app, "API-OUT")[0] == ""
    by_hand = seller.post(
        f"/shops/{shop}/orders/new",
        data={
            "platform_order_no": "HAND-IN",
            "recipient_name": "张伟",
            "recipient_phone": "13812345678",
            "address": NANGANG,
            "item_title": "茶",
            "quantity": "1",
            "paid_at": china(utcnow() - timedelta(hours=1)),
        },
    )
    assert by_hand.status_code == 302
    assert exemption(app, "HAND-IN")[:2] == ("auto", region.id)

    orders_page = text(seller.get(f"/shops/{shop}/orders?q=HAND-IN"))
    assert "Exempt (automatic)" in orders_page
    detail = text(seller.get(f"/shops/{shop}/orders/{order_id(app, 'OPEN-IN')}"))
    assert "Exempt (automatic)" in detail and "Report a late-shipment exemption" not in detail
    home = seller.get(f"/shops/{shop}")
    assert 'id="anomaly-panel"' in home.text and "黑龙江省 哈尔滨市 南岗区" in home.text
    assert "<script>alert(1)" not in seller.get(f"/shops/{shop}/exemptions").text


def test_bad_region_forms_are_refused_and_store_nothing(app, world, login):
    operator = login("operator")
    before = stored(app)
    exempt_before = audit_count(app, "region_published")
    now = utcnow()
    cases = [
        (
            {"valid_from": china(now + timedelta(days=2)), "valid_to": china(now)},
            "The window must end after it starts.",
        ),
        ({"valid_to": china(now - timedelta(days=1))}, "The window must end after it starts."),
        ({"province": "999999", "city": "", "district": ""}, "Not a valid choice"),
        ({"province": "", "city": "", "district": ""}, "Choose a province."),
        ({"level": "sometimes"}, "Not a valid choice"),
        ({"valid_from": "tomorrow"}, "Give a date and time such as 2026-11-26 08:00."),
        ({"valid_from": "0001-01-01T00:00"}, "Give a date and time such as 2026-11-26 08:00."),
        ({"valid_to": "9999-12-31T23:59"}, "Give a date and time such as 2026-11-26 08:00."),
    ]
    for overrides, message in cases:
        response = operator.post("/operator/regions", data=region_form(**overrides))
        assert response.status_code == 422, overrides
        assert message in text(response), (overrides, message)
    assert stored(app) == before
    assert audit_count(app, "region_published") == exempt_before
    # A district not under the chosen city is dropped: the city is published.
    assert operator.post("/operator/regions", data=region_form(district="230202")).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AnomalyRegion.code).order_by(AnomalyRegion.id.desc())) == "230100"


def test_region_can_be_ended_now(app, world, login):
    operator = login("operator")
    operator.post("/operator/regions", data=region_form())
    with app.app_context():
        region_id = db.session.scalar(select(AnomalyRegion.id).order_by(AnomalyRegion.id.desc()))
    end_url = f"/operator/regions/{region_id}/end"
    assert end_url in operator.get("/operator/regions").text
    assert login("seller1").post(end_url).status_code == 404
    assert operator.post(end_url).status_code == 302
    with app.app_context():
        assert db.session.get(AnomalyRegion, region_id).valid_to <= utcnow()
    assert end_url not in operator.get("/operator/regions").text
    assert audit_count(app, "region_ended") == 1
    assert operator.post("/operator/regions/999999/end").status_code == 404


# One-click -----------------------------------------------------------------------------------------


def test_one_click_offer_confirm_once(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("OC-1", LONGSHA, 2), ("OC-2", LONGSHA, 5), ("OC-OUT", DAOLI, 2)])
    operator = login("operator")
    assert (
        operator.post("/operator/regions", data=region_form(city="230200", district="", level="one_click")).status_code
        == 302
    )
    assert operator.post("/operator/regions", data=region_form(district="")).status_code == 302  # auto, Harbin
    with app.app_context():
        one_click, auto = db.session.scalars(select(AnomalyRegion.id).order_by(AnomalyRegion.id.desc()).limit(2)).all()[
            ::-1
        ]
    assert exemption(app, "OC-1")[0] == ""  # waits for the seller

    page = seller.get(f"/shops/{shop}/exemptions")
    assert page.status_code == 200
    offer = page.text.split('id="one-click"')[1].split('id="current-regions"')[0]
    assert "黑龙江省 齐齐哈尔市" in offer and "Confirm 2 orders" in offer
    assert "OC-1" in offer and "OC-2" in offer and "OC-OUT" not in offer  # the orders it would exempt
    assert f"/shops/{shop}/exemptions/one-click/{one_click}" in offer
    assert f"/one-click/{auto}" not in offer
    panel = text(seller.get(f"/shops/{shop}")).split('id="anomaly-panel"')[1].split("</div>")[0]
    assert re.search(r"黑龙江省 齐齐哈尔市 · One-click report · until [^<]* · 2 open orders inside", panel)

    # Other people cannot confirm it for the shop.
    assert login("seller1").post(f"/shops/{shop}/exemptions/one-click/{one_click}").status_code == 404
    assert login("courier1").post(f"/shops/{shop}/exemptions/one-click/{one_click}").status_code == 404
    assert exemption(app, "OC-1")[0] == ""

    confirmed = seller.post(f"/shops/{shop}/exemptions/one-click/{one_click}")
    assert confirmed.status_code == 302
    report = latest_report(app)
    assert confirmed.headers["Location"] == f"/shops/{shop}/exemptions/{report.id}"
    assert (report.kind, report.status, report.shop_id) == ("one_click", "approved", shop)
    for number in ("OC-1", "OC-2"):
        assert exemption(app, number) == ("one_click", one_click, report.id)
    assert exemption(app, "OC-OUT")[0] == "auto"  # the Harbin auto region, not the one-click one
    detail = text(seller.get(confirmed.headers["Location"]))
    assert "Approved" in detail and "OC-1" in detail and "Exempt (one-click)" in detail

    before = stored(app)
    again = seller.post(f"/shops/{shop}/exemptions/one-click/{one_click}")
    assert again.status_code == 409 and "No order of this shop is left to report" in text(again)
    not_one_click = seller.post(f"/shops/{shop}/exemptions/one-click/{auto}")
    assert not_one_click.status_code == 409 and "not open for one-click reports" in text(not_one_click)
    with app.app_context():
        db.session.execute(
            update(AnomalyRegion).where(AnomalyRegion.id == one_click).values(valid_to=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    api_orders(seller, shop, [("OC-3", LONGSHA, 30)])
    expired = seller.post(f"/shops/{shop}/exemptions/one-click/{one_click}")
    assert expired.status_code == 409 and "not open for one-click reports" in text(expired)
    assert stored(app)[0] == before[0]
    assert exemption(app, "OC-3")[0] == ""
    assert seller.post(f"/shops/{shop}/exemptions/one-click/999999").status_code == 404


# Manual reports and review -------------------------------------------------------------------------


def test_manual_report_review_and_approval(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("M-1", NANGANG, 60), ("M-2", DAOLI, 60)])
    with app.app_context():
        m1 = db.session.scalar(select(Order.id).where(Order.platform_order_no == "M-1"))
    prefilled = seller.get(f"/shops/{shop}/exemptions/new?ids={m1}")
    assert prefilled.status_code == 200 and "M-1</textarea>" in prefilled.text.replace("\r", "")
    response = file_manual(
        seller,
        shop,
        manual_form(
            "M-1\nM-2", ("outlet", PNG, "../../../etc/cron.d/网点通知.png"), reason="Snow <b>closed</b> the road"
        ),
    )
    assert response.status_code == 302
    report = latest_report(app)
    assert response.headers["Location"] == f"/shops/{shop}/exemptions/{report.id}"
    assert (report.kind, report.status) == ("manual", "pending")
    for number in ("M-1", "M-2"):
        assert exemption(app, number) == ("manual_pending", None, report.id)
    with app.app_context():
        evidence = db.session.scalar(select(Evidence).where(Evidence.report_id == report.id))
        assert (evidence.file_name, evidence.kind, evidence.content_type) == ("网点通知.png", "outlet", "image/png")
        path = (Path(app.config["PORTAL_UPLOAD_DIR"]) / "files" / evidence.storage_key).resolve()
        assert re.fullmatch(r"[0-9a-f]{32}", evidence.storage_key) and path.read_bytes() == PNG
        assert "static" not in path.parts and "etc" not in path.parts
    mine = text(seller.get(response.headers["Location"]))
    assert "Under review" in mine and "网点通知.png" in mine and "../" not in mine
    assert "&lt;b&gt;closed&lt;/b&gt;" in seller.get(response.headers["Location"]).text
    assert "Exemption under review" in text(seller.get(f"/shops/{shop}/orders?q=M-1"))
    assert "Exemption under review" in text(seller.get(f"/shops/{shop}/orders/{m1}"))

    # The operator's queue: oldest first (the demo's report was filed before ours).
    operator = login("operator")
    queue = operator.get("/operator/exemptions").text.split('id="review-queue"')[1].split("</table>")[0]
    ids = [int(n) for n in re.findall(r"/operator/exemptions/(\d+)\"", queue)]
    assert ids[-1] == report.id and len(ids) == 2 and ids[0] < report.id
    page = operator.get(f"/operator/exemptions/{report.id}")
    assert page.status_code == 200 and "M-2" in page.text and "&lt;b&gt;closed" in page.text
    evidence_url = f"/operator/exemptions/{report.id}/evidence/{evidence.id}"
    assert evidence_url in page.text

    approved = operator.post(f"/operator/exemptions/{report.id}", data={"comment": "", "approve": "Approve"})
    assert approved.status_code == 302
    for number in ("M-1", "M-2"):
        assert exemption(app, number)[0] == "manual_approved"
    assert audit_count(app, "exemption_approved") == 1
    before = stored(app)
    again = operator.post(f"/operator/exemptions/{report.id}", data={"comment": "no", "reject": "Reject"})
    assert again.status_code == 409 and "already been decided" in text(again)
    assert stored(app) == before and audit_count(app, "exemption_rejected") == 0
    assert exemption(app, "M-1")[0] == "manual_approved"
    assert latest_report(app).status == "approved"
    assert "Exempt (report approved)" in text(seller.get(f"/shops/{shop}/orders?q=M-1"))
    assert 'id="decision"' not in operator.get(f"/operator/exemptions/{report.id}").text


def test_evidence_is_shown_only_to_the_shop_and_the_operator_and_every_view_is_audited(app, world, login):
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop_b, [("E-1", NANGANG, 60)])
    file_manual(seller, shop_b, manual_form("E-1", ("notice", PNG, "notice.png")))
    report = latest_report(app)
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id).where(Evidence.report_id == report.id))
        other_report, other_evidence = db.session.execute(
            select(Evidence.report_id, Evidence.id).where(Evidence.report_id != report.id)
        ).one()
    seller_url = f"/shops/{shop_b}/exemptions/{report.id}/evidence/{evidence_id}"
    operator_url = f"/operator/exemptions/{report.id}/evidence/{evidence_id}"

    for client, url in ((seller, seller_url), (login("operator"), operator_url)):
        response = client.get(url)
        assert response.status_code == 200
        assert response.data == PNG and response.mimetype == "image/png"
        assert "no-store" in response.headers["Cache-Control"]
        assert "notice.png" in response.headers["Content-Disposition"]
    with app.app_context():
        viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_viewed")).all()
        assert [e.details["evidence_id"] for e in viewed] == [evidence_id, evidence_id]
        assert [e.actor_id for e in viewed] == [world["users"]["seller2"], world["users"]["operator"]]
        assert {e.shop_id for e in viewed} == {shop_b}

    other = login("seller1")
    refused = [
        (other, seller_url, 404),
        (other, f"/shops/{shop_a}/exemptions/{report.id}/evidence/{evidence_id}", 404),
        (other, f"/shops/{shop_b}/exemptions/{report.id}", 404),
        (other, operator_url, 404),
        (login("courier1"), seller_url, 404),
        (login("courier1"), operator_url, 404),
        (login("packer1"), seller_url, 404),
        # Evidence of another report, through this report's address.
        (seller, f"/shops/{shop_b}/exemptions/{report.id}/evidence/{other_evidence}", 404),
        (login("operator"), f"/operator/exemptions/{report.id}/evidence/{other_evidence}", 404),
        (login("operator"), f"/operator/exemptions/{other_report}/evidence/{evidence_id}", 404),
    ]
    for client, url, status in refused:
        assert client.get(url).status_code == status, url
    anonymous = app.test_client().get(seller_url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert audit_count(app, "evidence_viewed") == 2


def test_reject_needs_a_comment_and_the_seller_reads_it(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("R-1", NANGANG, 60)])
    file_manual(seller, shop, manual_form("R-1", ("area_data", PNG, "area.png")))
    report = latest_report(app)
    operator = login("operator")
    url = f"/operator/exemptions/{report.id}"
    refused = operator.post(url, data={"comment": "  ", "reject": "Reject"})
    assert refused.status_code == 422 and "Say why the report is rejected" in text(refused)
    assert latest_report(app).status == "pending" and exemption(app, "R-1")[0] == "manual_pending"
    comment = "<script>alert('x')</script> The notice is for another city."
    assert operator.post(url, data={"comment": comment, "reject": "Reject"}).status_code == 302
    decided = latest_report(app)
    assert (decided.status, decided.decision_comment) == ("rejected", comment)
    assert exemption(app, "R-1")[0] == "manual_rejected"

    page = seller.get(f"/shops/{shop}/exemptions/{report.id}")
    assert "Rejected" in page.text and "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text
    assert "&lt;script&gt;alert(" in seller.get(f"/shops/{shop}/exemptions").text
    assert "Exemption rejected" in text(seller.get(f"/shops/{shop}/orders?q=R-1"))
    assert "&lt;script&gt;alert(" in operator.get("/operator/exemptions").text

    before = stored(app), latest_report(app).decided_at
    twice = operator.post(url, data={"comment": "", "approve": "Approve"})
    assert twice.status_code == 409 and "already been decided" in text(twice)
    assert (stored(app), latest_report(app).decided_at) == before
    assert exemption(app, "R-1")[0] == "manual_rejected"
    # A rejected order can be reported again.
    assert file_manual(seller, shop, manual_form("R-1", ("notice", PNG, "n.png"))).status_code == 302
    assert exemption(app, "R-1")[0] == "manual_pending"


def test_bad_manual_reports_are_refused_and_nothing_is_stored(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("B-1", NANGANG, 60)])
    api_orders(login("seller1"), world["shops"]["seller1"], [("A-ONLY", NANGANG, 60)])
    big = PNG + b"\x00" * (50 * 1024 * 1024)
    cases = [
        (manual_form("B-1", ("notice", EXE, "photo.png")), "photo.png is not a PNG, JPEG or PDF file."),
        (manual_form("B-1", ("notice", big, "huge.png")), "huge.png is larger than 10 MB."),
        (
            manual_form("B-1", ("notice", png_claiming(50_000, 50_000), "bomb.png")),
            "bomb.png is a picture of more than 64 megapixels, the most accepted.",
        ),
        (
            manual_form("B-1", ("notice", png_claiming(10_000, 7_000), "wide.png")),
            "wide.png is a picture of more than 64 megapixels, the most accepted.",
        ),
        (manual_form("B-1", ("notice", PNG[:12] + b"\x00" * 40, "cut.png")), "cut.png is not a readable PNG or JPEG"),
        (manual_form("", ("notice", PNG, "n.png")), "Choose at least one order."),
        (manual_form(" \n , ", ("notice", PNG, "n.png")), "Choose at least one order."),
        (manual_form("A-ONLY", ("notice", PNG, "n.png")), "Not an order of this shop: A-ONLY."),
        (manual_form("B-1\nNOPE-404", ("notice", PNG, "n.png")), "Not an order of this shop: NOPE-404."),
        (manual_form("B-1"), "Attach at least one evidence file (PNG, JPEG or PDF)."),
        (manual_form("B-1", ("", PNG, "n.png")), "n.png: choose what the file shows."),
        (manual_form("B-1", ("notice", PNG, "n.png"), reason="abc"), "Say what happened (at least 5 characters)."),
    ]
    before, filed = stored(app), audit_count(app, "exemption_filed")
    for data, message in cases:
        response = file_manual(seller, shop, data)
        assert response.status_code == 422, message
        assert message in text(response), message
        assert stored(app) == before, message
    assert exemption(app, "B-1")[0] == "" and exemption(app, "A-ONLY")[0] == ""
    assert audit_count(app, "exemption_filed") == filed


def test_user_text_in_file_names_and_reasons_is_escaped(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("X-1", NANGANG, 60)])
    name = "/home/me/<img src=x onerror=alert(1)>.png"
    response = file_manual(
        seller, shop, manual_form("X-1", ("notice", PNG, name), reason="<script>alert(2)</script> road closed")
    )
    assert response.status_code == 302
    report = latest_report(app)
    with app.app_context():
        assert db.session.scalar(select(Evidence.file_name).where(Evidence.report_id == report.id)) == (
            "<img src=x onerror=alert(1)>.png"
        )
    for client, url in (
        (seller, f"/shops/{shop}/exemptions/{report.id}"),
        (login("operator"), f"/operator/exemptions/{report.id}"),
        (login("operator"), "/operator/exemptions"),
    ):
        page = client.get(url).text
        assert "<img src=x" not in page and "<script>alert(2)" not in page, url
        assert "&lt;script&gt;alert(2)" in page, url
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in seller.get(f"/shops/{shop}/exemptions/{report.id}").text


def test_manual_report_form_needs_the_csrf_token(app, world, login):
    csrf_app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        PORTAL_UPLOAD_DIR=app.config["PORTAL_UPLOAD_DIR"],
        WTF_CSRF_ENABLED=True,
    )
    try:
        shop = world["shops"]["seller2"]
        api_orders(login("seller2"), shop, [("C-1", NANGANG, 60)])
        client = csrf_app.test_client()
        with csrf_app.app_context():
            from portal.services.accounts import find_user

            session_id = find_user("seller2").get_id()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        before = stored(app)
        refused = file_manual(client, shop, manual_form("C-1", ("notice", PNG, "n.png")))
        assert refused.status_code in (400, 422)
        assert stored(app) == before and exemption(app, "C-1")[0] == ""
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(f"/shops/{shop}/exemptions/new").text)
        data = {**manual_form("C-1", ("notice", PNG, "n.png")), "csrf_token": token.group(1)}
        assert file_manual(client, shop, data).status_code == 302
        assert exemption(app, "C-1")[0] == "manual_pending"
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_late_shipment_rate_on_the_shop_home_leaves_exempt_orders_out(app, world, login):
    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("L-1", NANGANG, 80), ("L-2", DAOLI, 80), ("L-3", DAOLI, 80)])
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.platform_order_no.in_(["L-1", "L-2"]))
            .values(status="shipped", shipped_at=utcnow())
        )
        # L-3 shipped right at its deadline: on time.
        db.session.execute(
            update(Order).where(Order.platform_order_no == "L-3").values(status="shipped", shipped_at=Order.ship_by)
        )
        db.session.commit()
    home = seller.get(f"/shops/{shop}").text
    assert 'id="late-rate">66.7 %' in home
    with app.app_context():
        db.session.execute(update(Order).where(Order.platform_order_no == "L-1").values(exemption="manual_approved"))
        db.session.commit()
    home = seller.get(f"/shops/{shop}").text
    assert 'id="late-rate">50.0 %' in home
    exempt = re.search(r'id="exempt-count">(\d+) exempt orders are left out', home)
    with app.app_context():
        expected = db.session.scalar(
            select(func.count()).where(
                Order.shop_id == shop,
                Order.status == "shipped",
                Order.exemption.in_(("auto", "one_click", "manual_approved")),
            )
        )
    assert exempt and int(exempt.group(1)) == expected


# Region sheets ----------------------------------------------------------------------------------------


def upload_sheet(client, content: bytes, name: str = "regions.csv"):
    return client.post(
        "/operator/regions/import",
        data={"regions_file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def sheet_window() -> tuple[str, str]:
    now = utcnow() + timedelta(hours=8)
    return (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")


def test_region_sheet_preview_lists_errors_and_publishes_nothing(app, world, login):
    operator = login("operator")
    start, end = sheet_window()
    sheet = (
        "code,applies_to,level,valid_from,valid_to,source,note\n"
        f"230103,destination,auto,{start},{end},health_notice,fine\n"
        f"999999,destination,auto,{start},{end},other,\n"
        f"230100,everywhere,auto,{end},{start},other,\n"
    ).encode()
    before = stored(app)
    response = upload_sheet(operator, sheet)
    assert response.status_code == 422
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", text(response))
    assert [(row, column) for row, column, _message in errors] == [
        ("3", "code"),
        ("4", "applies_to"),
        ("4", "valid_to"),
    ]
    assert "999999 is not a division code" in errors[0][2]
    assert "The window must end after it starts." in errors[2][2]
    assert "upload_key" not in response.text and "/operator/regions/import/confirm" not in response.text
    assert stored(app) == before  # the upload was discarded too
    empty = upload_sheet(operator, b"")
    assert empty.status_code == 422 and "The file is empty." in text(empty)
    assert stored(app) == before


def test_region_sheet_in_gbk_is_previewed_then_published_whole(app, world, login):
    shop = world["shops"]["seller2"]
    api_orders(login("seller2"), shop, [("SHEET-1", NANGANG, 3)])
    operator = login("operator")
    start, end = sheet_window()
    sheet = (
        "区划代码,适用于,级别,开始时间,结束时间,来源,备注\n"
        f"230103,目的地,自动,{start},{end},卫健委通知,南岗区临时管控\n"
        f"230200,两者,一键报备,{start},{end},网点状态,\n"
    ).encode("gbk")
    before = stored(app)
    preview = upload_sheet(operator, sheet, "异常地区.csv")
    assert preview.status_code == 200
    assert "南岗区临时管控" in preview.text and "Publish 2 regions" in preview.text
    assert stored(app)[0] == before[0] and exemption(app, "SHEET-1")[0] == ""
    key = re.search(r'name="upload_key"[^>]*value="([0-9a-f]{32})"', preview.text).group(1)
    file_name = re.search(r'name="file_name"[^>]*value="([^"]*)"', preview.text).group(1)
    confirmed = operator.post("/operator/regions/import/confirm", data={"upload_key": key, "file_name": file_name})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/operator/regions"
    with app.app_context():
        codes = db.session.scalars(select(AnomalyRegion.code).order_by(AnomalyRegion.id.desc()).limit(2)).all()
        assert sorted(codes) == ["230103", "230200"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "regions_imported"))
        assert event.target == "异常地区.csv" and event.details == {"regions": 2, "exempted": 1}
    assert stored(app)[0][0] == before[0][0] + 2
    assert exemption(app, "SHEET-1")[0] == "auto"
    assert stored(app)[1] == before[1]  # the sheet is not kept
    # The same preview cannot be published twice, and a key is never a path.
    for data in ({"upload_key": key}, {"upload_key": "../../etc"}, {}):
        again = operator.post("/operator/regions/import/confirm", data=data)
        assert again.status_code == 302 and again.headers["Location"] == "/operator/regions/import"
    assert stored(app)[0][0] == before[0][0] + 2
    assert login("seller1").post("/operator/regions/import", data={}).status_code == 403


def test_region_sheet_with_a_long_file_name_can_be_confirmed(app, world, login):
    operator = login("operator")
    start, end = sheet_window()
    sheet = f"code,applies_to,level,valid_from,valid_to,source\n230103,origin,auto,{start},{end},other\n".encode()
    preview = upload_sheet(operator, sheet, "地" * 250 + ".csv")
    assert preview.status_code == 200
    key = re.search(r'name="upload_key"[^>]*value="([0-9a-f]{32})"', preview.text).group(1)
    file_name = unescape(re.search(r'name="file_name"[^>]*value="([^"]*)"', preview.text).group(1))
    confirmed = operator.post("/operator/regions/import/confirm", data={"upload_key": key, "file_name": file_name})
    assert confirmed.headers["Location"] == "/operator/regions"
    with app.app_context():
        assert db.session.scalar(select(AnomalyRegion.code).order_by(AnomalyRegion.id.desc())) == "230103"


def test_evidence_files_are_removed_when_the_report_cannot_be_committed(app, world, login, monkeypatch):
    """The database goes away at commit: a 503, and neither the report nor its files stay behind."""
    from sqlalchemy.exc import OperationalError

    shop = world["shops"]["seller2"]
    seller = login("seller2")
    api_orders(seller, shop, [("C-1", NANGANG, 60)])
    before = stored(app)

    def commit():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", commit, raising=False)
    response = file_manual(seller, shop, manual_form("C-1", ("notice", PNG, "n.png")))
    monkeypatch.undo()
    assert response.status_code == 503
    assert stored(app) == before
    assert exemption(app, "C-1")[0] == ""
