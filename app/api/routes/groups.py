"""Moderated group rooms."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from app.api.deps import CurrentPrincipal, DomainDep, ParticipantCaller, StaffCaller
from app.api.responses import (
    GroupMembersOut,
    GroupOut,
    GroupsOut,
    JoinedOut,
    MutedOut,
    RemovedOut,
    RoomIdOut,
    TypedRoute,
)
from app.api.schemas import GroupIn, GroupUpdateIn, ModerationReasonIn
from app.chat import groups, rooms
from app.core.errors import BadRequest

router = APIRouter(route_class=TypedRoute, tags=["groups"])


@router.post("/groups", status_code=201, response_model=RoomIdOut)
async def create_group(domain: DomainDep, caller: StaffCaller, body: GroupIn) -> dict[str, Any]:
    room = await rooms.create_group(domain, creator=caller, name=body.name, topic=body.topic)
    return {"room_id": room.id}


@router.get("/groups", response_model=GroupsOut)
async def list_groups(
    domain: DomainDep,
    caller: CurrentPrincipal,
    status: Annotated[
        Literal["open", "closed"] | None,
        Query(description="closed: the groups staff have closed, newest first (staff only)"),
    ] = None,
) -> dict[str, Any]:
    return {"groups": await rooms.list_groups(domain, viewer=caller, status=status)}


@router.post("/groups/{room_id}/join", response_model=JoinedOut)
async def join_group(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    await rooms.join_group(domain, participant=caller, room_id=room_id)
    return {"room_id": room_id, "joined": True}


@router.post("/groups/{room_id}/leave", response_model=JoinedOut)
async def leave_group(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    await rooms.leave_group(domain, participant=caller, room_id=room_id)
    return {"room_id": room_id, "joined": False}


@router.patch("/groups/{room_id}", response_model=GroupOut)
async def update_group(
    domain: DomainDep, caller: StaffCaller, room_id: str, body: GroupUpdateIn
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None or changes.get("paused", False) is None:
        raise BadRequest("name and paused cannot be null")
    return await groups.update_group(domain, actor=caller, room_id=room_id, changes=changes)


@router.post("/groups/{room_id}/close", response_model=GroupOut)
async def close_group(domain: DomainDep, caller: StaffCaller, room_id: str) -> dict[str, Any]:
    return await groups.close_group(domain, actor=caller, room_id=room_id)


@router.get("/groups/{room_id}/members", response_model=GroupMembersOut)
async def group_members(domain: DomainDep, caller: StaffCaller, room_id: str) -> dict[str, Any]:
    return await groups.members(domain, actor=caller, room_id=room_id)


@router.post("/groups/{room_id}/members/{participant_id}/remove", response_model=RemovedOut)
async def remove_member(
    domain: DomainDep,
    caller: StaffCaller,
    room_id: str,
    participant_id: str,
    body: ModerationReasonIn,
) -> dict[str, Any]:
    await groups.remove_member(
        domain, actor=caller, room_id=room_id, participant_id=participant_id, reason=body.reason
    )
    return {"room_id": room_id, "participant_id": participant_id, "removed": True}


@router.post("/groups/{room_id}/members/{participant_id}/mute", response_model=MutedOut)
async def mute_member(
    domain: DomainDep,
    caller: StaffCaller,
    room_id: str,
    participant_id: str,
    body: ModerationReasonIn,
) -> dict[str, Any]:
    await groups.set_muted(
        domain, actor=caller, room_id=room_id, participant_id=participant_id,
        muted=True, reason=body.reason,
    )  # fmt: skip
    return {"room_id": room_id, "participant_id": participant_id, "muted": True}


@router.post("/groups/{room_id}/members/{participant_id}/unmute", response_model=MutedOut)
async def unmute_member(
    domain: DomainDep, caller: StaffCaller, room_id: str, participant_id: str
) -> dict[str, Any]:
    await groups.set_muted(
        domain, actor=caller, room_id=room_id, participant_id=participant_id, muted=False
    )
    return {"room_id": room_id, "participant_id": participant_id, "muted": False}
