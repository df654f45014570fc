"""What domain services need, handed over once at start-up (no globals, no framework)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.events import Events
from app.domain.identity import Passwords, TokenSigner
from app.domain.limits import AddressLimits, LoginGuard
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
    login_guard: LoginGuard = field(init=False)

    def __post_init__(self) -> None:
        self.writer = MessageWriter(self)
        self.login_guard = LoginGuard(
            failures_before_lock=self.settings.login_failures_before_lock,
            lock_seconds=self.settings.login_lock_seconds,
            global_per_minute=self.settings.login_failures_per_minute_global,
        )
