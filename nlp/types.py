"""Result types shared by the model, the async scorer and the CLI (frozen, so safe to share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

SentimentLabel = Literal["negative", "neutral", "positive"]
RiskLevel = Literal["none", "elevated", "crisis"]

SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
RISK_LEVELS: tuple[RiskLevel, ...] = ("none", "elevated", "crisis")


class NlpRuntime(StrEnum):
    """How the network runs at inference (``nlp.runtime``); training is always torch."""

    AUTO = "auto"  # measured at load: ONNX int8 when faster than float32 on this CPU, else float32
    ONNX_INT8 = "onnx-int8"  # ONNX Runtime, per-token int8 (nlp.training.export)
    TORCH_FLOAT32 = "torch-float32"
    TORCH_INT8 = (
        "torch-int8"  # torch._int_mm, per-token int8 (nlp.quantize): fast only with VNNI/AMX
    )


@dataclass(frozen=True)
class Sentiment:
    """Three-way label plus a signed score in [-1, 1] (P(positive) - P(negative))."""

    label: str
    score: float


@dataclass(frozen=True)
class Risk:
    """Crisis-risk level of one message and the human-readable reasons behind it."""

    level: str
    reasons: tuple[str, ...] = ()  # plain words for staff; quoted text is the participant's own
    # Model evidence (reference sentences, similarities, classifier probabilities), kept apart
    # from ``reasons`` so that staff never mistake a reference sentence for what was said.
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class MessageScore:
    """Everything the model says about one message."""

    sentiment: Sentiment
    emotions: dict[str, float] = field(default_factory=dict)
    risk: Risk = field(default_factory=lambda: Risk("none"))

    def to_json(self) -> dict[str, Any]:
        """The wire shape used by ``peerchat score`` (emotions included for the service)."""
        return {
            "sentiment": {"label": self.sentiment.label, "score": self.sentiment.score},
            "emotions": dict(self.emotions),
            "risk": {
                "level": self.risk.level,
                "reasons": list(self.risk.reasons),
                "evidence": [dict(e) for e in self.risk.evidence],
            },
        }
