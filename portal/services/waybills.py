"""Courier companies and their number rules, number ranges, and handing out tracking numbers atomically."""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import Order, Shop, User
from portal.models.base import utcnow
from portal.models.waybill import CheckRule, CourierCompany, Waybill, WaybillRange, WaybillStatus
from portal.services import audit
from portal.services.errors import ConflictError, InvalidDataError, NotFoundError

# The UPU S10 shape: service indicator, 8-digit serial, check digit, ISO country code.
S10_SHAPE = re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# A serial is stored as a 64-bit integer: at most 18 digits.
MAX_SERIAL_DIGITS = 18
# A range number without a check digit: letters, digits, letters.
PLAIN_SHAPE = re.compile(r"(?P<prefix>[A-Z]*)(?P<serial>\d+)(?P<suffix>[A-Z]*)")


@dataclass(frozen=True)
class CompanyRule:
    code: str
    name: str
    name_zh: str
    pattern: str
    example: str
    check: str = CheckRule.NONE


# Shapes from seed/facts.md section 3 (two public validators agree; current and older forms).
# No check digit is published for the domestic couriers: shape only. S10 numbers carry mod 11.
DEFAULT_COMPANIES: tuple[CompanyRule, ...] = (
    CompanyRule("SF", "SF Express", "顺丰速运", r"^(?:SF[0-9A-Z]\d{12}|\d{12})$", "SF1385628716739"),
    CompanyRule("ZTO", "ZTO Express", "中通快递", r"^(?:7[3-68]\d{12}|\d{12})$", "73610555582883"),
    # YTO's older "2 letters or digits + 10-13 digits" is left out: it would pass a YT number one digit short.
    CompanyRule("YTO", "YTO Express", "圆通速递", r"^(?:YT\d{13}|[6-9]\d{17})$", "YT8962646785389"),
    CompanyRule("STO", "STO Express", "申通快递", r"^(?:(?:77|43)\d{12,15}|[2-9]68\d{9,10})$", "773277027280336"),
    CompanyRule("YUNDA", "Yunda Express", "韵达快递", r"^(?:[34]\d{14}|5\d{12})$", "463431409940372"),
    CompanyRule("JD", "JD Logistics", "京东物流", r"^JD[0-9A-Z]{2}\d{11}$", "JDX024407261700"),
    CompanyRule("JT", "J&T Express", "极兔速递", r"^JT\d{13}$", "JT5261988016578"),
    CompanyRule(
        "EMS",
        "EMS / China Post",
        "中国邮政 EMS",
        r"^(?:[A-Z]{2}\d{9}[A-Z]{2}|\d{13})$",
        "EA473124829CN",
        CheckRule.S10,
    ),
    CompanyRule("CAINIAO", "Cainiao", "菜鸟", r"^621\d{12}$", "621234567890123"),
    CompanyRule("DEPPON", "Deppon Express", "德邦快递", r"^(?:DPK\d{12}|\d{8,10})$", "DPK202252612836"),
)


# Courier companies ----------------------------------------------------------------------------


def ensure_default_companies() -> list[CourierCompany]:
    """Add the built-in companies that are missing (by code); leaves existing rows as the operator set them.

    Returns the companies added (none on a second call).
    """
    existing = set(db.session.scalars(select(CourierCompany.code)))
    added = []
    for rule in DEFAULT_COMPANIES:
        if rule.code not in existing:
            company = CourierCompany(
                code=rule.code,
                name=rule.name,
                name_zh=rule.name_zh,
                pattern=rule.pattern,
                check=rule.check,
                example=rule.example,
            )
            db.session.add(company)
            added.append(company)
    db.session.flush()
    return added


