"""Blueprints, one package per audience; shared helpers for views."""

import re
from urllib.parse import urlsplit

from flask import Response, abort, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from portal.extensions import db
from portal.services import audit, exemptions, waybills
from portal.services.errors import DomainError


def copy_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors on the form's fields; the rest on the form itself."""
    placed = False
    for name, message in error.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def failed(form: FlaskForm, error: DomainError) -> int:
    """A service refused the form: undo the unit of work, show why on the form, return the status."""
    db.session.rollback()
    copy_errors(form, error)
    return error.status


_ID = re.compile(r"^[0-9]{1,10}$")
# Ids are 32-bit integers on PostgreSQL: a larger number is no id (and would be a database error).
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


def company_choices() -> list[SelectChoice]:
    """A select's courier companies: every active one, by code, named as pages name them."""
    return [SelectChoice(company.code, company.label) for company in waybills.active_companies()]


def ids_from(values: list[str]) -> list[int]:
    """Database ids given in a form or query string; anything else (², 10**30, text) is left out."""
    return [int(value) for value in values if _ID.match(value) and 0 < int(value) <= MAX_ID]


def paginate(query, *, per_page: int, max_per_page: int | None = None):
    """One page of a list; a page number beyond any list is the last possible page, not an error."""
    page = request.args.get("page", 1, type=int)
    return db.paginate(
        query, page=min(max(page, 1), MAX_PAGE), per_page=per_page, max_per_page=max_per_page, error_out=False
    )


def local_path(target: str | None) -> str | None:
    """``next`` only if it is a path on this site (no scheme, no host, no //evil.example)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def send_evidence(report, evidence):
    """An exemption report's evidence file, to its shop or the operator; every view is audited."""
    if evidence.report_id != report.id:
        abort(404)
    path = exemptions.evidence_path(evidence)  # before the audit: a file already removed is not a view
    audit.record(
        "evidence_viewed",
        actor=current_user._get_current_object(),
        shop=report.shop,
        target=f"report {report.id}",
        evidence_id=evidence.id,
    )
    db.session.commit()
    response = send_file(
        path,
        mimetype=evidence.content_type,
        download_name=evidence.file_name,
        as_attachment=evidence.content_type == "application/pdf",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def job_response(body, mimetype: str, filename: str | None = None, **audit_details) -> Response:
    """A rendering of the request's print job (HTML, PDF, ZPL), to the browser or the API: audited, never cached."""
    from portal.permissions import resolved

    job = resolved("job")
    audit.record(
        "print_job_opened",
        actor=current_user._get_current_object(),
        target=f"job {job.id}",
        format=mimetype.split("/")[-1],
        **audit_details,
    )
    db.session.commit()
    response = Response(body, mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
