"""Notices the service writes into a room follow the room's language (the participant's), with
English for a language the catalogue lacks."""

from __future__ import annotations

import httpx
import pytest

from app.chat.notices import CATALOGUE, DEFAULT_LANGUAGE, Notice, in_language, placeholders
from tests.support.actors import Actor, participant, staff, waiting_room
from tests.support.server import RunningServer


def test_every_language_has_every_notice_with_the_same_placeholders() -> None:
    english = CATALOGUE[DEFAULT_LANGUAGE]
    assert set(english) == set(Notice)
    for language, words in CATALOGUE.items():
        assert set(words) == set(Notice), language
        for key, template in words.items():
            assert placeholders(template) == placeholders(english[key]), (language, key)
            assert template.strip() and template == template.strip(), (language, key)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("ES", "es"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_language_tag_is_matched_in_full_or_by_its_base(
    language: str | None, expected: str
) -> None:
    got = in_language(Notice.SUPPORTER_JOINED, language, handle="Sam")
    assert got == CATALOGUE[expected][Notice.SUPPORTER_JOINED].format(handle="Sam")


async def _notices(reader: Actor, room_id: str) -> list[str]:
    response = await reader.get(f"/api/v1/rooms/{room_id}/messages")
    assert response.status_code == 200, response.text
    return [m["body"] for m in response.json()["messages"] if m["sender"]["role"] == "system"]


async def _conversation(
    server: RunningServer, http: httpx.AsyncClient, language: str | None
) -> list[str]:
    """Claim, hand over and close a conversation of a participant in this language."""
    person = await participant(server, http, **({"language": language} if language else {}))
    room_id = await waiting_room(person)
    first = await staff(server, http, "peer_worker")
    second = await staff(server, http, "peer_worker")
    assert (await first.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    transferred = await first.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": second.id}
    )
    assert transferred.status_code == 200, transferred.text
    assert (await second.post(f"/api/v1/rooms/{room_id}/close")).status_code == 200
    got = await _notices(second, room_id)
    assert got == [
        in_language(Notice.SUPPORTER_JOINED, language, handle=first.handle),
        in_language(Notice.HANDED_OVER, language, handle=second.handle),
        in_language(Notice.CONVERSATION_ENDED, language),
    ]
    return got


async def test_a_spanish_conversation_gets_spanish_notices(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    spanish = await _conversation(server, http, "es")
    assert spanish[2] == "Esta conversación ha terminado. Cuídate."
    assert spanish[0].endswith(", una persona de apoyo, se ha unido.")


async def test_english_and_unknown_languages_get_english(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    for language in (None, "en", "fr"):
        got = await _conversation(server, http, language)
        assert got[2] == "This conversation has ended. Take care."


async def test_a_participant_leaving_or_withdrawing_is_told_in_their_language(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http, language="es-MX")
    room_id = await waiting_room(person)
    assert (await person.post(f"/api/v1/rooms/{room_id}/leave")).status_code == 200
    supervisor = await staff(server, http, "supervisor")
    assert await _notices(supervisor, room_id) == ["Se ha retirado la petición de apoyo."]

    person = await participant(server, http, language="es")
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    assert (await person.post(f"/api/v1/rooms/{room_id}/leave")).status_code == 200
    assert (await _notices(worker, room_id))[-1] == f"{person.handle} ha salido de la conversación."


async def test_deleting_their_data_ends_the_conversation_in_their_language(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """The room's language is forgotten with the participant's data, but only after the closing
    notice was written in it."""
    person = await participant(server, http, language="es")
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    assert (await person.delete("/api/v1/me")).status_code == 204
    assert (await _notices(worker, room_id))[-1] == CATALOGUE["es"][Notice.PARTICIPANT_DELETED]
