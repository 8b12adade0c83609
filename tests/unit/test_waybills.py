"""Courier number rules, number ranges and allocation (services/waybills.py)."""

from contextlib import contextmanager

import pytest
from flask_babel import force_locale
from sqlalchemy import delete, func, select

import portal.models.waybill  # noqa: F401  (create_all must see the tables until models/__init__ imports them)
from portal.extensions import db
from portal.models import AuditEvent, Order, Shop, User
from portal.models.waybill import CourierCompany, Waybill, WaybillRange, WaybillStatus
from portal.services import waybills
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError


@contextmanager
def in_app(app):
    """An app context in English (translated messages outside a request need a forced locale)."""
    with app.app_context(), force_locale("en"):
        yield


@pytest.fixture
def ctx(app, world):
    """An app context with the built-in companies and the demo world without its ranges; yields the world's ids."""
    with in_app(app):
        waybills.ensure_default_companies()
        db.session.execute(delete(WaybillRange))
        db.session.execute(delete(AuditEvent).where(AuditEvent.action == "range_created"))
        db.session.commit()
        yield world


def company(code: str) -> CourierCompany:
    return waybills.company_by_code(code)


def shop(world, owner: str = "seller1") -> Shop:
    return db.session.get(Shop, world["shops"][owner])


def user(world, name: str = "seller1") -> User:
    return db.session.get(User, world["users"][name])


def make_range(world, code: str, start: str, *, owner: str = "seller1", **kwargs) -> WaybillRange:
    return waybills.create_range(shop(world, owner), company(code), start=start, actor=user(world, owner), **kwargs)


def reference_s10(serial8: str) -> int:
    """The S10 check digit written out independently of the service, for cross-checking."""
    total = (
        int(serial8[0]) * 8
        + int(serial8[1]) * 6
        + int(serial8[2]) * 4
        + int(serial8[3]) * 2
        + int(serial8[4]) * 3
        + int(serial8[5]) * 5
        + int(serial8[6]) * 9
        + int(serial8[7]) * 7
    )
    check = 11 - total % 11
    return 0 if check == 10 else 5 if check == 11 else check


def waybill_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Waybill))


# Number rules ---------------------------------------------------------------------------------

VALID = [
    ("SF", "SF1385628716739"),
    ("SF", "SFA123456789012"),
    ("SF", "123456789012"),  # legacy 12 digits
    ("ZTO", "73610555582883"),
    ("ZTO", "78123456789012"),
    ("YTO", "YT8962646785389"),
    ("YTO", "612345678901234567"),  # 18 digits starting 6-9
    ("STO", "773277027280336"),
    ("STO", "43123456789012"),
    ("STO", "268123456789"),  # older: 268…968 prefix, 12-13 digits
    ("YUNDA", "463431409940372"),
    ("YUNDA", "5123456789012"),
    ("JD", "JDX024407261700"),
    ("JD", "JDVA12345678901"),
    ("JT", "JT5261988016578"),
    ("EMS", "1207119765021"),  # domestic: 13 digits, no check digit
    ("EMS", "EA473124829CN"),
    ("EMS", "RA123456785CN"),
    ("EMS", "AA473124829GB"),  # the published S10 example (serial 47312482, check 9)
    ("CAINIAO", "621234567890123"),
    ("DEPPON", "DPK202252612836"),
]

INVALID = [
    ("SF", "SF138562871673"),  # one digit short
    ("SF", "YT8962646785389"),
    ("ZTO", "77123456789012"),  # 77 is STO's
    ("ZTO", "7361055558288"),
    ("YTO", "YT896264678538"),
    ("YTO", "AB1234567890"),  # the older loose shape is not accepted
    ("STO", "7712345678901"),
    ("YUNDA", "663431409940372"),
    ("YUNDA", "3123456789012"),
    ("JD", "JD1234567890123456"),
    ("JD", "JDX02440726170"),
    ("JT", "JT526198801657"),
    ("JT", "JD5261988016578"),
    ("EMS", "EA47312482CN"),
    ("EMS", "12071197650211"),
    ("CAINIAO", "622234567890123"),
    ("DEPPON", "DPK20225261283"),
]


@pytest.mark.parametrize(("code", "number"), VALID)
def test_valid_numbers_pass_and_come_back_normalised(ctx, code, number):
    assert waybills.validate_number(company(code), number) == number


