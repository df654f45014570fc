"""``run_score``: one output line per input line, in order; bad lines get an error line."""

from __future__ import annotations

import io
import json
from typing import Any

from nlp.cli import BATCH, run_score
from nlp.model import Model

from .fakes import fake_model


def score_lines(lines: list[str], model: Model | None = None) -> list[dict[str, Any]]:
    m = model or fake_model()[0]
    out = io.StringIO()
    assert run_score(io.StringIO("".join(line + "\n" for line in lines)), out, m) == 0
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_bad_lines_get_errors_and_run_continues() -> None:
    lines = [
        '{"id": 1, "text": "hello"}',
        "{not json",
        '{"id": 2}',
        "[1, 2, 3]",
        '"just a string"',
        '{"id": 3, "text": 42}',
        '{"id": {"nested": true}, "text": null}',
        "",
        "   ",
        '{"text": "no id"}',
        '{"id": "last", "text": "bye"}',
    ]
    out = score_lines(lines)
    assert [o.get("id") for o in out] == [1, None, 2, None, None, 3, {"nested": True}, None, "last"]
    assert ["error" in o for o in out] == [False, True, True, True, True, True, True, False, False]
    assert "invalid JSON" in out[1]["error"]
    assert "missing field 'text'" in out[2]["error"]
    assert "object" in out[3]["error"] and "object" in out[4]["error"]
    assert "must be a string" in out[5]["error"] and "must be a string" in out[6]["error"]
    assert out[0]["risk"] == {"level": "none", "reasons": ["hello"]}
    assert set(out[0]) == {"id", "sentiment", "risk"}
    assert set(out[0]["sentiment"]) == {"label", "score"}


def test_order_is_preserved_across_batches() -> None:
    model, fake = fake_model()
    n = BATCH * 2 + 5
    out = score_lines([json.dumps({"id": i, "text": "x" * i}) for i in range(n)], model)
    assert [o["id"] for o in out] == list(range(n))
    assert [o["risk"]["reasons"][0] for o in out] == ["x" * i for i in range(n)]
    assert max(len(b) for b in fake.batches) <= BATCH and len(fake.batches) >= 3


def test_unicode_and_escapes_round_trip() -> None:
    out = score_lines([json.dumps({"id": "ü", "text": "naïve 💊\nline"})])
    assert out[0]["id"] == "ü" and out[0]["risk"]["reasons"] == ["naïve 💊\nline"]


def test_scoring_failure_becomes_error_lines() -> None:
    class Boom:
        def score_batch(self, texts: list[str]) -> list[Any]:
            raise RuntimeError("kaput")

    out = io.StringIO()
    run_score(io.StringIO('{"id": 1, "text": "a"}\n{"id": 2}\n'), out, Boom())  # type: ignore[arg-type]
    res = [json.loads(x) for x in out.getvalue().splitlines()]
    assert res[0] == {"id": 1, "error": "scoring failed: kaput"}
    assert res[1]["id"] == 2 and "missing" in res[1]["error"]


def test_real_model_output_contract(real_model: Model) -> None:
    out = score_lines(
        ['{"id": "a", "text": "I love this, thank you so much!"}', '{"id": "b", "text": "kms"}'],
        real_model,
    )
    assert out[0]["sentiment"]["label"] == "positive"
    assert -1.0 <= out[0]["sentiment"]["score"] <= 1.0
    assert out[1]["risk"]["level"] == "crisis" and out[1]["risk"]["reasons"]
