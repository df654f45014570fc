"""Train the chat-register crisis classifier (nlp/crisis_classifier.py) and measure it honestly.

    nice -n 10 python -m nlp.training.crisis_train --data DIR [--out FILE]

One command, CPU only, a few minutes on 2 cores. Steps:

1. Training texts, each with a level (none / elevated / crisis) and a weight:
   - nlp/data/crisis_chat.jsonl: chat messages the team wrote, one ``kind`` each (goodbyes,
     giving things away, plans without a method word, lethal-dose questions, danger now, harm to
     others, someone else in danger, non-native phrasing, putting affairs in order, a sudden calm,
     rehearsal, deadlines, coded words, burdensomeness, ...), every kind with look-alike
     negatives (ordinary goodbyes, moving house, headache doses, gaming "kill", dark humour);
   - the Suicide Risk Lexicon's validated prototypical phrases (suicidal constructs -> crisis,
     hopelessness, emptiness and the like -> elevated);
   - reddit_cssrs posts of *training* users, cut into chat-length spans. Labels are post-level
     and so noisy for a span: spans of ideation/behavior/attempt posts count as crisis only where
     the lexicon sees crisis words in the span itself, else elevated; supportive/uninformative
     spans count as none; ``indicator`` posts are left out. All at a low weight;
   - GoEmotions training comments as ordinary chat (none), keeping the jokes ("kms lol") and
     idioms and leaving out comments the lexicon rates as distress without a joke marker.
2. Embeddings from the shipped network (the same ``embedding`` output served), computed once and
   cached under nlp/.cache/.
3. Leave one kind out: for each kind of the team's set, train without it (and without the kinds
   written as its neighbours, ``FAMILY``) and score it with the full system (lexicon + similarity
   + classifier). That is the honest figure for messages of a kind nobody wrote down; it is
   printed and stored in the weights' metadata.
4. The final classifier on everything (``MEMBERS`` perceptrons from consecutive seeds), saved
   with probe sentences (see ``check_encoder``).

Never trained on: nlp/eval_messages.jsonl, reddit_cssrs held-out users, GoEmotions dev/test.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn

from nlp.crisis_classifier import (
    FEATURES,
    LEVELS,
    WEIGHTS_PATH,
    CrisisClassifier,
    Verdict,
    combine,
    feature_row,
    text_cues,
)
from nlp.crisis_lexicon import LexiconResult, default_lexicon
from nlp.model import CHUNK, Model, load_model
from nlp.training import data
from nlp.types import MessageScore

log = logging.getLogger("nlp.training.crisis_train")

CHAT_SET = Path(__file__).resolve().parents[1] / "data" / "crisis_chat.jsonl"
CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache"
SEED = 7
MEMBERS = 5  # perceptrons from seeds SEED, SEED+1, ...; probabilities averaged when serving
HIDDEN = 64
EPOCHS = 12
BATCH = 128
LR = 1e-3
WEIGHT_DECAY = 1e-2
DROPOUT = 0.2
BALANCE = 0.5  # 1 = classes weighted equally; 0 = as the data has them (crisis is rare)
# Decision cut-offs are chosen from out-of-kind predictions (``choose_thresholds``), never on the
# kind being measured. The grid, and what ordinary comments may cost: of GoEmotions training
# comments kept out of training (``ORDINARY_VALIDATION``), at most this share rated crisis by the
# classifier's verdict combined with the rest of the system, and at most this share flagged.
THRESHOLD_GRID = tuple(round(0.1 + 0.05 * i, 2) for i in range(15))  # 0.1 .. 0.8
MAX_ORDINARY_CRISIS = 0.01
MAX_ORDINARY_FLAGGED = 0.10
ORDINARY_VALIDATION = 2000
SPAN_WORDS = 30  # a chat message is rarely longer
GOEMOTIONS_SAMPLE = 6000
W_CHAT, W_LEXICON, W_CSSRS, W_GOEMOTIONS = 4.0, 1.0, 0.3, 0.5
PROBES = (
    "i want to kill myself",
    "signing off for the night, talk tomorrow",
    "gave my guitar to my cousin",
    "how many ibuprofen can i take for a headache",
    "my sister is taking my cat for the week",
    "this quiz wants me to unalive myself lol",
    "picked the venue. saturday",
    "im so tired of everything",
)
CRISIS_CONSTRUCTS = (
    "Passive suicidal ideation",
    "Active suicidal ideation & suicidal planning",
    "Direct self-injury",
    "Other suicidal language",
    "Burdensomeness",
)
ELEVATED_CONSTRUCTS = (
    "Hopelessness",
    "Emptiness",
    "Depressed mood",
    "Loneliness & isolation",
    "Entrapment & desire to escape",
    "Emotional pain & psychache",
    "Shame, self-disgust, & worthlessness",
    "Defeat & feeling like a failure",
)
# Kinds written later as neighbours of an earlier kind: left out together with it, so that a
# neighbour's messages never stand in for the kind being measured ("giving it till friday" is
# not a plan nobody wrote down if "picked the spot. saturday" was left out but it was not).
FAMILY: dict[str, str] = {
    "deadline": "plan_no_method",
    "rehearsal": "plan_no_method",
    "preparations": "giving_away",
    "sudden_calm": "goodbye_finality",
    "burden": "passive_ideation",
    "algospeak": "explicit_ideation",
    "intoxicated_danger": "attempt_in_progress",
}


def family(kind: str) -> str:
    """The group a kind is left out with (itself, or the earlier kind it neighbours)."""
    return FAMILY.get(kind, kind)


@dataclass(frozen=True)
class Item:
    text: str
    label: int  # index into LEVELS
    weight: float
    source: str  # chat | lexicon | cssrs | goemotions
    kind: str = ""  # the team's set only


def read_chat_set(path: Path = CHAT_SET) -> list[Item]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [Item(r["text"], LEVELS.index(r["label"]), W_CHAT, "chat", r["kind"]) for r in rows]


def chat_spans(text: str, max_words: int = SPAN_WORDS) -> list[str]:
    """A forum post cut into chat-length pieces: sentences, joined while under ``max_words``."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    spans: list[str] = []
    cur: list[str] = []
    for s in sentences:
        words = s.split()
        while len(words) > max_words:  # run-on sentences
            if cur:
                spans.append(" ".join(cur))
                cur = []
            spans.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if cur and len(cur) + len(words) > max_words:
            spans.append(" ".join(cur))
            cur = []
        cur += words
    if cur:
        spans.append(" ".join(cur))
    return spans


