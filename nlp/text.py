"""What the encoder reads: chat text with emoji, emoticons, links and handles turned into words.

The encoder's WordPiece vocabulary has no emoji, so "😭😭😭" reached it as ``[UNK]`` and scored
neutral; ":(" reached it as two punctuation marks. People on phones say a lot with both, so each
emoji becomes its CLDR short name ("loudly crying face") and each common ASCII emoticon the name of
the matching emoji, words the pretrained encoder already understands. Links and @handles become the
placeholders TweetEval uses, and letters stretched past two ("sooooo") are cut back to two.
Camel-case hashtags are split into their words ("#NeverAgain" -> "#Never Again"): the WordPiece
vocabulary is lower-case, so "#neveragain" reached the encoder as fragments.

Only the encoder sees this text. The crisis lexicon scans what the person wrote, emoji included.
Training and scoring both go through ``encoder_text``, so the model learns what it will be shown.
"""

from __future__ import annotations

import re
from typing import Any

import emoji

# Runs of one emoji beyond this many say nothing new and would crowd words out of max_len tokens.
MAX_EMOJI_RUN = 2

# ASCII emoticon -> the CLDR name of the emoji it stands for. Reviewable: add rows, never rules.
EMOTICONS: dict[str, str] = {
    ":)": "slightly smiling face",
    ":-)": "slightly smiling face",
    ":]": "slightly smiling face",
    "=)": "slightly smiling face",
    "(:": "slightly smiling face",
    ":D": "grinning face",
    ":-D": "grinning face",
    "=D": "grinning face",
    "xD": "grinning squinting face",
    "XD": "grinning squinting face",
    ";)": "winking face",
    ";-)": "winking face",
    ":(": "frowning face",
    ":-(": "frowning face",
    ":[": "frowning face",
    "=(": "frowning face",
    "):": "frowning face",
    ">:(": "angry face",
    ":'(": "crying face",
    ":’(": "crying face",
    "T_T": "loudly crying face",
    ";_;": "loudly crying face",
    ":P": "face with tongue",
    ":-P": "face with tongue",
    ":p": "face with tongue",
    ":-p": "face with tongue",
    ":/": "confused face",
    ":-/": "confused face",
    ":\\": "confused face",
    ":|": "neutral face",
    ":-|": "neutral face",
    "-_-": "expressionless face",
    ":o": "face with open mouth",
    ":O": "face with open mouth",
    ":-o": "face with open mouth",
    "D:": "anguished face",
    ":*": "kissing face",
    "^^": "smiling face with smiling eyes",
    "^_^": "smiling face with smiling eyes",
    "<3": "red heart",
    "</3": "broken heart",
}

_MOUTHS = ")(]D[Pp/|"


def _emoticon_pattern(face: str) -> str:
    """Bounded so that times ("10:30"), links and words stay as they are; ":)))" counts once."""
    body = re.escape(face)
    if face[-1] in _MOUTHS:
        body += "+"
    before = r"(?<!\S)" if face[0].isalnum() else r"(?<![^\s\w.,!?])"
    return before + body + r"(?![^\s.,!?])"


_EMOTICON_RE = re.compile(
    "|".join(f"(?P<e{i}>{_emoticon_pattern(face)})" for i, face in enumerate(EMOTICONS))
)
_EMOTICON_NAMES = list(EMOTICONS.values())
# Every emoticon has one of these (checked in the tests); the big pattern is slow, so skip it when
# a message has none, as most do.
_EMOTICON_HINTS = (":", ";", "=", "<", "^", "_", "xD", "XD")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<!\w)@\w+")
_STRETCHED_RE = re.compile(r"([^\W\d_])\1{2,}")
_HASHTAG_RE = re.compile(r"#([A-Za-z][a-z]+(?:[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+)+)")
_CAMEL_CUT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_SKIN_TONE_RE = re.compile(r"_(?:medium-light|medium-dark|light|medium|dark)_skin_tone")
_MARK = "\x00"  # brackets an emoji name between the two passes; never in the output
_EMOJI_RUN_RE = re.compile(f"({_MARK}[^{_MARK}]+{_MARK})(?:\\s*\\1)+")


def _emoji_name(chars: str, data: dict[str, Any]) -> str:
    name = _SKIN_TONE_RE.sub("", str(data["en"]).strip(":"))
    return f" {_MARK}{name.replace('_', ' ')}{_MARK} "


def _longest_run(match: re.Match[str]) -> str:
    return " ".join([match.group(1)] * MAX_EMOJI_RUN)


def _emoticon_name(match: re.Match[str]) -> str:
    return f" {_EMOTICON_NAMES[int(str(match.lastgroup)[1:])]} "


def _split_hashtag(match: re.Match[str]) -> str:
    return "#" + _CAMEL_CUT_RE.sub(" ", match.group(1))


def encoder_text(text: str) -> str:
    """One message as the encoder reads it (stray spaces are fine: the tokenizer drops them)."""
    if "http" in text or "www." in text:
        text = _URL_RE.sub("http", text)
    if "@" in text:
        text = _HANDLE_RE.sub("@user", text)
    if "#" in text:
        text = _HASHTAG_RE.sub(_split_hashtag, text)
    text = _STRETCHED_RE.sub(r"\1\1", text)
    if not text.isascii():
        text = emoji.replace_emoji(text, replace=_emoji_name)
        if _MARK in text:
            text = _EMOJI_RUN_RE.sub(_longest_run, text).replace(_MARK, "")
    if any(hint in text for hint in _EMOTICON_HINTS):
        text = _EMOTICON_RE.sub(_emoticon_name, text)
    return text
