"""Request and response models of the JSON API: they validate requests and make the OpenAPI document."""

import re
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import SkipJsonSchema

from portal.models import GRANT_PERMISSIONS
from portal.services.labels import LABEL_SIZES, LabelData

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Permission = Literal[GRANT_PERMISSIONS]  # type: ignore[valid-type]
OrderState = Literal["pending", "labelled", "packed", "shipped", "cancelled"]
ExemptionState = Literal["", "auto", "one_click", "manual_pending", "manual_approved", "manual_rejected"]
LabelSize = Literal[tuple(LABEL_SIZES)]  # type: ignore[valid-type]
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_time(value):
    """Only an RFC 3339 date-time, as documented (pydantic alone would take "0.5" as seconds since 1970)."""
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-11-25T08:00:00+08:00")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]


class Body(BaseModel):
    """A JSON request body: exact types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Problem(BaseModel):
    """An error (RFC 9457 problem details); ``type`` is stable per kind of error."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: dict[str, Any] = Field(default_factory=dict, description="Per-field (or per-item) messages.")


# Shops ------------------------------------------------------------------------------------------


class GrantOut(BaseModel):
    id: int
    permissions: list[Permission]
    expires_at: datetime | None
    company: str | None = Field(
        description="Code of the courier company this person prints for in the shop; null: the seller has not "
        "named it yet (nothing prints there until then)."
    )


class ShopOut(BaseModel):
    id: int
    name: str
    role: Literal["owner", "courier"]
    grant: GrantOut | None = Field(description="The courier sub-account, for role courier.")


class ShopList(BaseModel):
    shops: list[ShopOut]


# Pages of orders --------------------------------------------------------------------------------


class PageQuery(BaseModel):
    since: IsoTime | SkipJsonSchema[None] = Field(
        None, description="Only orders changed at or after this time (use the last page's pulled_at)."
    )
    cursor: str | SkipJsonSchema[None] = Field(None, max_length=200, description="next_cursor of the page before.")
    limit: int = Field(100, ge=1, le=500)


class QueueQuery(PageQuery):
    shop: Id | SkipJsonSchema[None] = Field(None, description="One shop only (default: all my shops).")
    status: Literal["pending", "labelled", "packed"] = "pending"


class OrdersQuery(PageQuery):
    status: OrderState | SkipJsonSchema[None] = None
    exemption: ExemptionState | SkipJsonSchema[None] = None


class Recipient(BaseModel):
    masked: bool = Field(description="True when name, phone and address detail are masked.")
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postcode: str


class OrderOut(BaseModel):
    id: int
    shop_id: int
    platform_order_no: str
    status: OrderState
    paid_at: datetime
    ship_by: datetime
    updated_at: datetime
    shipped_at: datetime | None
    courier_company: str
    tracking_no: str | None
    exemption: ExemptionState
    address_flagged: bool
    item_summary: str
    item_count: int
    buyer_message: str
    recipient: Recipient


class OrderPage(BaseModel):
    orders: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")
    pulled_at: datetime = Field(description="Pass as since in the next incremental pull.")


# Print jobs -------------------------------------------------------------------------------------


class PrintJobIn(Body):
    order_ids: list[Id] = Field(min_length=1, max_length=2000)
    company: str | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="Courier company code, e.g. ZTO. Omitted: the company your sub-account names in the orders' "
        "shops (refused if they name different ones). Another company than the sub-account's is refused.",
    )
    size: LabelSize = "100x150"


# Every field a label prints, as the label service builds it (one definition, no copy to drift).
LabelOut = create_model(
    "LabelOut", __doc__=LabelData.__doc__, **{f.name: (f.type, ...) for f in dataclass_fields(LabelData)}
)


class JobLinks(BaseModel):
    html: str
    pdf: str
    zpl: str


class PrintJobOut(BaseModel):
    id: int
    company: str
    size: str
    label_count: int
    created_at: datetime
    labels: list[LabelOut]
    links: JobLinks


# Shipping ---------------------------------------------------------------------------------------


class ShipIn(Body):
    order_ids: list[Id] = Field(min_length=1, max_length=1000)


class ShipResult(BaseModel):
    order_id: int
    result: Literal["shipped", "already_shipped", "refused", "not_found"]
    status: OrderState | None
    detail: str


class ShipOut(BaseModel):
    results: list[ShipResult]
    shipped: int
    already_shipped: int
    refused: int
    not_found: int


# Seller: orders and tracking numbers ------------------------------------------------------------


class ItemIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    title: str = Field(max_length=300)
    quantity: int | str = 1
    sku: str = Field("", max_length=80)
    attributes: str = Field("", max_length=300)
    price: int | float | str = Field(0, description="Yuan, e.g. 199.00.")


class OrderIn(BaseModel):
    """One order as the import reads it; the same checks run on each (messages per item index)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    platform_order_no: str | int
    recipient_name: str
    recipient_phone: str | int
    address: str = Field(description="省 市 区 详细地址(邮编), as in the platform's export.")
    paid_at: str = Field(description="2024-06-18 20:15:00 (China time) or ISO 8601 with offset.")
    buyer_nick: str = ""
    # At most 1,000 items of at most 100,000 each: the order's item count stays within its 32-bit column.
    items: Annotated[list[ItemIn], Field(max_length=1000)] | SkipJsonSchema[None] = None
    item_title: str | SkipJsonSchema[None] = Field(None, description="Instead of items: one item's title.")
    quantity: int | str | SkipJsonSchema[None] = None
    amount: int | float | str = Field(0, description="Yuan.")
    buyer_message: str = ""
    seller_memo: str = ""


class OrdersEnvelope(Body):
    orders: list[OrderIn] = Field(min_length=1, max_length=1000)


class UpsertIn(RootModel[OrdersEnvelope | Annotated[list[OrderIn], Field(min_length=1, max_length=1000)]]):
    """``{"orders": [...]}`` or the list alone."""


class UpsertOut(BaseModel):
    created: int
    updated: int
    skipped: int = Field(description="Known orders already in work (labelled and beyond): never overwritten.")
    unchanged: int = Field(description="Known pending orders sent again as they are: not written.")


class TrackingPair(Body):
    platform_order_no: str = Field(min_length=1, max_length=64)
    tracking_no: str = Field(min_length=1, max_length=40)


class TrackingIn(Body):
    company: str = Field(min_length=1, max_length=16, description="Courier company code, e.g. ZTO.")
    numbers: list[TrackingPair] = Field(min_length=1, max_length=1000)


class TrackingOut(BaseModel):
    labelled: int = Field(description="Orders that took their number now.")
    unchanged: int = Field(description="Orders that already had exactly this number (a repeated call).")
