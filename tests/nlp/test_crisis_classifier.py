"""The chat-register crisis classifier: its rules (no weights needed) and the shipped weights."""

from __future__ import annotations

import pytest

from nlp.crisis_classifier import Verdict, combine, not_positive, text_cues
from nlp.crisis_lexicon import default_lexicon, quote_original
from nlp.model import Model
from nlp.risk import RiskThresholds, assess
from nlp.types import MessageScore, Sentiment


def verdict(level: str, p_none: float = 0.1, kind: str | None = None) -> Verdict:
    p_crisis = 0.8 if level == "crisis" else 0.1
    return Verdict(level, (p_none, 1 - p_none - p_crisis, p_crisis), kind, 0.6)


def base(text: str, sentiment: Sentiment | None = None) -> MessageScore:
    risk = assess(default_lexicon().scan(text), None, RiskThresholds())
    return MessageScore(sentiment or Sentiment("neutral", 0.0), {}, risk)


def apply(text: str, v: Verdict, sentiment: Sentiment | None = None) -> MessageScore:
    return combine(text, default_lexicon().scan(text), base(text, sentiment), v)


def test_classifier_raises_an_unlisted_goodbye_to_crisis_in_plain_words() -> None:
    text = "signing off for good. look after each other"
    assert base(text).risk.level == "none"
    out = apply(text, verdict("crisis", kind="goodbye_finality"))
    assert out.risk.level == "crisis"
    assert out.risk.reasons == ("sounds like a goodbye or a final message",)
    assert out.risk.evidence[-1]["source"] == "crisis_classifier"
    assert out.risk.evidence[-1]["p_crisis"] == 0.8


def test_unknown_kind_gets_a_generic_reason_not_a_reference_sentence() -> None:
    out = apply("i will stop my life tonight, is decided", verdict("crisis"))
    assert out.risk.level == "crisis" and '"' not in out.risk.reasons[-1]


def test_classifier_never_lowers_a_lexicon_crisis_without_a_joke() -> None:
    assert apply("ngl i might kms tonight", verdict("none", p_none=0.95)).risk.level == "crisis"


def test_dark_humour_is_held_at_elevated() -> None:
    text = "this quiz wants me to unalive myself lol"
    assert base(text).risk.level == "crisis"  # the lexicon alone pages a supervisor
    out = apply(text, verdict("none", p_none=0.95))
    assert out.risk.level == "elevated"
    assert apply(text, verdict("elevated", p_none=0.3)).risk.level == "elevated"
    # ... unless the classifier also reads it as a crisis
    assert apply(text, verdict("crisis")).risk.level == "crisis"


def test_negation_and_idiom_keep_the_classifier_out() -> None:
    assert apply("im not suicidal, just venting", verdict("crisis")).risk.level == "none"
    assert apply("this homework is killing me", verdict("crisis")).risk.level == "none"


def test_past_tense_caps_the_classifier_at_elevated() -> None:
    out = apply("i used to self-harm, two years clean now", verdict("crisis"))
    assert out.risk.level == "elevated"


def test_goodbyes_and_crises_never_score_positive() -> None:
    warm = Sentiment("positive", 0.8)
    out = apply("thank you for everything. goodbye", verdict("crisis"), warm)
    assert out.sentiment.label != "positive" and out.sentiment.score < 0
    with_probs = combine(
        "thank you for everything. goodbye",
        default_lexicon().scan("thank you for everything. goodbye"),
        base("x", warm),
        verdict("crisis"),
        (0.05, 0.15, 0.8),
    )
    assert with_probs.sentiment == Sentiment("negative", -0.85)
    assert not_positive(Sentiment("neutral", -0.1), None) == Sentiment("neutral", -0.1)
    # a goodbye is not positive even where nothing raised its level ...
    quiet = apply("signing off for good. look after each other", verdict("none", 0.9), warm)
    assert quiet.risk.level == "none" and quiet.sentiment.label != "positive"
    # ... unless it names a time to come back
    assert apply("bye, see you tomorrow!", verdict("none", 0.9), warm).sentiment == warm


def test_none_means_no_reasons_and_no_evidence() -> None:
    out = apply("what are you having for dinner?", verdict("none", p_none=0.9))
    assert out.risk.level == "none" and out.risk.reasons == () and out.risk.evidence == ()


def test_cues() -> None:
    lex = default_lexicon()
    cues = text_cues("ok bye, see you tomorrow lol", lex.scan("ok bye, see you tomorrow lol"))
    assert cues["farewell"] and cues["future"] and cues["humour"]
    assert not text_cues("bye forever", lex.scan("bye forever"))["future"]


