"""The conversation rule on its own: a goodbye after distress is a crisis (no server needed)."""

from __future__ import annotations

from app.monitoring.context import FAREWELL_AFTER_DISTRESS, cues_of, level_in_context


def decide(text: str, level: str, recent: list[str]) -> tuple[str, str | None]:
    return level_in_context(level, cues_of(text), recent)


def test_goodbye_after_distress_is_a_crisis() -> None:
    recent = ["none", "elevated", "none"]
    assert decide("ok thanks for everything. bye", "none", recent) == (
        "crisis",
        FAREWELL_AFTER_DISTRESS,
    )
    assert decide("take care of yourself", "elevated", ["crisis"])[0] == "crisis"


def test_goodbye_in_a_calm_conversation_stays_as_it_was() -> None:
    assert decide("ok thanks for everything. bye", "none", ["none", "none"]) == ("none", None)
    assert decide("ok thanks for everything. bye", "none", []) == ("none", None)


def test_a_goodbye_with_a_time_to_come_back_is_ordinary() -> None:
    assert decide("thanks, bye, talk tomorrow", "none", ["elevated"]) == ("none", None)
    assert decide("bye for now x", "none", ["elevated"]) == ("none", None)
    assert decide("ok bye, ill check in after my shift", "none", ["elevated"]) == ("none", None)
    assert decide("signing off for the night, thanks all", "none", ["elevated"]) == ("none", None)
    assert decide("bye, see you on the other side of exams", "none", ["elevated"]) == ("none", None)


def test_a_goodbye_that_rules_out_coming_back_is_still_a_crisis() -> None:
    for text in (
        "bye. i wont be back",
        "thanks for everything. dont check in on me",
        "bye forever",
        "see you on the other side i guess. bye",
        "bye for now. and for good this time",
        "thanks for everything. i wont be back tomorrow",
    ):
        assert decide(text, "none", ["elevated"])[0] == "crisis", text


def test_not_a_goodbye_is_not_raised_by_history() -> None:
    assert decide("what are you having for dinner?", "none", ["crisis"]) == ("none", None)


def test_erasure_takes_the_participants_quoted_words_out_of_a_reason() -> None:
    from app.safety.alerts import without_quotes

    reason = 'crisis language: expresses a wish to die ("want to die"); sounds like a goodbye'
    assert (
        without_quotes(reason) == "crisis language: expresses a wish to die; sounds like a goodbye"
    )
    assert without_quotes('said "bye forever" twice') == "said twice"
