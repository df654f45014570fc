"""Putting the domain together: the one place that knows which feature fills each of the
core's slots, used by the server, the one-off commands and the tests alike."""

from __future__ import annotations

from app.bus.base import Bus
from app.chat.writer import MessageWriter
from app.core.context import Domain
from app.core.events import Events
from app.core.identity import TokenSigner
from app.settings import Settings
from app.storage.database import Database


def build_domain(settings: Settings, db: Database, bus: Bus) -> Domain:
    events = Events(bus)
    return Domain(
        settings=settings, db=db, events=events, signer=TokenSigner(settings.signing_key),
        writer=MessageWriter(db, events),
    )  # fmt: skip