def lexicon_items(root: Path) -> list[Item]:
    path = next((root / "suicide_risk_lexicon").glob("*validated_prototypical_tokens*.csv"))
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[5:]
    out: list[Item] = []
    for constructs, level in ((CRISIS_CONSTRUCTS, 2), (ELEVATED_CONSTRUCTS, 1)):
        for name in constructs:
            col = header.index(name)
            for row in body:
                phrase = row[col].strip() if col < len(row) else ""
                if len(phrase.split()) >= 2 and ";" not in phrase:
                    out.append(Item(phrase, level, W_LEXICON, "lexicon"))
    return out


def cssrs_items(root: Path) -> list[Item]:
    lex = default_lexicon()
    out: list[Item] = []
    for p in data.read_cssrs(root):
        if data.cssrs_is_test_user(p.user):
            continue
        if p.label in data.CSSRS_POSITIVE:
            for s in chat_spans(p.text):
                level = 2 if lex.scan(s).level == "crisis" else 1
                out.append(Item(s, level, W_CSSRS, "cssrs"))
        elif p.label in data.CSSRS_NEGATIVE:
            out += [Item(s, 0, W_CSSRS, "cssrs") for s in chat_spans(p.text)]
    return out


def goemotions_picks(root: Path) -> tuple[list[str], list[str]]:
    """Seeded GoEmotions training comments: the training sample, then ``ORDINARY_VALIDATION``
    more that are never trained on (all of them, distress included: ordinary Reddit as it is)."""
    rows = data.read_goemotions(root, "train")
    n = min(GOEMOTIONS_SAMPLE + ORDINARY_VALIDATION, len(rows))
    picked = random.Random(SEED).sample(range(len(rows)), n)
    texts = [rows[i].text for i in picked]
    return texts[:GOEMOTIONS_SAMPLE], texts[GOEMOTIONS_SAMPLE:]


def goemotions_items(root: Path) -> list[Item]:
    lex = default_lexicon()
    out = []
    for text in goemotions_picks(root)[0]:
        res = lex.scan(text)
        joke = text_cues(text, res)["humour"]
        if res.level != "none" and not joke and not res.idioms:
            continue  # maybe real distress on Reddit: not an "ordinary" label to force
        out.append(Item(text, 0, W_GOEMOTIONS, "goemotions"))
    return out


