"""A label's QR code opens its hidden recipient details: GB/T 41833's "proper device" for a privacy label.

The code is ``PrintedLabel.reveal_token`` (128 random bits, nothing personal). It shows the full name, phone
and address to exactly three kinds of signed-in people, and to nobody else:

- ``shop``: the shop's own people (its owner and seller staff);
- ``grant``: a courier whose active grant in the shop has the view switch, within the window couriers see full
  details (unshipped, and the shop's days after shipping: orders.details_open_to_couriers);
- ``company_staff``: confirmed staff (services/memberships.py) of the courier company whose number is on the
  label: the delivering outlet, which holds no grant in the shop; the same window applies.

A code is dead once its number is voided (a void or a cancelled order), once a newer label of the same number
replaced it (a reprint: the replaced label is the one that jammed or was lost), and once the order's buyer
details are purged. Unknown, dead and not-yours codes all raise the same NotFoundError, so a page cannot tell
them apart. The label is found by the sha256 of the code through a unique index, in one statement that also
reads every fact the decision needs, so an unknown code and a refused one cost the same; the code itself is
then compared in constant time.
"""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import (
    CompanyMembership,
    CourierCompany,
    CourierGrant,
    MembershipStatus,
    Order,
    OrderStatus,
    PrintedLabel,
    Shop,
    ShopStaff,
    User,
    Waybill,
    WaybillStatus,
)
from portal.models.base import utcnow
from portal.models.printing import reveal_hash
from portal.services import audit, orders, regions
from portal.services.errors import NotFoundError

# What token_urlsafe makes, with room to grow; anything else is no code (and costs no query).
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class RevealAs(StrEnum):
    """Which of the three kinds of people a reveal was made to (the audit event's ``as``)."""

    SHOP = "shop"
    GRANT = "grant"
    COMPANY_STAFF = "company_staff"


@dataclass(frozen=True)
class Reveal:
    """A label's hidden details, in full, for the person allowed to read them."""

    label_id: int
    order_no: str
    shop_name: str
    tracking_no: str
    company_name: str
    recipient_name: str
    recipient_phone: str
    # The phone as a tel: link takes it: digits and a leading +.
    tel: str
    destination: str
    address_detail: str
    postcode: str
    shown_as: RevealAs


_newer = aliased(PrintedLabel)
# One statement: the label by its code's hash, whether its code is still alive, and how this user stands to it.
_LOOKUP = (
    select(
        PrintedLabel.id,
        PrintedLabel.reveal_token,
        PrintedLabel.order_id,
        Waybill.status.label("waybill_status"),
        Waybill.tracking_no,
        func.coalesce(func.nullif(CourierCompany.name_zh, ""), CourierCompany.name).label("company_name"),
        Order.status.label("order_status"),
        Order.details_purged_at,
        Shop.owner_id,
        exists()
        .where(ShopStaff.shop_id == PrintedLabel.shop_id, ShopStaff.user_id == bindparam("user_id"))
        .label("is_staff"),
        # The newest active grant in the shop, as shops.active_grant picks it (NULL without one).
        select(CourierGrant.view_recipient)
        .where(
            CourierGrant.user_id == bindparam("user_id"),
            CourierGrant.shop_id == PrintedLabel.shop_id,
            CourierGrant.revoked_at.is_(None),
            or_(CourierGrant.expires_at.is_(None), CourierGrant.expires_at > bindparam("now")),
        )
        .order_by(CourierGrant.id.desc())
        .limit(1)
        .scalar_subquery()
        .label("grant_view"),
        exists()
        .where(
            CompanyMembership.user_id == bindparam("user_id"),
            CompanyMembership.company_id == Waybill.company_id,
            CompanyMembership.status == MembershipStatus.CONFIRMED,
        )
        .label("company_staff"),
        exists()
        .where(
            _newer.order_id == PrintedLabel.order_id,
            _newer.waybill_id == PrintedLabel.waybill_id,
            _newer.id > PrintedLabel.id,
        )
        .label("superseded"),
    )
    .join(Waybill, Waybill.id == PrintedLabel.waybill_id)
    .join(CourierCompany, CourierCompany.id == Waybill.company_id)
    .join(Order, Order.id == PrintedLabel.order_id)
    .join(Shop, Shop.id == PrintedLabel.shop_id)
    .where(PrintedLabel.reveal_hash == bindparam("hash"))
)


def address_parts() -> tuple[str, str]:
    """A label QR code's reveal address, split where its token goes: on PORTAL_PUBLIC_URL when that is set,
    else this request's. Needs a request context."""
    public = (current_app.config.get("PORTAL_PUBLIC_URL") or "").rstrip("/")
    stand_in = "REVEAL-CODE"
    prefix, suffix = (public + url_for("reveal.show", token=stand_in, _external=not public)).split(stand_in)
    return prefix, suffix


def _not_found() -> NotFoundError:
    return NotFoundError(_("There is nothing here, or it is not yours to see."))


def reveal(token: str, user: User, *, now: datetime | None = None) -> Reveal:
    """The full recipient details behind a label's code, for ``user``; the reveal is audited (the caller commits).

    :raise NotFoundError: the same one whether the code is malformed, unknown, dead (voided, replaced by a
        reprint, the order cancelled or its details purged) or not this person's to read.
    """
    now = now or utcnow()
    token = token or ""
    row = None
    if _TOKEN_SHAPE.match(token):
        params = {"hash": reveal_hash(token), "user_id": user.id, "now": now}
        row = db.session.execute(_LOOKUP, params).first()
    if row is None or not hmac.compare_digest(row.reveal_token.encode(), token.encode()):
        raise _not_found()
    alive = (
        row.waybill_status == WaybillStatus.ALLOCATED
        and row.order_status != OrderStatus.CANCELLED
        and row.details_purged_at is None
        and not row.superseded
    )
    if not alive:
        raise _not_found()
    if row.owner_id == user.id or row.is_staff:
        shown_as = RevealAs.SHOP
    elif row.grant_view or row.company_staff:
        shown_as = RevealAs.GRANT if row.grant_view else RevealAs.COMPANY_STAFF
    else:
        raise _not_found()
    order = db.session.get(Order, row.order_id)
    if shown_as != RevealAs.SHOP and not orders.details_open_to_couriers(order, now):
        raise _not_found()
    audit.record(
        "recipient_revealed",
        actor=user,
        shop=order.shop,
        target=order.platform_order_no,
        tracking_no=row.tracking_no,
        **{"as": str(shown_as), "label": row.id},
    )
    return Reveal(
        label_id=row.id,
        order_no=order.platform_order_no,
        shop_name=order.shop.name,
        tracking_no=row.tracking_no,
        company_name=row.company_name,
        recipient_name=order.recipient_name,
        recipient_phone=order.recipient_phone,
        tel=_tel(order.recipient_phone),
        destination=regions.destination(order.province, order.city, order.district) if order.province else "",
        address_detail=order.address_detail if order.province else order.address_raw,
        postcode=order.postcode,
        shown_as=shown_as,
    )


def _tel(phone: str) -> str:
    """A phone as a tel: URI takes it: 138-1234-5678 → 13812345678, +86 138… → +86138…"""
    phone = (phone or "").strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" if phone.startswith("+") else "") + digits
