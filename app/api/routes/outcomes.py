"""Check-ins, conversation outcomes, the programme view and a peer worker's own outcomes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import (
    DomainDep,
    ParticipantCaller,
    PeerWorkerCaller,
    StaffCaller,
    SupervisorCaller,
)
from app.api.responses import (
    CheckinOut,
    CheckinScaleOut,
    InsightsOut,
    MyOutcomesOut,
    OutcomeOut,
    TypedRoute,
)
from app.api.schemas import CheckInIn
from app.outcomes import checkins, insights, reports

router = APIRouter(route_class=TypedRoute, tags=["outcomes"])


@router.get("/checkins/scale", response_model=CheckinScaleOut)
async def checkin_scale() -> dict[str, Any]:
    """Public: the words and emoji of the mood scale, so every client shows the same ones."""
    return checkins.scale()


@router.post("/rooms/{room_id}/checkins", status_code=201, response_model=CheckinOut)
async def create_checkin(
    domain: DomainDep, caller: ParticipantCaller, room_id: str, body: CheckInIn, response: Response
) -> dict[str, Any]:
    """201 for a first check-in of a phase, 200 when it replaces an earlier one."""
    recorded = await checkins.record(
        domain, participant=caller, room_id=room_id, phase=body.phase, mood=body.mood,
        comment=body.comment,
    )  # fmt: skip
    if recorded.replaced:
        response.status_code = 200
    return {**recorded.checkin, "replaced": recorded.replaced}


@router.get("/rooms/{room_id}/outcome", response_model=OutcomeOut)
async def get_outcome(domain: DomainDep, caller: StaffCaller, room_id: str) -> dict[str, Any]:
    return await reports.room_outcome(domain, viewer=caller, room_id=room_id)


@router.get("/me/outcomes", response_model=MyOutcomesOut)
async def my_outcomes(domain: DomainDep, caller: PeerWorkerCaller) -> dict[str, Any]:
    return await reports.my_outcomes(domain, worker=caller)


@router.get("/insights", response_model=InsightsOut)
async def get_insights(
    domain: DomainDep,
    caller: SupervisorCaller,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> dict[str, Any]:
    return await insights.programme(domain, viewer=caller, start=start, end=end)


@router.get(
    "/insights.csv",
    response_class=Response,
    responses={
        200: {
            "description": "The programme view as CSV, one figure a row",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def get_insights_csv(
    domain: DomainDep,
    caller: SupervisorCaller,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    view = await insights.programme(domain, viewer=caller, start=start, end=end)
    name = f"peerchat-insights-{view['from'][:10]}-{view['to'][:10]}.csv"
    return Response(
        insights.to_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
