"""Seller owner forms: shops, settings, courier sub-accounts, staff."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.services import exemptions
from portal.services.shops import GrantTerms

CHINA = ZoneInfo("Asia/Shanghai")


def label_choices(labels: dict) -> list[SelectChoice]:
    """Select choices from a value → label mapping."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ShopForm(FlaskForm):
    shop_name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=80)])


class SettingsForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=80)])
    promise_hours = IntegerField(
        _l("Ship within (hours after payment)"), validators=[DataRequired(), NumberRange(min=1, max=24 * 30)]
    )
    detail_days = IntegerField(
        _l("Couriers see full recipient details for (days after shipping)"),
        validators=[Optional(), NumberRange(min=0, max=90)],
        default=7,
    )
    retention_days = IntegerField(
        _l("Keep buyer details for (days after shipping, then purged)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
        default=90,
    )
    privacy_labels = BooleanField(_l("Print privacy labels (masked recipient)"))
    require_packed_for_pickup = BooleanField(_l("Pickup needs the parcel packed first"))
    check_goods = BooleanField(_l("Check the goods when packing: scan each item's SKU barcode"))
    sender_name = StringField(_l("Sender name on labels"), validators=[Length(max=80)])
    sender_phone = StringField(_l("Sender phone"), validators=[Length(max=32)])
    sender_phone_public = BooleanField(_l("This is a business line: print it in full on privacy labels"))
    sender_address = StringField(_l("Ship-from address"), validators=[Length(max=300)])

    def validate_retention_days(self, field) -> None:
        detail_days = self.detail_days.data if self.detail_days.data is not None else 7
        if field.data is not None and field.data < detail_days:
            raise ValidationError(
                _l(
                    "Keep buyer details at least as long as couriers may see them (%(days)d days).",
                    days=detail_days,
                )
            )


def _before_2100(form, field) -> None:
    if field.data and field.data.year > 2100:
        raise ValidationError(_l("Choose a date before 2100."))


class GrantTermsForm(FlaskForm):
    # Choices (the active companies) are set by the view; the service checks the code.
    company = SelectField(
        _l("Courier company"),
        choices=[],
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose the courier company this person works for."))],
        description=_l("The person prints labels with this company's numbers only."),
    )
    view_recipient = BooleanField(_l("View recipient details"))
    export_addresses = BooleanField(_l("Export addresses"))
    print_labels = BooleanField(_l("Print labels"))
    mark_shipped = BooleanField(_l("Mark shipped"))
    expires_on = DateField(_l("Expires after (optional)"), validators=[Optional(), _before_2100])

    def terms(self, company=None) -> GrantTerms:
        """The terms as entered, with ``company`` (the CourierCompany the view found for the chosen code)."""
        expires_at = None
        if self.expires_on.data:
            # The grant works to the end of that day, China time.
            end = datetime.combine(self.expires_on.data + timedelta(days=1), time(0), tzinfo=CHINA)
            expires_at = end.astimezone(UTC)
        return GrantTerms(
            view_recipient=self.view_recipient.data,
            export_addresses=self.export_addresses.data,
            print_labels=self.print_labels.data,
            mark_shipped=self.mark_shipped.data,
            expires_at=expires_at,
            company=company,
        )


class NewLoginForm(GrantTermsForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    display_name = StringField(_l("Name"), validators=[Length(max=80)])
    one_time_password = PasswordField(_l("One-time password"), validators=[DataRequired(), Length(max=200)])


class StaffForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    display_name = StringField(_l("Name"), validators=[Length(max=80)])
    one_time_password = PasswordField(_l("One-time password"), validators=[DataRequired(), Length(max=200)])


class OrderFilterForm(FlaskForm):
    """The order list's filters (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("State"),
        choices=[
            SelectChoice("", _l("All states")),
            SelectChoice("pending", _l("pending")),
            SelectChoice("labelled", _l("labelled")),
            SelectChoice("packed", _l("packed")),
            SelectChoice("shipped", _l("shipped")),
            SelectChoice("cancelled", _l("cancelled")),
        ],
        default="",
    )
    due = SelectField(
        _l("Deadline"),
        choices=[
            SelectChoice("", _l("Any deadline")),
            SelectChoice("overdue", _l("Overdue")),
            SelectChoice("6", _l("Due within 6 h")),
            SelectChoice("24", _l("Due within 24 h")),
            SelectChoice("48", _l("Due within 48 h")),
        ],
        default="",
    )
    province = SelectField(_l("Destination province"), choices=[], default="", validate_choice=False)
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    flagged = BooleanField(_l("Address needs fixing"))


def _paid_in_range(form, field) -> None:
    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Give a time between the years 2000 and 2100."))


class OrderForm(FlaskForm):
    platform_order_no = StringField(_l("Order number"), validators=[DataRequired(), Length(max=64)])
    buyer_nick = StringField(_l("Buyer nickname"), validators=[Length(max=80)])
    recipient_name = StringField(_l("Recipient"), validators=[DataRequired(), Length(max=80)])
    recipient_phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32)])
    address = StringField(
        _l("Address (province city district, street, room)"), validators=[DataRequired(), Length(max=400)]
    )
    item_title = StringField(_l("Item"), validators=[DataRequired(), Length(max=300)])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[DataRequired(), NumberRange(min=1, max=100000)])
    paid_at = DateTimeLocalField(
        _l("Paid at (China time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired(), _paid_in_range]
    )
    buyer_message = TextAreaField(_l("Buyer message"), validators=[Length(max=2000)])
    seller_memo = TextAreaField(_l("Seller memo"), validators=[Length(max=2000)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Length(max=300)])


class ImportForm(FlaskForm):
    orders_file = FileField(
        _l("Orders file (ExportOrderList…, CSV or XLSX)"),
        validators=[FileRequired(), FileAllowed(["csv", "xlsx", "txt"], _l("A CSV or XLSX file, please."))],
    )
    items_file = FileField(
        _l("Items file (ExportOrderDetailList…, optional)"),
        validators=[Optional(), FileAllowed(["csv", "xlsx", "txt"], _l("A CSV or XLSX file, please."))],
    )


class RangeForm(FlaskForm):
    company = SelectField(_l("Courier company"), choices=[], validate_choice=False)
    start = StringField(_l("First number"), validators=[DataRequired(), Length(max=40)])
    end = StringField(_l("Last number"), validators=[Optional(), Length(max=40)])
    count = IntegerField(_l("or how many"), validators=[Optional(), NumberRange(min=1, max=10_000_000)])
    low_threshold = IntegerField(
        _l("Warn when fewer than this are left"), default=100, validators=[Optional(), NumberRange(min=0)]
    )
    note = StringField(_l("Note"), validators=[Length(max=300)])


class TrackingImportForm(FlaskForm):
    company = SelectField(_l("Courier company"), choices=[], validate_choice=False)
    tracking_file = FileField(
        _l("Sheet of order numbers and tracking numbers (CSV or XLSX)"),
        validators=[FileRequired(), FileAllowed(["csv", "xlsx", "txt"], _l("A CSV or XLSX file, please."))],
    )


class EvidenceEntry(Form):
    """One evidence file and what it shows (a sub-form of ExemptionForm)."""

    kind = SelectField(
        _l("The file shows"), choices=[SelectChoice("", "—"), *label_choices(exemptions.EVIDENCE_LABELS)], default=""
    )
    file = FileField(_l("File (PNG, JPEG or PDF)"))


class ExemptionForm(FlaskForm):
    """A manual exemption report: orders, the reason, evidence."""

    order_numbers = TextAreaField(
        _l("Order numbers (one per line)"), validators=[DataRequired(message=_l("Choose at least one order."))]
    )
    reason = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=2000)])
    evidence = FieldList(FormField(EvidenceEntry), min_entries=3, max_entries=exemptions.EVIDENCE_MAX_FILES)


class OrderListForm(OrderFilterForm):
    """The order list at volume: the filters above and SKU, batch, paid before, flagged or not; sort; page size.
    Read from the query string, and from a bulk action's form (the server re-reads the filter it acts on)."""

    flagged = SelectField(
        _l("Address"),
        choices=[
            SelectChoice("", _l("Any address")),
            SelectChoice("yes", _l("Address needs fixing")),
            SelectChoice("no", _l("Address placed")),
        ],
        default="",
        validate_choice=False,  # "y" from the old checkbox's links still means "needs fixing"
    )
    sku = StringField(_l("SKU"), validators=[Optional(), Length(max=80)])
    batch = SelectField(_l("Batch"), choices=[], default="", validate_choice=False)
    paid_before = DateTimeLocalField(_l("Paid before (China time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("ship_by", _l("Ship-by deadline")),
            SelectChoice("paid", _l("Paid time")),
            SelectChoice("destination", _l("Destination")),
            SelectChoice("sku", _l("SKU")),
        ],
        default="ship_by",
    )
    per_page = SelectField(
        _l("Per page"), choices=[SelectChoice(str(n), str(n)) for n in (50, 100, 200, 500)], default="50"
    )


class StaffPrintForm(FlaskForm):
    """The per-person "print labels" switch of a seller staff member."""

    print_labels = BooleanField(_l("Prints labels"))
