"""Canned responses: saved replies staff insert into a conversation and edit before sending."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from app.api.deps import DomainDep, StaffCaller, SupervisorCaller
from app.api.responses import CannedListOut, CannedOut, TypedRoute
from app.chat import canned

router = APIRouter(route_class=TypedRoute, tags=["canned-responses"])


class CannedIn(BaseModel):
    """Types are checked by the domain, which says what is wrong in words."""

    model_config = ConfigDict(extra="forbid")
    title: object = None
    body: object = None
    position: object = None


@router.get("/canned-responses", response_model=CannedListOut)
async def list_canned(domain: DomainDep, caller: StaffCaller) -> dict[str, Any]:
    return {"canned_responses": await canned.list_all(domain, reader=caller)}


@router.post("/canned-responses", status_code=201, response_model=CannedOut)
async def create_canned(
    domain: DomainDep, caller: SupervisorCaller, body: CannedIn
) -> dict[str, Any]:
    return await canned.create(
        domain, actor=caller, title=body.title, body=body.body, position=body.position
    )


@router.put("/canned-responses/{canned_id}", response_model=CannedOut)
async def update_canned(
    domain: DomainDep, caller: SupervisorCaller, canned_id: str, body: CannedIn
) -> dict[str, Any]:
    return await canned.update(
        domain,
        actor=caller,
        canned_id=canned_id,
        title=body.title,
        body=body.body,
        position=body.position,
    )


@router.delete("/canned-responses/{canned_id}", status_code=204)
async def delete_canned(domain: DomainDep, caller: SupervisorCaller, canned_id: str) -> Response:
    await canned.delete(domain, actor=caller, canned_id=canned_id)
    return Response(status_code=204)
