"""Operator forms: courier companies, anomaly regions, exemption decisions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Regexp

from portal.services import exemptions
from portal.views.seller.forms import label_choices


class CompanyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=16)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    name_zh = StringField(_l("Chinese name"), validators=[Length(max=80)])
    pattern = StringField(_l("Tracking-number rule (regular expression)"), validators=[DataRequired(), Length(max=300)])
    check = SelectField(
        _l("Check digit"),
        choices=[SelectChoice("", _l("none")), SelectChoice("s10", _l("UPU S10 (mod 11)"))],
        default="",
    )
    example = StringField(_l("Example number"), validators=[Length(max=40)])


WHEN = _l("Give a date and time such as 2026-11-26 08:00.")


class RegionForm(FlaskForm):
    """An anomaly region: the division is picked level by level; the most specific level chosen counts."""

    province = SelectField(_l("Province"), validators=[DataRequired(message=_l("Choose a province."))])
    city = SelectField(_l("City"), validate_choice=False, default="")
    district = SelectField(_l("District or county"), validate_choice=False, default="")
    applies_to = SelectField(_l("Applies to"), choices=label_choices(exemptions.SCOPE_LABELS), default="destination")
    level = SelectField(_l("Level"), choices=label_choices(exemptions.LEVEL_LABELS), default="auto")
    source = SelectField(_l("Source"), choices=label_choices(exemptions.SOURCE_LABELS), default="other")
    valid_from = DateTimeLocalField(_l("Valid from (China time)"), validators=[DataRequired(message=WHEN)])
    valid_to = DateTimeLocalField(_l("Valid to (China time)"), validators=[DataRequired(message=WHEN)])
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])


class RegionImportForm(FlaskForm):
    regions_file = FileField(_l("Region sheet (CSV or XLSX)"), validators=[FileRequired()])


class RegionConfirmForm(FlaskForm):
    upload_key = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])
    file_name = HiddenField(validators=[Length(max=200)])


class DecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment for the seller"), validators=[Length(max=2000)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))
