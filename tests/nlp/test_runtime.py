"""The inference path chosen at load: measured, never slower than float32, never a stale graph,
and a message's score its own whatever its batch."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from nlp import runtime
from nlp.model import Model, load_model
from nlp.network import CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE
from nlp.training import export
from nlp.types import NlpRuntime

MESSAGES = [
    "honestly today was rough but talking helps a bit",
    "ok",
    "I HAVE BEEN SCREAMING INTO MY PILLOW FOR AN HOUR!!!!!!! WHY DOES NOBODY LISTEN",
    "thanks so much for being here with me tonight, it really means a lot to me 😭❤️",
    "I can't do this anymore, I just want it all to stop",
    "we adopted a puppy!!",
    "1234567890 " * 12,
    "my exams start monday and I'm freaking out",
]


@pytest.fixture(scope="module")
def onnx_model() -> Model:
    model = load_model(runtime=NlpRuntime.ONNX_INT8)
    assert model.runtime is NlpRuntime.ONNX_INT8
    return model


@pytest.fixture(scope="module")
def float_model() -> Model:
    return load_model(runtime=NlpRuntime.TORCH_FLOAT32)


def test_the_committed_graph_was_made_from_the_committed_weights() -> None:
    """If this fails, the weights were retrained: run `python -m nlp.training.export` and commit."""
    assert export.main(["--check"]) == 0


def test_int8_graph_is_close_to_float32(onnx_model: Model, float_model: Model) -> None:
    ids, mask = float_model.encode(MESSAGES)
    want = [t.numpy() for t in float_model.runner(ids, mask)]
    got = [t.numpy() for t in onnx_model.runner(ids, mask)]
    assert [g.shape for g in got] == [w.shape for w in want]
    assert float((got[0] * want[0]).sum(1).min()) > 0.99  # embeddings: cosine similarity
    for g, w in zip(got[1:], want[1:], strict=True):
        assert float(np.abs(g - w).max()) < 0.5  # logits
    assert (got[1].argmax(1) == want[1].argmax(1)).all()


def test_a_message_scores_the_same_alone_and_in_any_batch(onnx_model: Model) -> None:
    """ONNX Runtime's own dynamic int8 scales activations per batch; ours per token row."""
    for i, text in enumerate(MESSAGES):
        alone = onnx_model.score_batch([text])[0]
        emb_alone = onnx_model.embed([text])[0]
        for others in (MESSAGES[:i] + MESSAGES[i + 1 :], MESSAGES * 10):
            batch = onnx_model.score_batch([*others, text])
            got = batch[-1]
            assert got.sentiment.label == alone.sentiment.label
            assert abs(got.sentiment.score - alone.sentiment.score) < 1e-4
            assert got.risk == alone.risk
            for name, value in alone.emotions.items():
                assert abs(got.emotions[name] - value) < 1e-4
            emb = onnx_model.embed([*others, text])[-1]
            assert float((emb - emb_alone).abs().max()) < 1e-5


def test_auto_keeps_the_faster_path_and_never_a_slower_one() -> None:
    calls: list[str] = []

    def fast(ids: np.ndarray, mask: np.ndarray) -> runtime.Outputs:
        calls.append("fast")
        z = torch.zeros(1)
        return z, z, z, z

    def slow(ids: np.ndarray, mask: np.ndarray) -> runtime.Outputs:
        calls.append("slow")
        time.sleep(0.01)
        return fast(ids, mask)

    def encode(texts: object) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((1, 1), np.int64), np.ones((1, 1), np.int64)

    timings = runtime.probe({NlpRuntime.ONNX_INT8: slow, NlpRuntime.TORCH_FLOAT32: fast}, encode)
    assert runtime.decide(timings) is NlpRuntime.TORCH_FLOAT32
    timings = runtime.probe({NlpRuntime.ONNX_INT8: fast, NlpRuntime.TORCH_FLOAT32: slow}, encode)
    assert runtime.decide(timings) is NlpRuntime.ONNX_INT8
    # Within the margin, float32 (exact) is kept.
    assert (
        runtime.decide({NlpRuntime.ONNX_INT8: 0.95, NlpRuntime.TORCH_FLOAT32: 1.0})
        is NlpRuntime.TORCH_FLOAT32
    )


def test_the_probe_is_bounded_in_time() -> None:
    calls = 0

    def slow(ids: np.ndarray, mask: np.ndarray) -> runtime.Outputs:
        nonlocal calls
        calls += 1
        time.sleep(0.2)
        z = torch.zeros(1)
        return z, z, z, z

    def encode(texts: object) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((1, 1), np.int64), np.ones((1, 1), np.int64)

    runtime.probe({NlpRuntime.ONNX_INT8: slow, NlpRuntime.TORCH_FLOAT32: slow}, encode)
    # One round already spends more than the budget, so the probe stops after it: an untimed
    # first run and one timed round, 2 candidates x 2 inputs each (counted, not timed, so that
    # a loaded machine cannot make it pass or fail).
    assert runtime.PROBE_ROUNDS > 1 and runtime.PROBE_BUDGET_S < 0.2 * 4
    assert calls == 2 * 2 * 2


@pytest.fixture
def retrained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the weights with one head changed, as if retrained, beside the old graph."""
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(WEIGHTS_DIR / CONFIG_FILE, weights / CONFIG_FILE)
    shutil.copy(WEIGHTS_DIR / export.ARTIFACT_FILE, weights / export.ARTIFACT_FILE)
    state = load_file(str(WEIGHTS_DIR / WEIGHTS_FILE))
    state["sentiment.bias"] = state["sentiment.bias"] + torch.tensor([2.0, 0.0, -2.0])
    save_file(state, str(weights / WEIGHTS_FILE))
    monkeypatch.setenv("PEERCHAT_NLP_CACHE_DIR", str(tmp_path / "cache"))
    return weights


def test_a_stale_graph_is_never_run_but_remade(
    retrained: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert export.main(["--weights", str(retrained), "--check"]) == 1
    with caplog.at_level(logging.WARNING, logger="nlp.runtime"):
        model = load_model(retrained, runtime=NlpRuntime.ONNX_INT8)
    assert "stale" in caplog.text
    assert model.runtime is NlpRuntime.ONNX_INT8
    path = model.runner.path  # type: ignore[attr-defined]
    assert path.parent == retrained.parent / "cache"
    assert export.artifact_digest(path) == export.weights_digest(retrained)
    # The remade graph carries the retrained head: it agrees with float32 of the new weights.
    float32 = load_model(retrained, runtime=NlpRuntime.TORCH_FLOAT32)
    texts = MESSAGES[:4]
    got, want = model.sentiment_probs(texts), float32.sentiment_probs(texts)
    assert float((got - want).abs().max()) < 0.1  # int8 noise
    old = load_model(runtime=NlpRuntime.ONNX_INT8).sentiment_probs(texts)
    assert float((got - old).abs().max()) > 0.2  # the shifted head
    # A second load finds the remade graph in the cache instead of making it again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nlp.runtime"):
        load_model(retrained, runtime=NlpRuntime.ONNX_INT8)
    assert "re-making" not in caplog.text


def test_float32_runs_when_no_current_graph_can_be_made(
    retrained: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = retrained.parent / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("PEERCHAT_NLP_CACHE_DIR", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger="nlp.runtime"):
        model = load_model(retrained)
    assert model.runtime is NlpRuntime.TORCH_FLOAT32
    assert "float32 will run" in caplog.text