def corpus(root: Path) -> list[Item]:
    items = read_chat_set() + lexicon_items(root) + cssrs_items(root) + goemotions_items(root)
    counts = Counter((it.source, LEVELS[it.label]) for it in items)
    log.info("training texts: %d %s", len(items), dict(sorted(counts.items())))
    return items


# ---- embeddings -------------------------------------------------------------------------------


def weights_fingerprint() -> str:
    from nlp.network import CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE

    h = hashlib.sha256()
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        h.update((WEIGHTS_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def embed_all(model: Model, texts: Sequence[str]) -> np.ndarray:
    """Embeddings as served, cached per text under nlp/.cache (keyed by the network's weights
    and int8 or not), so that adding chat messages re-embeds only those."""
    path = CACHE_DIR / f"crisis-emb-{weights_fingerprint()}-{int(model.quantized)}.npz"
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as f:
            known = dict(zip(f["keys"].tolist(), f["emb"], strict=True))
    keys = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    todo.sort(key=lambda kt: len(kt[1]))  # little padding per chunk
    t0 = time.time()
    for n, s in enumerate(range(0, len(todo), CHUNK)):
        part = todo[s : s + CHUNK]
        for (k, _), row in zip(part, model.embed([t for _, t in part]).numpy(), strict=True):
            known[k] = row
        if n % 50 == 0:
            log.info(
                "embedded %d/%d new texts (%.0f s)", s + len(part), len(todo), time.time() - t0
            )
    if todo:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(known)), emb=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


def features(texts: Sequence[str]) -> tuple[np.ndarray, list[LexiconResult]]:
    lex = default_lexicon()
    scans = [lex.scan(t) for t in texts]
    return np.stack([feature_row(t, r) for t, r in zip(texts, scans, strict=True)]), scans


# ---- fitting ----------------------------------------------------------------------------------


def fit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, members: int = MEMBERS
) -> dict[str, np.ndarray]:
    """``members`` perceptrons from consecutive seeds, stacked (see ``CrisisClassifier``)."""
    fits = [fit_one(x, y, w, SEED + k) for k in range(members)]
    out = {k: np.stack([f[k] for f in fits]) for k in ("w1", "b1", "w2", "b2")}
    return {**out, "mean": fits[0]["mean"], "scale": fits[0]["scale"]}


