"""Courier API routes: my outlet's status — declare no pickups from / no deliveries to districts, end early."""

from datetime import datetime
from typing import Annotated, Literal

from flask_login import current_user
from pydantic import BaseModel, Field
from spectree import Response

from portal.extensions import db
from portal.models import OutletDeclaration
from portal.services import anomalies
from portal.views.api import bp, spec
from portal.views.api.errors import require_json
from portal.views.api.schemas import MAX_ID, Body, Problem

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 429)}
Code = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="A GB/T 2260 division code.")]


class OutletDeclarationIn(Body):
    """One declaration per code, all or none. Pickups only for the ship-from districts of my shops."""

    kind: Literal["no_pickup", "no_delivery"] = Field(
        description="no_pickup: the outlet cannot pick up from these ship-from districts; no_delivery: it cannot "
        "deliver to these divisions (停发 / 暂停派送)."
    )
    codes: list[Code] = Field(min_length=1, max_length=50)
    valid_from: str | None = Field(
        None, max_length=40, description="RFC 3339 date-time (no zone: China time); default now, at most a day ago."
    )
    valid_to: str | None = Field(None, max_length=40, description="Default: open-ended. At most 90 days after start.")
    reason: Literal["weather", "epidemic", "outlet_closed", "traffic", "other"]
    note: str = Field("", max_length=500)


class OutletDeclarationOut(BaseModel):
    id: int
    kind: str
    code: str
    name: str
    company: str | None
    valid_from: datetime
    valid_to: datetime | None
    reason: str
    note: str
    created_at: datetime
    ended_at: datetime | None


class OutletDeclarationList(BaseModel):
    declarations: list[OutletDeclarationOut]


def _out(declaration: OutletDeclaration) -> OutletDeclarationOut:
    return OutletDeclarationOut(
        id=declaration.id,
        kind=declaration.kind,
        code=declaration.code,
        name=declaration.name,
        company=declaration.company.code if declaration.company else None,
        valid_from=declaration.valid_from,
        valid_to=declaration.valid_to,
        reason=declaration.reason,
        note=declaration.note,
        created_at=declaration.created_at,
        ended_at=declaration.ended_at,
    )


def _actor():
    return current_user._get_current_object()


@bp.get("/outlet-declarations")
@spec.validate(
    resp=Response(HTTP_200=OutletDeclarationList, **ERRORS), tags=["courier"], operation_id="listOutletDeclarations"
)
def outlet_declarations_list():
    """My outlet declarations, newest first (the last 200)."""
    rows = db.session.scalars(anomalies.declarations_of(_actor()).limit(200))
    return OutletDeclarationList(declarations=[_out(d) for d in rows])


@bp.post("/outlet-declarations")
@spec.validate(
    resp=Response(HTTP_201=OutletDeclarationList, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["courier"],
    operation_id="createOutletDeclarations",
)
def outlet_declarations_create(json: OutletDeclarationIn):
    """Declare that my outlet cannot pick up from (or deliver to) these districts for a window.

    The shops whose orders it touches and the platform operator see it; the operator may publish it as an
    anomaly region. Refused (422, naming the field): a pickup district none of my shops ships from, an unknown
    code, a window that ends before it starts, has already ended, or lasts more than 90 days.
    """
    json = require_json(json)
    made = anomalies.declare(json.model_dump(), actor=_actor())
    db.session.commit()
    return OutletDeclarationList(declarations=[_out(d) for d in made]), 201


@bp.post("/outlet-declarations/<int:declaration_id>/end")
@spec.validate(
    resp=Response(HTTP_200=OutletDeclarationOut, HTTP_409=Problem, **ERRORS),
    tags=["courier"],
    operation_id="endOutletDeclaration",
)
def outlet_declaration_end(declaration_id: int):
    """End one of my declarations now (409 when it has already ended)."""
    declaration = anomalies.declaration_for(_actor(), declaration_id if declaration_id <= MAX_ID else 0)
    anomalies.end_declaration(declaration, actor=_actor())
    db.session.commit()
    return _out(declaration)
