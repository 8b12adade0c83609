"""Courier forms: the print form of the queue, reprint (an order, or pages of a job) and void."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.services.labels import LABEL_SIZES


def size_choices() -> list[SelectChoice]:
    return [SelectChoice(key, f"{w}×{h} mm") for key, (w, h) in LABEL_SIZES.items()]


class PrintForm(FlaskForm):
    company = SelectField(_l("Courier company"), choices=[], validate_choice=False)
    size = SelectField(_l("Label size"), choices=size_choices(), default="100x150")
    scope = SelectField(
        _l("Print"),
        choices=[
            SelectChoice("selected", _l("the selected orders")),
            SelectChoice("shop", _l("all pending in this shop")),
            SelectChoice("all", _l("all pending in all my shops")),
        ],
        default="selected",
    )


class ReprintForm(FlaskForm):
    size = SelectField(_l("Label size"), choices=size_choices(), default="100x150")
    reason = StringField(_l("Reason for printing again"), validators=[DataRequired(), Length(max=300)])


class VoidForm(FlaskForm):
    reason = StringField(_l("Reason for voiding"), validators=[DataRequired(), Length(max=300)])


class PagesReprintForm(FlaskForm):
    """Some pages of a print job again (the service reads and checks the page numbers)."""

    pages = StringField(_l("Pages"), validators=[DataRequired(), Length(max=200)], description=_l("e.g. 1,3,5-7"))
    reason = StringField(_l("Reason for printing again"), validators=[DataRequired(), Length(max=300)])
