"""Courier sub-accounts: new logins, invitation codes, permissions, expiry, revocation."""

from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import GRANT_PERMISSIONS, AuditEvent, CourierGrant, Invitation, User
from portal.models.base import utcnow
from portal.services import accounts
from tests.conftest import DEMO_PASSWORD

NEW_LOGIN = {
    "login-username": "zto-wang",
    "login-display_name": "王师傅",
    "login-one_time_password": "Temp-pass-4821",
    "login-company": "ZTO",
    "login-print_labels": "y",
    "login-mark_shipped": "y",
}


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_new_courier_login_with_one_time_password(app, world, login):
    shop_a = world["shops"]["seller1"]
    seller = login("seller1")
    response = seller.post(f"/shops/{shop_a}/subaccounts/new-login", data=NEW_LOGIN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/shops/{shop_a}/subaccounts")
    with app.app_context():
        user = accounts.find_user("zto-wang")
        assert user.must_change_password
        grant = db.session.scalar(select(CourierGrant).where(CourierGrant.user_id == user.id))
        assert (grant.shop_id, grant.permissions) == (shop_a, ["print_labels", "mark_shipped"])

    page = seller.get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    assert "李记茶庄 Li&#39;s Tea:zto-wang" in page

    courier = login("zto-wang")
    assert courier.get("/courier/").headers["Location"].endswith("/account/password")
    changed = courier.post(
        "/account/password",
        data={"current_password": "Temp-pass-4821", "new_password": "my-own-pass-77", "confirm": "my-own-pass-77"},
    )
    assert changed.status_code == 302
    courier = login("zto-wang")
    shop_page = courier.get(f"/courier/shops/{shop_a}")
    assert shop_page.status_code == 200
    assert "Print labels" in shop_page.get_data(as_text=True)
    assert "View recipient details" not in shop_page.get_data(as_text=True)


def test_new_login_bad_input_changes_nothing(app, world, login):
    shop_a = world["shops"]["seller1"]
    seller = login("seller1")
    before = (count(app, User), count(app, CourierGrant))
    cases = [
        ({**NEW_LOGIN, "login-username": "courier2"}, "already taken"),
        ({**NEW_LOGIN, "login-username": "a b"}, "lower-case letters"),
        ({**NEW_LOGIN, "login-one_time_password": "short"}, "at least 10 characters"),
        ({**NEW_LOGIN, "login-one_time_password": "zto-wang-2024"}, "must not contain the username"),
        ({**NEW_LOGIN, "login-expires_on": "2020-01-01"}, "expiry date must be in the future"),
    ]
    for data, message in cases:
        response = seller.post(f"/shops/{shop_a}/subaccounts/new-login", data=data)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True)
    assert (count(app, User), count(app, CourierGrant)) == before


def test_grant_for_a_shop_you_do_not_own_is_refused(app, world, login):
    shop_b = world["shops"]["seller2"]
    response = login("seller1").post(f"/shops/{shop_b}/subaccounts/new-login", data=NEW_LOGIN)
    assert response.status_code == 404
    assert count(app, User, User.username == "zto-wang") == 0
    response = login("seller1").post(f"/shops/{shop_b}/invitations/new", data={"invite-print_labels": "y"})
    assert response.status_code == 404
    assert count(app, Invitation) == 0


def invite(seller, shop_id, **fields) -> str:
    fields = {"company": "ZTO", **fields}
    response = seller.post(f"/shops/{shop_id}/invitations/new", data={f"invite-{k}": v for k, v in fields.items()})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    start = page.index('<div class="code-once">') + len('<div class="code-once">')
    return page[start : page.index("</div>", start)].strip()


def test_invitation_code_turns_an_existing_courier_into_a_sub_account(app, world, login):
    shop_b = world["shops"]["seller2"]
    code = invite(login("seller2"), shop_b, view_recipient="y", mark_shipped="y")
    assert len(code) == 14
    with app.app_context():
        assert db.session.scalar(select(Invitation.code_hash)) != code  # stored hashed

    courier = login("courier2")
    response = courier.post("/account/invitation", data={"code": code.lower()})
    assert response.headers["Location"].endswith(f"/courier/shops/{shop_b}")
    page = courier.get(f"/courier/shops/{shop_b}").get_data(as_text=True)
    assert "View recipient details" in page and "Mark shipped" in page and "Print labels" not in page

    # Single use: a second redemption, by anyone, is refused.
    again = login("courier1").post("/account/invitation", data={"code": code})
    assert again.status_code == 422
    assert "already been used" in again.get_data(as_text=True)
    assert count(app, CourierGrant, CourierGrant.shop_id == shop_b) == 2


