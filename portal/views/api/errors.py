"""Validation failures as problem details, keyed by where in the request they are."""

from flask_babel import gettext as _
from werkzeug.exceptions import UnsupportedMediaType


def validation_problem(errors: list[dict], base: str) -> dict:
    """spectree's (pydantic's) error list → a 422 problem body with one message per location."""
    fields: dict[str, str] = {}
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ())) or "body"
        fields.setdefault(location[:200], str(error.get("msg", ""))[:300])
    return {
        "type": base + "invalid-request",
        "title": _("The request does not match the API description."),
        "status": 422,
        "errors": fields,
    }


def require_json(body):
    """spectree validates a JSON body only when one is sent: anything else (a form) is refused here.

    :raise UnsupportedMediaType: (415) the body is not application/json.
    """
    if body is None:
        raise UnsupportedMediaType(_("Send the body as application/json."))
    return body
