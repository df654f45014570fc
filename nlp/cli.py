"""Core of ``peerchat score``: JSON lines in, one JSON line out per input, same order.

Input lines are ``{"id": any?, "text": str}``. Output lines are
``{"id", "sentiment": {"label", "score"}, "risk": {"level", "reasons"}}``, or
``{"id", "error": str}`` for a bad line (the run goes on). Blank lines are skipped. Lines are
scored in batches of up to ``BATCH`` for speed, but a batch is cut short (and its output flushed)
as soon as stdin has nothing more waiting, so an interactive user gets answers line by line.

Why batches of 256 when a forward pass takes at most 64 (``nlp.model.CHUNK``): ``score_batch``
sorts a batch by length so that similar lengths share a pass, and the more lines it can choose
from, the less padding it computes. Over the TweetEval test tweets on a CPU with AVX2 alone that
was 7-10% more tweets a second than batches of 32 (docs/benchmarks.md, "Seventh round").
"""

from __future__ import annotations

import json
import select
import sys
from typing import Any, TextIO

from nlp.encoder import ModelFilesMissing
from nlp.model import Model, load_model

BATCH = 256


def _input_waiting(stream: TextIO) -> bool:
    """True if more input can be read without blocking (unknown streams: assume yes)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return True
    try:
        ready, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def parse_line(line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error) for one input line; exactly one of text/error is set."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"invalid JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return None, None, f"expected a JSON object, got {type(obj).__name__}"
    ident = obj.get("id")
    if "text" not in obj:
        return ident, None, "missing field 'text'"
    if not isinstance(obj["text"], str):
        return ident, None, f"field 'text' must be a string, got {type(obj['text']).__name__}"
    return ident, obj["text"], None


def _emit(stdout: TextIO, obj: dict[str, Any]) -> None:
    stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _flush(pending: list[tuple[Any, str | None, str | None]], model: Model, stdout: TextIO) -> None:
    texts = [t for _, t, err in pending if err is None and t is not None]
    try:
        scores = iter(model.score_batch(texts)) if texts else iter(())
        failure = None
    except Exception as exc:
        scores, failure = iter(()), f"scoring failed: {exc}"
    for ident, _text, err in pending:
        if err is None and failure is not None:
            err = failure
        if err is not None:
            _emit(stdout, {"id": ident, "error": err})
            continue
        s = next(scores)
        _emit(
            stdout,
            {
                "id": ident,
                "sentiment": {"label": s.sentiment.label, "score": s.sentiment.score},
                "risk": {"level": s.risk.level, "reasons": list(s.risk.reasons)},
            },
        )
    stdout.flush()
    pending.clear()


def run_score(stdin: TextIO, stdout: TextIO, model: Model | None = None) -> int:
    """Score JSON lines from ``stdin`` to ``stdout``. Returns a process exit code."""
    if model is None:
        try:
            model = load_model()
        except ModelFilesMissing as exc:
            print(f"peerchat score: {exc}", file=sys.stderr)
            return 2
    pending: list[tuple[Any, str | None, str | None]] = []
    while True:
        line = stdin.readline()
        if not line:
            break
        if line.strip():
            pending.append(parse_line(line))
        if pending and (len(pending) >= BATCH or not _input_waiting(stdin)):
            _flush(pending, model, stdout)
    if pending:
        _flush(pending, model, stdout)
    return 0


def main() -> int:
    return run_score(sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