def add_company(
    *,
    code: str,
    name: str,
    pattern: str,
    actor: User,
    name_zh: str = "",
    example: str = "",
    check: str = CheckRule.NONE,
) -> CourierCompany:
    """The operator registers another courier company.

    :raise InvalidDataError: empty code or name, a pattern that is not a regular expression, an unknown
        check rule, or an example the rule refuses.
    :raise ConflictError: the code is taken.
    """
    code = (code or "").strip().upper()
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not re.fullmatch(r"[A-Z0-9_]{2,16}", code):
        errors["code"] = _("Use 2 to 16 capital letters, digits or _ for the code.")
    if not name:
        errors["name"] = _("Give the company a name.")
    try:
        re.compile(pattern or "")
    except re.error as exc:
        errors["pattern"] = _("This is not a regular expression: %(error)s.", error=str(exc))
    if not pattern:
        errors["pattern"] = _("Give the rule the numbers follow, as a regular expression.")
    if check not in set(CheckRule):
        errors["check"] = _("Unknown check-digit rule.")
    if errors:
        raise InvalidDataError(next(iter(errors.values())), errors)
    if db.session.scalar(select(CourierCompany.id).where(CourierCompany.code == code)) is not None:
        message = _("There is already a courier company with code %(code)s.", code=code)
        raise ConflictError(message, {"code": message})
    company = CourierCompany(
        code=code, name=name[:80], name_zh=(name_zh or "").strip()[:80], pattern=pattern, check=check
    )
    if example:
        company.example = validate_number(company, example, field="example")
    db.session.add(company)
    db.session.flush()
    audit.record("courier_company_added", actor=actor, target=code, pattern=pattern, check=check)
    return company


def company_by_code(code: str) -> CourierCompany:
    """:raise NotFoundError: no company has this code."""
    company = db.session.scalar(select(CourierCompany).where(CourierCompany.code == (code or "").strip().upper()))
    if company is None:
        raise NotFoundError(_("Unknown courier company %(code)s.", code=code))
    return company


def chosen_company(code: str, field: str = "company") -> CourierCompany:
    """The active company picked in a form.

    :raise InvalidDataError: none chosen, or not an active company (a form error, not a missing page).
    """
    company = db.session.scalar(
        select(CourierCompany).where(CourierCompany.code == (code or "").strip().upper(), CourierCompany.active)
    )
    if company is None:
        message = _("Choose a courier company.")
        raise InvalidDataError(message, {field: message})
    return company


def active_companies() -> list[CourierCompany]:
    return list(db.session.scalars(select(CourierCompany).where(CourierCompany.active).order_by(CourierCompany.code)))


# Number rules ---------------------------------------------------------------------------------


