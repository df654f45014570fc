"""Conversation context for a message's risk: the same words mean more after distress.

"thanks for everything, bye" closes an ordinary chat; after "i cant do this anymore" earlier in
the same conversation it is the classic last message. The model scores one message at a time
and cannot know that, so the monitoring pipeline applies this rule with the room's recent risk.
Pure functions here (testable without a server); the pipeline supplies the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.enums import RiskLevel
from nlp.crisis_classifier import is_final_goodbye

RECENT_MESSAGES = 20
"""How many of the room's latest participant messages count as "recent"."""

FAREWELL_AFTER_DISTRESS = "says goodbye after earlier distress in this conversation"


@dataclass(frozen=True, slots=True)
class ContextCues:
    # A farewell ("bye", "thanks for everything", "take care of each other") that names no time
    # to come back ("see you tomorrow", "bye for now", "ill check in after my shift") or that
    # rules coming back out ("see you on the other side", "for good").
    final_goodbye: bool


def cues_of(text: str) -> ContextCues:
    return ContextCues(final_goodbye=is_final_goodbye(text))


def level_in_context(
    level: str, cues: ContextCues, recent_levels: Sequence[str]
) -> tuple[str, str | None]:
    """The message's level given the room's recent levels; a reason when context raised it.

    A goodbye after distress (any recent elevated or crisis message) is a crisis, unless it
    names a time to come back ("see you tomorrow", "bye for now"): a miss here is the worst
    miss there is.
    """
    if level == RiskLevel.CRISIS or not cues.final_goodbye:
        return level, None
    if any(RiskLevel.of(lv).rank >= RiskLevel.ELEVATED.rank for lv in recent_levels):
        return RiskLevel.CRISIS, FAREWELL_AFTER_DISTRESS
    return level, None
