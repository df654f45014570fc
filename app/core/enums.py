"""The service's vocabularies, each written once. Members are `StrEnum`s, so they compare equal
to the strings stored in the database and sent on the wire, and a typo is a NameError, not a
silent mismatch."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PARTICIPANT = "participant"
    PEER_WORKER = "peer_worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


STAFF_ROLES: frozenset[str] = frozenset({Role.PEER_WORKER, Role.SUPERVISOR, Role.ADMIN})
"""Roles that may see scores, the queue and alerts; everyone else is a participant."""
OVERSIGHT_ROLES: frozenset[str] = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""Supervisors and admins see every room; admins can do all a supervisor does."""


class RoomKind(StrEnum):
    ONE_TO_ONE = "one_to_one"
    GROUP = "group"


class RoomStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


class RiskLevel(StrEnum):
    """A message's or a room's risk, lowest first: `rank` is the one order every rule uses."""

    NONE = "none"
    ELEVATED = "elevated"
    CRISIS = "crisis"

    @property
    def rank(self) -> int:
        return _RISK_ORDER.index(self)

    @classmethod
    def of(cls, value: str | None) -> RiskLevel:
        """A stored or received value, with anything unknown or missing read as `none`."""
        try:
            return cls(value or cls.NONE)
        except ValueError:
            return cls.NONE

    @classmethod
    def highest(cls, *values: str | None) -> RiskLevel:
        return max((cls.of(v) for v in values), key=lambda level: level.rank, default=cls.NONE)


_RISK_ORDER = (RiskLevel.NONE, RiskLevel.ELEVATED, RiskLevel.CRISIS)


class AlertSeverity(StrEnum):
    WARNING = "warning"
    CRISIS = "crisis"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
