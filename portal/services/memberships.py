"""Courier company staff: a person asks to work for a courier company; the operator confirms or revokes it.

A confirmed membership lets its holder read the hidden recipient details of labels that bear that company's
numbers (services/reveal.py): the delivering outlet in the buyer's city, which holds no grant in the shop.
Every request, confirmation, revocation and departure is audited.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import CompanyMembership, CourierCompany, MembershipStatus, User
from portal.models.base import utcnow
from portal.services import audit
from portal.services.errors import ConflictError, NotFoundError

LIVE = (MembershipStatus.REQUESTED, MembershipStatus.CONFIRMED)
STATUS_LABELS = {
    MembershipStatus.REQUESTED: _l("waiting for the operator"),
    MembershipStatus.CONFIRMED: _l("confirmed"),
    MembershipStatus.REVOKED: _l("ended"),
}


def request_membership(user: User, company: CourierCompany, *, note: str = "") -> CompanyMembership:
    """Ask to be staff of ``company``; it counts once the operator confirms it.

    :raise ConflictError: this person already asked, or already is staff, of this company.
    """
    if _live(user.id, company.id) is not None:
        raise ConflictError(_("You have already asked to work for %(company)s, or already do.", company=company.name))
    membership = CompanyMembership(user_id=user.id, company_id=company.id, note=(note or "").strip()[:200])
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same request sent twice at once: the partial unique index refused one
        raise ConflictError(
            _("You have already asked to work for %(company)s, or already do.", company=company.name)
        ) from exc
    audit.record("membership_requested", actor=user, target=company.code, membership=membership.id)
    return membership


def confirm(membership: CompanyMembership, *, actor: User) -> None:
    """The operator confirms a request: from now on the person is staff of the company.

    :raise ConflictError: the membership is not waiting for a decision.
    """
    if membership.status != MembershipStatus.REQUESTED:
        raise ConflictError(_("This request is no longer waiting for a decision."))
    membership.status = MembershipStatus.CONFIRMED
    membership.confirmed_at = utcnow()
    membership.confirmed_by_id = actor.id
    audit.record(
        "membership_confirmed",
        actor=actor,
        target=f"{membership.user.username}@{membership.company.code}",
        membership=membership.id,
    )


def revoke(membership: CompanyMembership, *, actor: User) -> None:
    """The operator refuses a request or ends a confirmed membership; the next reveal by that person is refused.

    :raise ConflictError: already revoked.
    """
    was = membership.status
    _end(membership, actor)
    audit.record(
        "membership_revoked",
        actor=actor,
        target=f"{membership.user.username}@{membership.company.code}",
        membership=membership.id,
        was=was,
    )


def leave(membership: CompanyMembership, *, actor: User) -> None:
    """The person withdraws their own request or stops being the company's staff.

    :raise NotFoundError: another person's membership. :raise ConflictError: already ended.
    """
    if membership.user_id != actor.id:
        raise NotFoundError(_("There is nothing here, or it is not yours to see."))
    was = membership.status
    _end(membership, actor)
    audit.record("membership_left", actor=actor, target=membership.company.code, membership=membership.id, was=was)


def _end(membership: CompanyMembership, actor: User) -> None:
    if membership.status not in LIVE:
        raise ConflictError(_("This membership has already ended."))
    membership.status = MembershipStatus.REVOKED
    membership.revoked_at = utcnow()
    membership.revoked_by_id = actor.id


def _live(user_id: int, company_id: int) -> CompanyMembership | None:
    return db.session.scalar(
        select(CompanyMembership).where(
            CompanyMembership.user_id == user_id,
            CompanyMembership.company_id == company_id,
            CompanyMembership.status.in_(LIVE),
        )
    )


def memberships_of(user: User) -> list[CompanyMembership]:
    """A person's memberships, live ones first, newest first."""
    return list(
        db.session.scalars(
            select(CompanyMembership)
            .options(selectinload(CompanyMembership.company))
            .where(CompanyMembership.user_id == user.id)
            .order_by(
                case((CompanyMembership.status == MembershipStatus.REVOKED, 1), else_=0), CompanyMembership.id.desc()
            )
        )
    )


def confirmed_company_ids(user: User) -> set[int]:
    """Ids of the courier companies this person is confirmed staff of, read fresh."""
    return set(
        db.session.scalars(
            select(CompanyMembership.company_id).where(
                CompanyMembership.user_id == user.id, CompanyMembership.status == MembershipStatus.CONFIRMED
            )
        )
    )


def all_memberships(status: str | None = None) -> Select:
    """The operator's list: requests waiting first (oldest first), then the rest, newest first."""
    query = select(CompanyMembership).options(
        selectinload(CompanyMembership.user),
        selectinload(CompanyMembership.company),
        selectinload(CompanyMembership.confirmed_by),
        selectinload(CompanyMembership.revoked_by),
    )
    if status:
        query = query.where(CompanyMembership.status == status)
    waiting = CompanyMembership.status == MembershipStatus.REQUESTED
    return query.order_by(
        case((waiting, 0), else_=1),
        case((waiting, CompanyMembership.id), else_=-CompanyMembership.id),
    )
