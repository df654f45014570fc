"""What domain services need, handed over once at start-up (no globals, no framework)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.events import Events
from app.core.identity import Passwords, Principal, TokenSigner
from app.core.limits import AddressLimits, LoginGuard
from app.settings import Settings
from app.storage.database import Database


class MessageSubmitter(Protocol):
    """Where posts go to be stored (the chat package's group-committing writer). A protocol,
    so that the core names what it needs without importing a feature."""

    async def submit(
        self, *, sender: Principal, room_id: str, client_msg_id: str, body: str,
        origin: str | None,
    ) -> tuple[dict[str, Any], bool]: ...  # fmt: skip

    async def stop(self) -> None:
        """At shutdown, once nothing submits any more."""


@dataclass
class Domain:
    settings: Settings
    db: Database
    events: Events
    signer: TokenSigner
    writer: MessageSubmitter
    passwords: Passwords = field(default_factory=Passwords)
    address_limits: AddressLimits = field(default_factory=AddressLimits)
    login_guard: LoginGuard = field(init=False)

    def __post_init__(self) -> None:
        self.login_guard = LoginGuard(
            failures_before_lock=self.settings.login_failures_before_lock,
            lock_seconds=self.settings.login_lock_seconds,
            global_per_minute=self.settings.login_failures_per_minute_global,
        )