def normalize_number(number: str) -> str:
    """Upper case, full-width characters folded (IME input), every space removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", number or "")).upper()


def s10_check_digit(serial8: str | int) -> int:
    """The UPU S10 check digit of an 8-digit serial: weights 8,6,4,2,3,5,9,7; 11 - (sum mod 11); 10→0, 11→5."""
    digits = f"{serial8:08d}" if isinstance(serial8, int) else serial8
    if not re.fullmatch(r"\d{8}", digits):
        raise ValueError(f"an S10 serial has 8 digits, not {serial8!r}")
    check = 11 - sum(int(d) * w for d, w in zip(digits, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def is_s10(number: str) -> bool:
    """Whether a normalised number has the S10 shape (``AA123456789CN``)."""
    return S10_SHAPE.fullmatch(number) is not None


def validate_number(company: CourierCompany, number: str, *, field: str = "number") -> str:
    """The number normalised (upper case, no spaces) if it follows the company's rule.

    :raise InvalidDataError: empty, not the company's pattern, or (S10) a wrong check digit;
        the message names the rule, the error is reported on ``field``.
    """
    normalized = normalize_number(number)
    if not normalized:
        message = _("Enter a tracking number.")
        raise InvalidDataError(message, {field: message})
    if not re.fullmatch(company.pattern, normalized):
        message = _(
            "%(number)s is not a %(company)s tracking number: it must match %(pattern)s (for example %(example)s).",
            number=normalized,
            company=company.code,
            pattern=company.pattern,
            example=company.example or "—",
        )
        raise InvalidDataError(message, {field: message})
    if company.check == CheckRule.S10 and is_s10(normalized):
        expected = s10_check_digit(normalized[2:10])
        if int(normalized[10]) != expected:
            message = _(
                "%(number)s is not a valid S10 number: its check digit should be %(expected)d, not %(given)s.",
                number=normalized,
                expected=expected,
                given=normalized[10],
            )
            raise InvalidDataError(message, {field: message})
    return normalized


# Ranges ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    prefix: str
    serial: int
    digits: int
    suffix: str
    check: str


def _split(company: CourierCompany, number: str, field: str) -> _Parts:
    """Prefix, serial and suffix of a validated number; S10: 2 letters, 8 digits, check digit, 2 letters."""
    if company.check == CheckRule.S10 and is_s10(number):
        return _Parts(number[:2], int(number[2:10]), 8, number[11:], CheckRule.S10)
    match = PLAIN_SHAPE.fullmatch(number)
    if match is None:
        message = _("%(number)s has letters among its digits: a range needs one run of digits.", number=number)
        raise InvalidDataError(message, {field: message})
    serial = match["serial"]
    if len(serial) > MAX_SERIAL_DIGITS:
        message = _("%(number)s has more than %(max)d digits in a row.", number=number, max=MAX_SERIAL_DIGITS)
        raise InvalidDataError(message, {field: message})
    return _Parts(match["prefix"], int(serial), len(serial), match["suffix"], CheckRule.NONE)


def format_number(waybill_range: WaybillRange, serial: int) -> str:
    """The tracking number of one serial of the range (with its S10 check digit where the range has one)."""
    if not waybill_range.start_serial <= serial <= waybill_range.end_serial:
        raise ValueError(f"serial {serial} is outside range {waybill_range.id}")
    digits = f"{serial:0{waybill_range.serial_digits}d}"
    if waybill_range.check == CheckRule.S10:
        digits += str(s10_check_digit(digits))
    return f"{waybill_range.prefix}{digits}{waybill_range.suffix}"


def range_label(waybill_range: WaybillRange) -> str:
    """First and last number, e.g. ``EA000000014CN–EA000009999CN``, for lists and messages."""
    first = format_number(waybill_range, waybill_range.start_serial)
    last = format_number(waybill_range, waybill_range.end_serial)
    return f"{first}–{last}"


def create_range(
    shop: Shop,
    company: CourierCompany,
    *,
    start: str,
    end: str | None = None,
    count: int | None = None,
    low_threshold: int = 100,
    actor: User,
    note: str = "",
) -> WaybillRange:
    """Record numbers the shop bought: from ``start`` to ``end`` (full numbers, inclusive) or ``count`` numbers.

    :raise InvalidDataError: a number off the company's rule, end before start, the two numbers of
        different shapes, neither or conflicting end and count, an inactive company.
    :raise ConflictError: some of the numbers are in a range already recorded for this company (by any shop).
    """
    if not company.active:
        message = _("%(company)s is not offered any more.", company=company.code)
        raise InvalidDataError(message, {"company": message})
    if low_threshold is None or low_threshold < 0:
        message = _("The warning level cannot be negative.")
        raise InvalidDataError(message, {"low_threshold": message})
    first = _split(company, validate_number(company, start, field="start"), "start")

    if end in (None, "") and count is None:
        message = _("Give the last number of the range or how many numbers it holds.")
        raise InvalidDataError(message, {"end": message})
    if end not in (None, ""):
        last = _split(company, validate_number(company, end, field="end"), "end")
        if (last.prefix, last.suffix, last.digits, last.check) != (
            first.prefix,
            first.suffix,
            first.digits,
            first.check,
        ):
            message = _(
                "The last number must have the same shape as the first: %(first)s and %(last)s differ "
                "in their letters or in how many digits they have.",
                first=normalize_number(start),
                last=normalize_number(end),
            )
            raise InvalidDataError(message, {"end": message})
        if last.serial < first.serial:
            message = _("The last number comes before the first.")
            raise InvalidDataError(message, {"end": message})
        end_serial = last.serial
        if count is not None and count != end_serial - first.serial + 1:
            message = _(
                "From %(first)s to %(last)s there are %(size)d numbers, not %(count)d.",
                first=normalize_number(start),
                last=normalize_number(end),
                size=end_serial - first.serial + 1,
                count=count,
            )
            raise InvalidDataError(message, {"count": message})
    else:
        if count < 1:
            message = _("A range holds at least one number.")
            raise InvalidDataError(message, {"count": message})
        end_serial = first.serial + count - 1
        if end_serial >= 10**first.digits:
            message = _("%(count)d numbers from %(first)s do not fit in its digits.", count=count, first=start)
            raise InvalidDataError(message, {"count": message})

    waybill_range = WaybillRange(
        shop_id=shop.id,
        company_id=company.id,
        prefix=first.prefix,
        serial_digits=first.digits,
        suffix=first.suffix,
        check=first.check,
        start_serial=first.serial,
        end_serial=end_serial,
        next_serial=first.serial,
        low_threshold=low_threshold,
        created_by_id=actor.id if actor else None,
        note=(note or "").strip()[:300],
    )
    if end in (None, ""):  # the computed last number must follow the rule too
        validate_number(company, format_number(waybill_range, end_serial), field="count")
    _refuse_overlap(shop, company, waybill_range)
    db.session.add(waybill_range)
    db.session.flush()
    audit.record(
        "range_created",
        actor=actor,
        shop=shop,
        target=f"{company.code} {range_label(waybill_range)}",
        company=company.code,
        first=format_number(waybill_range, waybill_range.start_serial),
        last=format_number(waybill_range, waybill_range.end_serial),
        count=waybill_range.size,
    )
    return waybill_range


def _refuse_overlap(shop: Shop, company: CourierCompany, new: WaybillRange) -> None:
    """Numbers belong to the courier company: no two ranges of it may share one, whichever shops hold them."""
    other = db.session.scalars(
        select(WaybillRange)
        .where(
            WaybillRange.company_id == company.id,
            WaybillRange.prefix == new.prefix,
            WaybillRange.suffix == new.suffix,
            WaybillRange.serial_digits == new.serial_digits,
            WaybillRange.check == new.check,
            WaybillRange.start_serial <= new.end_serial,
            WaybillRange.end_serial >= new.start_serial,
        )
        .order_by(WaybillRange.start_serial)
    ).first()
    if other is None:
        return
    values = {"new": range_label(new), "company": company.code, "existing": range_label(other)}
    if other.shop_id == shop.id:
        message = _("%(new)s overlaps the %(company)s range %(existing)s this shop already recorded.", **values)
    else:  # another shop's: say so, without naming the shop
        message = _(
            "%(new)s overlaps the %(company)s range %(existing)s that another shop recorded: "
            "check the numbers with the courier company.",
            **values,
        )
    raise ConflictError(message, {"start": message})


def remaining(waybill_range: WaybillRange) -> int:
    """Numbers not handed out yet (as loaded; allocate() keeps its own range object current)."""
    return waybill_range.remaining


def is_low(waybill_range: WaybillRange) -> bool:
    """Whether the range is down to its warning level (an exhausted range is low too)."""
    return remaining(waybill_range) <= waybill_range.low_threshold


def ranges_of(shop: Shop, company: CourierCompany | None = None) -> list[WaybillRange]:
    """The shop's ranges, by company then oldest first."""
    query = (
        select(WaybillRange)
        .join(WaybillRange.company)
        .where(WaybillRange.shop_id == shop.id)
        .order_by(CourierCompany.code, WaybillRange.created_at, WaybillRange.id)
    )
    if company is not None:
        query = query.where(WaybillRange.company_id == company.id)
    return list(db.session.scalars(query))


