"""What domain services need, handed over once at start-up (no globals, no framework)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.events import Events
from app.domain.identity import Passwords, TokenSigner
from app.domain.limits import AddressLimits
from app.domain.message_writer import MessageWriter
from app.settings import Settings
from app.storage.database import Database


@dataclass
class Domain:
    settings: Settings
    db: Database
    events: Events
    signer: TokenSigner
    passwords: Passwords = field(default_factory=Passwords)
    address_limits: AddressLimits = field(default_factory=AddressLimits)
    writer: MessageWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = MessageWriter(self)
