"""Each person lands on a home that fits them: operator, seller, packer, courier, and a courier with no grant."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Order, OrderStatus
from portal.services import accounts

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _open_counts(app, shop_id):
    with app.app_context():
        rows = db.session.execute(
            select(Order.status, func.count()).where(Order.shop_id == shop_id).group_by(Order.status)
        ).all()
        return dict(rows)


def test_the_seller_sees_the_shop_overview(app, world, login):
    shop = world["shops"]["seller1"]
    page = login("seller1").get("/account/").text
    assert 'id="my-shops"' in page and f'data-shop="{shop}"' in page
    pending = _open_counts(app, shop).get(OrderStatus.PENDING, 0)
    assert f'<strong class="fs-5">{pending}</strong> to print' in page
    assert "Open a shop" in page
    assert 'id="my-desks"' not in page and 'id="my-grants"' not in page and 'id="operator-home"' not in page
    assert 'id="redeem"' not in page  # a seller is not asked for a courier's invitation code


def test_the_packer_sees_the_packing_desk_and_batches(world, login):
    shop = world["shops"]["seller1"]
    page = login("packer1").get("/account/").text
    assert 'id="my-desks"' in page
    assert f'href="/staff/shops/{shop}/packing"' in page
    assert f'href="/shops/{shop}/batches"' in page  # today's batches
    assert "do not own a shop" not in page and "Open a shop" not in page
    assert 'id="my-shops"' not in page and 'id="redeem"' not in page


def test_the_courier_sees_todays_work_per_shop_and_the_pickup(app, world, login):
    page = login("courier1").get("/account/").text
    assert 'id="my-grants"' in page and 'href="/courier/pickup"' in page
    for owner in ("seller1", "seller2"):
        assert f'data-shop="{world["shops"][owner]}"' in page
    assert "Open a shop" not in page and "do not own a shop" not in page
    assert 'id="redeem"' in page  # another shop may invite them too
    home = login("courier1").get("/courier/").text
    shop = world["shops"]["seller1"]
    pending = _open_counts(app, shop).get(OrderStatus.PENDING, 0)
    card = home.split(f'data-shop="{shop}"', 1)[1].split("</div></div>", 1)[0]
    assert f'<strong class="fs-5">{pending}</strong> to print' in card


def test_the_operator_sees_the_review_queue_and_figures(world, login):
    page = login("operator").get("/account/").text
    assert 'id="operator-home"' in page and 'href="/operator/exemptions"' in page and 'href="/operator/figures"' in page
    assert "Open a shop" not in page
    console = login("operator").get("/operator/").text
    assert 'id="review-queue"' in console and 'id="shop-figures"' in console


def test_a_courier_with_no_grant_is_shown_how_to_get_one(app, world, login):
    with app.app_context():
        accounts.create_user("newcourier", "a-long-password-1")
        db.session.commit()
    courier = login("newcourier")
    home = courier.get("/courier/")
    assert home.status_code == 200  # not a 403 page
    assert 'id="no-grants"' in home.text and 'action="/account/invitation"' in home.text
    assert "invitation code" in home.text
    chinese = courier.get("/courier/", headers=ZH).text
    assert "邀请码" in chinese
    # The redeem form refuses a wrong code with a message, on the home page.
    refused = courier.post("/account/invitation", data={"code": "NOT-A-CODE"})
    assert refused.status_code in (404, 409, 422) and 'id="redeem"' in refused.text
    # A person with no role at all is offered both ways in.
    page = courier.get("/account/").text
    assert 'id="redeem"' in page and 'id="start-shop"' in page


def test_the_header_lists_the_shops_a_person_runs_and_only_those(world, login):
    """The session loader reads whether a person owns or staffs any shop; the header asks for the shops only then."""
    seller = login("seller1").get("/account/").text
    assert f'href="/shops/{world["shops"]["seller1"]}"' in seller and "李记茶庄 Li&#39;s Tea" in seller
    packer = login("packer1").get("/account/").text
    assert f'href="/staff/shops/{world["shops"]["seller1"]}"' in packer
    courier = login("courier1")
    assert 'class="bi bi-shop"' not in courier.get("/courier/queue").text
    opened = courier.post("/shops/new", data={"shop_name": "王师傅的小店"}, follow_redirects=True)
    assert opened.status_code == 200 and 'class="bi bi-shop"></i> 王师傅的小店' in opened.text
    assert "王师傅的小店" in courier.get("/courier/queue").text