def numbers_left(shop_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """Numbers not handed out yet in these shops' ranges, by (shop id, company id), read in one statement.

    A (shop, company) without a range is not in the answer: none left.
    """
    if not shop_ids:
        return {}
    rows = db.session.execute(
        select(
            WaybillRange.shop_id,
            WaybillRange.company_id,
            func.sum(WaybillRange.remaining),
        )
        .where(WaybillRange.shop_id.in_(list(shop_ids)))
        .group_by(WaybillRange.shop_id, WaybillRange.company_id)
    ).all()
    return {(shop_id, company_id): int(left) for shop_id, company_id, left in rows}


# Allocation -----------------------------------------------------------------------------------


def allocate(
    waybill_range: WaybillRange,
    count: int,
    *,
    shop: Shop,
    order_ids: Sequence[int | None] | None = None,
    actor: User | None,
) -> list[Waybill]:
    """``allocate_numbers``, returning the Waybill objects (for callers that work on them further)."""
    rows = allocate_numbers(waybill_range, count, shop=shop, order_ids=order_ids, actor=actor)
    return list(
        db.session.scalars(select(Waybill).where(Waybill.id.in_([row.id for row in rows])).order_by(Waybill.id))
    )


def allocate_numbers(
    waybill_range: WaybillRange,
    count: int,
    *,
    shop: Shop,
    order_ids: Sequence[int | None] | None = None,
    actor: User | None,
) -> list:
    """Hand out the next ``count`` numbers of the range, all or none; ``order_ids[i]`` gets the i-th number.

    Returns rows (id, order_id, tracking_no) in number order: a 1,000-label job builds no ORM objects.

    One ``UPDATE ... SET next_serial = next_serial + n ... RETURNING``: the database serialises
    concurrent callers (a row lock on PostgreSQL, the write lock on SQLite), so no number is given
    twice and none is skipped. Numbers of a transaction that rolls back are handed out again.

    :raise NotFoundError: the range or an order is not this shop's.
    :raise InvalidDataError: count below 1, or order_ids not one per number.
    :raise ConflictError: fewer than ``count`` numbers left (nothing is allocated), or an order
        already has a number.
    """
    if waybill_range.shop_id != shop.id:
        raise NotFoundError(_("This number range is not this shop's."))
    if count is None or count < 1:
        message = _("Ask for at least one number.")
        raise InvalidDataError(message, {"count": message})
    targets = list(order_ids) if order_ids is not None else [None] * count
    if len(targets) != count:
        raise InvalidDataError(
            _("One order per number: %(count)d numbers for %(orders)d orders.", count=count, orders=len(targets))
        )
    _check_orders(shop, [order_id for order_id in targets if order_id is not None])

    new_next = db.session.execute(
        update(WaybillRange)
        .where(WaybillRange.id == waybill_range.id, WaybillRange.next_serial + count - 1 <= WaybillRange.end_serial)
        .values(next_serial=WaybillRange.next_serial + count)
        .returning(WaybillRange.next_serial)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_next is None:
        left = db.session.scalar(
            select(WaybillRange.end_serial - WaybillRange.next_serial + 1).where(WaybillRange.id == waybill_range.id)
        )
        raise ConflictError(
            _(
                "Range %(range)s has %(left)d numbers left and %(count)d are needed: "
                "no order was given a number. Record a new range, or print fewer labels.",
                range=range_label(waybill_range),
                left=left,
                count=count,
            )
        )
    set_committed_value(waybill_range, "next_serial", new_next)

    now = utcnow()
    rows = [
        {
            "range_id": waybill_range.id,
            "shop_id": shop.id,
            "company_id": waybill_range.company_id,
            "serial": serial,
            "tracking_no": format_number(waybill_range, serial),
            "order_id": order_id,
            "status": WaybillStatus.ALLOCATED,
            "allocated_at": now,
            "allocated_by_id": actor.id if actor else None,
            "void_reason": "",
        }
        for serial, order_id in zip(range(new_next - count, new_next), targets, strict=True)
    ]
    try:
        # One bulk INSERT ... RETURNING (not a unit-of-work flush per object): a 1,000-label job stays fast.
        table = Waybill.__table__
        # Without sort_by_parameter_order (which makes SQLite insert row by row); ids follow the VALUES order.
        inserted = db.session.execute(
            insert(table).returning(table.c.id, table.c.order_id, table.c.tracking_no), rows
        ).all()
        waybills = sorted(inserted, key=lambda row: row.id)
    except IntegrityError as exc:  # only if two ranges of a company overlap after all (recorded concurrently)
        raise ConflictError(
            _(
                "Range %(range)s hands out a number that was already given: check the ranges of this company.",
                range=range_label(waybill_range),
            )
        ) from exc
    audit.record(
        "waybills_allocated",
        actor=actor,
        shop=shop,
        target=waybills[0].tracking_no if count == 1 else f"{waybills[0].tracking_no}–{waybills[-1].tracking_no}",
        range_id=waybill_range.id,
        count=count,
    )
    return waybills


def _check_orders(shop: Shop, order_ids: list[int]) -> None:
    if len(set(order_ids)) != len(order_ids):
        raise InvalidDataError(_("The same order is listed twice."))
    if not order_ids:
        return
    found = set(db.session.scalars(select(Order.id).where(Order.id.in_(order_ids), Order.shop_id == shop.id)))
    if len(found) != len(order_ids):
        raise NotFoundError(_("Some of these orders are not this shop's."))
    taken = db.session.execute(
        select(Order.platform_order_no, Waybill.tracking_no)
        .join(Waybill, Waybill.order_id == Order.id)
        .where(Order.id.in_(order_ids), Waybill.status == WaybillStatus.ALLOCATED)
        .order_by(Order.platform_order_no)
    ).first()
    if taken is not None:
        raise ConflictError(
            _(
                "Order %(no)s already has tracking number %(tracking)s: void it first to give the order a new one.",
                no=taken.platform_order_no,
                tracking=taken.tracking_no,
            )
        )


def void(waybill: Waybill, *, actor: User | None, reason: str) -> None:
    """Void a number: it stays recorded and is never handed out again.

    :raise InvalidDataError: no reason.
    :raise ConflictError: already voided.
    """
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why the number is voided.")
        raise InvalidDataError(message, {"reason": message})
    changed = db.session.execute(
        update(Waybill)
        .where(Waybill.id == waybill.id, Waybill.status == WaybillStatus.ALLOCATED)
        .values(status=WaybillStatus.VOIDED, voided_at=utcnow(), void_reason=reason[:300])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(waybill)
    if changed != 1:
        raise ConflictError(_("Tracking number %(no)s is already voided.", no=waybill.tracking_no))
    audit.record(
        "waybill_voided",
        actor=actor,
        shop=db.session.get(Shop, waybill.shop_id),
        target=waybill.tracking_no,
        reason=reason[:300],
    )


def find_waybill(shop: Shop, tracking_no: str) -> Waybill:
    """The shop's waybill with this number (a scanned label), voided ones included.

    :raise NotFoundError: no number like this in the shop (another shop's is not found either).
    """
    number = normalize_number(tracking_no)
    waybill = db.session.scalars(
        select(Waybill).where(Waybill.shop_id == shop.id, Waybill.tracking_no == number).order_by(Waybill.id.desc())
    ).first()
    if waybill is None:
        raise NotFoundError(_("Tracking number %(no)s is not one of this shop's.", no=number))
    return waybill


def waybills_of(order: Order) -> list[Waybill]:
    """Every number an order was given, newest first."""
    return list(db.session.scalars(select(Waybill).where(Waybill.order_id == order.id).order_by(Waybill.id.desc())))


def allocated_count(waybill_range: WaybillRange) -> int:
    """Numbers of the range handed out and not voided."""
    return db.session.scalar(
        select(func.count())
        .select_from(Waybill)
        .where(Waybill.range_id == waybill_range.id, Waybill.status == WaybillStatus.ALLOCATED)
    )