def test_invitation_bad_codes(app, world, login):
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    courier = login("courier2")
    unknown = courier.post("/account/invitation", data={"code": "AAAA-BBBB-CCCC"})
    assert unknown.status_code == 422
    assert "not valid" in unknown.get_data(as_text=True)

    expired_code = invite(login("seller2"), shop_b, print_labels="y")
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.expires_at - utcnow() > timedelta(hours=71)
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    expired = courier.post("/account/invitation", data={"code": expired_code})
    assert expired.status_code == 422
    assert "expired" in expired.get_data(as_text=True)

    own_code = invite(login("seller1"), shop_a, print_labels="y")
    own = login("seller1").post("/account/invitation", data={"code": own_code})
    assert own.status_code == 409
    already = login("courier2").post("/account/invitation", data={"code": own_code})
    assert already.status_code == 409
    assert "already has an active sub-account" in already.get_data(as_text=True)
    assert count(app, Invitation, Invitation.used_at.is_not(None)) == 0


def test_cancelled_invitation_cannot_be_used(app, world, login):
    shop_b = world["shops"]["seller2"]
    seller = login("seller2")
    code = invite(seller, shop_b, print_labels="y")
    with app.app_context():
        invitation_id = db.session.scalar(select(Invitation.id))
    assert seller.post(f"/shops/{shop_b}/invitations/{invitation_id}/cancel").status_code == 302
    response = login("courier2").post("/account/invitation", data={"code": code})
    assert response.status_code == 422
    assert "cancelled" in response.get_data(as_text=True)


def test_revoke_stops_the_very_next_request(app, world, login):
    shop_a = world["shops"]["seller1"]
    courier = login("courier1")
    assert courier.get(f"/courier/shops/{shop_a}").status_code == 200
    grant_id = world["grants"]["courier1:seller1"]
    assert login("seller1").post(f"/shops/{shop_a}/subaccounts/{grant_id}/revoke").status_code == 302
    assert courier.get(f"/courier/shops/{shop_a}").status_code == 404
    home = courier.get("/courier/").get_data(as_text=True)
    assert "Wang Digital" in home and "Li&#39;s Tea" not in home
    # Revoking twice is a conflict, not a second event.
    assert login("seller1").post(f"/shops/{shop_a}/subaccounts/{grant_id}/revoke").status_code == 409
    assert count(app, AuditEvent, AuditEvent.action == "grant_revoked") == 1


def test_expired_grant_stops_working_and_shows_expired(app, world, login):
    shop_a = world["shops"]["seller1"]
    courier = login("courier2")
    assert courier.get(f"/courier/shops/{shop_a}").status_code == 200
    with app.app_context():
        grant = db.session.get(CourierGrant, world["grants"]["courier2:seller1"])
        grant.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert courier.get(f"/courier/shops/{shop_a}").status_code == 404
    home = courier.get("/courier/")  # courier2 has no other shop: how to get one, not a 403
    assert home.status_code == 200 and 'id="no-grants"' in home.text
    page = login("seller1").get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    assert "expired" in page


def test_edit_grant_permissions_and_expiry(app, world, login):
    shop_a = world["shops"]["seller1"]
    grant_id = world["grants"]["courier1:seller1"]
    seller = login("seller1")
    form = seller.get(f"/shops/{shop_a}/subaccounts/{grant_id}")
    assert 'name="print_labels"' in form.get_data(as_text=True)
    response = seller.post(
        f"/shops/{shop_a}/subaccounts/{grant_id}",
        data={"company": "ZTO", "view_recipient": "y", "expires_on": "2099-12-31"},
    )
    assert response.status_code == 302
    with app.app_context():
        grant = db.session.get(CourierGrant, grant_id)
        assert grant.permissions == ["view_recipient"]
        assert grant.expires_at.year in (2099, 2100)
    page = login("courier1").get(f"/courier/shops/{shop_a}").get_data(as_text=True)
    assert "Print labels" not in page
    past = seller.post(f"/shops/{shop_a}/subaccounts/{grant_id}", data={"company": "ZTO", "expires_on": "2001-01-01"})
    assert past.status_code == 422


