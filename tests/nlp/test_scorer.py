"""BatchingScorer: concurrent callers get their own results; inference stays off the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nlp.model import Model
from nlp.scorer import BatchingScorer

from .fakes import fake_model


async def test_concurrent_scores_resolve_to_their_own_text() -> None:
    model, fake = fake_model()
    scorer = BatchingScorer(model, max_batch=8, max_wait_ms=5)
    await scorer.start()
    texts = [f"message {i}" for i in range(50)]
    results = await asyncio.gather(*(scorer.score(t) for t in texts))
    await scorer.stop()
    assert [r.risk.reasons[0] for r in results] == texts
    assert max(len(b) for b in fake.batches) <= 8
    assert len(fake.batches) < len(texts), "requests should have been batched"
    assert threading.current_thread().name not in fake.threads
    assert len(fake.threads) == 1


async def test_stop_drains_queue_and_rejects_new_work() -> None:
    model, _ = fake_model()
    scorer = BatchingScorer(model)
    await scorer.start()
    pending = [asyncio.create_task(scorer.score(str(i))) for i in range(10)]
    await asyncio.sleep(0)
    await scorer.stop()
    assert [t.result().risk.reasons[0] for t in pending] == [str(i) for i in range(10)]
    with pytest.raises(RuntimeError):
        await scorer.score("late")


async def test_model_errors_reach_callers() -> None:
    class Boom:
        def score_batch(self, texts: list[str]) -> list[object]:
            raise ValueError("bad batch")

    scorer = BatchingScorer(Boom())  # type: ignore[arg-type]
    await scorer.start()
    with pytest.raises(ValueError, match="bad batch"):
        await scorer.score("x")
    await scorer.stop()


async def test_real_model_through_scorer(real_model: Model) -> None:
    scorer = BatchingScorer(real_model)
    await scorer.start()
    texts = ["what a wonderful day", "I cut myself last night", "this homework is killing me"]
    res = await asyncio.gather(*(scorer.score(t) for t in texts))
    await scorer.stop()
    direct = real_model.score_batch(texts)
    assert [r.risk.level for r in res] == [d.risk.level for d in direct]
    assert res[1].risk.level == "crisis" and res[2].risk.level == "none"
    assert res[0].sentiment.label == "positive"
