"""Loading is offline and fails clearly when the fine-tuned weights are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.encoder import ModelFilesMissing, base_model_dir
from nlp.model import Model, load_model


def test_missing_weights_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesMissing, match=r"python -m nlp\.train"):
        load_model(tmp_path)


def test_encoder_comes_from_the_installed_package() -> None:
    assert (base_model_dir() / "model.safetensors").is_file()


def test_scores_are_well_formed(real_model: Model) -> None:
    out = real_model.score_batch(["", "I am so happy today!", "I feel sad and scared"])
    assert len(out) == 3
    for s in out:
        assert s.sentiment.label in ("negative", "neutral", "positive")
        assert -1.0 <= s.sentiment.score <= 1.0
        assert {"sadness", "fear", "anger", "joy"} <= set(s.emotions)
        assert all(0.0 <= v <= 1.0 for v in s.emotions.values())
        assert s.risk.level in ("none", "elevated", "crisis")
    assert out[1].emotions["joy"] > out[1].emotions["sadness"]
    assert real_model.score_batch([]) == []
    assert real_model.sentiment_probs([]).shape == (0, 3)
    probs = real_model.sentiment_probs(["I am so happy today!"])
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1.0) < 1e-5


def test_emoji_and_emoticons_carry_sentiment(real_model: Model) -> None:
    """They used to reach the encoder as [UNK] and punctuation, and scored neutral."""
    crying, angry, frown, smiling = real_model.score_batch(["😭😭😭", "😡", ":(", "😊"])
    assert crying.sentiment.label == angry.sentiment.label == frown.sentiment.label == "negative"
    assert smiling.sentiment.score > 0.2
    assert crying.emotions["sadness"] > crying.emotions["joy"]
