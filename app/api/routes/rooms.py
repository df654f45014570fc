"""Support requests and the room lifecycle: claim, transfer, close, history, help."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.api.deps import (
    CurrentPrincipal,
    DomainDep,
    ParticipantCaller,
    PeerWorkerCaller,
    StaffCaller,
)
from app.api.responses import (
    AssignedRoomOut,
    ClosedRoomOut,
    HelpOut,
    MessagesOut,
    NotesOut,
    QueueOut,
    RiskOut,
    RoomOut,
    RoomStatusOut,
    TypedRoute,
)
from app.api.schemas import CloseIn, RiskIn, SupportRequestIn, TransferIn
from app.chat import messages, notes, queue, rooms
from app.chat.messages import MAX_SEQ
from app.safety import alerts

router = APIRouter(route_class=TypedRoute, tags=["rooms"])


@router.post("/support-requests", status_code=201, response_model=RoomStatusOut)
async def create_support_request(
    domain: DomainDep,
    caller: ParticipantCaller,
    body: Annotated[SupportRequestIn | None, Body()] = None,
) -> dict[str, Any]:
    body = body or SupportRequestIn()
    room = await rooms.request_support(domain, participant=caller, topic=body.topic, note=body.note)
    return {"room_id": room.id, "status": room.status}


@router.get("/queue", response_model=QueueOut)
async def get_queue(domain: DomainDep, caller: StaffCaller) -> dict[str, Any]:
    rooms = await queue.list_queue(domain, viewer=caller)
    # The cap travels with the queue, so a worker's page can say "2 of 3" and hold Claim back.
    return {"rooms": rooms, "max_rooms": domain.settings.worker_max_rooms}


@router.post("/rooms/{room_id}/claim", response_model=AssignedRoomOut)
async def claim(domain: DomainDep, caller: PeerWorkerCaller, room_id: str) -> dict[str, Any]:
    room = await rooms.claim(domain, worker=caller, room_id=room_id)
    return {"room_id": room.id, "status": room.status, "assigned_to": room.assigned_to}


@router.post("/rooms/{room_id}/transfer", response_model=AssignedRoomOut)
async def transfer(
    domain: DomainDep, caller: StaffCaller, room_id: str, body: TransferIn
) -> dict[str, Any]:
    room = await rooms.transfer(domain, actor=caller, room_id=room_id, to_user_id=body.to_user_id)
    return {"room_id": room.id, "status": room.status, "assigned_to": room.assigned_to}


@router.post("/rooms/{room_id}/close", response_model=ClosedRoomOut)
async def close(
    domain: DomainDep,
    caller: StaffCaller,
    room_id: str,
    body: Annotated[CloseIn | None, Body()] = None,
) -> dict[str, Any]:
    """A room with an unresolved crisis alert closes only with a safety note (else 409), which
    resolves that alert and is audited."""
    body = body or CloseIn()
    resolved = await alerts.settle_for_close(
        domain, actor=caller, room_id=room_id, safety_note=body.safety_note
    )
    room = await rooms.close(domain, actor=caller, room_id=room_id, notes=body.notes)
    if resolved:
        await domain.events.queue_changed(room_id)
    return {
        "room_id": room.id,
        "status": room.status,
        "resolved_alerts": [a["alert_id"] for a in resolved],
    }


@router.post("/rooms/{room_id}/risk", response_model=RiskOut)
async def lower_risk(
    domain: DomainDep, caller: StaffCaller, room_id: str, body: RiskIn
) -> dict[str, Any]:
    """Staff with access lower the room's risk on purpose, saying why (audited)."""
    return await alerts.lower_risk(
        domain, actor=caller, room_id=room_id, level=body.level, note=body.note
    )


@router.get("/rooms/{room_id}/notes", response_model=NotesOut)
async def list_notes(domain: DomainDep, caller: StaffCaller, room_id: str) -> dict[str, Any]:
    return {"notes": await notes.list_notes(domain, reader=caller, room_id=room_id)}


@router.get("/rooms/{room_id}", response_model=RoomOut)
async def get_room(domain: DomainDep, caller: CurrentPrincipal, room_id: str) -> dict[str, Any]:
    return await rooms.room_summary(domain, reader=caller, room_id=room_id)


@router.get("/rooms/{room_id}/messages", response_model=MessagesOut)
async def list_messages(
    domain: DomainDep,
    caller: CurrentPrincipal,
    room_id: str,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_SEQ)] = 100,
) -> dict[str, Any]:
    found = await messages.history(
        domain, reader=caller, room_id=room_id, after_seq=after_seq, limit=limit
    )
    return {"messages": found}


@router.post("/rooms/{room_id}/leave", response_model=RoomStatusOut)
async def leave(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    """A participant ends their conversation, or withdraws a request still waiting."""
    room = await rooms.leave(domain, participant=caller, room_id=room_id)
    return {"room_id": room.id, "status": room.status}


@router.post("/rooms/{room_id}/help", status_code=201, response_model=HelpOut)
async def help_now(domain: DomainDep, caller: ParticipantCaller, room_id: str) -> dict[str, Any]:
    """The participant's "I need help now": raises a crisis alert at once."""
    await alerts.help_now(domain, participant=caller, room_id=room_id)
    return {"room_id": room_id, "status": "help_requested"}
