"""Readers for the public data sets, in the layout they are published in.

``--data`` points at a folder holding ``goemotions/``, ``tweeteval/``, ``vader_groundtruth/``,
``reddit_cssrs/`` and ``suicide_risk_lexicon/`` (see docs/model-card.md for where to get each).
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from nlp.network import EMOTIONS

# Sentiment classes in the order used everywhere: 0 negative, 1 neutral, 2 positive.
NEG, NEU, POS = 0, 1, 2
_GROUP_TO_SENTIMENT = {"negative": NEG, "neutral": NEU, "positive": POS}  # "ambiguous" -> None

# VADER ground truth is a mean rating in -4..+4; |mean| < 0.5 is neutral (the tighter of the two
# mappings in its SOURCE notes: a text most raters scored as clearly non-zero is not neutral).
VADER_NEUTRAL_BAND = 0.5

# reddit_cssrs post labels. Positives for "crisis" evaluation are ideation/behavior/attempt.
CSSRS_POSITIVE = frozenset({"ideation", "behavior", "attempt"})
CSSRS_NEGATIVE = frozenset({"supportive", "uninformative"})
CSSRS_TEST_FRACTION = 0.25  # share of USERS held out (by stable hash of the user id)


@dataclass(frozen=True)
class Example:
    text: str
    sentiment: int | None  # None: not a sentiment training target (ambiguous or mixed rows)
    emotions: tuple[float, ...] | None  # multi-hot over EMOTIONS, None when unknown


def data_dir(arg: str | None) -> Path:
    """``--data`` or $PEERCHAT_DATA_DIR; exits with a clear message when neither is usable."""
    value = arg or os.environ.get("PEERCHAT_DATA_DIR")
    if not value:
        sys.exit("error: pass --data DIR or set PEERCHAT_DATA_DIR (folder holding goemotions/ ...)")
    path = Path(value).expanduser()
    if not (path / "goemotions").is_dir():
        sys.exit(f"error: {path} does not look like the data folder (no goemotions/ inside)")
    return path


def _read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def sentiment_from_groups(groups: set[str]) -> int | None:
    """One sentiment class from GoEmotions group labels, or None.

    ``ambiguous`` (surprise, curiosity, confusion, realization) carries no polarity, so it is
    ignored next to a polar label and the row is dropped when it is the only label. Rows whose
    remaining labels disagree (e.g. positive and negative) are dropped rather than guessed.
    """
    polar = {_GROUP_TO_SENTIMENT[g] for g in groups if g in _GROUP_TO_SENTIMENT}
    return polar.pop() if len(polar) == 1 else None


def read_goemotions(root: Path, split: str) -> list[Example]:
    """GoEmotions rows with sentiment (group taxonomy) and Ekman emotion targets."""
    base = root / "goemotions"
    group_names = (base / "group" / "labels.txt").read_text().split()
    ekman_names = (base / "ekman" / "labels.txt").read_text().split()
    if tuple(ekman_names) != EMOTIONS:
        raise ValueError(f"unexpected ekman labels {ekman_names}")
    group_rows = _read_tsv(base / "group" / f"{split}.tsv")
    ekman_rows = _read_tsv(base / "ekman" / f"{split}.tsv")
    out = []
    for g, e in zip(group_rows, ekman_rows, strict=True):
        if g[2] != e[2]:
            raise ValueError("group/ and ekman/ rows are out of step")
        groups = {group_names[int(i)] for i in g[1].split(",")}
        emo = [0.0] * len(EMOTIONS)
        for i in e[1].split(","):
            emo[int(i)] = 1.0
        out.append(Example(g[0], sentiment_from_groups(groups), tuple(emo)))
    return out


def goemotions_single_label_test(root: Path, split: str = "test") -> tuple[list[str], list[int]]:
    """Evaluation view: single-label rows only, ambiguous dropped (documented in the model card)."""
    base = root / "goemotions" / "group"
    names = (base / "labels.txt").read_text().split()
    texts, labels = [], []
    for row in _read_tsv(base / f"{split}.tsv"):
        ids = row[1].split(",")
        if len(ids) == 1 and names[int(ids[0])] in _GROUP_TO_SENTIMENT:
            texts.append(row[0])
            labels.append(_GROUP_TO_SENTIMENT[names[int(ids[0])]])
    return texts, labels


def read_tweeteval(root: Path, split: str) -> tuple[list[str], list[int]]:
    """TweetEval sentiment ('val' may be trained on; 'test' is only ever evaluated)."""
    base = root / "tweeteval" / "sentiment"
    texts = (base / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(x) for x in (base / f"{split}_labels.txt").read_text().split()]
    if len(texts) != len(labels):
        raise ValueError(f"tweeteval {split}: {len(texts)} texts vs {len(labels)} labels")
    return texts, labels


def read_vader_tweets(root: Path) -> tuple[list[str], list[int]]:
    """VADER's 4,200 human-rated tweets; mean rating mapped to 3 classes (VADER_NEUTRAL_BAND)."""
    path = root / "vader_groundtruth" / "tweets_GroundTruth.txt"
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) < 3:
            continue
        score = float(parts[1])
        texts.append("\t".join(parts[2:]))
        labels.append(NEU if abs(score) < VADER_NEUTRAL_BAND else (POS if score > 0 else NEG))
    return texts, labels


@dataclass(frozen=True)
class CssrsPost:
    user: str
    text: str
    label: str


def cssrs_is_test_user(user: str) -> bool:
    """Stable user-grouped split: a user's posts are all train or all test."""
    bucket = int(hashlib.sha256(user.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < CSSRS_TEST_FRACTION


def read_cssrs(root: Path) -> list[CssrsPost]:
    """Labelled reddit_cssrs posts (rows without a label are skipped)."""
    path = root / "reddit_cssrs" / "post_level_annotations.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        CssrsPost(r["user"], r["text"], r["label"].strip())
        for r in rows
        if r["label"].strip() and r["text"].strip()
    ]
