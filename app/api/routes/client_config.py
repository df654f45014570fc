"""What the browser pages need to know about this deployment before anyone signs in.

Public and small on purpose: only settings that change how a page behaves (where the quick exit
leads, the message length limit), never anything about people or the service's internals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.responses import ClientConfigOut, TypedRoute
from app.settings import Settings

router = APIRouter(route_class=TypedRoute, tags=["config"])


@router.get("/client-config", response_model=ClientConfigOut)
async def client_config(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return {
        "quick_exit_url": settings.quick_exit_url,
        "max_body_chars": settings.max_body_chars,
    }
