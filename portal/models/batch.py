"""Print batches (波次): a set of a shop's orders printed, picked and packed together; the order list's indexes."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.order import Order, OrderItem
from portal.models.shop import Shop
from portal.models.user import User


class BatchStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PrintBatch(Base):
    """A batch of one shop's orders; only services/batches.py assigns ``status``."""

    __tablename__ = "print_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.OPEN)
    closed_at: Mapped[datetime | None]
    order_count: Mapped[int] = mapped_column(default=0)
    # How the orders were chosen ("12 selected" or the filter), in the words of the person who made it.
    made_from: Mapped[str] = mapped_column(String(300), default="")

    shop: Mapped[Shop] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def number(self) -> str:
        """The batch number people say and write on the cart: B, the day it was made, its id."""
        return f"B{self.created_at:%y%m%d}-{self.id}"


class PrintBatchOrder(Base):
    """An order in a batch. ``open_order_id`` is the order's id while the batch is open and NULL once it closes:
    its unique constraint is "an order is in at most one open batch", enforced by the database, so two people
    making batches of overlapping orders at the same moment cannot both get one (NULLs never collide, on SQLite
    and PostgreSQL alike)."""

    __tablename__ = "print_batch_order"
    __table_args__ = (UniqueConstraint("batch_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("print_batch.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    open_order_id: Mapped[int | None] = mapped_column(unique=True)


# The order list's sorts and filters at 200,000 orders a shop (services/orders.order_list): each sort reads its
# page from an index in order instead of sorting the shop. Declared here, beside the list they serve.
Index("ix_order_shop_id_ship_by_id", Order.shop_id, Order.ship_by, Order.id)
Index("ix_order_shop_id_province_code_city_code", Order.shop_id, Order.province_code, Order.city_code, Order.id)
Index("ix_order_item_sku_order_id", OrderItem.sku, OrderItem.order_id)
