"""The model in a child process: same scores as in process, and a dead child is replaced."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlp.model import Model
from nlp.worker import ModelProcess

TEXTS = ["I had a lovely day", "i want to kms", "meh", "I feel so alone tonight"]


@pytest.fixture(scope="module")
def process(real_model: Model) -> Iterator[ModelProcess]:
    # The same inference path as the model in this process: left to its own probe, the child
    # could pick the other one on a loaded machine, and int8 and float32 differ in the decimals.
    proc = ModelProcess(runtime=real_model.runtime)
    proc.start()
    yield proc
    proc.close()


def _child_pids(proc: ModelProcess) -> list[int]:
    pool = proc._pool
    assert pool is not None
    return list(pool._processes or {})


def test_child_scores_like_the_model_in_this_process(
    process: ModelProcess, real_model: Model
) -> None:
    here = real_model.score_batch(TEXTS)
    there = process.score_batch(TEXTS)
    assert [s.risk.level for s in there] == [s.risk.level for s in here]
    assert [s.sentiment.label for s in there] == [s.sentiment.label for s in here]
    for a, b in zip(there, here, strict=True):
        assert a.sentiment.score == pytest.approx(b.sentiment.score, abs=1e-3)
    assert there[1].risk.level == "crisis"


def test_child_runs_at_a_lower_priority(process: ModelProcess) -> None:
    (pid,) = _child_pids(process)
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)


def test_a_killed_child_fails_one_batch_and_is_replaced(process: ModelProcess) -> None:
    (pid,) = _child_pids(process)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Exception, match=r"terminated abruptly|process pool"):
        process.score_batch(TEXTS)
    again = process.score_batch(TEXTS)
    assert [s.risk.level for s in again][1] == "crisis"
    assert _child_pids(process) != [pid]


def test_missing_weights_fail_start_with_a_clear_error(tmp_path: Path) -> None:
    proc = ModelProcess(tmp_path)
    with pytest.raises(RuntimeError, match="model process failed to start"):
        proc.start()
