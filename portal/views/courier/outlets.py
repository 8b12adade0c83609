"""Courier staff: my outlet's status — declare that it cannot pick up from, or deliver to, some districts."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from portal.extensions import db
from portal.models.base import utcnow
from portal.services import anomalies
from portal.services.errors import DomainError
from portal.views import failed, paginate
from portal.views.courier import bp


class OutletForm(FlaskForm):
    """A declaration: what the outlet cannot do, where, when and why. The service checks everything."""

    kind = SelectField(
        _l("The outlet cannot"),
        choices=[SelectChoice(k, v) for k, v in anomalies.KIND_LABELS.items()],
        validate_choice=False,
    )
    codes = SelectMultipleField(_l("Ship-from districts of my shops"), choices=[], validate_choice=False)
    delivery_codes = StringField(_l("Destination division codes (GB/T 2260, separated by spaces)"))
    valid_from = StringField(_l("From (China time; empty: now)"))
    valid_to = StringField(_l("Until (China time; empty: until I end it)"))
    reason = SelectField(
        _l("Reason"), choices=[SelectChoice(k, v) for k, v in anomalies.REASON_LABELS.items()], validate_choice=False
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])


class EndForm(FlaskForm):
    """A button: only the CSRF token."""


def _actor():
    return current_user._get_current_object()


def _data(form: OutletForm) -> dict:
    codes = form.codes.data or []
    if form.kind.data == "no_delivery":
        codes = (form.delivery_codes.data or "").replace(",", " ").split()
    return {
        "kind": form.kind.data,
        "codes": codes,
        "valid_from": form.valid_from.data,
        "valid_to": form.valid_to.data,
        "reason": form.reason.data,
        "note": form.note.data,
    }


@bp.route("/outlet", methods=["GET", "POST"])
def outlet():
    """My outlet's declarations, and the form for a new one."""
    actor = _actor()
    form = OutletForm()
    districts = anomalies.pickup_districts(actor)
    form.codes.choices = [SelectChoice(r.code, f"{r.code} {r.name}") for r in districts]
    status = 200
    if form.validate_on_submit():
        try:
            made = anomalies.declare(_data(form), actor=actor)
        except DomainError as error:
            status = failed(form, error)
            if "codes" in error.field_errors and not form.codes.errors:
                form.codes.errors = [error.field_errors["codes"]]
        else:
            db.session.commit()
            flash(_("Declared for %(n)d districts: shops and the operator see it now.", n=len(made)), "success")
            return redirect(url_for("courier.outlet"))
    elif request.method == "POST":
        status = 422
    page = paginate(anomalies.declarations_of(actor), per_page=50)
    return render_template(
        "courier/outlet.html",
        form=form,
        districts=districts,
        page=page,
        now=utcnow(),
        end_form=EndForm(),
        kind_labels=anomalies.KIND_LABELS,
        reason_labels=anomalies.REASON_LABELS,
    ), status


@bp.post("/outlet/<int:declaration_id>/end")
def outlet_end(declaration_id: int):
    """End one of my declarations now."""
    declaration = anomalies.declaration_for(_actor(), declaration_id)
    if EndForm().validate_on_submit():
        try:
            anomalies.end_declaration(declaration, actor=_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(_("Declaration for %(name)s ended.", name=declaration.name), "info")
    return redirect(url_for("courier.outlet"))
