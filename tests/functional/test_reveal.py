"""A label's QR code through the pages: who reads the hidden details, the same 404 for everyone else, the hourly
limit, dead codes; asking to be a courier company's staff and the operator deciding."""

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import (
    AuditEvent,
    CompanyMembership,
    MembershipStatus,
    Order,
    OrderStatus,
    PrintedLabel,
)
from portal.models.base import utcnow
from portal.services import accounts, memberships, orders, printing, retention, shops, waybills
from tests.conftest import DEMO_PASSWORD

PHONE = "13812345678"
_order_numbers = itertools.count(3921000000000000101)


def print_label(app, owner: str = "seller1", company: str = "ZTO") -> dict:
    """The shop's owner prints one new order with ``company``'s numbers (method 2: the shop's own printer and
    ranges, so no grant's company is involved); the label's code, id, order and shop."""
    with app.app_context():
        seller = accounts.find_user(owner)
        shop = shops.shops_owned_by(seller)[0]
        order = orders.create_order(
            shop,
            {
                "platform_order_no": str(next(_order_numbers)),
                "recipient_name": "欧阳娜娜",
                "recipient_phone": PHONE,
                "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
                "paid_at": "2026-11-25 10:00:00",
                "item_title": "西湖龙井 250g",
            },
            actor=seller,
        )
        job = printing.create_print_job(
            seller,
            [order.id],
            allowed_shop_ids={shop.id},
            company=waybills.company_by_code(company),
            size="100x150",
        )
        label = db.session.scalar(select(PrintedLabel).where(PrintedLabel.job_id == job.id))
        db.session.commit()
        return {"token": label.reveal_token, "label_id": label.id, "order_id": order.id, "shop_id": shop.id}


def member(app, username: str, company: str, status: str = MembershipStatus.CONFIRMED) -> None:
    """A courier login with no grant at all, staff (or asking to be) of ``company``."""
    with app.app_context():
        user = accounts.find_user(username) or accounts.create_user(username, DEMO_PASSWORD)
        operator = accounts.find_user("operator")
        membership = memberships.request_membership(user, waybills.company_by_code(company))
        if status == MembershipStatus.CONFIRMED:
            memberships.confirm(membership, actor=operator)
        elif status == MembershipStatus.REVOKED:
            memberships.confirm(membership, actor=operator)
            memberships.revoke(membership, actor=operator)
        db.session.commit()


def reveals(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "recipient_revealed").order_by(AuditEvent.id)
            )
        )


@pytest.fixture
def label(app, world):
    return print_label(app)


def test_the_granted_courier_with_the_view_switch_reads_the_full_phone(app, label, login):
    page = login("courier1").get(f"/r/{label['token']}")
    assert page.status_code == 200
    assert PHONE in page.text and f'href="tel:{PHONE}"' in page.text
    assert "欧阳娜娜" in page.text and "5 幢 302 室" in page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    [event] = reveals(app)
    assert event.actor_id == accounts_id(app, "courier1")
    assert event.shop_id == label["shop_id"]
    assert event.details["as"] == "grant" and event.details["label"] == label["label_id"]
    with app.app_context():
        assert event.target == db.session.get(Order, label["order_id"]).platform_order_no


def test_company_staff_without_a_grant_in_the_shop_read_it(app, label, login):
    member(app, "outlet1", "ZTO")
    with app.app_context():
        assert shops.active_grants(accounts.find_user("outlet1")) == []
    page = login("outlet1").get(f"/r/{label['token']}")
    assert page.status_code == 200 and PHONE in page.text
    [event] = reveals(app)
    assert event.details == {
        "as": "company_staff",
        "label": label["label_id"],
        "tracking_no": event.details["tracking_no"],
    }
    assert event.actor_id == accounts_id(app, "outlet1")


@pytest.mark.parametrize("username", ["seller1", "packer1"])
def test_the_shops_own_people_read_it(app, label, login, username):
    page = login(username).get(f"/r/{label['token']}")
    assert page.status_code == 200 and PHONE in page.text
    assert [event.details["as"] for event in reveals(app)] == ["shop"]


