"""A generated world for anomaly detection: shops in several ship-from districts, 15 days of orders.

Each shop has ``per_day`` orders due in each of the last 15 days (day 0 = the last 24 hours). Normally they
are picked up two hours before their ship-by, one in ten late; in a ``stopped`` district nothing was picked up on
day 0 (the orders stay packed); on a ``holiday`` nothing was picked up anywhere on day 0.
"""

from datetime import datetime, timedelta

from sqlalchemy import insert

from portal.extensions import db
from portal.models import CourierGrant, Order, OrderStatus, Shop, User

# Hangzhou: 西湖区, 上城区 (its neighbour), 拱墅区; Shenzhen 南山区.
XIHU, SHANGCHENG, GONGSHU, NANSHAN = "330106", "330102", "330105", "440305"


def make_world(
    now: datetime,
    districts: dict[str, int],
    *,
    per_day: int = 10,
    stopped: tuple[str, ...] = (),
    holiday: bool = False,
    prefix: str = "w",
) -> dict[str, list[int]]:
    """Shops (``districts``: code -> how many shops) and their orders; returns the shop ids by district."""
    owner = User(username=f"{prefix}-owner", password_hash="x")
    db.session.add(owner)
    db.session.flush()
    shop_ids: dict[str, list[int]] = {}
    rows = []
    for code, count in districts.items():
        for n in range(count):
            shop = Shop(name=f"{prefix}-{code}-{n}", owner_id=owner.id, sender_region_code=code)
            db.session.add(shop)
            db.session.flush()
            shop_ids.setdefault(code, []).append(shop.id)
            for day in range(15):
                for k in range(per_day):
                    ship_by = now - timedelta(days=day) - timedelta(minutes=30 + k * (1380 // per_day))
                    stuck = day == 0 and (holiday or code in stopped)
                    late = k == 0 and not stuck  # one in ten picked up after its ship-by, every day
                    shipped_at = None if stuck else ship_by + (timedelta(hours=3) if late else -timedelta(hours=2))
                    rows.append(
                        {
                            "shop_id": shop.id,
                            "platform_order_no": f"{prefix}{shop.id}-{day}-{k}",
                            "status": OrderStatus.PACKED if stuck else OrderStatus.SHIPPED,
                            "paid_at": ship_by - timedelta(hours=48),
                            "ship_by": ship_by,
                            "shipped_at": shipped_at,
                            "province_code": "110000",
                            "city_code": "110100",
                            "district_code": "110108",
                        }
                    )
    if rows:
        db.session.execute(insert(Order), rows)
    return shop_ids


def grant(user: User, shop_id: int, company_id: int | None = None) -> CourierGrant:
    """An active grant with every switch on."""
    row = CourierGrant(
        shop_id=shop_id,
        user_id=user.id,
        view_recipient=True,
        export_addresses=True,
        print_labels=True,
        mark_shipped=True,
        company_id=company_id,
    )
    db.session.add(row)
    db.session.flush()
    return row
