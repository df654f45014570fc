"""Request bodies. Strict types: a number where a string belongs is an error, not a guess."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _refuse_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold NUL: refused here as bad input, not failed there as 500."""
        _refuse_nul(data)
        return data


class AnonymousSessionIn(_Body):
    language: str | None = Field(default=None, max_length=16)
    topics: list[str] | None = Field(default=None, max_length=10)


class LoginIn(_Body):
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class PasswordIn(_Body):
    password: str = Field(max_length=1024)


class SupportRequestIn(_Body):
    topic: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=4000)


class TransferIn(_Body):
    to_user_id: str = Field(min_length=1, max_length=64)


class NotesIn(_Body):
    notes: str | None = Field(default=None, max_length=4000)


class CloseIn(NotesIn):
    """Closing a room with an unresolved crisis alert takes a safety note as well."""

    safety_note: str | None = Field(default=None, max_length=4000)


class RiskIn(_Body):
    level: str = Field(max_length=16)
    note: str = Field(max_length=4000)


class GroupIn(_Body):
    name: str = Field(min_length=1, max_length=120)
    topic: str | None = Field(default=None, max_length=64)


class GroupUpdateIn(_Body):
    """Only the fields sent change (`topic: null` clears the topic)."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    topic: str | None = Field(default=None, max_length=64)
    paused: bool | None = None


class ModerationReasonIn(_Body):
    reason: str = Field(min_length=1, max_length=500)


class BlockIn(_Body):
    participant_id: str = Field(min_length=1, max_length=64)


class ReportIn(_Body):
    reason: str | None = Field(default=None, max_length=4000)


class ProfileIn(_Body):
    topics: list[str] | None = Field(default=None, max_length=10)
    languages: list[str] | None = Field(default=None, max_length=10)
    experience_tags: list[str] | None = Field(default=None, max_length=10)


class CheckInIn(_Body):
    phase: str = Field(max_length=16)
    mood: int
    comment: str | None = Field(default=None, max_length=2000)
