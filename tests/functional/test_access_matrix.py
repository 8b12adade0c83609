"""Every URL rule, as every role and as a stranger, with this shop's and other shops' object ids.

The expectations below are written independently of portal/permissions.py: if the policy and this
table disagree, or a new endpoint appears that is in neither, the test fails.
"""

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import (
    CourierGrant,
    Evidence,
    ExemptionReport,
    ImportBatch,
    Invitation,
    Order,
    Pickup,
    PrintBatch,
    PrintedLabel,
    ShopStaff,
    User,
)
from portal.services import (
    accounts,
    anomalies,
    batches,
    exemptions,
    memberships,
    orders,
    printing,
    scanning,
    shops,
    tokens,
    waybills,
)

ROLES = ["anonymous", "stranger", "operator", "seller1", "seller2", "packer1", "packer2", "courier1", "courier2"]
OWNER = {"A": "seller1", "B": "seller2"}
STAFF = {"A": {"packer1"}, "B": {"packer2"}}
COURIERS = {"A": {"courier1", "courier2"}, "B": {"courier1"}}
SIGNED_IN = set(ROLES) - {"anonymous"}


def owner(shop):
    return {OWNER[shop]}


def printers(shop):
    """The shop's own people who print: its owner, and packer2, whose print switch is on in B (packer1's is off)."""
    return owner(shop) | ({"packer2"} if shop == "B" else set())


