"""What a received text does, after the webhook has stored it and answered.

The first text from a number starts an anonymous participant and a support request; later
ones are messages in that conversation, posted through the same path as a WebSocket `send`
(so the model scores them and crisis triage, alerts and help work as on the web). Keywords:
STOP ends the conversation and every text to the number until START; HELP answers with the
crisis resources (and still reaches the conversation); HELP NOW is the web's "I need help
now"; a lone 1-5 after a conversation ended is its check-in."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from app.chat import messages, rooms
from app.chat.views import message_view
from app.core.clock import new_id, utcnow
from app.core.enums import Role, RoomStatus
from app.core.errors import BadRequest, Conflict, DomainError, TooLarge
from app.core.identity import Principal, generate_handle
from app.outcomes import checkins
from app.privacy import deletion
from app.safety import alerts
from app.sms import store
from app.sms.content.keywords import Keyword, classify, mood
from app.sms.context import SmsContext
from app.sms.models import SmsContact
from app.sms.provider import SendFailed
from app.storage.models import Channel, Membership, Participant, Room

log = logging.getLogger(__name__)
CLIENT_MSG_PREFIX = "sms:"

STARTED_TEXT = (
    "Thank you for reaching out. A peer supporter will text you back as soon as one is free. "
    "Text HELP NOW if you need someone urgently, STOP to end."
)
STOPPED_TEXT = "You will get no more texts from us. Text START to hear from us again."
RESTARTED_TEXT = "You will get texts from us again. Text anything to talk to a peer supporter."
DELETED_TEXT = "Your messages and your number have been deleted. Text us again any time to talk."
CHECKIN_TEXT = "Thank you for telling us how you feel."
NOT_TEXT = "We could only read text in your message. Please write what you'd like to say."
PAUSED_NOTICE = (
    "Texts to this person are paused: they texted STOP. Your replies reach them only after "
    "they text START."
)


async def process(sms: SmsContext, row: store.Claimed) -> str:
    """Act on one claimed text; returns what was done (kept on the row, never the words).
    Safe to repeat after a crash: posts are keyed by the provider's id, replies deduplicated."""
    domain = sms.domain
    async with domain.db.read() as session:
        contact = await session.get(SmsContact, row.contact_id)
    if contact is None:
        return "contact_deleted"
    keyword = classify(row.body)
    reply_key = f"reply:{row.provider_message_id}"
    if keyword is Keyword.STOP:
        await _stop(sms, contact)
        return "stop"
    if keyword is Keyword.DELETE:
        await _delete(sms, contact)
        return "delete"
    if keyword is Keyword.START:
        await _set_opt_out(sms, contact.id, False)
        await sms.reply(contact.id, reply_key, RESTARTED_TEXT)
        return "start"
    score = mood(row.body)
    if score is not None and contact.checkin_room_id and not _open(await _room(sms, contact)):
        return await _checkin(sms, contact, score, reply_key)
    who = await _participant(sms, contact)
    room_id, opened = await _conversation(sms, contact, who)
    posted = await _post(sms, who, room_id, row, reply_key)
    if opened and contact.opted_out:
        await _notice(sms, room_id, PAUSED_NOTICE)
    if keyword is Keyword.HELP:
        await sms.reply(contact.id, reply_key + ":help", sms.help_text)
        return "help"
    if keyword is Keyword.HELP_NOW:
        raised = await alerts.help_now(domain, participant=who, room_id=room_id)
        # A new alert's crisis text is keyed by the alert, so that the alert's own listener
        # does not send it a second time; an alert already open was texted before, so this
        # request gets its own answer.
        key = f"alert:{raised.alert['alert_id']}" if raised.created else reply_key
        await sms.reply(contact.id, key, sms.crisis_text)
        return "help_now"
    if opened:
        await sms.reply(contact.id, reply_key, STARTED_TEXT)
        return "request"
    return "message" if posted else "not_text"


async def _room(sms: SmsContext, contact: SmsContact) -> Room | None:
    if contact.room_id is None:
        return None
    async with sms.domain.db.read() as session:
        return await session.get(Room, contact.room_id)


def _open(room: Room | None) -> bool:
    return room is not None and room.status != RoomStatus.CLOSED


async def _participant(sms: SmsContext, contact: SmsContact) -> Principal:
    """An anonymous participant with a generated handle, like a web session's."""
    async with sms.domain.db.write() as session:
        if contact.participant_id is not None:
            person = await session.get(Participant, contact.participant_id)
            if person is not None:
                return Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle)
        person = Participant(id=new_id("p"), handle=generate_handle(), topics=[])
        session.add(person)
        await session.execute(
            update(SmsContact)
            .where(SmsContact.id == contact.id)
            .values(participant_id=person.id, updated_at=utcnow())
        )
    contact.participant_id = person.id
    return Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle)


