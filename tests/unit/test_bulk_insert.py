"""orders._insert_many (the import's bulk INSERT) stores exactly what a Core executemany stores."""

from sqlalchemy import insert, select, text

from portal.extensions import db
from portal.models import Order, OrderStatus
from portal.models.base import utcnow
from portal.services import accounts, orders, shops


def _row(shop_id: int, number: str, now) -> dict:
    return {
        "shop_id": shop_id,
        "platform_order_no": number,
        "status": OrderStatus.PENDING,
        "recipient_name": "张伟",
        "address_flagged": True,
        "amount_cents": 12345,
        "paid_at": now,
        "ship_by": now,
        "created_at": now,
        "updated_at": now,
    }


def test_insert_many_matches_core(app):
    with app.app_context():
        user = accounts.create_user("bulkseller", "bulk-password-2024")
        shop = shops.create_shop(user, "Bulk")
        now = utcnow()
        orders._insert_many(Order.__table__, [_row(shop.id, "FAST1", now)])
        db.session.execute(insert(Order.__table__), [_row(shop.id, "CORE1", now)])
        columns = [c.name for c in Order.__table__.columns if c.name not in ("id", "platform_order_no")]
        quoted = ", ".join(f'"{name}"' for name in columns)
        raw = {
            number: db.session.execute(
                text(f'SELECT {quoted} FROM "order" WHERE platform_order_no = :no'),  # noqa: S608 (column names)
                {"no": number},
            ).one()
            for number in ("FAST1", "CORE1")
        }
        assert raw["FAST1"] == raw["CORE1"]  # same stored text for datetimes, booleans and defaults
        loaded = db.session.scalars(select(Order).where(Order.platform_order_no == "FAST1")).one()
        assert loaded.paid_at == now and loaded.address_flagged is True and loaded.courier_company == ""
        db.session.rollback()
