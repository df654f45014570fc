"""Held-out evaluation, side by side with the VADER baseline, printed as tables.

    python -m nlp.training.evaluate --data DIR [--runtime RUNTIME] [--limit N]

Sentiment: macro-averaged recall and accuracy on (a) TweetEval sentiment *test*, (b) VADER's
human-rated tweets (mean rating mapped to 3 classes, |mean| < 0.5 neutral), (c) GoEmotions test
(single-label rows, ``ambiguous`` dropped). None of these were trained or tuned on.
Crisis: reddit_cssrs posts of held-out users (user-grouped split), and the hand-written chat
messages in nlp/eval_messages.jsonl, per category.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sklearn.metrics import accuracy_score, recall_score
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from nlp.crisis_lexicon import default_lexicon
from nlp.model import Model, load_model
from nlp.training import data
from nlp.training.crisis_train import chat_spans, loko_summary, loko_table, run_loko
from nlp.types import NlpRuntime

EVAL_MESSAGES = Path(__file__).resolve().parents[1] / "eval_messages.jsonl"
_LABEL_ID = {"negative": data.NEG, "neutral": data.NEU, "positive": data.POS}


def vader_labels(texts: Sequence[str]) -> list[int]:
    """VADER's standard cut-offs: compound >= 0.05 positive, <= -0.05 negative."""
    analyzer = SentimentIntensityAnalyzer()
    out = []
    for t in texts:
        c = analyzer.polarity_scores(t)["compound"]
        out.append(data.POS if c >= 0.05 else data.NEG if c <= -0.05 else data.NEU)
    return out


def score_all(model: Model, texts: Sequence[str], batch: int = 256) -> list:  # type: ignore[type-arg]
    out = []
    for s in range(0, len(texts), batch):
        out.extend(model.score_batch(texts[s : s + batch]))
    return out