async def _conversation(sms: SmsContext, contact: SmsContact, who: Principal) -> tuple[str, bool]:
    """The open conversation, or a new support request (True) when there is none."""
    room = await _room(sms, contact)
    if _open(room) and room is not None:
        async with sms.domain.db.read() as session:
            member = (
                await session.execute(
                    select(Membership.id).where(
                        Membership.room_id == room.id,
                        Membership.member_id == who.id,
                        Membership.left_at.is_(None),
                    )
                )
            ).scalar_one_or_none()
        if member is not None:
            return room.id, False
    try:
        created = await rooms.request_support(sms.domain, participant=who, channel=Channel.SMS)
        room_id, opened = created.id, True
    except Conflict as exc:  # one is open already (a retry after a crash got this far)
        room_id, opened = str(exc.extra.get("room_id")), False
    async with sms.domain.db.write() as session:
        await session.execute(
            update(SmsContact)
            .where(SmsContact.id == contact.id)
            .values(room_id=room_id, room_seq=0, checkin_room_id=None, updated_at=utcnow())
        )
    contact.room_id = room_id
    return room_id, opened


async def _post(
    sms: SmsContext, who: Principal, room_id: str, row: store.Claimed, reply_key: str
) -> bool:
    try:
        await messages.post(
            sms.domain,
            sender=who,
            room_id=room_id,
            client_msg_id=(CLIENT_MSG_PREFIX + row.provider_message_id)[:64],
            body=row.body,
        )
    except (BadRequest, TooLarge):  # a picture alone, or nothing: say so rather than drop it
        await sms.reply(row.contact_id, reply_key + ":text", NOT_TEXT)
        return False
    return True


async def _stop(sms: SmsContext, contact: SmsContact) -> None:
    """Opt out: the number is erased, nothing queued goes out, the conversation ends."""
    async with sms.domain.db.write() as session:
        await session.execute(
            update(SmsContact)
            .where(SmsContact.id == contact.id)
            .values(opted_out=True, number_sealed=None, checkin_room_id=None, updated_at=utcnow())
        )
        await store.cancel_unsent(session, [contact.id])
    room = await _room(sms, contact)
    if _open(room) and room is not None and contact.participant_id:
        async with sms.domain.db.read() as session:
            person = await session.get(Participant, contact.participant_id)
        if person is not None:
            who = Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle)
            try:
                await rooms.leave(sms.domain, participant=who, room_id=room.id)
            except DomainError as exc:
                log.info("sms stop: conversation not left (%s)", exc.code)


async def _delete(sms: SmsContext, contact: SmsContact) -> None:
    """The web's DELETE /me by text: the participant's words, conversation and number go.
    The confirmation is sent directly (one attempt): the outbox row would be deleted with the
    rest, and the number must not outlive the request to delete it."""
    number = sms.vault.open(contact.number_sealed) if contact.number_sealed else None
    if contact.participant_id is not None:
        who = Principal(id=contact.participant_id, role=Role.PARTICIPANT, handle="")
        await deletion.delete_participant(sms.domain, participant=who)
    async with sms.domain.db.write() as session:  # a contact that never became a participant
        await store.forget_contact(session, contact.id)
    if number is not None and not contact.opted_out:
        try:
            await sms.provider.send(to=number, body=DELETED_TEXT, status_callback=None)
        except SendFailed as exc:
            log.warning("sms delete: confirmation not sent (%s)", exc.detail)


async def _set_opt_out(sms: SmsContext, contact_id: str, value: bool) -> None:
    async with sms.domain.db.write() as session:
        await session.execute(
            update(SmsContact)
            .where(SmsContact.id == contact_id)
            .values(opted_out=value, updated_at=utcnow())
        )


async def _checkin(sms: SmsContext, contact: SmsContact, score: int, reply_key: str) -> str:
    assert contact.checkin_room_id is not None and contact.participant_id is not None
    async with sms.domain.db.read() as session:
        person = await session.get(Participant, contact.participant_id)
    if person is None:
        return "contact_deleted"
    who = Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle)
    try:
        await checkins.record(
            sms.domain, participant=who, room_id=contact.checkin_room_id, phase="end", mood=score
        )
    except DomainError as exc:
        log.info("sms check-in not recorded (%s)", exc.code)
    async with sms.domain.db.write() as session:
        await session.execute(
            update(SmsContact).where(SmsContact.id == contact.id).values(checkin_room_id=None)
        )
    await sms.reply(contact.id, reply_key, CHECKIN_TEXT)
    return "checkin"


async def _notice(sms: SmsContext, room_id: str, body: str) -> None:
    """A line for staff in the room (a system message)."""
    async with sms.domain.db.write() as session:
        notice = await messages.insert_system_message(session, room_id=room_id, body=body)
    await sms.domain.events.message_stored(message_view(notice))
