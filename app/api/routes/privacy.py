"""A participant's right to leave without a trace: DELETE /me."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import DomainDep, ParticipantCaller
from app.privacy import deletion

router = APIRouter(tags=["privacy"])


@router.delete("/me", status_code=204)
async def delete_me(domain: DomainDep, caller: ParticipantCaller) -> Response:
    """Redact what the caller wrote, end their conversation, and forget them. The token stops
    working at once, since every request checks that the participant still exists."""
    await deletion.delete_participant(domain, participant=caller)
    return Response(status_code=204)
