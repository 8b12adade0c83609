"""Platform operator: proposed anomaly regions (services/anomalies.py): publish as suggested, edit, or dismiss."""

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from portal.extensions import db
from portal.models import AnomalyProposal, ProposalStatus, RegionScope
from portal.models.base import utcnow
from portal.services import anomalies, exemptions
from portal.services.errors import DomainError
from portal.views import failed, paginate
from portal.views.operator import bp
from portal.views.seller.forms import ActionForm

CHINA_FORMAT = "%Y-%m-%dT%H:%M"


class PublishForm(FlaskForm):
    """The suggested region, as the operator may edit it before publishing; the service checks it."""

    applies_to = SelectField(
        _l("Applies to"),
        choices=[SelectChoice(k, v) for k, v in exemptions.SCOPE_LABELS.items() if k != RegionScope.BOTH],
    )
    level = SelectField(_l("Level"), choices=[SelectChoice(k, v) for k, v in exemptions.LEVEL_LABELS.items()])
    valid_from = StringField(_l("Valid from (China time)"))
    valid_to = StringField(_l("Valid to (China time)"))
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])


class DismissForm(FlaskForm):
    reason = TextAreaField(_l("Why dismiss it"), validators=[Length(max=500)])


def _actor():
    return current_user._get_current_object()


def _proposal(proposal_id: int) -> AnomalyProposal:
    proposal = db.session.get(AnomalyProposal, proposal_id) if 0 < proposal_id < 2**31 else None
    if proposal is None:
        abort(404)
    return proposal


def _china(moment) -> str:
    from portal.services.orders import CHINA

    return moment.astimezone(CHINA).strftime(CHINA_FORMAT)


@bp.get("/proposals")
def proposals():
    """Proposed regions: waiting ones first; ``?status=`` shows published, dismissed or lapsed ones."""
    status = request.args.get("status", ProposalStatus.OPEN)
    if status not in {s.value for s in ProposalStatus} and status != "all":
        status = ProposalStatus.OPEN
    page = paginate(anomalies.proposals(None if status == "all" else status), per_page=50)
    return render_template("operator/proposals.html", page=page, status=status, action_form=ActionForm(), **_labels())


@bp.post("/proposals/detect")
def proposals_detect():
    """Run the detection now (as the 15-minute job does)."""
    if ActionForm().validate_on_submit():
        result = anomalies.detect_and_commit()
        if result is None:
            flash(_("The scheduled detection was running at the same moment: its proposals stand."), "info")
        else:
            flash(
                _(
                    "Detection ran over %(n)d districts: %(opened)d new proposals, %(updated)d refreshed.",
                    n=result.districts,
                    opened=len(result.opened),
                    updated=len(result.updated),
                ),
                "info",
            )
    return redirect(url_for("operator.proposals"))


def _render(proposal: AnomalyProposal, publish_form: PublishForm, dismiss_form: DismissForm, status: int = 200):
    return render_template(
        "operator/proposals_detail.html",
        proposal=proposal,
        publish_form=publish_form,
        dismiss_form=dismiss_form,
        chart=anomalies.chart_data(proposal),
        summary=anomalies.summary(proposal),
        declarations=[
            {**d, "valid_from": _moment(d["valid_from"]), "valid_to": _moment(d.get("valid_to"))}
            for d in proposal.evidence.get("declarations", [])
        ],
        now=utcnow(),
        **_labels(),
    ), status


def _moment(value: str | None) -> datetime | None:
    """A time the evidence keeps as ISO text (UTC), for the page's own time format."""
    return datetime.fromisoformat(value) if value else None


def _labels() -> dict:
    return {
        "status_labels": anomalies.PROPOSAL_STATUS_LABELS,
        "signal_labels": anomalies.SIGNAL_LABELS,
        "kind_labels": anomalies.KIND_LABELS,
        "reason_labels": anomalies.REASON_LABELS,
    }


def _publish_form(proposal: AnomalyProposal) -> PublishForm:
    suggested = anomalies.proposal_region_data(proposal)
    return PublishForm(
        applies_to=suggested["applies_to"],
        level=suggested["level"],
        valid_from=_china(suggested["valid_from"]),
        valid_to=_china(suggested["valid_to"]),
        note=suggested["note"],
    )


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    """One proposal: what triggered it, its 14-day chart, and the publish and dismiss forms."""
    item = _proposal(proposal_id)
    return _render(item, _publish_form(item), DismissForm())


@bp.post("/proposals/<int:proposal_id>/publish")
def proposal_publish(proposal_id: int):
    """Publish the proposal (as edited in the form) as an anomaly region."""
    item = _proposal(proposal_id)
    form = PublishForm()
    if not form.validate_on_submit():
        return _render(item, form, DismissForm(), 422)
    data = {name: getattr(form, name).data for name in ("applies_to", "level", "valid_from", "valid_to", "note")}
    try:
        region = anomalies.publish(item, data, actor=_actor())
    except DomainError as error:
        return _render(item, form, DismissForm(), failed(form, error))
    db.session.commit()
    flash(_("%(region)s published as an anomaly region.", region=region.name), "success")
    return redirect(url_for("operator.proposal", proposal_id=item.id))


@bp.post("/proposals/<int:proposal_id>/dismiss")
def proposal_dismiss(proposal_id: int):
    """Dismiss the proposal with a reason: not proposed again for its window unless the signal grows."""
    item = _proposal(proposal_id)
    form = DismissForm()
    if not form.validate_on_submit():
        return _render(item, _publish_form(item), form, 422)
    try:
        anomalies.dismiss(item, form.reason.data or "", actor=_actor())
    except DomainError as error:
        return _render(item, _publish_form(item), form, failed(form, error))
    db.session.commit()
    flash(_("Proposal dismissed."), "info")
    return redirect(url_for("operator.proposals"))