def fit_one(x: np.ndarray, y: np.ndarray, w: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """A 2-layer perceptron: mini-batch AdamW, weighted cross-entropy, classes partly balanced."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    class_mass = np.array([w[y == c].sum() for c in range(3)])
    balance = (class_mass.sum() / (3 * class_mass)) ** BALANCE
    wt = torch.tensor(w * balance[y], dtype=torch.float32)
    net = nn.Sequential(
        nn.Dropout(DROPOUT), nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Dropout(DROPOUT),
        nn.Linear(HIDDEN, 3),
    )  # fmt: skip
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    net.train()
    for _ in range(EPOCHS):
        order = torch.from_numpy(rng.permutation(len(y)))
        for s in range(0, len(y), BATCH):
            idx = order[s : s + BATCH]
            ce = nn.functional.cross_entropy(net(xt[idx]), yt[idx], reduction="none")
            loss = (ce * wt[idx]).sum() / wt[idx].sum()
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
    first, last = net[1], net[4]
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
    return {
        "w1": first.weight.detach().numpy().T.copy(),
        "b1": first.bias.detach().numpy().copy(),
        "w2": last.weight.detach().numpy().T.copy(),
        "b2": last.bias.detach().numpy().copy(),
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
    }


def kind_centroids(items: Sequence[Item], emb: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Mean embedding of each kind's positive messages (for a plain-words reason)."""
    kinds = sorted({it.kind for it in items if it.source == "chat" and it.label > 0})
    kinds = [k for k in kinds if k not in ("non_native", "dark_humour")]  # not a topic
    rows = []
    for k in kinds:
        idx = [i for i, it in enumerate(items) if it.kind == k and it.label > 0]
        c = emb[idx].mean(0)
        rows.append(c / np.linalg.norm(c))
    return kinds, np.stack(rows).astype(np.float32)


def classifier(
    params: dict[str, np.ndarray],
    kinds: list[str],
    centroids: np.ndarray,
    probes: np.ndarray,
    thresholds: tuple[float, float] = (0.5, 0.5),
) -> CrisisClassifier:
    meta = {
        "kinds": kinds,
        "probes": list(PROBES),
        "crisis_threshold": thresholds[0],
        "elevated_threshold": thresholds[1],
        "features": list(FEATURES),
    }
    tensors = {**params, "kind_centroids": centroids, "probe_embeddings": probes}
    return CrisisClassifier(tensors, meta)


# ---- leave one kind out -----------------------------------------------------------------------


def base_scores(model: Model, texts: Sequence[str]) -> list[MessageScore]:
    """Scores without the classifier: lexicon + similarity + forum-post head, as before."""
    keep, model.crisis = model.crisis, None
    try:
        return [s for i in range(0, len(texts), 256) for s in model.score_batch(texts[i : i + 256])]
    finally:
        model.crisis = keep


@dataclass
class Scored:
    """Texts scored by everything but the classifier, and what the whole system makes of each
    for every verdict the classifier could give (so cut-offs can be tried without re-scoring)."""

    texts: list[str]
    scans: list[LexiconResult]
    base: list[MessageScore]
    outcome: np.ndarray  # [n, 3]: final level index when the verdict is none / elevated / crisis


def scored(
    texts: Sequence[str], scans: Sequence[LexiconResult], base: Sequence[MessageScore]
) -> Scored:
    outcome = np.zeros((len(texts), 3), dtype=np.int64)
    for i, (text, scan, b) in enumerate(zip(texts, scans, base, strict=True)):
        cues = text_cues(text, scan)
        for v, lv in enumerate(LEVELS):
            final = combine(text, scan, b, Verdict(lv, (0.0, 0.0, 0.0), None, 0.0), cues=cues)
            outcome[i, v] = LEVELS.index(final.risk.level)
    return Scored(list(texts), list(scans), list(base), outcome)


def verdicts(probs: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """The classifier's level index per row, as ``CrisisClassifier.decide`` gives it."""
    crisis_t, elevated_t = thresholds
    return np.where(
        probs[:, 2] >= crisis_t, 2, np.where(probs[:, 1] + probs[:, 2] >= elevated_t, 1, 0)
    )


def final_levels(s: Scored, probs: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    out: np.ndarray = s.outcome[np.arange(len(s.texts)), verdicts(probs, thresholds)]
    return out


def choose_thresholds(
    labels: np.ndarray,
    chat: Scored,
    chat_probs: np.ndarray,
    ordinary: Scored,
    ordinary_probs: np.ndarray,
) -> tuple[float, float]:
    """Cut-offs (crisis, elevated) from held-out predictions of the team's messages and from
    ordinary comments nobody trained on.

    Among the pairs that keep ordinary comments within budget (``MAX_ORDINARY_CRISIS`` rated
    crisis, ``MAX_ORDINARY_FLAGGED`` flagged), the one with the best balanced accuracy at the
    crisis level (crisis messages rated crisis, look-alikes not), then the most crisis and
    elevated messages flagged at all. The caller passes only kinds other than the one measured.
    """
    best: tuple[tuple[float, float], tuple[float, float]] | None = None
    crisis, lookalike, risky = labels == 2, labels == 0, labels >= 1
    for crisis_t in THRESHOLD_GRID:
        for elevated_t in THRESHOLD_GRID:
            th = (crisis_t, elevated_t)
            ordinary_lv = final_levels(ordinary, ordinary_probs, th)
            if (ordinary_lv == 2).mean() > MAX_ORDINARY_CRISIS:
                continue
            if (ordinary_lv >= 1).mean() > MAX_ORDINARY_FLAGGED:
                continue
            lv = final_levels(chat, chat_probs, th)
            balanced = ((lv[crisis] == 2).mean() + (lv[lookalike] != 2).mean()) / 2
            key = (round(float(balanced), 3), float((lv[risky] >= 1).mean()))
            if best is None or key > best[0]:
                best = (key, th)
    if best is None:
        log.warning("no cut-offs keep ordinary comments within budget; using the strictest")
        return THRESHOLD_GRID[-1], THRESHOLD_GRID[-1]
    return best[1]


def loko(
    items: list[Item],
    emb: np.ndarray,
    feats: np.ndarray,
    chat: Scored,
    ordinary: tuple[Scored, np.ndarray, np.ndarray],
) -> list[dict[str, Any]]:
    """Per kind: train without that kind's family (its messages, positives and look-alikes, and
    its neighbours', see ``FAMILY``), score the kind, with cut-offs chosen on the other families'
    held-out predictions (never on the family itself)."""
    x = np.concatenate([emb, feats], axis=1)
    y = np.array([it.label for it in items])
    w = np.array([it.weight for it in items])
    chat_idx = [i for i, it in enumerate(items) if it.source == "chat"]
    kind_of = np.array([items[i].kind for i in chat_idx])
    family_of = np.array([family(k) for k in kind_of])
    labels = y[chat_idx]
    ord_scored, ord_emb, ord_feats = ordinary
    probs = np.zeros((len(chat_idx), 3), dtype=np.float32)
    ord_probs: dict[str, np.ndarray] = {}
    for fam in sorted(set(family_of)):
        train = np.array([i for i, it in enumerate(items) if family(it.kind) != fam])
        clf = classifier(
            fit(x[train], y[train], w[train]), ["none"], np.zeros((1, 384)), np.zeros((1, 384))
        )
        test = np.flatnonzero(family_of == fam)
        rows = [chat_idx[j] for j in test]
        probs[test] = clf.probabilities(emb[rows], feats[rows])
        ord_probs[fam] = clf.probabilities(ord_emb, ord_feats)
        log.info("left out %s (%d messages)", sorted(set(kind_of[test])), len(test))
    out: list[dict[str, Any]] = []
    for kind in sorted(set(kind_of)):
        fam = family(kind)
        test, rest = kind_of == kind, family_of != fam
        sub = Scored(
            [t for t, r in zip(chat.texts, rest, strict=True) if r],
            [], [], chat.outcome[rest],
        )  # fmt: skip
        th = choose_thresholds(labels[rest], sub, probs[rest], ord_scored, ord_probs[fam])
        for j in np.flatnonzero(test):
            p = probs[j]
            v = Verdict(
                LEVELS[int(verdicts(p[None, :], th)[0])],
                (float(p[0]), float(p[1]), float(p[2])),
                None,
                0.0,
            )
            final = combine(chat.texts[j], chat.scans[j], chat.base[j], v)
            out.append(
                {
                    "kind": kind,
                    "text": chat.texts[j],
                    "label": LEVELS[int(labels[j])],
                    "without_classifier": chat.base[j].risk.level,
                    "level": final.risk.level,
                    "sentiment": final.sentiment.label,
                    "p": [round(float(q), 4) for q in p],
                    "thresholds": list(th),
                    "index": int(j),
                }
            )
        log.info(
            "cut-offs for %s, chosen on the other kinds: crisis %.2f, elevated %.2f", kind, *th
        )
    return out


def loko_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown table: per kind, what the full system did with a kind it never saw."""
    lines = [
        "| kind left out | crisis msgs | rated crisis | rated none | (before: crisis / none) "
        "| elevated msgs | rated elev.+ | look-alikes | rated crisis | rated elev. |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for kind in [*sorted({r["kind"] for r in rows}), "ALL"]:
        rs = [r for r in rows if kind in ("ALL", r["kind"])]
        cr = [r for r in rs if r["label"] == "crisis"]
        el = [r for r in rs if r["label"] == "elevated"]
        neg = [r for r in rs if r["label"] == "none"]

        def n(rr: list[dict[str, Any]], col: str, *levels: str) -> int:
            return sum(r[col] in levels for r in rr)

        lines.append(
            f"| {kind} | {len(cr)} | {n(cr, 'level', 'crisis')} | {n(cr, 'level', 'none')} | "
            f"{n(cr, 'without_classifier', 'crisis')} / {n(cr, 'without_classifier', 'none')} | "
            f"{len(el)} | {n(el, 'level', 'elevated', 'crisis')} | {len(neg)} | "
            f"{n(neg, 'level', 'crisis')} | {n(neg, 'level', 'elevated')} |"
        )
    return lines


def loko_summary(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    cr = [r for r in rows if r["label"] == "crisis"]
    el = [r for r in rows if r["label"] == "elevated"]
    neg = [r for r in rows if r["label"] == "none"]
    bye = [r for r in cr if r["kind"] == "goodbye_finality"]
    return {
        "crisis_rated_crisis": sum(r["level"] == "crisis" for r in cr) / max(1, len(cr)),
        "crisis_rated_none": sum(r["level"] == "none" for r in cr) / max(1, len(cr)),
        "elevated_rated_elevated_or_crisis": sum(r["level"] != "none" for r in el)
        / max(1, len(el)),
        "lookalikes_rated_crisis": sum(r["level"] == "crisis" for r in neg) / max(1, len(neg)),
        # Held out, a goodbye must still not read as positive (the finality rule, not training).
        "goodbyes_rated_positive": sum(r["sentiment"] == "positive" for r in bye),
        "n_goodbyes": len(bye),
        "n_crisis": len(cr),
        "n_elevated": len(el),
        "n_lookalikes": len(neg),
    }


Prepared = tuple[list[Item], np.ndarray, np.ndarray, list[LexiconResult]]


def prepare(model: Model, root: Path) -> Prepared:
    items = corpus(root)
    texts = [it.text for it in items]
    emb = embed_all(model, texts)
    feats, scans = features(texts)
    return items, emb, feats, scans


def score_chat(model: Model, items: Sequence[Item], scans: Sequence[LexiconResult]) -> Scored:
    """The team's messages, scored by everything but the classifier."""
    idx = [i for i, it in enumerate(items) if it.source == "chat"]
    texts = [items[i].text for i in idx]
    return scored(texts, [scans[i] for i in idx], base_scores(model, texts))


def ordinary_validation(model: Model, root: Path) -> tuple[Scored, np.ndarray, np.ndarray]:
    """GoEmotions training comments never trained on, scored, with embeddings and cues."""
    texts = goemotions_picks(root)[1]
    feats, scans = features(texts)
    return scored(texts, scans, base_scores(model, texts)), embed_all(model, texts), feats


def run_loko(model: Model, root: Path, prepared: Prepared | None = None) -> list[dict[str, Any]]:
    """Everything evaluate.py needs for the leave-one-kind-out table (uses the cache)."""
    items, emb, feats, scans = prepared or prepare(model, root)
    return loko(
        items, emb, feats, score_chat(model, items, scans), ordinary_validation(model, root)
    )


def save(clf: CrisisClassifier, path: Path, extra: dict[str, Any]) -> None:
    tensors = {
        "w1": clf.w1,
        "b1": clf.b1,
        "w2": clf.w2,
        "b2": clf.b2,
        "mean": clf.mean,
        "scale": clf.scale,
        "kind_centroids": clf.kind_centroids,
        "probe_embeddings": clf.probe_embeddings,
    }
    meta = {**clf.meta, **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
        str(path),
        metadata={"peerchat": json.dumps(meta, sort_keys=True)},
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", help="shared data folder (default: $PEERCHAT_DATA_DIR)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-loko", action="store_true", help="only fit the final classifier")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    root = data.data_dir(args.data)
    started = time.time()
    model = load_model(threads=args.threads)
    model.crisis = None
    items, emb, feats, scans = prepare(model, root)
    # Small fits: one thread. Two spin-waiting threads on a busy 2-core host ran 10x slower.
    torch.set_num_threads(1)
    extra: dict[str, Any] = {"seed": SEED, "members": MEMBERS, "trained_texts": len(items)}
    x = np.concatenate([emb, feats], axis=1)
    params = fit(x, np.array([it.label for it in items]), np.array([it.weight for it in items]))
    kinds, centroids = kind_centroids(items, emb)
    probes = model.embed(list(PROBES)).numpy()
    thresholds = (0.5, 0.5)
    if not args.skip_loko:
        chat = score_chat(model, items, scans)
        ordinary = ordinary_validation(model, root)
        rows = loko(items, emb, feats, chat, ordinary)
        print("\n".join(loko_table(rows)), flush=True)
        extra["leave_one_kind_out"] = loko_summary(rows)
        log.info("leave one kind out: %s", extra["leave_one_kind_out"])
        # The shipped cut-offs: chosen on every kind's held-out predictions, and on ordinary
        # comments as the final classifier scores them.
        final = classifier(params, kinds, centroids, probes)
        in_order = sorted(rows, key=lambda r: int(r["index"]))  # as in ``chat``
        thresholds = choose_thresholds(
            np.array([LEVELS.index(r["label"]) for r in in_order]),
            chat,
            np.array([r["p"] for r in in_order], dtype=np.float32),
            ordinary[0],
            final.probabilities(ordinary[1], ordinary[2]),
        )
        log.info("shipped cut-offs: crisis %.2f, elevated %.2f", *thresholds)
    else:
        log.warning("--skip-loko: cut-offs left at 0.5 / 0.5 (not chosen on held-out kinds)")
    clf = classifier(params, kinds, centroids, probes, thresholds)
    extra["trained_seconds"] = round(time.time() - started)
    save(clf, args.out, extra)
    log.info("saved %s (%.0f s)", args.out, time.time() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
