"""The demo world behind ``flask seed-demo``: stable usernames that documentation relies on."""

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CourierGrant, Shop, ShopStaff, User
from portal.services import accounts, shops
from portal.services.errors import ConflictError

DEMO_USERS = {
    "operator": "平台运营 Platform operator",
    "seller1": "李记茶庄 店主",
    "seller2": "小王数码 店主",
    "packer1": "打包员 张三",
    "courier1": "中通网点 王师傅",
    "courier2": "圆通网点 刘师傅",
}
DEMO_SHOPS = {"seller1": "李记茶庄 Li's Tea", "seller2": "小王数码 Wang Digital"}
# courier -> shops (by owner) and what the grant allows there.
DEMO_GRANTS = {
    "courier1": {
        "seller1": {"view_recipient": True, "export_addresses": True, "print_labels": True, "mark_shipped": True},
        "seller2": {"view_recipient": True, "print_labels": True, "mark_shipped": True},
    },
    "courier2": {"seller1": {"view_recipient": False, "print_labels": True, "mark_shipped": True}},
}


@dataclass
class SeedResult:
    created: int
    usernames: list[str]


def has_real_data() -> bool:
    """True when someone other than the demo users has a login."""
    query = select(func.count()).select_from(User).where(User.username.not_in(DEMO_USERS))
    return bool(db.session.scalar(query))


def seed(password: str, *, force: bool = False) -> SeedResult:
    """Create whatever part of the demo world is missing and set the demo password; safe to repeat.

    :raise ConflictError: the database holds real data and ``force`` is not set.
    :raise InvalidDataError: the password is too weak.
    """
    if has_real_data() and not force:
        raise ConflictError("this database holds real data; seed-demo will not touch it without --force")
    created = 0
    users = {}
    for username, name in DEMO_USERS.items():
        user = accounts.find_user(username)
        if user is None:
            user = accounts.create_user(username, password, display_name=name, is_operator=username == "operator")
            created += 1
        elif not accounts.passwords.verify_password(user.password_hash, password):
            accounts.passwords.check_strength(password, username)
            accounts.set_password(user, password, actor=None)
        user.must_change_password = False
        user.is_disabled = False
        users[username] = user
    shop_of = {}
    for owner, name in DEMO_SHOPS.items():
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == users[owner].id).order_by(Shop.id))
        if shop is None:
            shop = shops.create_shop(users[owner], name)
            created += 1
        shop_of[owner] = shop
    if db.session.scalar(select(ShopStaff).where(ShopStaff.user_id == users["packer1"].id)) is None:
        db.session.add(ShopStaff(shop=shop_of["seller1"], user=users["packer1"]))
        created += 1
    for courier, grants in DEMO_GRANTS.items():
        for owner, permissions in grants.items():
            if shops.active_grant(users[courier], shop_of[owner].id) is None:
                db.session.add(
                    CourierGrant(shop=shop_of[owner], user=users[courier], created_by_id=users[owner].id, **permissions)
                )
                created += 1
    db.session.flush()
    return SeedResult(created=created, usernames=list(DEMO_USERS))