def test_sub_account_list_shows_handle_status_dates_and_last_use(app, world, login):
    shop_a = world["shops"]["seller1"]
    before = login("seller1").get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    assert "李记茶庄 Li&#39;s Tea:courier1" in before and "李记茶庄 Li&#39;s Tea:courier2" in before
    assert before.count("never") >= 2  # no expiry, never used
    login("courier1").get(f"/courier/shops/{shop_a}")
    with app.app_context():
        assert db.session.get(CourierGrant, world["grants"]["courier1:seller1"]).last_used_at is not None
        assert db.session.get(CourierGrant, world["grants"]["courier2:seller1"]).last_used_at is None


def test_shop_switcher_and_all_my_shops(app, world, login):
    page = login("courier1").get("/courier/").get_data(as_text=True)
    assert 'id="shop-switcher"' in page
    assert "All my shops" in page
    assert "Li&#39;s Tea" in page and "Wang Digital" in page
    single = login("seller2").get("/account/").get_data(as_text=True)
    assert 'id="shop-switcher"' not in single


def test_grant_changes_are_in_the_shop_audit_log(app, world, login):
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    seller = login("seller1")
    seller.post(f"/shops/{shop_a}/subaccounts/new-login", data=NEW_LOGIN)
    seller.post(f"/shops/{shop_a}/subaccounts/{world['grants']['courier2:seller1']}/revoke")
    login_client = seller.application.test_client()
    login_client.post("/login", data={"username": "courier1", "password": DEMO_PASSWORD})

    log_a = seller.get(f"/shops/{shop_a}/audit").get_data(as_text=True)
    for action in ('data-action="grant_created"', 'data-action="grant_revoked"', 'data-action="login"'):
        assert action in log_a
    log_b = login("seller2").get(f"/shops/{shop_b}/audit").get_data(as_text=True)
    assert "grant_created" not in log_b and "grant_revoked" not in log_b
    assert 'data-action="login"' in log_b  # courier1 works for shop B too
    operator_log = login("operator").get("/operator/audit?action=grant_revoked").get_data(as_text=True)
    assert "grant_revoked" in operator_log


def test_staff_login_for_a_packer(app, world, login):
    shop_a = world["shops"]["seller1"]
    seller = login("seller1")
    data = {"username": "packer9", "display_name": "", "one_time_password": "Temp-pass-4821"}
    assert seller.post(f"/shops/{shop_a}/staff", data=data).status_code == 302
    assert seller.post(f"/shops/{shop_a}/staff", data=data).status_code == 422  # taken
    with app.app_context():
        packer = accounts.find_user("packer9")
        packer.must_change_password = False
        db.session.commit()
    packer = login("packer9")
    assert packer.get(f"/staff/shops/{shop_a}").status_code == 200
    assert packer.get(f"/shops/{shop_a}").status_code == 404
    assert packer.get(f"/courier/shops/{shop_a}").status_code == 404


def test_a_grant_names_the_courier_company_the_person_works_for(app, world, login):
    shop_a = world["shops"]["seller1"]
    seller = login("seller1")
    form = seller.get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    assert 'name="login-company"' in form and 'name="invite-company"' in form
    assert '<option value="ZTO">中通快递 ZTO Express</option>' in form
    # Required, and only an active company.
    for company, message in (("", "Choose the courier company this person works for."), ("NOPE", "Choose a courier")):
        response = seller.post(f"/shops/{shop_a}/subaccounts/new-login", data={**NEW_LOGIN, "login-company": company})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(app, User, User.username == "zto-wang") == 0
    response = seller.post(f"/shops/{shop_a}/invitations/new", data={"invite-print_labels": "y"})
    assert response.status_code == 422 and count(app, Invitation) == 0

    assert seller.post(f"/shops/{shop_a}/subaccounts/new-login", data=NEW_LOGIN).status_code == 302
    with app.app_context():
        grant = db.session.scalar(select(CourierGrant).join(CourierGrant.user).where(User.username == "zto-wang"))
        assert grant.company.code == "ZTO"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "grant_created"))
        assert event.details["company"] == "ZTO"
    listed = seller.get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    assert "圆通速递" in listed and "中通快递" in listed  # courier2 (YTO), courier1 and zto-wang (ZTO)


