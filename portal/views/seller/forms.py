"""Seller owner forms: shops, settings, courier sub-accounts, staff."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.services.shops import GrantTerms

CHINA = ZoneInfo("Asia/Shanghai")


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
    privacy_labels = BooleanField(_l("Print privacy labels (masked recipient)"))
    require_packed_for_pickup = BooleanField(_l("Pickup needs the parcel packed first"))


class GrantTermsForm(FlaskForm):
    view_recipient = BooleanField(_l("View recipient details"))
    export_addresses = BooleanField(_l("Export addresses"))
    print_labels = BooleanField(_l("Print labels"))
    mark_shipped = BooleanField(_l("Mark shipped"))
    expires_on = DateField(_l("Expires after (optional)"), validators=[Optional()])

    def terms(self) -> GrantTerms:
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
        )


class NewLoginForm(GrantTermsForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    display_name = StringField(_l("Name"), validators=[Length(max=80)])
    one_time_password = PasswordField(_l("One-time password"), validators=[DataRequired(), Length(max=200)])


class StaffForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    display_name = StringField(_l("Name"), validators=[Length(max=80)])
    one_time_password = PasswordField(_l("One-time password"), validators=[DataRequired(), Length(max=200)])