EXPECTED = {
    "static": lambda shop: set(ROLES),
    "public.index": lambda shop: SIGNED_IN,  # sends strangers to the sign-in page
    "public.healthz": lambda shop: set(ROLES),
    "public.favicon": lambda shop: set(ROLES),
    "public.set_language": lambda shop: set(ROLES),
    "auth.login": lambda shop: set(ROLES),
    "auth.register": lambda shop: set(ROLES),
    "auth.logout": lambda shop: SIGNED_IN,
    "account.home": lambda shop: SIGNED_IN,
    "account.password": lambda shop: SIGNED_IN,
    "account.redeem": lambda shop: SIGNED_IN,
    "account.companies": lambda shop: SIGNED_IN,
    "account.membership_leave": lambda shop: {"stranger"},  # the membership's own person only
    # A label's QR code: the shop's people, couriers with the view switch there, and confirmed staff of the company
    # whose number is on it (stranger is J&T staff, and shop B's labels carry J&T numbers).
    "reveal.show": lambda shop: owner(shop) | STAFF[shop] | {"courier1"} | ({"stranger"} if shop == "B" else set()),
    "seller.shop_new": lambda shop: SIGNED_IN,
    "seller.shop_home": owner,
    "seller.shop_settings": owner,
    "seller.grants": owner,
    "seller.grant_new_login": owner,
    "seller.grant_edit": owner,
    "seller.grant_revoke": owner,
    "seller.invitation_new": owner,
    "seller.invitation_cancel": owner,
    "seller.staff": owner,
    "seller.staff_remove": owner,
    "seller.audit_log": owner,
    "seller.orders_list": printers,
    "seller.orders_print": printers,
    "seller.orders_pack": printers,
    "seller.orders_export": owner,
    "seller.orders_cancel": owner,
    "seller.orders_exemption": owner,
    "seller.batch_new": printers,
    "seller.batches_list": lambda shop: owner(shop) | STAFF[shop],
    "seller.batch": lambda shop: owner(shop) | STAFF[shop],
    "seller.batch_slips": lambda shop: owner(shop) | STAFF[shop],
    "seller.batch_print": printers,
    "seller.batch_close": printers,
    # courier1's jobs: the shop's owner opens them; a printing packer only their own.
    "seller.print_job": owner,
    "seller.print_job_pdf": owner,
    "seller.print_job_zpl": owner,
    "seller.print_job_tspl": owner,
    "seller.print_job_summary": owner,
    "seller.print_job_reprint": owner,
    "seller.order_label": printers,
    "seller.order_reprint": printers,
    "seller.order_void": printers,
    "seller.staff_print": owner,
    "seller.order_new": owner,
    "seller.order_detail": owner,
    "seller.order_cancel": owner,
    "seller.import_upload": owner,
    "seller.import_preview": owner,
    "seller.import_progress": owner,
    "seller.import_confirm": owner,
    "seller.import_discard": owner,
    "seller.tracking_upload": owner,
    "seller.tracking_preview": owner,
    "seller.tracking_confirm": owner,
    "api.orders_upsert": owner,
    "api.orders_list": owner,
    "api.tracking_register": owner,
    "api.openapi": lambda shop: set(ROLES),
    "api.docs": lambda shop: set(ROLES),
    "api.shops_list": lambda shop: SIGNED_IN,
    "api.queue_list": lambda shop: {"courier1", "courier2"},
    "api.print_job_create": lambda shop: {"courier1", "courier2"},
    "api.print_job_get": lambda shop: {"courier1"},  # the job's own courier only
    "api.print_job_html": lambda shop: {"courier1"},
    "api.print_job_pdf": lambda shop: {"courier1"},
    "api.print_job_zpl": lambda shop: {"courier1"},
    "api.orders_ship": lambda shop: {"courier1", "courier2"},
    "account.token_list": lambda shop: SIGNED_IN,
    "account.token_revoke": lambda shop: {"stranger"},  # the token's own user only
    "staff.shop_home": lambda shop: owner(shop) | STAFF[shop],
    # Anyone signed in: a person with no grant is shown how to redeem an invitation code.
    "courier.home": lambda shop: SIGNED_IN,
    "courier.shop_home": lambda shop: COURIERS[shop],
    "courier.queue": lambda shop: {"courier1", "courier2"},
    "courier.print_job_new": lambda shop: {"courier1", "courier2"},
    "courier.print_job": lambda shop: {"courier1"},  # the job's own courier only
    "courier.print_job_pdf": lambda shop: {"courier1"},
    "courier.print_job_zpl": lambda shop: {"courier1"},
    "courier.print_job_tspl": lambda shop: {"courier1"},
    "courier.print_job_summary": lambda shop: {"courier1"},  # the job's page: downloads, summary, reprint pages
    "courier.print_job_reprint": lambda shop: {"courier1"},
    "courier.order_detail": lambda shop: COURIERS[shop],
    "courier.order_reprint": lambda shop: COURIERS[shop],  # both hold the print switch in A
    "courier.order_void": lambda shop: COURIERS[shop],
    "seller.ranges": owner,
    "seller.pickups": owner,
    "seller.handover": owner,
    "staff.packing": lambda shop: owner(shop) | STAFF[shop],
    "staff.packing_scan": lambda shop: owner(shop) | STAFF[shop],
    "staff.packing_confirm": lambda shop: owner(shop) | STAFF[shop],
    "staff.packing_item": lambda shop: owner(shop) | STAFF[shop],
    "staff.pick_list": lambda shop: owner(shop) | STAFF[shop],
    "staff.packing_slip": lambda shop: owner(shop) | STAFF[shop],
    "courier.pickup_start": lambda shop: {"courier1", "courier2"},
    "courier.pickup": lambda shop: {"courier1"},  # the pickup's own courier only
    "courier.pickup_scan": lambda shop: {"courier1"},
    "courier.pickup_scans": lambda shop: {"courier1"},  # the offline queue's batch of scans
    "courier.pickup_end": lambda shop: {"courier1"},
    "courier.handover": lambda shop: {"courier1"},
    "courier.ship_selected": lambda shop: {"courier1", "courier2"},
    "courier.export_addresses": lambda shop: {"courier1", "courier2"},
    "operator.companies": lambda shop: {"operator"},
    "operator.home": lambda shop: {"operator"},
    "operator.shop_figures": lambda shop: {"operator"},
    "operator.shop_figures_csv": lambda shop: {"operator"},
    "operator.users": lambda shop: {"operator"},
    "operator.user_toggle": lambda shop: {"operator"},
    "operator.shops": lambda shop: {"operator"},
    "operator.audit_log": lambda shop: {"operator"},
    "operator.regions": lambda shop: {"operator"},
    "operator.region_children": lambda shop: {"operator"},
    "operator.region_end": lambda shop: {"operator"},
    "operator.regions_import": lambda shop: {"operator"},
    "operator.regions_import_confirm": lambda shop: {"operator"},
    "operator.reports": lambda shop: {"operator"},
    "operator.report": lambda shop: {"operator"},
    "operator.report_evidence": lambda shop: {"operator"},
    "operator.memberships": lambda shop: {"operator"},
    "operator.membership_confirm": lambda shop: {"operator"},
    "operator.membership_revoke": lambda shop: {"operator"},
    "seller.exemptions": owner,
    "seller.exemption_one_click": owner,
    "seller.exemption_new": owner,
    "seller.exemption_report": owner,
    "seller.exemption_evidence": owner,
    "courier.outlet": lambda shop: {"courier1", "courier2"},
    "courier.outlet_end": lambda shop: {"courier1"},  # the declaration's own courier only
    "api.outlet_declarations_list": lambda shop: {"courier1", "courier2"},
    "api.outlet_declarations_create": lambda shop: {"courier1", "courier2"},
    "api.outlet_declaration_end": lambda shop: {"courier1"},
    "operator.proposals": lambda shop: {"operator"},
    "operator.proposals_detect": lambda shop: {"operator"},
    "operator.proposal": lambda shop: {"operator"},
    "operator.proposal_publish": lambda shop: {"operator"},
    "operator.proposal_dismiss": lambda shop: {"operator"},
}

