"""The demo world behind ``flask seed-demo``: stable usernames that documentation relies on."""

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CourierGrant, Order, OrderSource, Shop, ShopStaff, User
from portal.models.base import utcnow
from portal.services import accounts, shops, waybills
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
DEMO_SENDERS = {
    "seller1": ("李记茶庄", "0571-87651234", "浙江省 杭州市 西湖区 龙井路 1 号"),
    "seller2": ("小王数码", "0755-26781234", "广东省 深圳市 南山区 科技园 科兴路 11 号"),
}
# courier -> shops (by owner) and what the grant allows there.
DEMO_GRANTS = {
    "courier1": {
        "seller1": {"view_recipient": True, "export_addresses": True, "print_labels": True, "mark_shipped": True},
        "seller2": {"view_recipient": True, "print_labels": True, "mark_shipped": True},
    },
    "courier2": {"seller1": {"view_recipient": False, "print_labels": True, "mark_shipped": True}},
}
# courier -> shops (by owner) and the courier company named on the grant: whose numbers they print with.
# courier1's outlet takes ZTO and J&T parcels (many outlets serve several brands): one person, two companies.
DEMO_GRANT_COMPANIES = {"courier1": {"seller1": "ZTO", "seller2": "JT"}, "courier2": {"seller1": "YTO"}}


# Real places, invented streets and people: the demo's order addresses.
DEMO_ADDRESSES = [
    "浙江省 杭州市 西湖区 文三路 90 号东部软件园 5 幢 302 室(310012)",
    "浙江省 杭州市 临平区 南苑街道 藕花洲大街 128 号 2 单元 601(311100)",
    "上海 上海市 浦东新区 张杨路 500 号 12 楼 1203 室(200120)",
    "北京 北京市 朝阳区 建国路 88 号 SOHO 现代城 A 座 1503(100022)",
    "广东省 深圳市 南山区 科技园南区 高新南一道 6 号 3 栋 1701(518057)",
    "广东省 广州市 天河区 天河北路 233 号中信广场 42 楼(510620)",
    "广东省 东莞市 南城街道 鸿福路 106 号 B 座 803(523000)",
    "江苏省 南京市 鼓楼区 中山北路 30 号 2 单元 402(210008)",
    "江苏省 苏州市 工业园区 星湖街 328 号 15 幢 1102 室(215000)",
    "四川省 成都市 武侯区 人民南路四段 11 号 6 栋 2 单元 903(610041)",
    "湖北省 武汉市 洪山区 珞喻路 1037 号 8 栋 501(430074)",
    "湖北省 仙桃市 干河街道 仙桃大道 66 号 3 单元 202(433000)",
    "重庆 重庆市 渝中区 解放碑 民权路 28 号 2108(400010)",
    "天津 天津市 南开区 卫津路 94 号 4 号楼 302(300071)",
    "陕西省 西安市 雁塔区 小寨东路 126 号 1 单元 1501(710061)",
    "广西壮族自治区 南宁市 青秀区 民族大道 136 号 9 栋 702(530028)",
    "新疆维吾尔自治区 乌鲁木齐市 天山区 解放南路 45 号 3 单元 401(830002)",
    "云南省 大理白族自治州 大理市 下关镇 人民路 18 号 2 幢 302(671000)",
    "福建省 三明市 沙县区 凤岗街道 府东路 9 号 5 楼(365500)",
    "山东省 青岛市 市南区 香港中路 76 号 A 座 2306(266071)",
    "河南省 郑州市 金水区 花园路 39 号 2 单元 1202(450008)",
    "辽宁省 沈阳市 和平区 南京北街 206 号 1806 室(110001)",
    "吉林省 长春市 公主岭市 铁北街道 站前路 15 号 3 楼(136100)",
    "湖南省 长沙市 岳麓区 麓山南路 932 号 12 栋 305(410083)",
    "火星 乌托邦 平原 基地 1 号舱(000000)",
]
DEMO_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄婷", "周杰", "吴昊", "欧阳娜娜", "孙悦"]
DEMO_ITEMS = {
    "seller1": [("西湖龙井 明前特级 250g", "LJ-250"), ("安吉白茶 礼盒装", "AJ-BOX"), ("紫砂壶 300ml", "ZS-300")],
    "seller2": [("Type-C 快充数据线 1m", "TC-1M"), ("蓝牙耳机 降噪款", "BT-ANC"), ("20000mAh 充电宝", "PB-20K")],
}
ORDERS_PER_SHOP = 150


def _demo_orders(owner: str, rng: random.Random, now) -> list[dict]:
    rows = []
    for n in range(ORDERS_PER_SHOP):
        title, sku = rng.choice(DEMO_ITEMS[owner])
        rows.append(
            {
                "platform_order_no": f"{2026112600000000000 + n * 7919 + len(owner) * 13:019d}"[:19] + owner[-1],
                "buyer_nick": f"tb{rng.randrange(10**7, 10**8)}",
                "recipient_name": rng.choice(DEMO_NAMES),
                "recipient_phone": f"1{rng.choice('3456789')}{rng.randrange(10**8, 10**9)}",
                "address": DEMO_ADDRESSES[n % len(DEMO_ADDRESSES)],
                # Paid in the last three days: some overdue, some due soon, most on time.
                "paid_at": now - timedelta(minutes=rng.randrange(10, 72 * 60)),
                "items": [{"title": title, "sku": sku, "quantity": rng.choice([1, 1, 1, 2, 3])}],
                "buyer_message": rng.choice(["", "", "请尽快发货", "周末送货 谢谢"]),
            }
        )
    return rows