def sentiment_table(model: Model, root: Path, limit: int) -> list[str]:
    sets = {
        "TweetEval sentiment test": data.read_tweeteval(root, "test"),
        "VADER tweets (|mean|<0.5 neutral)": data.read_vader_tweets(root),
        "GoEmotions test (single-label)": data.goemotions_single_label_test(root, "test"),
    }
    lines = [
        "| data set | n | ours macro-recall | VADER macro-recall | ours acc | VADER acc |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (texts, labels) in sets.items():
        texts, labels = list(texts[: limit or None]), list(labels[: limit or None])
        t0 = time.time()
        ours = [_LABEL_ID[s.sentiment.label] for s in score_all(model, texts)]
        took = time.time() - t0
        base = vader_labels(texts)
        lines.append(
            f"| {name} | {len(texts)} | {recall_score(labels, ours, average='macro'):.3f} | "
            f"{recall_score(labels, base, average='macro'):.3f} | "
            f"{accuracy_score(labels, ours):.3f} | {accuracy_score(labels, base):.3f} |"
        )
        print(f"  scored {name}: {len(texts)} texts in {took:.0f} s", flush=True)
    return lines


def _prf(flags: Sequence[bool], truth: Sequence[bool]) -> tuple[float, float, int]:
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    return tp / max(1, sum(truth)), tp / max(1, sum(flags)), sum(flags)


def cssrs_table(model: Model, root: Path) -> list[str]:
    posts = [p for p in data.read_cssrs(root) if data.cssrs_is_test_user(p.user)]
    levels = [s.risk.level for s in score_all(model, [p.text for p in posts], batch=64)]
    lex = [default_lexicon().scan(p.text).level for p in posts]
    binary = [
        (p.label in data.CSSRS_POSITIVE, lv, lx)
        for p, lv, lx in zip(posts, levels, lex, strict=True)
        if p.label in data.CSSRS_POSITIVE or p.label in data.CSSRS_NEGATIVE
    ]
    truth = [b[0] for b in binary]
    users = len({p.user for p in posts})
    lines = [
        f"held-out users: {users}, posts: {len(posts)} "
        f"(positives ideation/behavior/attempt: {sum(truth)}, negatives supportive/uninformative: "
        f"{len(truth) - sum(truth)}; indicator reported separately)",
        "| system | flag rule | recall | precision | flagged |",
        "|---|---|---:|---:|---:|",
    ]
    for system, col in (("full model", 1), ("lexicon only", 2)):
        for rule, ok in (("elevated or crisis", {"elevated", "crisis"}), ("crisis", {"crisis"})):
            r, p, n = _prf([b[col] in ok for b in binary], truth)
            lines.append(f"| {system} | {rule} | {r:.3f} | {p:.3f} | {n} |")
    lines.append("")
    lines.append("| label | n | none | elevated | crisis |")
    lines.append("|---|---:|---:|---:|---:|")
    for label in ("attempt", "behavior", "ideation", "indicator", "uninformative", "supportive"):
        c = Counter(lv for p, lv in zip(posts, levels, strict=True) if p.label == label)
        n = sum(c.values())
        lines.append(f"| {label} | {n} | {c['none']} | {c['elevated']} | {c['crisis']} |")
    return lines


def chat_table(model: Model) -> list[str]:
    rows = [
        json.loads(x) for x in EVAL_MESSAGES.read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    scores = model.score_batch([r["text"] for r in rows])
    by_cat: dict[str, list[tuple[str, str, str]]] = {}
    for r, s in zip(rows, scores, strict=True):
        by_cat.setdefault(r["category"], []).append((r["expect"], s.risk.level, r["text"]))
    lines = [
        "| category | n | expected | as expected | none | elevated | crisis |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    misses: list[str] = []
    for cat, items in by_cat.items():
        c = Counter(lv for _, lv, _ in items)
        ok = sum(e == lv for e, lv, _ in items)
        lines.append(
            f"| {cat} | {len(items)} | {items[0][0]} | {ok}/{len(items)} | "
            f"{c['none']} | {c['elevated']} | {c['crisis']} |"
        )
        misses += [f"  [{cat}] expected {e}, got {lv}: {t}" for e, lv, t in items if e != lv]
    crisis_items = [(e, lv) for items in by_cat.values() for e, lv, _ in items if e == "crisis"]
    missed = sum(lv != "crisis" for _, lv in crisis_items)
    unflagged = sum(lv == "none" for _, lv in crisis_items)
    lines.append("")
    lines.append(
        f"crisis messages not rated crisis: {missed}/{len(crisis_items)}; "
        f"rated none: {unflagged}/{len(crisis_items)}"
    )
    elevated = [lv for items in by_cat.values() for e, lv, _ in items if e == "elevated"]
    ordinary = [lv for items in by_cat.values() for e, lv, _ in items if e == "none"]
    lines.append(
        f"elevated rated elevated-or-crisis: {_rate([lv != 'none' for lv in elevated])}; "
        f"ordinary (none) rated crisis: {_rate([lv == 'crisis' for lv in ordinary])}"
    )
    lines.append("differences from expectation:")
    lines += misses or ["  (none)"]
    return lines


def _rate(flags: Sequence[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} = {sum(flags) / max(1, len(flags)):.3f}"


def post_flags(model: Model, posts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Per post: its level scored whole (the encoder reads the first 64 tokens; the lexicon all of
    it), and the highest level of its chat-length spans (as if sent as several messages)."""
    whole = [s.risk.level for s in score_all(model, posts, batch=64)]
    spans = [chat_spans(p) or [p] for p in posts]
    flat = [s for sp in spans for s in sp]
    levels = iter(s.risk.level for s in score_all(model, flat, batch=128))
    order = {"none": 0, "elevated": 1, "crisis": 2}
    by_span = [max((next(levels) for _ in sp), key=order.__getitem__) for sp in spans]
    return whole, by_span


def crisis_targets_table(model: Model, root: Path, limit: int, loko: bool = True) -> list[str]:
    """The issue's targets on data never trained on, side by side with what each set is."""
    lines = loko_lines(model, root) if loko else []
    lines += posts_lines(model, root, limit)
    return lines


def loko_lines(model: Model, root: Path) -> list[str]:
    """Leave one kind out: the classifier re-fitted without each kind, that kind scored."""
    rows = run_loko(model, root)
    lines = ["### Leave one kind out (nlp/data/crisis_chat.jsonl, full system)", ""]
    lines += loko_table(rows)
    summary = loko_summary(rows)
    goodbyes = [r for r in rows if r["kind"] == "goodbye_finality" and r["label"] == "crisis"]
    humour = [r for r in rows if r["kind"] == "dark_humour" and r["label"] == "none"]
    lines += [
        "",
        f"crisis rated crisis {summary['crisis_rated_crisis']:.3f}, crisis rated none "
        f"{summary['crisis_rated_none']:.3f}, elevated rated elevated-or-crisis "
        f"{summary['elevated_rated_elevated_or_crisis']:.3f}, look-alikes rated crisis "
        f"{summary['lookalikes_rated_crisis']:.3f}",
        f"goodbye/finality crisis messages scored positive: "
        f"{_rate([r['sentiment'] == 'positive' for r in goodbyes])}",
        f"dark-humour jokes rated crisis: {_rate([r['level'] == 'crisis' for r in humour])}",
        "misses (crisis not rated crisis; look-alikes rated crisis):",
    ]
    lines += [
        f"  [{r['kind']}] {r['label']} -> {r['level']}: {r['text']}"
        for r in rows
        if (r["label"] == "crisis") != (r["level"] == "crisis")
    ] or ["  (none)"]
    return lines


def posts_lines(model: Model, root: Path, limit: int) -> list[str]:
    """Forum posts of held-out users and ordinary comments, flagged whole and by chat spans."""
    posts = [p for p in data.read_cssrs(root) if data.cssrs_is_test_user(p.user)]
    sw = [p.text for p in posts if p.label in data.CSSRS_POSITIVE]
    other = [p.text for p in posts if p.label in data.CSSRS_NEGATIVE]
    ordinary, _ = data.goemotions_single_label_test(root, "test")
    ordinary = ordinary[: limit or 2000]
    lines = ["", "### Forum posts of held-out users, and ordinary comments", ""]
    lines += [
        "| set | n | flagged (elevated+), whole post | flagged, any chat-length span "
        "| crisis, any span |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, texts in (
        ("reddit_cssrs ideation/behavior/attempt (SuicideWatch-type)", sw),
        ("reddit_cssrs supportive/uninformative (same forums)", other),
        ("GoEmotions test comments (ordinary Reddit; not teenage-only)", ordinary),
    ):
        whole, spans = post_flags(model, texts)
        lines.append(
            f"| {name} | {len(texts)} | {_rate([lv != 'none' for lv in whole])} | "
            f"{_rate([lv != 'none' for lv in spans])} | "
            f"{_rate([lv == 'crisis' for lv in spans])} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", help="folder holding goemotions/, tweeteval/, ... (default: $PEERCHAT_DATA_DIR)"
    )
    q = ap.add_mutually_exclusive_group()
    q.add_argument("--quantize", dest="quantize", action="store_true", default=None)
    q.add_argument("--no-quantize", dest="quantize", action="store_false")
    q.add_argument(
        "--runtime",
        choices=[r.value for r in NlpRuntime],
        help="inference path (default: auto, the one chosen at load for this CPU)",
    )
    ap.add_argument(
        "--limit", type=int, default=0, help="first N texts per sentiment set (quick look)"
    )
    ap.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["sentiment", "cssrs", "chat", "crisis", "loko"],
        help="sections to leave out (loko: only the leave-one-kind-out part of crisis)",
    )
    ap.add_argument(
        "--weights", type=Path, help="folder of the overlay to evaluate (default: nlp/weights)"
    )
    args = ap.parse_args(argv)
    root = data.data_dir(args.data)
    model = load_model(args.weights, quantize=args.quantize, runtime=args.runtime)
    print(
        f"# peerchat nlp evaluation, {dt.date.today().isoformat()}, {platform.machine()} "
        f"({__import__('os').cpu_count()} CPU), runtime={model.runtime.value}\n"
    )
    if "sentiment" not in args.skip:
        print("## Sentiment (3 classes)\n", flush=True)
        print("\n".join(sentiment_table(model, root, args.limit)) + "\n", flush=True)
    if "cssrs" not in args.skip:
        print("## Crisis detection, reddit_cssrs held-out users\n", flush=True)
        print("\n".join(cssrs_table(model, root)) + "\n", flush=True)
    if "chat" not in args.skip:
        print("## Crisis levels on hand-written chat messages (nlp/eval_messages.jsonl)\n")
        print("\n".join(chat_table(model)), flush=True)
    if "crisis" not in args.skip:
        print("\n## Crisis classifier: kinds nobody wrote down, forum posts, ordinary chat\n")
        lines = crisis_targets_table(model, root, args.limit, loko="loko" not in args.skip)
        print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
