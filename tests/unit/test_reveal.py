"""Reveal codes (models/printing.py, services/reveal.py) and courier company staff (services/memberships.py)."""

import hashlib
import re
from contextlib import contextmanager

import flask_migrate
import pytest
from flask_babel import force_locale
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    AuditEvent,
    CompanyMembership,
    MembershipStatus,
    Order,
    OrderStatus,
    PrintedLabel,
    Shop,
    WaybillRange,
)
from portal.services import accounts, memberships, printing, reveal, waybills
from portal.services.errors import ConflictError, NotFoundError
from tests.unit.test_migrations import alembic_logging, insert_row, migration_app, upgrade  # noqa: F401  (a fixture)


@contextmanager
def in_app(app):
    with app.app_context(), force_locale("en"):
        yield


def print_orders(n: int, owner: str = "seller1") -> list[PrintedLabel]:
    """The shop's owner prints ``n`` pending orders of the shop in one job (the bulk insert of create_print_job)."""
    seller = accounts.find_user(owner)
    shop = db.session.scalar(select(Shop).where(Shop.owner_id == seller.id))
    ids = list(
        db.session.scalars(
            select(Order.id)
            .where(Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.address_flagged.is_(False))
            .order_by(Order.id)
            .limit(n)
        )
    )
    company = db.session.scalar(select(WaybillRange).where(WaybillRange.shop_id == shop.id)).company
    job = printing.create_print_job(seller, ids, allowed_shop_ids={shop.id}, company=company, size="100x150")
    return list(db.session.scalars(select(PrintedLabel).where(PrintedLabel.job_id == job.id).order_by(PrintedLabel.id)))


# Codes ---------------------------------------------------------------------------------------------


def test_the_bulk_insert_gives_every_label_its_own_code_and_hash(app, world):
    with in_app(app):
        labels = print_orders(25)
        assert len(labels) == 25
        tokens = [label.reveal_token for label in labels]
        assert len(set(tokens)) == 25
        for label in labels:
            # 16 random bytes (128 bits), URL-safe base64 without padding; nothing from the order in it.
            assert re.fullmatch(r"[A-Za-z0-9_-]{22}", label.reveal_token)
            assert label.reveal_hash == hashlib.sha256(label.reveal_token.encode()).hexdigest()
            assert db.session.get(Order, label.order_id).platform_order_no not in label.reveal_token


def test_a_label_added_one_at_a_time_gets_a_code_too(app, world):
    with in_app(app):
        [label] = print_orders(1)
        order = db.session.get(Order, label.order_id)
        again = printing.reprint(order, actor=accounts.find_user("seller1"), reason="jammed", size="100x150")
        db.session.flush()
        new = db.session.scalar(select(PrintedLabel).where(PrintedLabel.job_id == again.id))
        assert new.reveal_token and new.reveal_token != label.reveal_token
        assert new.reveal_hash == hashlib.sha256(new.reveal_token.encode()).hexdigest()


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_an_unknown_code_and_a_refused_one_cost_the_same_and_say_the_same(app, world):
    with in_app(app):
        [label] = print_orders(1)
        db.session.commit()
        stranger = accounts.find_user("seller2")
        unknown = "A" * len(label.reveal_token)
        results = {}
        for name, token in (("unknown", unknown), ("refused", label.reveal_token)):
            with counted_statements() as statements, pytest.raises(NotFoundError) as raised:
                reveal.reveal(token, stranger)
            results[name] = (len(statements), raised.value.message, raised.value.status)
        assert results["unknown"] == results["refused"] == (1, results["unknown"][1], 404)
        # A code one character off is unknown: the lookup is by the whole code's hash.
        off = label.reveal_token[:-1] + ("A" if label.reveal_token[-1] != "A" else "B")
        with pytest.raises(NotFoundError):
            reveal.reveal(off, accounts.find_user("seller1"))
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recipient_revealed")).all() == []


