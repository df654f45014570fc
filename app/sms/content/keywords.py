"""Carrier keywords (STOP, START, HELP) and the service's own: HELP NOW for a person at once,
DELETE for "delete my data", and a lone digit 1-5 answering the end-of-conversation check-in."""

from __future__ import annotations

import re
from enum import StrEnum


class Keyword(StrEnum):
    NONE = "none"
    STOP = "stop"
    START = "start"
    HELP = "help"
    HELP_NOW = "help_now"
    DELETE = "delete"


# Twilio's default opt-out, opt-in and help keywords (carriers expect these exact words).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
HELP_NOW_WORDS = frozenset({"HELP NOW", "HELPNOW", "URGENT", "SOS"})
DELETE_WORDS = frozenset({"DELETE", "DELETE MY DATA", "FORGET ME"})
_SPACES = re.compile(r"\s+")
_EDGE = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def _normal(body: str) -> str:
    return _SPACES.sub(" ", _EDGE.sub("", body)).upper()


def classify(body: str) -> Keyword:
    """A keyword is the whole text (case, spaces and punctuation around it aside), so that
    "I want to stop feeling like this" is a message, never an opt-out."""
    word = _normal(body)
    if word in STOP_WORDS:
        return Keyword.STOP
    if word in START_WORDS:
        return Keyword.START
    if word in HELP_NOW_WORDS:
        return Keyword.HELP_NOW
    if word in HELP_WORDS:
        return Keyword.HELP
    if word in DELETE_WORDS:
        return Keyword.DELETE
    return Keyword.NONE


def mood(body: str) -> int | None:
    """A lone 1 to 5: the answer to "how do you feel now? reply 1-5"."""
    word = _normal(body)
    return int(word) if len(word) == 1 and word in "12345" else None