@pytest.mark.parametrize(("code", "number"), INVALID)
def test_invalid_numbers_name_the_rule(ctx, code, number):
    with pytest.raises(InvalidDataError) as caught:
        waybills.validate_number(company(code), number, field="tracking_no")
    assert company(code).pattern in caught.value.message
    assert set(caught.value.field_errors) == {"tracking_no"}


def test_every_built_in_example_follows_its_own_rule(ctx):
    for rule in waybills.DEFAULT_COMPANIES:
        assert waybills.validate_number(company(rule.code), rule.example) == rule.example


def test_spaces_case_and_full_width_are_normalised(ctx):
    assert waybills.validate_number(company("SF"), " sf 1385 6287 16739 ") == "SF1385628716739"
    assert waybills.validate_number(company("JT"), "ＪＴ５２６１９８８０１６５７８") == "JT5261988016578"
    assert waybills.validate_number(company("EMS"), "ea 473 124 829 cn") == "EA473124829CN"


def test_an_empty_number_is_refused(ctx):
    with pytest.raises(InvalidDataError, match="Enter a tracking number"):
        waybills.validate_number(company("SF"), "   ")


def test_s10_check_digit_follows_the_upu_rule():
    assert waybills.s10_check_digit("47312482") == 9  # the worked example of the S10 standard
    assert waybills.s10_check_digit("12345678") == 5
    assert waybills.s10_check_digit("00004000") == 0  # 11 - 1 = 10 -> 0
    assert waybills.s10_check_digit("00000000") == 5  # 11 - 0 = 11 -> 5
    assert waybills.s10_check_digit(4000) == 0
    for n in range(0, 100_000_000, 999_983):
        serial = f"{n:08d}"
        assert waybills.s10_check_digit(serial) == reference_s10(serial), serial
    with pytest.raises(ValueError):
        waybills.s10_check_digit("1234567")


def test_a_wrong_s10_check_digit_is_refused_with_the_right_one(ctx):
    with pytest.raises(InvalidDataError, match="check digit should be 9, not 8"):
        waybills.validate_number(company("EMS"), "AA473124828GB")
    with pytest.raises(InvalidDataError, match="check digit should be 5"):
        waybills.validate_number(company("EMS"), "RA123456784CN")


def test_ensure_default_companies_is_idempotent_and_keeps_operator_edits(ctx):
    sf = company("SF")
    sf.pattern = r"^SF\d{13}$"
    db.session.commit()
    assert waybills.ensure_default_companies() == []
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CourierCompany)) == len(waybills.DEFAULT_COMPANIES)
    assert company("SF").pattern == r"^SF\d{13}$"
    assert {c.code for c in waybills.active_companies()} >= {"SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS"}


def test_the_operator_adds_a_company(ctx):
    added = waybills.add_company(
        code="best",
        name="Best Express",
        name_zh="百世快递",
        pattern=r"^BEST\d{10}$",
        example="best0123456789",
        actor=user(ctx, "operator"),
    )
    db.session.commit()
    assert (added.code, added.example) == ("BEST", "BEST0123456789")
    assert waybills.validate_number(company("BEST"), "BEST9876543210") == "BEST9876543210"
    with pytest.raises(InvalidDataError) as caught:
        waybills.add_company(code="XX", name="Broken", pattern="^(XX", actor=user(ctx, "operator"))
    assert "pattern" in caught.value.field_errors
    with pytest.raises(ConflictError):
        waybills.add_company(code="SF", name="Again", pattern=r"^\d+$", actor=user(ctx, "operator"))


# Ranges ---------------------------------------------------------------------------------------


def test_a_range_from_first_and_last_number(ctx):
    r = make_range(ctx, "SF", "SF1000000000000", end="sf 10000 0000 0999", low_threshold=50, note="box 1")
    db.session.commit()
    assert (r.prefix, r.serial_digits, r.suffix, r.check) == ("SF", 13, "", "")
    assert (r.start_serial, r.end_serial, r.next_serial) == (1000000000000, 1000000000999, 1000000000000)
    assert waybills.remaining(r) == r.size == 1000
    assert waybills.range_label(r) == "SF1000000000000–SF1000000000999"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "range_created").order_by(AuditEvent.id.desc())
    ).first()
    assert event.shop_id == ctx["shops"]["seller1"]
    assert event.details["count"] == 1000
    assert event.details["first"] == "SF1000000000000"