def test_the_page_speaks_chinese(app, label, login):
    page = login("courier1").get(f"/r/{label['token']}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200 and '<html lang="zh-CN"' in page.text
    assert "本次查看已记录" in page.text and "This view is recorded" not in page.text


def not_found_body(client, token: str) -> str:
    response = client.get(f"/r/{token}")
    assert response.status_code == 404
    # The layout's CSRF tokens carry the second they were signed: pages a second apart differ only there.
    return re.sub(r'(name="csrf_token" value=")[^"]*', r"\1-", response.text.replace(token, "CODE"))


@pytest.mark.parametrize(
    "username",
    [
        "courier2",  # a grant in the shop without the view switch
        "other_company",  # confirmed staff of another company (YTO)
        "asking",  # asked to be ZTO staff; not confirmed
        "revoked",  # was ZTO staff; revoked
        "seller2",  # another shop's owner
        "operator",  # the operator is none of the three
    ],
)
def test_everyone_else_gets_the_unknown_code_page(app, label, login, username):
    member(app, "other_company", "YTO")
    member(app, "asking", "ZTO", MembershipStatus.REQUESTED)
    member(app, "revoked", "ZTO", MembershipStatus.REVOKED)
    client = login(username)
    refused = not_found_body(client, label["token"])
    unknown = not_found_body(client, "A" * len(label["token"]))
    malformed = not_found_body(client, "nope")
    assert refused == unknown == malformed
    assert PHONE not in refused and "欧阳" not in refused
    assert reveals(app) == []


def test_signed_out_the_code_asks_to_sign_in_then_opens(app, label, client):
    response = client.get(f"/r/{label['token']}")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/login?next=")
    assert label["token"] in response.headers["Location"]
    assert reveals(app) == []
    signed_in = client.post(
        response.headers["Location"],
        data={"username": "courier1", "password": DEMO_PASSWORD, "next": f"/r/{label['token']}"},
    )
    assert signed_in.headers["Location"].rstrip("?") == f"/r/{label['token']}"
    assert PHONE in client.get(signed_in.headers["Location"]).text


@pytest.fixture
def limited_app(app, world):
    """Another app on the same database with the limit on (Flask-Limiter reads its settings at init_app)."""
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        PORTAL_REVEAL_LIMIT="2 per hour",
    )
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def login_to(app, username: str):
    client = app.test_client()
    with app.app_context():
        session_id = accounts.find_user(username).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    return client


def test_past_the_hourly_limit_a_429_and_no_reveal(app, limited_app):
    codes = [print_label(app)["token"] for _ in range(3)]
    courier = login_to(limited_app, "courier1")
    assert [courier.get(f"/r/{code}").status_code for code in codes[:2]] == [200, 200]
    refused = courier.get(f"/r/{codes[2]}")
    assert refused.status_code == 429
    assert PHONE not in refused.text and "Retry-After" in refused.headers
    assert len(reveals(app)) == 2
    # The limit is per person: the shop's owner still reads the same label.
    assert login_to(limited_app, "seller1").get(f"/r/{codes[2]}").status_code == 200
    assert len(reveals(app)) == 3


def test_a_voided_label_is_dead_and_a_reprint_replaces_the_old_code(app, label, login):
    seller = login("seller1")
    with app.app_context():
        order = db.session.get(Order, label["order_id"])
        again = printing.reprint(order, actor=accounts.find_user("seller1"), reason="jammed", size="100x150")
        new_code = db.session.scalar(select(PrintedLabel.reveal_token).where(PrintedLabel.job_id == again.id))
        db.session.commit()
    assert new_code != label["token"]
    assert seller.get(f"/r/{label['token']}").status_code == 404  # the label that jammed
    assert seller.get(f"/r/{new_code}").status_code == 200
    with app.app_context():
        order = db.session.get(Order, label["order_id"])
        printing.void_label(order, actor=accounts.find_user("seller1"), reason="wrong parcel")
        db.session.commit()
    assert seller.get(f"/r/{new_code}").status_code == 404
    assert [event.details["label"] for event in reveals(app)] == [label["label_id"] + 1]


def test_a_cancelled_order_kills_its_code(app, label, login):
    with app.app_context():
        orders.cancel_order(db.session.get(Order, label["order_id"]), actor=accounts.find_user("seller1"))
        db.session.commit()
        assert db.session.scalar(select(func.count()).where(PrintedLabel.id == label["label_id"])) == 1
    assert login("seller1").get(f"/r/{label['token']}").status_code == 404


def ship(app, order_id: int, days_ago: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(status=OrderStatus.SHIPPED, shipped_at=utcnow() - timedelta(days=days_ago))
        )
        db.session.commit()


def test_couriers_read_it_only_within_the_shops_days_after_shipping(app, label, login):
    member(app, "outlet1", "ZTO")
    ship(app, label["order_id"], days_ago=2)
    assert login("outlet1").get(f"/r/{label['token']}").status_code == 200
    ship(app, label["order_id"], days_ago=30)  # the shop's detail_days is 7
    assert login("courier1").get(f"/r/{label['token']}").status_code == 404
    assert login("outlet1").get(f"/r/{label['token']}").status_code == 404
    assert login("seller1").get(f"/r/{label['token']}").status_code == 200  # the shop's own orders


