"""Orders, their items and their history."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.shop import Shop


class OrderStatus(StrEnum):
    PENDING = "pending"
    LABELLED = "labelled"
    PACKED = "packed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class OrderSource(StrEnum):
    IMPORT = "import"
    API = "api"
    MANUAL = "manual"


class Order(Base):
    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_order_no"),
        Index("ix_order_shop_id_status_ship_by", "shop_id", "status", "ship_by"),
        Index("ix_order_shop_id_paid_at", "shop_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    platform_order_no: Mapped[str] = mapped_column(String(64))
    # Only services/orders.py assigns this.
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    source: Mapped[str] = mapped_column(String(16), default=OrderSource.MANUAL)
    buyer_nick: Mapped[str] = mapped_column(String(80), default="")
    recipient_name: Mapped[str] = mapped_column(String(80), default="")
    recipient_phone: Mapped[str] = mapped_column(String(32), default="")
    # The address as received, then its parts and GB/T 2260 codes ("" when not found).
    address_raw: Mapped[str] = mapped_column(String(400), default="")
    province: Mapped[str] = mapped_column(String(40), default="")
    city: Mapped[str] = mapped_column(String(40), default="")
    district: Mapped[str] = mapped_column(String(40), default="")
    address_detail: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    province_code: Mapped[str] = mapped_column(String(6), default="", index=True)
    city_code: Mapped[str] = mapped_column(String(6), default="")
    district_code: Mapped[str] = mapped_column(String(6), default="")
    # True when the address could not be placed: the seller must fix it before labels print.
    address_flagged: Mapped[bool] = mapped_column(default=False)
    item_summary: Mapped[str] = mapped_column(String(300), default="")
    item_count: Mapped[int] = mapped_column(default=0)
    amount_cents: Mapped[int] = mapped_column(default=0)
    buyer_message: Mapped[str] = mapped_column(Text, default="")
    seller_memo: Mapped[str] = mapped_column(Text, default="")
    paid_at: Mapped[datetime]
    ship_by: Mapped[datetime]
    courier_company: Mapped[str] = mapped_column(String(16), default="")
    tracking_no: Mapped[str | None] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    shipped_at: Mapped[datetime | None]
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    # Set when buyer details were purged after the shop's retention period.
    details_purged_at: Mapped[datetime | None]
    # The order's exemption from late-shipment figures (models.exemption.Exemption), and why.
    exemption: Mapped[str] = mapped_column(String(16), default="", server_default="")
    exempt_region_id: Mapped[int | None] = mapped_column(ForeignKey("anomaly_region.id"))
    exemption_report_id: Mapped[int | None] = mapped_column(ForeignKey("exemption_report.id"))

    shop: Mapped[Shop] = relationship()
    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )

    def __repr__(self) -> str:
        return f"<Order {self.shop_id}/{self.platform_order_no} {self.status}>"


class OrderItem(Base):
    __tablename__ = "order_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    sku: Mapped[str] = mapped_column(String(80), default="")
    attributes: Mapped[str] = mapped_column(String(300), default="")
    quantity: Mapped[int] = mapped_column(default=1)
    price_cents: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="items")


class OrderEvent(Base):
    """Who did what to an order, when: the order's history."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(String(300), default="")


class ImportStatus(StrEnum):
    """Where an import stands; only portal/jobs.py assigns it. Checking and applying run as background jobs."""

    CHECKING = "checking"  # uploaded, the preview job is reading it
    PREVIEW = "preview"  # checked: waiting for the seller to confirm or discard
    APPLYING = "applying"  # confirmed, the apply job is writing it
    APPLIED = "applied"
    FAILED = "failed"  # a job could not finish: ``error`` says why, the files are gone
    DISCARDED = "discarded"


class ImportBatch(Base):
    """An uploaded order export or tracking sheet: checked and applied by background jobs (portal/jobs.py)."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "orders" (the seller centre's export) or "tracking" (a courier company's order → number sheet).
    kind: Mapped[str] = mapped_column(String(16), default="orders", server_default="orders")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    items_file_name: Mapped[str] = mapped_column(String(200), default="")
    # Where the uploaded files wait under instance/uploads until confirmed or discarded.
    storage_key: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.CHECKING)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the apply job did (orders created, updated, skipped; or orders labelled).
    result: Mapped[dict | None] = mapped_column(JSON)
    # Why a job failed, in the seller's language.
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    applied_at: Mapped[datetime | None]
    # When the last job ended (checked, applied or failed).
    finished_at: Mapped[datetime | None]