def test_a_range_from_first_number_and_count(ctx):
    r = make_range(ctx, "ZTO", "73000000000001", count=500)
    assert (r.prefix, r.serial_digits, r.start_serial, r.end_serial) == ("", 14, 73000000000001, 73000000000500)
    assert waybills.format_number(r, r.end_serial) == "73000000000500"


def test_an_s10_range_splits_off_the_check_digit(ctx):
    r = make_range(ctx, "EMS", "EA000000014CN", count=1000)
    assert (r.prefix, r.serial_digits, r.check, r.suffix) == ("EA", 8, "s10", "CN")
    assert (r.start_serial, r.end_serial) == (1, 1000)
    assert waybills.range_label(r) == "EA000000014CN–EA000010008CN"
    assert reference_s10("00001000") == 8


def test_a_domestic_ems_range_has_no_check_digit(ctx):
    r = make_range(ctx, "EMS", "1207119765000", end="1207119765099")
    assert (r.prefix, r.serial_digits, r.check, r.suffix, r.size) == ("", 13, "", "", 100)


def test_leading_zeros_and_letters_after_the_prefix_are_kept(ctx):
    r = make_range(ctx, "JD", "JDX012345678900", count=3)
    assert (r.prefix, r.serial_digits) == ("JDX", 12)
    assert waybills.format_number(r, r.end_serial) == "JDX012345678902"


@pytest.mark.parametrize(
    ("code", "start", "kwargs", "field", "message"),
    [
        ("SF", "SF1000000000999", {"end": "SF1000000000000"}, "end", "comes before the first"),
        ("JD", "JDX024407261700", {"end": "JDVA24407261700"}, "end", "same shape"),
        ("SF", "SF1000000000000", {"end": "100000000999"}, "end", "same shape"),  # legacy 12 digits
        ("EMS", "EA000000014CN", {"end": "RA000010008CN"}, "end", "same shape"),
        ("EMS", "EA000000014CN", {"end": "EA000010008US"}, "end", "same shape"),
        ("EMS", "EA000000015CN", {"count": 10}, "start", "check digit should be 4"),
        ("EMS", "EA000000014CN", {"end": "EA000010001CN"}, "end", "check digit should be 8"),
        ("SF", "SF10000000000", {"count": 10}, "start", "is not a SF tracking number"),
        ("SF", "SF1000000000000", {}, "end", "last number of the range or how many"),
        ("SF", "SF1000000000000", {"count": 0}, "count", "at least one"),
        ("SF", "SF1000000000000", {"end": "SF1000000000009", "count": 9}, "count", "there are 10 numbers"),
        ("ZTO", "999999999995", {"count": 10}, "count", "do not fit"),  # legacy 12 digits
        ("ZTO", "76999999999990", {"count": 20}, "count", "is not a ZTO tracking number"),  # 77… is not ZTO's
        ("SF", "SF1000000000000", {"count": 5, "low_threshold": -1}, "low_threshold", "negative"),
    ],
)
def test_bad_ranges_are_refused_on_the_right_field(ctx, code, start, kwargs, field, message):
    with pytest.raises(InvalidDataError, match=message) as caught:
        make_range(ctx, code, start, **kwargs)
    assert field in caught.value.field_errors
    assert db.session.scalar(select(func.count()).select_from(WaybillRange)) == 0


def test_an_overlapping_range_of_the_same_shop_is_refused_and_named(ctx):
    make_range(ctx, "SF", "SF1000000000100", end="SF1000000000199")
    db.session.commit()
    for start, end in [
        ("SF1000000000000", "SF1000000000100"),  # touches the first number
        ("SF1000000000199", "SF1000000000300"),  # touches the last
        ("SF1000000000150", "SF1000000000160"),  # inside
        ("SF1000000000000", "SF1000000000999"),  # around
    ]:
        with pytest.raises(ConflictError, match="SF1000000000100–SF1000000000199 this shop already recorded"):
            make_range(ctx, "SF", start, end=end)
    # Next to it, another prefix or another company: fine.
    make_range(ctx, "SF", "SF1000000000000", end="SF1000000000099")
    make_range(ctx, "SF", "SF1000000000200", count=100)
    make_range(ctx, "SF", "SF2000000000100", end="SF2000000000199")
    make_range(ctx, "ZTO", "73000000000100", end="73000000000199")
    db.session.commit()
    assert len(waybills.ranges_of(shop(ctx))) == 5
    assert len(waybills.ranges_of(shop(ctx), company("SF"))) == 4


