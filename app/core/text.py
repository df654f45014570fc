"""Cleaning what people type, written once: every free text (message bodies, notes, names,
reasons, comments, canned responses) loses the same invisible characters, and every list of
tags is read the same way."""

from __future__ import annotations

import re
import unicodedata

from app.core.errors import BadRequest

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
"""Control, zero-width and direction-override characters: they can disguise text. Newlines
and tabs are kept."""

EXCERPT_CHARS = 280
"""How much of a message an alert or a report quotes to staff."""

MAX_TAGS = 10
MAX_TAG_CHARS = 64


def clean_text(value: str) -> str:
    """NFC, without control or direction-override characters, stripped."""
    return CONTROL_CHARS.sub("", unicodedata.normalize("NFC", value)).strip()


def excerpt(text: str | None) -> str:
    return (text or "")[:EXCERPT_CHARS]


def clean_tags(values: object, *, field: str) -> list[str]:
    """Topics, languages and tags: short lowercase words, de-duplicated, order kept."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{field} must be a list of strings")
    if len(values) > MAX_TAGS:
        raise BadRequest(f"{field} may hold at most {MAX_TAGS} entries")
    out: list[str] = []
    for value in values:
        tag = value.strip().lower()
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise BadRequest(f"each of {field} must be 1 to {MAX_TAG_CHARS} characters")
        if tag not in out:
            out.append(tag)
    return out


def clean_language(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 2 <= len(value.strip()) <= 16:
        raise BadRequest("language must be a language tag such as 'en' or 'pt-BR'")
    return value.strip().lower()
