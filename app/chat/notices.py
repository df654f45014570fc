"""The words of the notices the service itself writes into rooms ("Sam, a peer supporter, has
joined."), in the room's language.

A notice is stored once, as a message, and read by everyone in the room, so it is written in the
language the room was opened in (the participant's, from their session); a language without a
catalogue here, a missing key or a room with no language gets English. The catalogue is small
on purpose and kept in this one place: adding a language is adding one dictionary, with the same
keys and placeholders as English (tests/chat/test_notices.py checks them).
"""

from __future__ import annotations

import string
from enum import StrEnum


class Notice(StrEnum):
    SUPPORTER_JOINED = "supporter_joined"
    SUPERVISOR_JOINED = "supervisor_joined"
    HANDED_OVER = "handed_over"
    CONVERSATION_ENDED = "conversation_ended"
    REQUEST_WITHDRAWN = "request_withdrawn"
    PARTICIPANT_LEFT = "participant_left"
    PARTICIPANT_DELETED = "participant_deleted"
    GROUP_PAUSED = "group_paused"
    GROUP_RESUMED = "group_resumed"
    GROUP_CLOSED = "group_closed"


DEFAULT_LANGUAGE = "en"

CATALOGUE: dict[str, dict[Notice, str]] = {
    "en": {
        Notice.SUPPORTER_JOINED: "{handle}, a peer supporter, has joined.",
        Notice.SUPERVISOR_JOINED: "{handle}, a supervisor, has joined.",
        Notice.HANDED_OVER: (
            "Your conversation has been handed over to {handle}, another peer supporter."
        ),
        Notice.CONVERSATION_ENDED: "This conversation has ended. Take care.",
        Notice.REQUEST_WITHDRAWN: "The request for support was withdrawn.",
        Notice.PARTICIPANT_LEFT: "{handle} has left the conversation.",
        Notice.PARTICIPANT_DELETED: (
            "The other person has left and deleted their messages. This conversation has ended."
        ),
        Notice.GROUP_PAUSED: (
            "The moderators have paused this group for now. "
            "No new messages can be sent until it resumes."
        ),
        Notice.GROUP_RESUMED: "This group has resumed. You can send messages again.",
        Notice.GROUP_CLOSED: "This group has been closed. Take care.",
    },
    "es": {
        Notice.SUPPORTER_JOINED: "{handle}, una persona de apoyo, se ha unido.",
        Notice.SUPERVISOR_JOINED: "{handle}, una persona supervisora, se ha unido.",
        Notice.HANDED_OVER: ("Tu conversación ha pasado a {handle}, otra persona de apoyo."),
        Notice.CONVERSATION_ENDED: "Esta conversación ha terminado. Cuídate.",
        Notice.REQUEST_WITHDRAWN: "Se ha retirado la petición de apoyo.",
        Notice.PARTICIPANT_LEFT: "{handle} ha salido de la conversación.",
        Notice.PARTICIPANT_DELETED: (
            "La otra persona se ha ido y ha borrado sus mensajes. Esta conversación ha terminado."
        ),
        Notice.GROUP_PAUSED: (
            "Las personas moderadoras han pausado este grupo por ahora. "
            "No se pueden enviar mensajes nuevos hasta que se reanude."
        ),
        Notice.GROUP_RESUMED: "Este grupo se ha reanudado. Ya puedes volver a enviar mensajes.",
        Notice.GROUP_CLOSED: "Este grupo se ha cerrado. Cuídate.",
    },
}


def catalogue_for(language: str | None) -> dict[Notice, str]:
    """The catalogue for a language tag, matched in full (`pt-BR`) or by its base (`es-MX` ->
    `es`), as the participant page matches its own translations."""
    if language:
        by_tag = {tag.lower(): words for tag, words in CATALOGUE.items()}
        tag = language.strip().lower()
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate in by_tag:
                return by_tag[candidate]
    return CATALOGUE[DEFAULT_LANGUAGE]


def in_language(key: Notice, language: str | None, **values: str) -> str:
    """The notice in the room's language, English where that language lacks it."""
    template = catalogue_for(language).get(key) or CATALOGUE[DEFAULT_LANGUAGE][key]
    return template.format(**values)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
