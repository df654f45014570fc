"""Domain failures. Transport maps each code to its status once (api/errors.py, ws frames)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(DomainError):
    code = "bad_request"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Muted(DomainError):
    """A group moderator muted this member: they still read, but their sends are refused."""

    code = "muted"


class GroupPaused(DomainError):
    """The group is paused by its moderators: no new members, no participant messages."""

    code = "group_paused"


class TooLarge(DomainError):
    code = "too_large"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: float = 1.0, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class Locked(DomainError):
    code = "locked"

    def __init__(self, detail: str, *, retry_after: float = 60.0, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
