"""How many SMS a text costs, and splitting long texts into parts without losing a word.

An SMS carries 140 bytes: 160 characters of the GSM 03.38 alphabet (7 bits each; the extension
characters take two), or 70 UTF-16 code units when any character is outside it (UCS-2). A
message of several segments loses room to the concatenation header: 153 and 67 per segment.
"""

from __future__ import annotations

from enum import StrEnum

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


SINGLE = {Encoding.GSM7: 160, Encoding.UCS2: 70}
MULTI = {Encoding.GSM7: 153, Encoding.UCS2: 67}
PART_MARK_RESERVE = 8
"""Room kept in each part of a split text for its "(i/n) " mark."""


def encoding(text: str) -> Encoding:
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        return Encoding.GSM7
    return Encoding.UCS2


def _units(ch: str, enc: Encoding) -> int:
    if enc is Encoding.GSM7:
        return 2 if ch in _GSM_EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1  # a surrogate pair in UTF-16


def length(text: str, enc: Encoding | None = None) -> int:
    enc = enc or encoding(text)
    return sum(_units(ch, enc) for ch in text)


def segment_count(text: str) -> int:
    """Segments a provider bills for this text; a character never straddles two segments."""
    enc = encoding(text)
    if length(text, enc) <= SINGLE[enc]:
        return 1
    count, used = 1, 0
    for ch in text:
        size = _units(ch, enc)
        if used + size > MULTI[enc]:
            count, used = count + 1, 0
        used += size
    return count


def split(text: str, max_segments: int) -> list[str]:
    """Parts of at most max_segments segments each, cut at whitespace where one is near, marked
    "(1/3) " and so on when there is more than one. Every word arrives, in order."""
    enc = encoding(text)
    whole = SINGLE[enc] if max_segments == 1 else MULTI[enc] * max_segments
    if length(text, enc) <= whole:
        return [text]
    budget = whole - PART_MARK_RESERVE
    chunks: list[str] = []
    rest = text
    while rest:
        used, cut = 0, len(rest)
        for i, ch in enumerate(rest):
            used += _units(ch, enc)
            if used > budget:
                cut = i
                break
        if cut < len(rest):
            space = max(rest.rfind(" ", 0, cut + 1), rest.rfind("\n", 0, cut + 1))
            if space > cut // 2:
                cut = space
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks = [c for c in chunks if c]
    total = len(chunks)
    return [f"({n}/{total}) {chunk}" for n, chunk in enumerate(chunks, start=1)]
