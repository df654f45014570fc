"""Words and crisis resources for a participant who may be in danger (the `support` frame).

A participant whose message reads as a crisis, or who asks for help, is offered at once what
they can do right now: calm words and the helplines configured for their language. Nothing in
it names a score, a level or a model: it is written to a person, not about them. The resources
come from one file (the front end's resources.json unless PEERCHAT_CRISIS_RESOURCES_FILE names
another), so the participant page, SMS and this offer always list the same helplines.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from app.core.clock import utcnow
from app.core.context import Domain
from app.settings import Settings
from app.storage.models import Membership, Participant, Room

log = logging.getLogger(__name__)
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "frontend" / "resources.json"
FALLBACK_LANGUAGE = "en"


class Why(StrEnum):
    """What prompted the offer: only the words differ."""

    CONCERN = "concern"  # their words read as a crisis
    HELP = "help"  # they pressed "I need help now"


MESSAGES: dict[str, dict[Why, str]] = {
    "en": {
        Why.CONCERN: (
            "Thank you for telling us. You don't have to go through this alone. If you are in "
            "danger right now, please call your local emergency number or one of the services "
            "below; they are there to listen."
        ),
        Why.HELP: (
            "We have let the team know that you need help now, and someone will be with you as "
            "soon as they can. If you are in danger right now, please call your local emergency "
            "number or one of the services below."
        ),
    },
    "es": {
        Why.CONCERN: (
            "Gracias por contárnoslo. No tienes que pasar por esto a solas. Si estás en peligro "
            "ahora mismo, llama al número de emergencias de tu zona o a uno de estos servicios; "
            "están ahí para escucharte."
        ),
        Why.HELP: (
            "Hemos avisado al equipo de que necesitas ayuda ahora; alguien estará contigo lo "
            "antes posible. Si estás en peligro ahora mismo, llama al número de emergencias de "
            "tu zona o a uno de estos servicios."
        ),
    },
}


def resources_file(settings: Settings) -> Path:
    if settings.crisis_resources_file:
        return Path(settings.crisis_resources_file)
    if settings.frontend_dir:
        return Path(settings.frontend_dir) / "resources.json"
    return DEFAULT_FILE


def _load(settings: Settings) -> dict[str, Any]:
    path = resources_file(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("crisis resources file %s is not readable; offering words only", path)
        return {}
    if not isinstance(data, dict):
        return {}
    if not any(isinstance(v, dict) for v in data.values()) or "helplines" in data:
        return {FALLBACK_LANGUAGE: data}  # the older form, without language keys
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _base(language: str | None) -> str:
    return (language or FALLBACK_LANGUAGE).split("-")[0].lower()


def resources_for(settings: Settings, language: str | None) -> list[dict[str, str]]:
    """The language's emergency numbers and helplines (each taken from English when the
    language has none), in the contract's shape: name, and phone, text, url, hours if known."""
    data = _load(settings)
    own = data.get(_base(language)) or {}
    fallback = data.get(FALLBACK_LANGUAGE) or {}
    emergency = own.get("emergency") or fallback.get("emergency") or {}
    helplines = own.get("helplines") or fallback.get("helplines") or []
    found: list[dict[str, str]] = []
    if isinstance(emergency, dict):
        label = str(emergency.get("label") or "Emergency services")
        for number in emergency.get("numbers") or ():
            if isinstance(number, dict) and number.get("phone"):
                entry = {"name": label, "phone": str(number["phone"])}
                if number.get("region"):
                    entry["region"] = str(number["region"])
                found.append(entry)
    for line in helplines if isinstance(helplines, list) else ():
        if not isinstance(line, dict) or not line.get("name"):
            continue
        entry = {"name": str(line["name"])}
        for theirs, ours in (
            ("phone", "phone"), ("sms", "text"), ("url", "url"), ("hours", "hours"),
            ("region", "region"), ("description", "description"),
        ):  # fmt: skip
            if line.get(theirs):
                entry[ours] = str(line[theirs])
        found.append(entry)
    return found


def message_for(settings: Settings, language: str | None, why: Why) -> str:
    """Calm words in the participant's language: the file's `support_message` when it has one
    for this language, else ours."""
    own = _load(settings).get(_base(language)) or {}
    custom = own.get("support_message")
    if isinstance(custom, dict) and isinstance(custom.get(why), str) and custom[why].strip():
        return str(custom[why])
    if isinstance(custom, str) and custom.strip():
        return custom
    words = MESSAGES.get(_base(language)) or MESSAGES[FALLBACK_LANGUAGE]
    return words[why]


async def offer(domain: Domain, *, room_id: str, participant_id: str, why: Why) -> bool:
    """Send the participant the support frame, unless they had one in this room within the
    interval. The conditional update lets one node, and one cause, claim each offer. True if
    sent."""
    settings = domain.settings
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.support_interval_seconds)
    async with domain.db.write() as session:
        claimed = (
            await session.execute(
                update(Membership)
                .where(
                    Membership.room_id == room_id,
                    Membership.member_id == participant_id,
                    or_(Membership.support_sent_at.is_(None), Membership.support_sent_at <= cutoff),
                )
                .values(support_sent_at=now)
                .returning(Membership.id)
            )
        ).first()
        if claimed is None:
            return False
        language = (
            await session.execute(
                select(Participant.language).where(Participant.id == participant_id)
            )
        ).scalar_one_or_none() or (
            await session.execute(select(Room.language).where(Room.id == room_id))
        ).scalar_one_or_none()
    await domain.events.support(
        participant_id,
        {
            "room_id": room_id,
            "message": message_for(settings, language, why),
            "resources": resources_for(settings, language),
        },
    )
    return True
