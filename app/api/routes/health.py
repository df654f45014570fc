"""Liveness, readiness and metrics (outside /api/v1, for load balancers and operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import DomainDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, domain: DomainDep) -> JSONResponse:
    model_status: str = request.app.state.model.status
    database = "ok" if await domain.db.ping() else "unavailable"
    if database == "ok" and not await domain.db.writable(
        domain.settings.readyz_write_timeout_seconds
    ):
        database = "not_writable"
    checks = {
        "database": database,
        "bus": await domain.events.bus.condition(),
        "model": model_status,
    }
    ready = (
        checks["database"] == "ok"
        and checks["bus"] == "ok"
        and model_status in ("ready", "disabled")
    )
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