@dataclass
class SeedResult:
    created: int
    usernames: list[str]


def has_real_data() -> bool:
    """True when someone other than the demo users has a login."""
    query = select(func.count()).select_from(User).where(User.username.not_in(DEMO_USERS))
    return bool(db.session.scalar(query))


def seed(password: str, *, force: bool = False, with_orders: bool = True) -> SeedResult:
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
            sender_name, sender_phone, sender_address = DEMO_SENDERS[owner]
            shops.update_settings(
                shop,
                actor=users[owner],
                sender_name=sender_name,
                sender_phone=sender_phone,
                sender_address=sender_address,
            )
            created += 1
        shop_of[owner] = shop
    if db.session.scalar(select(ShopStaff).where(ShopStaff.user_id == users["packer1"].id)) is None:
        db.session.add(ShopStaff(shop=shop_of["seller1"], user=users["packer1"]))
        created += 1
    created += len(waybills.ensure_default_companies())
    for courier, grants in DEMO_GRANTS.items():
        for owner, permissions in grants.items():
            company = waybills.company_by_code(DEMO_GRANT_COMPANIES[courier][owner])
            grant = shops.active_grant(users[courier], shop_of[owner].id)
            if grant is None:
                db.session.add(
                    CourierGrant(
                        shop=shop_of[owner],
                        user=users[courier],
                        created_by_id=users[owner].id,
                        company=company,
                        **permissions,
                    )
                )
                created += 1
            elif grant.company_id is None:  # seeded before grants named their company
                grant.company = company
    db.session.flush()
    created += _seed_ranges(shop_of, users)
    if with_orders:
        created += _seed_orders(shop_of, users)
        created += _seed_exemptions(shop_of, users)
    return SeedResult(created=created, usernames=list(DEMO_USERS))


# Number ranges bought from courier companies: owner -> (company, first number, count).
DEMO_RANGES = {
    "seller1": [("ZTO", "73100000000001", 5000), ("YTO", "YT7100000000001", 2000)],
    "seller2": [("JT", "JT7200000000001", 3000)],
}


def _seed_ranges(shop_of: dict[str, Shop], users: dict[str, User]) -> int:
    """The courier registry, and a few number ranges per shop, once."""
    created = len(waybills.ensure_default_companies())
    for owner, ranges in DEMO_RANGES.items():
        shop = shop_of[owner]
        if waybills.ranges_of(shop):
            continue
        for code, start, count in ranges:
            company = waybills.company_by_code(code)
            waybills.create_range(shop, company, start=start, count=count, low_threshold=200, actor=users[owner])
            created += 1
    return created


def _seed_orders(shop_of: dict[str, Shop], users: dict[str, User]) -> int:
    """A few hundred orders with real Chinese addresses, once per shop."""
    from portal.services import orders

    created = 0
    rng = random.Random(2026)  # noqa: S311  (repeatable demo data, not secrets)
    now = utcnow()
    for owner, shop in shop_of.items():
        if db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id)):
            continue
        inputs = []
        for raw in _demo_orders(owner, rng, now):
            order_input, errors = orders.validate_order(raw)
            assert not errors, errors
            inputs.append(order_input)
        created += orders.save_orders(shop, inputs, actor=users[owner], source=OrderSource.IMPORT).created
    return created


# Anomaly regions of the demo: (code, applies to, level, source, days before now, days after, note).
DEMO_REGIONS = [
    ("650102", "destination", "auto", "health_notice", 1, 6, "乌鲁木齐市天山区临时管控，快递暂停收派。"),
    ("429004", "destination", "one_click", "outlet_status", 2, 5, "仙桃市多个快递网点暂停派送。"),
]


def _seed_exemptions(shop_of: dict[str, Shop], users: dict[str, User]) -> int:
    """Two anomaly regions (one automatic, one one-click) and a manual report waiting for review, once."""
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from portal.models import AnomalyRegion
    from portal.services import exemptions

    if db.session.scalar(select(func.count()).select_from(AnomalyRegion)):
        return 0
    now = utcnow()
    for code, applies_to, level, source, before, after, note in DEMO_REGIONS:
        exemptions.publish_region(
            {
                "code": code,
                "applies_to": applies_to,
                "level": level,
                "source": source,
                "valid_from": now - timedelta(days=before),
                "valid_to": now + timedelta(days=after),
                "note": note,
            },
            actor=users["operator"],
        )
    shop = shop_of["seller1"]
    late = db.session.scalars(
        select(Order.platform_order_no)
        .where(Order.shop_id == shop.id, Order.status == "pending", Order.exemption == "")
        .order_by(Order.ship_by)
        .limit(2)
    ).all()
    picture = io.BytesIO()
    Image.new("RGB", (320, 200), (230, 230, 230)).save(picture, format="PNG")
    picture.seek(0)
    exemptions.file_manual(
        shop,
        list(late),
        "暴雪封路，快递网点停止揽收两天（见网点通知）。",
        [exemptions.EvidenceUpload("outlet", FileStorage(picture, filename="网点通知.png"))],
        actor=users["seller1"],
    )
    return len(DEMO_REGIONS) + 1
