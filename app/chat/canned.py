"""Canned responses: saved replies that staff insert into a conversation with a keystroke and
edit before sending. Every peer worker and supervisor reads them; supervisors and admins add,
change and remove them, and each change is written to the audit log (who, what, when), since
words staff send to people in distress are the programme's responsibility."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import OVERSIGHT_ROLES, STAFF_ROLES
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from app.core.identity import Principal
from app.core.text import clean_text
from app.storage.models import CannedResponse

TITLE_MAX_CHARS = 80
READERS = STAFF_ROLES
MANAGERS = OVERSIGHT_ROLES


def view(item: CannedResponse) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "body": item.body,
        "position": item.position,
        "updated_at": iso(item.updated_at),
        "updated_by": item.updated_by,
    }


def _text(value: object, field: str, max_chars: int, *, multiline: bool) -> str:
    if value is None:
        raise BadRequest(f"{field} is required")
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    cleaned = clean_text(value)
    if not multiline:
        cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise BadRequest(f"{field} is required")
    if len(cleaned) > max_chars:
        raise BadRequest(f"{field} must be at most {max_chars} characters")
    return cleaned


def _position(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise BadRequest("position must be a whole number from 0 to 10000")
    return value


def _require(actor: Principal, roles: frozenset[str], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(what)


async def list_all(domain: Domain, *, reader: Principal) -> list[dict[str, Any]]:
    _require(reader, READERS, "only staff use canned responses")
    async with domain.db.read() as session:
        found = (
            await session.execute(
                select(CannedResponse).order_by(
                    CannedResponse.position, CannedResponse.created_at, CannedResponse.id
                )
            )
        ).scalars()
        return [view(item) for item in found]


async def create(
    domain: Domain, *, actor: Principal, title: object, body: object, position: object = None
) -> dict[str, Any]:
    _require(actor, MANAGERS, "only supervisors and admins manage canned responses")
    clean_title = _text(title, "title", TITLE_MAX_CHARS, multiline=False)
    clean_body = _text(body, "body", domain.settings.max_body_chars, multiline=True)
    place = _position(position)
    async with domain.db.write() as session:
        count = (await session.execute(select(func.count(CannedResponse.id)))).scalar_one()
        if count >= domain.settings.canned_responses_max:
            raise Conflict(
                f"There are already {count} canned responses, the most allowed. "
                "Remove one you no longer use first."
            )
        if place is None:
            last = (await session.execute(select(func.max(CannedResponse.position)))).scalar()
            place = 0 if last is None else last + 1
        now = utcnow()
        item = CannedResponse(
            id=new_id("canned"),
            title=clean_title,
            body=clean_body,
            position=place,
            created_by=actor.id,
            updated_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
        audit.record(
            session, actor=actor, action="canned_response_created", target_id=item.id,
            title=clean_title, body=clean_body,
        )  # fmt: skip
        return view(item)


async def update(
    domain: Domain,
    *,
    actor: Principal,
    canned_id: str,
    title: object = None,
    body: object = None,
    position: object = None,
) -> dict[str, Any]:
    _require(actor, MANAGERS, "only supervisors and admins manage canned responses")
    if title is None and body is None and position is None:
        raise BadRequest("give a title, a body or a position to change")
    clean_title = None if title is None else _text(title, "title", TITLE_MAX_CHARS, multiline=False)
    clean_body = (
        None
        if body is None
        else _text(body, "body", domain.settings.max_body_chars, multiline=True)
    )
    place = _position(position)
    async with domain.db.write() as session:
        item = await session.get(CannedResponse, canned_id, with_for_update=True)
        if item is None:
            raise NotFound("no such canned response")
        before = {"title": item.title, "body": item.body, "position": item.position}
        if clean_title is not None:
            item.title = clean_title
        if clean_body is not None:
            item.body = clean_body
        if place is not None:
            item.position = place
        item.updated_by = actor.id
        item.updated_at = utcnow()
        after = {"title": item.title, "body": item.body, "position": item.position}
        audit.record(
            session, actor=actor, action="canned_response_updated", target_id=item.id,
            before=before, after=after,
        )  # fmt: skip
        return view(item)


async def delete(domain: Domain, *, actor: Principal, canned_id: str) -> None:
    _require(actor, MANAGERS, "only supervisors and admins manage canned responses")
    async with domain.db.write() as session:
        item = await session.get(CannedResponse, canned_id, with_for_update=True)
        if item is None:
            raise NotFound("no such canned response")
        audit.record(
            session, actor=actor, action="canned_response_deleted", target_id=item.id,
            title=item.title, body=item.body,
        )  # fmt: skip
        await session.delete(item)
