"""Moderated group rooms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, DomainDep, ParticipantCaller, StaffCaller
from app.api.schemas import GroupIn
from app.domain import rooms

router = APIRouter(tags=["groups"])


@router.post("/groups", status_code=201)
async def create_group(domain: DomainDep, caller: StaffCaller, body: GroupIn) -> dict[str, Any]:
    room = await rooms.create_group(domain, creator=caller, name=body.name, topic=body.topic)
    return {"room_id": room.id}


@router.get("/groups")
async def list_groups(domain: DomainDep, _caller: CurrentPrincipal) -> dict[str, Any]:
    return {"groups": await rooms.list_groups(domain)}


@router.post("/groups/{room_id}/join")
async def join_group(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    await rooms.join_group(domain, participant=caller, room_id=room_id)
    return {"room_id": room_id, "joined": True}


@router.post("/groups/{room_id}/leave")
async def leave_group(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    await rooms.leave_group(domain, participant=caller, room_id=room_id)
    return {"room_id": room_id, "joined": False}