def test_purging_the_orders_details_kills_its_code(app, label, login):
    ship(app, label["order_id"], days_ago=400)  # past the shop's 90 days
    with app.app_context():
        assert retention.purge_details().purged >= 1
        db.session.commit()
        assert db.session.get(Order, label["order_id"]).details_purged_at is not None
    seller = login("seller1")
    assert not_found_body(seller, label["token"]) == not_found_body(seller, "B" * len(label["token"]))
    assert reveals(app) == []


def test_the_labels_carry_the_code_as_an_absolute_url(app, label):
    with app.app_context():
        job = db.session.get(PrintedLabel, label["label_id"]).job
        with app.test_request_context("/", base_url="https://portal.test"):
            [data] = printing.job_labels(job)
        assert data.reveal_url == f"https://portal.test/r/{label['token']}"
        app.config["PORTAL_PUBLIC_URL"] = "https://portal.example.com/"
        with app.test_request_context("/", base_url="http://10.0.0.5:8000"):
            [data] = printing.job_labels(job)
        assert data.reveal_url == f"https://portal.example.com/r/{label['token']}"
        [data] = printing.job_labels(job)  # no request (a CLI run): no host to print, no QR code
        assert data.reveal_url == ""


def accounts_id(app, username: str) -> int:
    with app.app_context():
        return accounts.find_user(username).id


# Company staff: asking, confirming, revoking, leaving ----------------------------------------------


def membership(app, username: str) -> CompanyMembership:
    with app.app_context():
        return db.session.scalars(
            select(CompanyMembership)
            .where(CompanyMembership.user_id == accounts_id(app, username))
            .order_by(CompanyMembership.id.desc())
        ).first()


def actions(app, prefix: str = "membership_") -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
            )
        )


def test_a_courier_asks_and_the_operator_confirms_then_revokes(app, world, login, label):
    courier = login("courier2")
    page = courier.get("/account/companies")
    assert page.status_code == 200 and 'name="company"' in page.text
    response = courier.post("/account/companies", data={"company": "ZTO", "note": "西湖区 文三路网点"})
    assert response.headers["Location"] == "/account/companies"
    asked = membership(app, "courier2")
    assert asked.status == MembershipStatus.REQUESTED and asked.note == "西湖区 文三路网点"
    again = courier.post("/account/companies", data={"company": "ZTO"})
    assert again.status_code == 409 and "already asked" in again.text
    assert courier.get(f"/r/{label['token']}").status_code == 404  # not yet confirmed (and no view switch)

    operator = login("operator")
    listing = operator.get("/operator/company-staff")
    assert listing.status_code == 200 and "courier2" in listing.text and "西湖区 文三路网点" in listing.text
    operator.post(f"/operator/company-staff/{asked.id}/confirm")
    confirmed = membership(app, "courier2")
    assert confirmed.status == MembershipStatus.CONFIRMED
    assert confirmed.confirmed_by_id == accounts_id(app, "operator") and confirmed.confirmed_at is not None
    page = courier.get(f"/r/{label['token']}")
    assert page.status_code == 200 and PHONE in page.text
    assert reveals(app)[-1].details["as"] == "company_staff"

    operator.post(f"/operator/company-staff/{asked.id}/revoke")
    assert membership(app, "courier2").status == MembershipStatus.REVOKED
    assert courier.get(f"/r/{label['token']}").status_code == 404  # at the very next request
    assert actions(app) == ["membership_requested", "membership_confirmed", "membership_revoked"]
    # Asking again after an end is a new request.
    courier.post("/account/companies", data={"company": "ZTO"})
    assert membership(app, "courier2").id != asked.id


def test_a_person_leaves_their_own_membership_only(app, world, login):
    member(app, "outlet1", "ZTO")
    own = membership(app, "outlet1")
    assert login("courier1").post(f"/account/companies/{own.id}/leave").status_code == 404
    assert membership(app, "outlet1").status == MembershipStatus.CONFIRMED
    response = login("outlet1").post(f"/account/companies/{own.id}/leave")
    assert response.headers["Location"] == "/account/companies"
    ended = membership(app, "outlet1")
    assert ended.status == MembershipStatus.REVOKED and ended.revoked_by_id == accounts_id(app, "outlet1")
    assert actions(app)[-1] == "membership_left"


def test_the_pages_refuse_an_unknown_company(app, world, login):
    response = login("courier2").post("/account/companies", data={"company": "NOPE"})
    assert response.status_code == 422
    assert membership(app, "courier2") is None
