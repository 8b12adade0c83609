"""orders._insert_many (the import's bulk INSERT) stores exactly what a Core executemany stores."""

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite

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


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.timezones()),
)
def test_utc_text_is_sqlites_datetime_text(moment):
    """The fast converter _insert_many uses for UTC datetimes on SQLite writes what SQLAlchemy writes."""
    dialect = sqlite.dialect()
    column = Order.__table__.c.paid_at
    reference = column.type.dialect_impl(dialect).bind_processor(dialect)
    assert orders._bind_processor(column, dialect) is orders._utc_text
    assert orders._utc_text(moment) == reference(moment)


def test_utc_text_refuses_a_naive_datetime_as_the_column_type_does():
    with pytest.raises(ValueError, match="naive"):
        orders._utc_text(datetime(2024, 6, 18, 12, 0))
    assert orders._utc_text(None) is None
