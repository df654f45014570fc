"""What the encoder reads: emoji and emoticons as words, everything else left alone."""

from __future__ import annotations

import pytest

from nlp import text
from nlp.text import EMOTICONS, encoder_text


def words(s: str) -> list[str]:
    return encoder_text(s).split()


def test_plain_text_is_unchanged() -> None:
    for s in ("I'm fine.", "meeting at 10:30, room 4", "ratio 3:1 (roughly)", "note: call mum"):
        assert encoder_text(s) == s


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("😭", "loudly crying face"),
        ("i cant do this 😔", "i cant do this pensive face"),
        ("❤️", "red heart"),  # with the variation selector
        ("👍🏽 ok", "thumbs up ok"),  # skin tone dropped: it carries no sentiment
        ("🙂🙃", "slightly smiling face upside-down face"),
    ],
)
def test_emoji_become_their_names(message: str, expected: str) -> None:
    assert " ".join(words(message)) == expected


def test_long_runs_of_one_emoji_are_cut_to_two() -> None:
    assert " ".join(words("no 😭😭😭😭😭😭")) == "no loudly crying face loudly crying face"
    assert " ".join(words("😭 😭 😭")) == "loudly crying face loudly crying face"
    assert " ".join(words("😭😔😭")) == "loudly crying face pensive face loudly crying face"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("thanks :) see you", "thanks slightly smiling face see you"),
        ("great:)", "great slightly smiling face"),
        ("so sad :(((", "so sad frowning face"),
        ("ok :/ maybe", "ok confused face maybe"),
        ("lol xD", "lol grinning squinting face"),
        ("<3 you", "red heart you"),
        ("bad day :'(.", "bad day crying face ."),
    ],
)
def test_emoticons_become_emoji_names(message: str, expected: str) -> None:
    assert " ".join(words(message)) == expected


def test_emoticon_lookalikes_stay() -> None:
    for s in ("at 10:30", "see http://example.org/a:b", "boxD", "a:b", "f(x) = (1:2)", "C:\\Users"):
        assert not any(name in encoder_text(s) for name in set(EMOTICONS.values())), s


def test_every_emoticon_has_a_hint() -> None:
    """The fast path skips the emoticon pattern for messages without a hint."""
    for face in EMOTICONS:
        assert any(hint in face for hint in text._EMOTICON_HINTS), face
        assert encoder_text(f"so {face} ok").split() == ["so", *EMOTICONS[face].split(), "ok"]


def test_links_handles_and_stretched_letters() -> None:
    assert encoder_text("look https://example.org/x?y=1 now") == "look http now"
    assert encoder_text("@sam_99 thank you") == "@user thank you"
    assert encoder_text("me@example.org") == "me@example.org"
    assert encoder_text("sooooo tiiiired") == "soo tiired"
    assert encoder_text("call 1000 people") == "call 1000 people"


def test_camel_case_hashtags_are_split_into_words() -> None:
    assert encoder_text("so #ThankYouObama") == "so #Thank You Obama"
    assert encoder_text("#MAGA #iPhone #grads2014") == "#MAGA #iPhone #grads 2014"
    assert encoder_text("#StopTheNHSCuts now") == "#Stop The NHS Cuts now"
    assert encoder_text("#NHSCrisis") == "#NHSCrisis"  # a leading acronym: left as written
    assert encoder_text("#mondays #1 C# and a#b") == "#mondays #1 C# and a#b"


def test_idempotent() -> None:
    for s in ("😭😭😭 :( https://x.org @bob sooo", "plain", "❤️ <3", "#LoveIsLove #iPhone7"):
        once = encoder_text(s)
        assert encoder_text(once) == once