def test_a_range_overlapping_another_shops_is_refused_without_naming_the_shop(ctx):
    make_range(ctx, "EMS", "EA000000014CN", count=100, owner="seller2")
    db.session.commit()
    with pytest.raises(ConflictError) as caught:
        make_range(ctx, "EMS", "EA000000500CN", count=100)
    message = caught.value.message
    assert "EA000000014CN–EA000001006CN that another shop recorded" in message
    assert shop(ctx, "seller2").name not in message
    assert "start" in caught.value.field_errors
    make_range(ctx, "EMS", "EA000000014US", count=100)  # another country: other numbers


def test_a_range_of_an_inactive_company_is_refused(ctx):
    company("YTO").active = False
    with pytest.raises(InvalidDataError, match="not offered"):
        make_range(ctx, "YTO", "YT0000000000001", count=10)


# Allocation -----------------------------------------------------------------------------------


def test_numbers_come_in_sequence_and_in_format(ctx):
    r = make_range(ctx, "SF", "SF1000000000000", count=10, low_threshold=3)
    db.session.commit()
    first = waybills.allocate(r, 2, shop=shop(ctx), actor=user(ctx, "courier1"))
    second = waybills.allocate(r, 3, shop=shop(ctx), actor=user(ctx, "courier1"))
    db.session.commit()
    assert [w.tracking_no for w in first + second] == [f"SF100000000000{n}" for n in range(5)]
    assert [w.serial for w in first + second] == list(range(1000000000000, 1000000000005))
    assert all(w.status == WaybillStatus.ALLOCATED and w.order_id is None for w in first + second)
    assert first[0].allocated_by_id == ctx["users"]["courier1"]
    db.session.expire_all()
    assert r.next_serial == 1000000000005
    assert waybills.remaining(r) == 5
    assert not waybills.is_low(r)
    waybills.allocate(r, 2, shop=shop(ctx), actor=None)
    assert waybills.remaining(r) == 3  # kept current without a reload
    assert waybills.is_low(r)


def test_s10_numbers_carry_their_check_digits(ctx):
    r = make_range(ctx, "EMS", "EA000000014CN", count=200)
    allocated = waybills.allocate(r, 200, shop=shop(ctx), actor=user(ctx))
    db.session.commit()
    for n, w in enumerate(allocated, start=1):
        serial = f"{n:08d}"
        assert w.tracking_no == f"EA{serial}{reference_s10(serial)}CN"
        assert waybills.validate_number(company("EMS"), w.tracking_no) == w.tracking_no
    assert allocated[-1].tracking_no == "EA000002001CN"


def test_numbers_go_to_the_orders_given(ctx):
    order_ids = list(
        db.session.scalars(select(Order.id).where(Order.shop_id == ctx["shops"]["seller1"]).order_by(Order.id).limit(3))
    )
    r = make_range(ctx, "ZTO", "73000000000001", count=100)
    allocated = waybills.allocate(r, 3, shop=shop(ctx), order_ids=order_ids, actor=user(ctx))
    db.session.commit()
    assert [w.order_id for w in allocated] == order_ids
    assert [w.tracking_no for w in waybills.waybills_of(db.session.get(Order, order_ids[1]))] == ["73000000000002"]
    with pytest.raises(ConflictError, match="already has tracking number 73000000000001"):
        waybills.allocate(r, 1, shop=shop(ctx), order_ids=order_ids[:1], actor=user(ctx))
    db.session.rollback()
    assert waybills.remaining(r) == 97