ENDPOINTS = sorted({rule.endpoint for rule in create_app(TestConfig).url_map.iter_rules()})


def test_every_endpoint_has_an_expectation():
    assert set(ENDPOINTS) == set(EXPECTED)


ORDER = {
    "platform_order_no": "3921000000000000001",
    "recipient_name": "张伟",
    "recipient_phone": "13812345678",
    "address": "浙江省 杭州市 西湖区 文三路 90 号 5 幢 302 室(310012)",
    "paid_at": "2026-11-25 10:00:00",
    "item_title": "西湖龙井 250g",
}


# The demo world's ranges: ZTO in shop A (seller1), J&T in shop B (seller2); indexed by "is shop A".
RANGE = {True: "ZTO", False: "JT"}


def build_world(app):
    """Demo world plus a stranger, a packer in shop B and an open invitation in each shop."""
    from portal.services import demo
    from tests.conftest import DEMO_PASSWORD

    with app.app_context():
        demo.seed(DEMO_PASSWORD, with_orders=False)
        stranger = accounts.create_user("stranger", DEMO_PASSWORD)
        token_id = tokens.create_token(stranger, name="matrix", scopes=["shops:read"]).token.id
        seller1, seller2 = accounts.find_user("seller1"), accounts.find_user("seller2")
        shop_a, shop_b = shops.shops_owned_by(seller1)[0], shops.shops_owned_by(seller2)[0]
        shops.add_staff_login(shop_b, actor=seller2, username="packer2", one_time_password=DEMO_PASSWORD)
        courier1 = accounts.find_user("courier1")
        packer2 = accounts.find_user("packer2")
        packer2.must_change_password = False
        db.session.scalar(select(ShopStaff).where(ShopStaff.user_id == packer2.id)).print_labels = True
        shops.create_invitation(shop_a, actor=seller1, terms=shops.GrantTerms(print_labels=True))
        shops.create_invitation(shop_b, actor=seller2, terms=shops.GrantTerms(print_labels=True))
        for shop, seller in ((shop_a, seller1), (shop_b, seller2)):
            db.session.add(ImportBatch(shop_id=shop.id, created_by_id=seller.id, file_name="x.csv"))
            db.session.add(ImportBatch(shop_id=shop.id, kind="tracking", created_by_id=seller.id, file_name="t.csv"))
            first_order = orders.create_order(shop, ORDER, actor=seller)
            batches.create_batch(shop, [first_order.id], actor=seller)
            printable = orders.create_order(shop, {**ORDER, "platform_order_no": "3921000000000000002"}, actor=seller)
            scanning.start_pickup(shop, courier=courier1)
            printing.create_print_job(
                courier1,
                [printable.id],
                allowed_shop_ids={shop.id},
                company=waybills.company_by_code(RANGE[shop is shop_a]),
                size="100x150",
            )
            evidence = FileStorage(io.BytesIO(b"%PDF-1.4 notice"), filename="notice.pdf")
            exemptions.file_manual(
                shop,
                [ORDER["platform_order_no"]],
                "Roads closed by the county.",
                [exemptions.EvidenceUpload("notice", evidence)],
                actor=seller,
            )
        operator = accounts.find_user("operator")
        region = exemptions.publish_region(
            {
                "code": "330106",
                "applies_to": "destination",
                "level": "one_click",
                "source": "other",
                "valid_from": "2026-01-01 00:00",
                "valid_to": "2036-01-01 00:00",
            },
            actor=operator,
        )
        # stranger asked to be ZTO staff (the membership the URLs name) and is confirmed J&T staff.
        membership_id = memberships.request_membership(stranger, waybills.company_by_code("ZTO")).id
        # courier1 declares that their outlet cannot deliver to 海淀区; the detection proposes it.
        declaration_id = anomalies.declare(
            {"kind": "no_delivery", "codes": ["110108"], "reason": "weather"}, actor=courier1
        )[0].id
        proposal_id = anomalies.detect().opened[0].id
        memberships.confirm(memberships.request_membership(stranger, waybills.company_by_code("JT")), actor=operator)
        db.session.commit()

        def first(model, shop):
            return db.session.scalars(select(model).where(model.shop_id == shop.id).order_by(model.id)).first().id

        objects = {}
        for name, shop in (("A", shop_a), ("B", shop_b)):
            objects[name] = {
                "shop_id": shop.id,
                # courier2's grant in A, courier1's in B: revoking it leaves courier1's A grant alone
                "grant_id": db.session.scalars(
                    select(CourierGrant).where(CourierGrant.shop_id == shop.id).order_by(CourierGrant.id.desc())
                )
                .first()
                .id,
                "invitation_id": first(Invitation, shop),
                "staff_id": first(ShopStaff, shop),
                "order_id": first(Order, shop),
                "print_batch_id": first(PrintBatch, shop),
                "batch_id": db.session.scalar(
                    select(ImportBatch.id).where(ImportBatch.shop_id == shop.id, ImportBatch.kind == "orders")
                ),
                "tracking_id": db.session.scalar(
                    select(ImportBatch.id).where(ImportBatch.shop_id == shop.id, ImportBatch.kind == "tracking")
                ),
                "pickup_id": db.session.scalar(select(Pickup.id).where(Pickup.shop_id == shop.id)),
                "job_id": db.session.scalar(
                    select(PrintedLabel.job_id).where(PrintedLabel.shop_id == shop.id).order_by(PrintedLabel.id)
                ),
                "user_id": db.session.scalar(select(User.id).where(User.username == "stranger")),
                "token_id": token_id,
                "region_id": region.id,
                "report_id": first(ExemptionReport, shop),
                "evidence_id": db.session.scalar(
                    select(Evidence.id).join(ExemptionReport).where(ExemptionReport.shop_id == shop.id)
                ),
                "membership_id": membership_id,
                "declaration_id": declaration_id,
                "proposal_id": proposal_id,
                "token": db.session.scalar(
                    select(PrintedLabel.reveal_token).where(PrintedLabel.shop_id == shop.id).order_by(PrintedLabel.id)
                ),
                "code": "zh_CN",
                "filename": "css/portal.css",
            }
        return objects


