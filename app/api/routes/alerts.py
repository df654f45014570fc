"""Crisis and warning alerts, for supervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.api.deps import DomainDep, SupervisorCaller
from app.api.responses import AlertOut, AlertsOut, DashboardOut, TypedRoute
from app.api.schemas import NotesIn
from app.safety import alerts, dashboard

router = APIRouter(route_class=TypedRoute, tags=["alerts"])


@router.get("/alerts", response_model=AlertsOut)
async def list_alerts(
    domain: DomainDep,
    caller: SupervisorCaller,
    status: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    return {"alerts": await alerts.read_alerts(domain, viewer=caller, status=status)}


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
async def acknowledge(domain: DomainDep, caller: SupervisorCaller, alert_id: str) -> dict[str, Any]:
    return await alerts.acknowledge(domain, supervisor=caller, alert_id=alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
async def resolve(
    domain: DomainDep,
    caller: SupervisorCaller,
    alert_id: str,
    body: Annotated[NotesIn | None, Body()] = None,
) -> dict[str, Any]:
    return await alerts.resolve(
        domain, supervisor=caller, alert_id=alert_id, notes=(body or NotesIn()).notes
    )


@router.get("/dashboard", response_model=DashboardOut)
async def get_dashboard(domain: DomainDep, caller: SupervisorCaller) -> dict[str, Any]:
    """The service now: waiting rooms, the longest wait, load per worker, open alerts."""
    return await dashboard.snapshot(domain, viewer=caller)
