"""The audit log: every staff read of a transcript and every act on a room or alert."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.identity import Principal
from app.storage.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    room_id: str | None = None,
    target_id: str | None = None,
    **detail: Any,
) -> None:
    """Added to the caller's transaction, so the act and its record commit together."""
    session.add(
        AuditEntry(
            actor_id=actor.id,
            actor_role=actor.role,
            action=action,
            room_id=room_id,
            target_id=target_id,
            detail=detail,
        )
    )
