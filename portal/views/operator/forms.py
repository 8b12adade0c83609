"""Operator forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length


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
