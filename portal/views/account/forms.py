"""Forms every signed-in person uses."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class RedeemForm(FlaskForm):
    code = StringField(_l("Invitation code"), validators=[DataRequired(), Length(max=40)])


class TokenForm(FlaskForm):
    """A new personal access token; the scopes offered are set by the view (what the user may do now)."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=80)])
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    expires_on = DateField(_l("Expires on (optional)"), validators=[Optional()])


class MembershipForm(FlaskForm):
    """Ask to be staff of a courier company; the choices (active companies) are set by the view."""

    company = SelectField(_l("Courier company"), choices=[], validators=[DataRequired()])
    note = StringField(_l("Where you work (outlet, city)"), validators=[Length(max=200)])
