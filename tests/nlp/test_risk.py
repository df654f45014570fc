"""How lexicon and embedding signals combine (no model needed: signals are given)."""

from __future__ import annotations

from nlp.crisis_lexicon import default_lexicon
from nlp.risk import RiskThresholds, SemanticSignals, assess

TH = RiskThresholds(sim_crisis=0.7, sim_elevated=0.6, sim_margin=0.03, clf_elevated=0.5)


def sem(sim: float = 0.0, benign: float = 0.0, clf: float = 0.0) -> SemanticSignals:
    return SemanticSignals(sim, "I have decided to end my life", benign, clf)


def level(text: str, s: SemanticSignals) -> str:
    return assess(default_lexicon().scan(text), s, TH).level


def test_similarity_alone_can_raise_crisis_and_explains_why() -> None:
    risk = assess(default_lexicon().scan("i made my peace, tonight i go"), sem(0.8), TH)
    assert risk.level == "crisis"
    # The reference sentence is evidence, never in the reason staff read as the person's words.
    assert risk.reasons == ("wording close in meaning to known crisis statements",)
    assert risk.evidence[0]["text"] == "I have decided to end my life"
    assert risk.evidence[0]["similarity"] == 0.8


def test_lexicon_reasons_quote_only_the_participants_own_words() -> None:
    text = "I   DON'T want to live anymore!!"
    risk = assess(default_lexicon().scan(text), sem(0.9), TH)
    quoted = [r.split('"')[1] for r in risk.reasons if '"' in r]
    assert quoted and all(q in text for q in quoted)
    assert all("end my life" not in r for r in risk.reasons)


def test_similarity_between_cutoffs_is_elevated() -> None:
    assert level("everything feels heavy", sem(0.65)) == "elevated"


def test_benign_lookalike_wins_over_crisis_exemplar() -> None:
    assert level("some ordinary sentence", sem(0.75, benign=0.9)) == "none"


def test_classifier_alone_gives_elevated() -> None:
    assert level("some ordinary sentence", sem(clf=0.9)) == "elevated"


def test_negation_and_idiom_silence_embedding_signals() -> None:
    assert level("I'm not suicidal", sem(0.9, clf=0.9)) == "none"
    assert level("this homework is killing me", sem(0.9, clf=0.9)) == "none"


def test_past_tense_caps_embedding_signals_at_elevated() -> None:
    assert level("I used to self-harm, six months clean now", sem(0.95)) == "elevated"


def test_lexicon_crisis_is_not_lowered_by_low_similarity() -> None:
    assert level("kms", sem(0.1)) == "crisis"


def test_no_semantic_signals() -> None:
    assert assess(default_lexicon().scan("hello"), None, TH).level == "none"
