"""Request bodies. Strict types: a number where a string belongs is an error, not a guess."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AnonymousSessionIn(_Body):
    language: str | None = Field(default=None, max_length=16)
    topics: list[str] | None = Field(default=None, max_length=10)


class LoginIn(_Body):
    username: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class SupportRequestIn(_Body):
    topic: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=4000)


class TransferIn(_Body):
    to_user_id: str = Field(min_length=1, max_length=64)


class NotesIn(_Body):
    notes: str | None = Field(default=None, max_length=4000)


class GroupIn(_Body):
    name: str = Field(min_length=1, max_length=120)
    topic: str | None = Field(default=None, max_length=64)
