"""A deterministic stand-in for the model, so CLI and scorer plumbing tests stay fast."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

from nlp.model import Model
from nlp.types import MessageScore, Risk, Sentiment


class FakeModel:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()

    def score_batch(self, texts: Sequence[str]) -> list[MessageScore]:
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        return [
            MessageScore(Sentiment("neutral", float(len(t)) / 1000), {}, Risk("none", (t,)))
            for t in texts
        ]


def fake_model() -> tuple[Model, FakeModel]:
    fake = FakeModel()
    return cast(Model, fake), fake