def test_the_three_kinds_of_readers(app, world):
    with in_app(app):
        [label] = print_orders(1)
        company = db.session.get(PrintedLabel, label.id).waybill.company
        outlet = accounts.create_user("outlet1", "demo-password-1")
        memberships.confirm(memberships.request_membership(outlet, company), actor=accounts.find_user("operator"))
        shown = {
            name: reveal.reveal(label.reveal_token, accounts.find_user(name)).shown_as
            for name in ("seller1", "packer1", "courier1", "outlet1")
        }
        assert shown == {"seller1": "shop", "packer1": "shop", "courier1": "grant", "outlet1": "company_staff"}
        for name in ("courier2", "seller2", "operator"):
            with pytest.raises(NotFoundError):
                reveal.reveal(label.reveal_token, accounts.find_user(name))
        got = reveal.reveal(label.reveal_token, accounts.find_user("seller1"))
        order = db.session.get(Order, label.order_id)
        assert (got.recipient_name, got.recipient_phone) == (order.recipient_name, order.recipient_phone)
        assert got.tel == re.sub(r"\D", "", order.recipient_phone)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recipient_revealed")).all()
        assert [e.details["as"] for e in events] == ["shop", "shop", "grant", "company_staff", "shop"]
        assert {e.details["label"] for e in events} == {label.id}


@pytest.mark.parametrize(("phone", "tel"), [("138-1234-5678", "13812345678"), ("+86 138 1234 5678", "+8613812345678")])
def test_tel_links_take_digits_only(phone, tel):
    assert reveal._tel(phone) == tel


# Company staff -------------------------------------------------------------------------------------


def test_one_live_membership_per_person_and_company(app, world):
    with in_app(app):
        courier = accounts.find_user("courier2")
        operator = accounts.find_user("operator")
        zto = waybills.company_by_code("ZTO")
        first = memberships.request_membership(courier, zto)
        with pytest.raises(ConflictError):
            memberships.request_membership(courier, zto)
        memberships.request_membership(courier, waybills.company_by_code("YTO"))  # another company is fine
        memberships.confirm(first, actor=operator)
        with pytest.raises(ConflictError):
            memberships.confirm(first, actor=operator)
        assert memberships.confirmed_company_ids(courier) == {zto.id}
        memberships.revoke(first, actor=operator)
        with pytest.raises(ConflictError):
            memberships.revoke(first, actor=operator)
        assert memberships.confirmed_company_ids(courier) == set()
        second = memberships.request_membership(courier, zto)  # after an end, a new request
        db.session.flush()
        assert second.id != first.id and second.status == MembershipStatus.REQUESTED
        with pytest.raises(NotFoundError):
            memberships.leave(second, actor=accounts.find_user("courier1"))


def test_the_database_refuses_two_live_memberships(app, world):
    """The partial unique index: a request sent twice at once (both past the service's check) stores one."""
    with in_app(app):
        courier, zto = accounts.find_user("courier2"), waybills.company_by_code("ZTO")
        db.session.add(CompanyMembership(user_id=courier.id, company_id=zto.id, status=MembershipStatus.REVOKED))
        db.session.add(CompanyMembership(user_id=courier.id, company_id=zto.id))
        db.session.flush()
        with pytest.raises(IntegrityError):
            db.session.add(CompanyMembership(user_id=courier.id, company_id=zto.id, status=MembershipStatus.CONFIRMED))
            db.session.flush()
        db.session.rollback()


# Migration -----------------------------------------------------------------------------------------


def test_labels_printed_before_codes_get_one(migration_app):  # noqa: F811  (the imported fixture)
    """3d1f0c5a9b7e: every label already printed gets its own code and hash, then both are required."""
    with alembic_logging():
        flask_migrate.upgrade(revision="8474f7b94f09")
    with db.engine.begin() as connection:
        insert_row(connection, "user", id=1, username="seller")
        insert_row(connection, "shop", id=1, name="shop", owner_id=1)
        insert_row(connection, "courier_company", id=99, code="TST", name="Test", pattern=".*")
        insert_row(connection, "print_job", id=1, actor_id=1, company_id=99, size="100x150")
        for n in (1, 2, 3):
            insert_row(connection, "order", id=n, shop_id=1, platform_order_no=f"P{n}")
            insert_row(connection, "waybill", id=n, shop_id=1, company_id=99, tracking_no=f"T{n}", order_id=n)
            insert_row(connection, "printed_label", id=n, job_id=1, order_id=n, shop_id=1, waybill_id=n)
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT reveal_token, reveal_hash FROM printed_label ORDER BY id")).all()
    assert len({token for token, _hash in rows}) == 3
    for token, token_hash in rows:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
        assert token_hash == hashlib.sha256(token.encode()).hexdigest()