def url_for_rule(rule, values: dict) -> str:
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def client_for(app, role: str):
    client = app.test_client()
    if role != "anonymous":
        with app.app_context():
            session_id = accounts.find_user(role).get_id()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
    return client


def reached(role: str, response) -> bool:
    """True unless refused: 403/404, or (not signed in) sent to the sign-in page."""
    if response.status_code in (401, 403, 404):
        return False
    redirect = response.status_code in (301, 302, 303, 307)
    return not (role == "anonymous" and redirect and "/login" in response.headers.get("Location", ""))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_access(app, endpoint):
    objects = build_world(app)
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]
    cases = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for shop in ("A", "B"):
                allowed = EXPECTED[endpoint](shop)
                for role in ROLES:
                    cases.append((role in allowed, role, method, url_for_rule(rule, objects[shop]), shop))
            # Shop A in the path with shop B's objects: nobody may reach it.
            mixed = {**objects["B"], "shop_id": objects["A"]["shop_id"]}
            if "shop_id" in rule.arguments and rule.arguments & {
                "grant_id",
                "invitation_id",
                "staff_id",
                "order_id",
                "batch_id",
                "report_id",
                "evidence_id",
                "print_batch_id",
                "job_id",
            }:
                for role in ROLES:
                    cases.append((False, role, method, url_for_rule(rule, mixed), "A/B"))
    # Refusals first: they must change nothing, and an allowed POST may (revoke, remove).
    cases.sort(key=lambda case: case[0])
    failures = []
    for allowed, role, method, url, shop in cases:
        response = client_for(app, role).open(url, method=method)
        assert response.status_code < 500, (role, method, url, response.status_code)
        if reached(role, response) != allowed:
            failures.append(
                f"{role} {method} {url} (shop {shop}): {response.status_code}, expected "
                f"{'allowed' if allowed else 'refused'}"
            )
        if not allowed and role != "anonymous":
            assert response.status_code in (403, 404), (role, method, url, response.status_code)
    assert not failures, "\n".join(failures)
