"""Blocking and reporting in groups, and the reports list for moderators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from app.api.deps import DomainDep, ParticipantCaller, StaffCaller
from app.api.responses import BlockedOut, ReportOut, ReportsOut, TypedRoute
from app.api.schemas import BlockIn, ReportIn
from app.safety import moderation

router = APIRouter(route_class=TypedRoute, tags=["moderation"])


@router.post(
    "/rooms/{room_id}/block",
    status_code=201,
    response_model=BlockedOut,
    responses={200: {"model": BlockedOut, "description": "Already blocked"}},
)
async def block(
    domain: DomainDep, caller: ParticipantCaller, room_id: str, body: BlockIn
) -> JSONResponse:
    """Stop receiving a participant's messages and typing, in every room (201 when new)."""
    created = await moderation.block(
        domain, blocker=caller, room_id=room_id, participant_id=body.participant_id
    )
    return JSONResponse(
        {"blocked": body.participant_id, "room_id": room_id}, status_code=201 if created else 200
    )


@router.post(
    "/rooms/{room_id}/messages/{seq}/report",
    status_code=201,
    response_model=ReportOut,
    responses={200: {"model": ReportOut, "description": "Already reported by the caller"}},
)
async def report(
    domain: DomainDep,
    caller: ParticipantCaller,
    room_id: str,
    seq: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Annotated[ReportIn | None, Body()] = None,
) -> JSONResponse:
    """Report a message to the room's moderators (201; reporting it again answers 200)."""
    view, created = await moderation.report(
        domain, reporter=caller, room_id=room_id, seq=seq, reason=(body or ReportIn()).reason
    )
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/reports", response_model=ReportsOut)
async def list_reports(
    domain: DomainDep,
    caller: StaffCaller,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    return {"reports": await moderation.list_reports(domain, viewer=caller, status=status)}


@router.post("/reports/{report_id}/resolve", response_model=ReportOut)
async def resolve_report(domain: DomainDep, caller: StaffCaller, report_id: str) -> dict[str, Any]:
    return await moderation.resolve_report(domain, actor=caller, report_id=report_id)