def test_orders_must_be_the_shops_and_one_per_number(ctx):
    other_order = db.session.scalars(select(Order.id).where(Order.shop_id == ctx["shops"]["seller2"])).first()
    own = db.session.scalars(select(Order.id).where(Order.shop_id == ctx["shops"]["seller1"])).first()
    r = make_range(ctx, "ZTO", "73000000000001", count=100)
    db.session.commit()
    with pytest.raises(NotFoundError):
        waybills.allocate(r, 1, shop=shop(ctx), order_ids=[other_order], actor=user(ctx))
    with pytest.raises(InvalidDataError, match="One order per number"):
        waybills.allocate(r, 2, shop=shop(ctx), order_ids=[own], actor=user(ctx))
    with pytest.raises(InvalidDataError, match="listed twice"):
        waybills.allocate(r, 2, shop=shop(ctx), order_ids=[own, own], actor=user(ctx))
    with pytest.raises(InvalidDataError, match="at least one"):
        waybills.allocate(r, 0, shop=shop(ctx), actor=user(ctx))
    with pytest.raises(NotFoundError):  # another shop's range
        waybills.allocate(r, 1, shop=shop(ctx, "seller2"), actor=user(ctx, "seller2"))
    db.session.rollback()
    assert waybill_count() == 0
    assert db.session.get(WaybillRange, r.id).next_serial == 73000000000001


def test_an_exhausted_range_gives_nobody_a_number(ctx):
    r = make_range(ctx, "SF", "SF1000000000000", count=10)
    waybills.allocate(r, 7, shop=shop(ctx), actor=user(ctx))
    db.session.commit()
    with pytest.raises(ConflictError) as caught:
        waybills.allocate(r, 5, shop=shop(ctx), actor=user(ctx))
    message = caught.value.message
    assert "SF1000000000000–SF1000000000009 has 3 numbers left and 5 are needed" in message
    assert "no order was given a number" in message
    assert waybill_count() == 7  # before the rollback too: nothing was written
    assert db.session.scalar(select(WaybillRange.next_serial).where(WaybillRange.id == r.id)) == 1000000000007
    db.session.rollback()
    assert db.session.get(WaybillRange, r.id).next_serial == 1000000000007
    last = waybills.allocate(r, 3, shop=shop(ctx), actor=user(ctx))  # exactly what is left still works
    db.session.commit()
    assert [w.tracking_no for w in last] == ["SF1000000000007", "SF1000000000008", "SF1000000000009"]
    assert waybills.remaining(r) == 0 and waybills.is_low(r)
    with pytest.raises(ConflictError, match="has 0 numbers left"):
        waybills.allocate(r, 1, shop=shop(ctx), actor=user(ctx))


def test_a_voided_number_is_never_handed_out_again(ctx):
    r = make_range(ctx, "JT", "JT0000000000001", count=10)
    first, _second = waybills.allocate(r, 2, shop=shop(ctx), actor=user(ctx))
    db.session.commit()
    with pytest.raises(InvalidDataError) as caught:
        waybills.void(first, actor=user(ctx), reason="  ")
    assert "reason" in caught.value.field_errors
    waybills.void(first, actor=user(ctx), reason="label jammed in the printer")
    db.session.commit()
    assert (first.status, first.void_reason) == (WaybillStatus.VOIDED, "label jammed in the printer")
    assert first.voided_at is not None
    with pytest.raises(ConflictError, match="already voided"):
        waybills.void(first, actor=user(ctx), reason="again")
    db.session.rollback()
    again = waybills.allocate(r, 1, shop=shop(ctx), actor=user(ctx))
    db.session.commit()
    assert again[0].tracking_no == "JT0000000000003"
    numbers = db.session.scalars(select(Waybill.tracking_no).order_by(Waybill.id)).all()
    assert numbers == ["JT0000000000001", "JT0000000000002", "JT0000000000003"]
    assert waybills.allocated_count(r) == 2
    assert waybills.find_waybill(shop(ctx), "jt 0000000000001").status == WaybillStatus.VOIDED
    with pytest.raises(NotFoundError):
        waybills.find_waybill(shop(ctx, "seller2"), "JT0000000000001")
    voided = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "waybill_voided")).one()
    assert (voided.target, voided.details["reason"]) == ("JT0000000000001", "label jammed in the printer")


def test_a_rolled_back_allocation_hands_the_same_numbers_out_again(ctx):
    r = make_range(ctx, "YUNDA", "400000000000000", count=10)
    db.session.commit()
    waybills.allocate(r, 4, shop=shop(ctx), actor=user(ctx))
    db.session.rollback()
    again = waybills.allocate(r, 1, shop=shop(ctx), actor=user(ctx))
    assert again[0].tracking_no == "400000000000000"


def test_format_number_stays_inside_the_range(ctx):
    r = make_range(ctx, "SF", "SF1000000000000", count=10)
    with pytest.raises(ValueError):
        waybills.format_number(r, r.end_serial + 1)