def test_a_grant_without_a_company_asks_the_seller_to_choose(app, world, login):
    shop_a = world["shops"]["seller1"]
    grant_id = world["grants"]["courier2:seller1"]
    with app.app_context():
        db.session.get(CourierGrant, grant_id).company_id = None  # made before grants named their company
        db.session.commit()
    seller = login("seller1")
    assert "Not chosen yet" in seller.get(f"/shops/{shop_a}/subaccounts").get_data(as_text=True)
    page = seller.get(f"/shops/{shop_a}/subaccounts/{grant_id}").get_data(as_text=True)
    assert 'id="company-prompt"' in page and '<option selected value="">' in page
    assert seller.post(f"/shops/{shop_a}/subaccounts/{grant_id}", data={"print_labels": "y"}).status_code == 422
    saved = seller.post(f"/shops/{shop_a}/subaccounts/{grant_id}", data={"company": "YTO", "print_labels": "y"})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(CourierGrant, grant_id).company.code == "YTO"
    page = seller.get(f"/shops/{shop_a}/subaccounts/{grant_id}").get_data(as_text=True)
    assert 'id="company-prompt"' not in page and '<option selected value="YTO">' in page


def test_a_confirmed_member_of_a_courier_company_gets_grants_of_that_company_only(app, world, login):
    from portal.models import CourierCompany
    from portal.services import memberships

    shop_a, grant_id = world["shops"]["seller1"], world["grants"]["courier2:seller1"]
    with app.app_context():
        courier2, operator = (
            db.session.get(User, world["users"]["courier2"]),
            db.session.get(User, world["users"]["operator"]),
        )
        yto = db.session.scalar(select(CourierCompany).where(CourierCompany.code == "YTO"))
        memberships.confirm(memberships.request_membership(courier2, yto), actor=operator)
        db.session.commit()
    seller = login("seller1")
    refused = seller.post(f"/shops/{shop_a}/subaccounts/{grant_id}", data={"company": "ZTO", "print_labels": "y"})
    assert refused.status_code == 422
    assert "courier2 is confirmed staff of another courier company: a sub-account for them names YTO." in (
        refused.get_data(as_text=True)
    )
    with app.app_context():
        assert db.session.get(CourierGrant, grant_id).company.code == "YTO"
    assert seller.post(f"/shops/{shop_a}/subaccounts/{grant_id}", data={"company": "YTO"}).status_code == 302


def test_grants_as_plain_values_match_the_grants_and_are_read_again_after_a_commit(app, world):
    """active_grant_rows: the same shops, switches and companies as the grants themselves, in shop-name order; one
    statement per transaction of a request; a commit, or a grant changed in the request, reads them again."""
    from sqlalchemy import event

    from portal.services import shops

    statements = []
    with app.test_request_context("/courier/queue"):
        courier = accounts.find_user("courier1")
        grants = shops.active_grants(courier)

        def executed(_connection, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", executed)
        rows = shops.active_grant_rows(courier)
        assert len(rows) == len(grants) >= 2
        for row, grant in zip(rows, grants, strict=True):
            assert (row.id, row.shop_id, row.shop.id, row.shop.name, row.company_id) == (
                grant.id,
                grant.shop_id,
                grant.shop.id,
                grant.shop.name,
                grant.company_id,
            )
            assert row.permissions == grant.permissions
            assert [row.allows(p) for p in GRANT_PERMISSIONS] == [grant.allows(p) for p in GRANT_PERMISSIONS]
        assert shops.active_grant_rows(courier) == rows and len(statements) == 1  # the same transaction

        grants[0].print_labels = not grants[0].print_labels
        db.session.commit()
        changed = shops.active_grant_rows(courier)
        assert len(statements) == 3  # (the commit's UPDATE, then the read)
        assert changed[0].print_labels == grants[0].print_labels != rows[0].print_labels

        event.remove(db.engine, "before_cursor_execute", executed)
        shops.revoke_grant(grants[1], actor=grants[1].shop.owner)  # not flushed yet: the read flushes it first
        left = [row.shop_id for row in rows if row.shop_id != grants[1].shop_id]
        assert [row.shop_id for row in shops.active_grant_rows(courier)] == left
