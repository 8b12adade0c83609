"""Couriers declare their outlet's status through pages and API: where they may, which windows, ending, who sees it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, OutletDeclaration
from portal.models.base import utcnow
from tests.conftest import ids

XIHU, NANSHAN = "330106", "440305"  # the ship-from districts of seller1's and seller2's demo shops
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def china(moment) -> str:
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def declaration(**overrides) -> dict:
    return {
        "kind": "no_pickup",
        "codes": [XIHU],
        "delivery_codes": "",
        "valid_from": "",
        "valid_to": china(utcnow() + timedelta(days=2)),
        "reason": "weather",
        "note": "台风停收",
        **overrides,
    }


def declarations(app) -> list[OutletDeclaration]:
    with app.app_context():
        return list(db.session.scalars(select(OutletDeclaration).order_by(OutletDeclaration.id)))


def test_the_page_offers_the_ship_from_districts_of_the_couriers_shops(world, login):
    page = login("courier2").get("/courier/outlet").get_data(as_text=True)
    assert f'value="{XIHU}"' in page and f'value="{NANSHAN}"' not in page
    both = login("courier1").get("/courier/outlet").get_data(as_text=True)
    assert f'value="{XIHU}"' in both and f'value="{NANSHAN}"' in both


def test_a_courier_declares_no_pickups_and_the_shops_and_the_operator_see_it(app, world, login):
    courier = login("courier2")
    response = courier.post("/courier/outlet", data=declaration())
    assert response.status_code in (302, 303) and response.headers["Location"].endswith("/courier/outlet")
    [made] = declarations(app)
    assert (made.kind, made.code, made.reason, made.note, made.ended_at) == (
        "no_pickup",
        XIHU,
        "weather",
        "台风停收",
        None,
    )
    assert made.valid_to is not None and made.valid_from <= utcnow()
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "outlet_declared"))
        assert event.shop_id == world["shops"]["seller1"] and event.actor_id == world["users"]["courier2"]
    # seller1's shop ships from there: its exemption panel names the outlet; seller2's does not.
    shop_a, shop_b = world["shops"]["seller1"], world["shops"]["seller2"]
    panel = login("seller1").get(f"/shops/{shop_a}/exemptions").get_data(as_text=True)
    assert 'id="outlet-declarations"' in panel and "No pickups from" in panel and "台风停收" in panel
    assert "YTO" in panel or "圆通" in panel  # courier2's grant names YTO
    assert 'id="outlet-declarations"' not in login("seller2").get(f"/shops/{shop_b}/exemptions").get_data(as_text=True)
    # The operator sees it as a proposal once the detection runs.
    operator = login("operator")
    operator.post("/operator/proposals/detect")
    listing = operator.get("/operator/proposals").get_data(as_text=True)
    assert XIHU in listing and "Courier declarations" in listing


def test_pickups_may_be_declared_only_where_the_couriers_shops_ship_from(app, world, login):
    response = login("courier2").post("/courier/outlet", data=declaration(codes=[XIHU, NANSHAN]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "only declare pickups for the ship-from districts of the shops you work for" in page and NANSHAN in page
    assert declarations(app) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"valid_from": "@later", "valid_to": "@now+1h"}, "The window must end after it starts."),
        ({"valid_from": "@now-20h", "valid_to": "@now-2h"}, "The window has already ended."),
        ({"valid_to": "@now+91d"}, "A window can last at most 90 days"),
        ({"valid_from": "@now-3d"}, "The window cannot start more than a day ago."),
        ({"valid_to": "next tuesday"}, "Give a date and time such as"),
        ({"kind": "no_delivery", "delivery_codes": "999999"}, "Not a division code (GB/T 2260): 999999."),
        ({"codes": []}, "Choose at least one district."),
        ({"reason": "aliens"}, "Choose a reason"),
        ({"kind": "sideways"}, "Choose whether the outlet cannot pick up or cannot deliver."),
    ],
)
def test_bad_declarations_are_refused_with_a_message(app, world, login, overrides, message):
    now = utcnow()
    moments = {
        "@later": now + timedelta(days=2),
        "@now+1h": now + timedelta(hours=1),
        "@now-20h": now - timedelta(hours=20),
        "@now-2h": now - timedelta(hours=2),
        "@now+91d": now + timedelta(days=91),
        "@now-3d": now - timedelta(days=3),
    }
    data = declaration(
        **{k: china(moments[v]) if isinstance(v, str) and v in moments else v for k, v in overrides.items()}
    )
    response = login("courier1").post("/courier/outlet", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert declarations(app) == []


def test_deliveries_may_be_stopped_anywhere_and_open_ended(app, world, login):
    response = login("courier2").post(
        "/courier/outlet", data=declaration(kind="no_delivery", codes=[], delivery_codes="110108 230103", valid_to="")
    )
    assert response.status_code in (302, 303)
    made = declarations(app)
    assert [(d.kind, d.code, d.valid_to) for d in made] == [
        ("no_delivery", "110108", None),
        ("no_delivery", "230103", None),
    ]
    assert made[0].name.endswith("海淀区")


def test_a_declaration_ends_early_once_and_only_by_its_courier(app, world, login):
    login("courier2").post("/courier/outlet", data=declaration())
    [made] = declarations(app)
    assert login("courier1").post(f"/courier/outlet/{made.id}/end").status_code == 404
    assert login("courier1").post("/courier/outlet/99999/end").status_code == 404
    courier = login("courier2")
    response = courier.post(f"/courier/outlet/{made.id}/end", follow_redirects=True)
    assert "ended" in response.get_data(as_text=True)
    [ended] = declarations(app)
    assert ended.ended_at is not None
    again = courier.post(f"/courier/outlet/{made.id}/end", follow_redirects=True).get_data(as_text=True)
    assert "This declaration has already ended." in again
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "outlet_declaration_ended"))
    # An ended declaration no longer shows on the shop's panel.
    shop_a = world["shops"]["seller1"]
    assert 'id="outlet-declarations"' not in login("seller1").get(f"/shops/{shop_a}/exemptions").get_data(as_text=True)


def test_a_person_without_an_active_grant_cannot_declare(app, world, login):
    assert login("seller1").get("/courier/outlet").status_code == 403
    assert declarations(app) == []


def test_notes_are_escaped_and_the_page_reads_in_chinese(app, world, login):
    courier = login("courier2")
    courier.post("/courier/outlet", data=declaration(note="<script>alert(1)</script>"))
    page = courier.get("/courier/outlet").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    zh = courier.get("/courier/outlet", headers=ZH).get_data(as_text=True)
    assert "网点状态" in zh and "天气" in zh


def test_ids_fixture_still_matches(app, world):
    assert ids(app)["users"]["courier2"] == world["users"]["courier2"]


def bearer(app, username: str, scopes: list[str]) -> dict:
    from portal.services import accounts, tokens

    with app.app_context():
        secret = tokens.create_token(accounts.find_user(username), name="dispatch", scopes=scopes).secret
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_declares_lists_and_ends_like_the_form(app, world):
    client = app.test_client()
    auth = bearer(app, "courier2", ["outlets:write"])
    until = (utcnow() + timedelta(days=1)).isoformat()
    body = {"kind": "no_pickup", "codes": [XIHU], "valid_to": until, "reason": "outlet_closed", "note": "装修"}
    created = client.post("/api/v1/outlet-declarations", json=body, headers=auth)
    assert created.status_code == 201, created.text
    [item] = created.json["declarations"]
    assert (item["kind"], item["code"], item["company"], item["reason"], item["ended_at"]) == (
        "no_pickup",
        XIHU,
        "YTO",
        "outlet_closed",
        None,
    )
    listed = client.get("/api/v1/outlet-declarations", headers=auth).json["declarations"]
    assert [d["id"] for d in listed] == [item["id"]]
    ended = client.post(f"/api/v1/outlet-declarations/{item['id']}/end", headers=auth)
    assert ended.status_code == 200 and ended.json["ended_at"] is not None
    again = client.post(f"/api/v1/outlet-declarations/{item['id']}/end", headers=auth)
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    other = bearer(app, "courier1", ["outlets:write"])
    assert client.post(f"/api/v1/outlet-declarations/{item['id']}/end", headers=other).status_code == 404


def test_the_api_refuses_what_the_form_refuses(app, world):
    client = app.test_client()
    auth = bearer(app, "courier2", ["outlets:write"])
    cases = [
        ({"kind": "no_pickup", "codes": [NANSHAN], "reason": "weather"}, "codes", "ship-from districts"),
        ({"kind": "no_delivery", "codes": ["999999"], "reason": "weather"}, "codes", "999999"),
        (
            {"kind": "no_delivery", "codes": ["110108"], "reason": "weather", "valid_to": "2020-01-01T00:00:00+08:00"},
            "valid_to",
            "after it starts",
        ),
        (
            {
                "kind": "no_delivery",
                "codes": ["110108"],
                "reason": "weather",
                "valid_to": (utcnow() + timedelta(days=100)).isoformat(),
            },
            "valid_to",
            "at most 90 days",
        ),
    ]
    for body, field, words in cases:
        response = client.post("/api/v1/outlet-declarations", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        problem = response.json
        assert words in problem["errors"][field] or words in problem["detail"], problem
    bad_shape = client.post(
        "/api/v1/outlet-declarations", json={"kind": "no_pickup", "codes": ["abc"], "reason": "x"}, headers=auth
    )
    assert bad_shape.status_code == 422 and bad_shape.content_type == "application/problem+json"
    # A token without the scope is refused.
    narrow = bearer(app, "courier2", ["queue:read"])
    body = {"kind": "no_delivery", "codes": ["110108"], "reason": "weather"}
    assert client.post("/api/v1/outlet-declarations", json=body, headers=narrow).status_code == 403
    assert declarations(app) == []


def test_the_openapi_document_describes_the_declarations(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/outlet-declarations"])
    post = paths["/api/v1/outlet-declarations"]["post"]
    assert post["operationId"] == "createOutletDeclarations" and "201" in post["responses"]
    assert "/api/v1/outlet-declarations/{declaration_id}/end" in paths