def test_quotes_are_the_participants_own_spelling() -> None:
    assert quote_original("I DON'T want to liiive", "dont want to live") == "DON'T want to liiive"
    assert quote_original("nothing here", "want to die") is None


# ---- the shipped weights, on the real model --------------------------------------------------


def test_shipped_classifier_matches_the_shipped_encoder(real_model: Model) -> None:
    """Fails when the encoder was retrained or replaced without retraining the classifier
    (python -m nlp.training.crisis_train): serving would then run on the lexicon alone."""
    assert real_model.crisis is not None and real_model.crisis.enabled


@pytest.mark.parametrize(
    "text",
    [
        "this quiz wants me to unalive myself lol",
        "kms this exam was brutal 💀",
        "signing off for the night, talk tomorrow",
        "how many ibuprofen can i take for a headache",
        "gonna kill him in fortnite tonight",
        # Everyday ends of a chat, written after those in the training set and never trained on.
        "goodnight all",
        "right im off, night night",
        "that's all from me tonight",
        "okay goodbye",
    ],
)
def test_lookalikes_do_not_reach_crisis(real_model: Model, text: str) -> None:
    assert real_model.score_batch([text])[0].risk.level != "crisis"


def test_reasons_quote_only_the_message(real_model: Model) -> None:
    texts = [
        "I don't want to live anymore",
        "i have the pills ready, tonight",
        "gave my cat to my sister, she'll need her more than me soon",
        "my sister just said she swallowed the whole pack",
    ]
    for text, score in zip(texts, real_model.score_batch(texts), strict=True):
        for reason in score.risk.reasons:
            quoted = reason.split('"')[1::2]
            assert all(q in text for q in quoted), (text, reason)
        refs = [e["text"] for e in score.risk.evidence if e["source"] == "reference_sentence"]
        assert not any(r in " ".join(score.risk.reasons) for r in refs)


# ---- the team's labelled set ------------------------------------------------------------------


def test_every_kind_of_the_team_set_has_plain_words_and_a_family() -> None:
    """A kind added to nlp/data/crisis_chat.jsonl needs words staff can read when the classifier
    names it, and, when it was written as a neighbour of an earlier kind, that kind must exist:
    otherwise leave-one-kind-out would score a kind while its neighbour stays in training."""
    from nlp.crisis_classifier import KIND_REASONS
    from nlp.training.crisis_train import FAMILY, read_chat_set

    items = read_chat_set()
    kinds = {it.kind for it in items}
    with_crisis = {it.kind for it in items if it.label == 2}
    not_topics = {"non_native", "dark_humour"}  # a register, not a kind of crisis
    assert sorted(with_crisis - not_topics - set(KIND_REASONS)) == []
    assert all(FAMILY[k] in kinds and FAMILY[k] not in FAMILY for k in FAMILY)
    assert len({it.text for it in items}) == len(items), "a text is in the set twice"


def test_members_are_averaged_and_a_single_perceptron_file_still_loads() -> None:
    """Weights stacked on a member axis give the mean of each member's probabilities; a file
    written before members existed (one unstacked perceptron) loads as one member."""
    import numpy as np

    from nlp.crisis_classifier import FEATURES, CrisisClassifier

    rng = np.random.default_rng(0)
    n_in, hidden = 384 + len(FEATURES), 8

    def perceptron() -> dict[str, np.ndarray]:
        return {
            "w1": rng.normal(size=(n_in, hidden)),
            "b1": rng.normal(size=hidden),
            "w2": rng.normal(size=(hidden, 3)),
            "b2": rng.normal(size=3),
        }

    common = {
        "mean": np.zeros(n_in),
        "scale": np.ones(n_in),
        "kind_centroids": np.zeros((1, 384)),
        "probe_embeddings": np.zeros((1, 384)),
    }
    meta = {
        "kinds": ["k"],
        "probes": ["p"],
        "crisis_threshold": 0.5,
        "elevated_threshold": 0.5,
        "features": list(FEATURES),
    }
    a, b = perceptron(), perceptron()
    stacked = {k: np.stack([a[k], b[k]]) for k in a}
    emb, feats = rng.normal(size=(4, 384)), rng.normal(size=(4, len(FEATURES)))
    pa = CrisisClassifier({**a, **common}, meta).probabilities(emb, feats)
    pb = CrisisClassifier({**b, **common}, meta).probabilities(emb, feats)
    both = CrisisClassifier({**stacked, **common}, meta).probabilities(emb, feats)
    assert pa.shape == (4, 3) and np.allclose(pa.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(both, (pa + pb) / 2, atol=1e-5)
    assert not np.allclose(pa, pb)
