"""Rule layer: slang, emoji, negation, idiom and tense edge cases."""

from __future__ import annotations

import pytest

from nlp.crisis_lexicon import default_lexicon, normalise


def level(text: str) -> str:
    return default_lexicon().scan(text).level


@pytest.mark.parametrize(
    "text",
    [
        "kms",
        "i wanna kms fr",
        "gonna unalive myself",
        "thinking about sewerslide again",
        "I want to die",
        "i just want to end it all",
        "I wanna diiiie",
        "i dont want to live anymore",
        "I don't know if I want to die",
        "I cut myself last night",
        "I relapsed and cut my arm",
        "I have been saving up my pills",
        "I'm going to hang myself",
        "he hits me when he is drunk",
        "I don't feel safe at home",
        "I'm going to kill him",
        "I took all my pills",
        "nobody would miss me if I was gone",
        "I used to cut, but I did it again today",
    ],
)
def test_crisis_phrases(text: str) -> None:
    assert level(text) == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "I feel so hopeless and alone",
        "💊💊💊",
        "🔪",
        "🪢",
        "⚰️",
        "I used to self-harm, six months clean now",
        "I tried to kill myself two years ago",
        "i hate myself",
    ],
)
def test_elevated(text: str) -> None:
    assert level(text) == "elevated"


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal",
        "I would never kill myself",
        "i'm not going to hurt myself, don't worry",
        "this homework is killing me",
        "my feet are killing me",
        "I'd die for pizza",
        "dying of laughter 😂",
        "lol im dead 💀",
        "I'm dying to see that movie",
        "we're going to hang out later",
        "I am safe at home",
        "hey, how was your day?",
    ],
)
def test_not_flagged(text: str) -> None:
    assert level(text) == "none"


def test_negation_is_recorded_and_scoped() -> None:
    res = default_lexicon().scan("I'm not suicidal")
    assert res.negated == ("suicidal",)
    # A negation in an earlier clause does not cancel a later crisis phrase.
    assert level("I'm not okay, I want to die") == "crisis"


def test_reasons_are_readable() -> None:
    res = default_lexicon().scan("I cut myself last night")
    assert res.reasons and "self-harm" in res.reasons[0]


def test_normalise() -> None:
    assert normalise("I’M   SOOO  done!!!") == "im so done!"
