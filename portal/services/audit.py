"""Writing and reading the audit log."""

from sqlalchemy import Select, and_, or_, select, union

from portal.extensions import db
from portal.models import AuditEvent, CourierGrant, Shop, ShopStaff, User


def record(
    action: str,
    *,
    actor: User | None,
    shop: Shop | None = None,
    target: str = "",
    actor_name: str = "",
    **details,
) -> AuditEvent:
    """Add an audit event to the current unit of work (the request fills in the address)."""
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_name=actor_name or (actor.username if actor else ""),
        shop_id=shop.id if shop else None,
        target=target[:120],
        details=details,
    )
    db.session.add(event)
    return event


def record_per_shop(action: str, orders, *, actor: User | None, **details) -> None:
    """One event per shop for an action on orders of several shops, each naming its orders."""
    by_shop: dict[int, list] = {}
    for order in orders:
        by_shop.setdefault(order.shop_id, []).append(order)
    for shop_orders in by_shop.values():
        record(
            action,
            actor=actor,
            shop=shop_orders[0].shop,
            target=f"{len(shop_orders)} orders",
            **details,
            order_nos=[order.platform_order_no for order in shop_orders],
        )


# Events about a person rather than a shop, which the shops they work for may read.
PERSONAL_ACTIONS = ("login", "login_failed", "logout", "password_changed")


def people_of(shop_id: int) -> Select:
    """Ids of everyone who works in a shop: owner, staff, couriers with a grant (even revoked)."""
    return union(
        select(Shop.owner_id).where(Shop.id == shop_id),
        select(ShopStaff.user_id).where(ShopStaff.shop_id == shop_id),
        select(CourierGrant.user_id).where(CourierGrant.shop_id == shop_id),
    )


def shop_events(shop_id: int) -> Select:
    """A shop's log, newest first: its own events and the sign-ins of its people."""
    personal = and_(
        AuditEvent.shop_id.is_(None),
        AuditEvent.action.in_(PERSONAL_ACTIONS),
        AuditEvent.actor_id.in_(people_of(shop_id)),
    )
    return _newest_first(select(AuditEvent).where(or_(AuditEvent.shop_id == shop_id, personal)))


def all_events(action: str | None = None) -> Select:
    """The operator's view: everything, optionally one action."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    return _newest_first(query)


def _newest_first(query: Select) -> Select:
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
