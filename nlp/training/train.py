"""Fine-tune the top encoder layers and the heads; write the overlay to nlp/weights.

Recipe (cheap enough for a 2-core CPU): the bottom ``n_frozen`` layers stay as shipped, so their
output is computed once and cached; each epoch then only runs the fine-tuned layers. Losses:
class-weighted cross-entropy for sentiment (GoEmotions train + most of TweetEval *validation*),
binary cross-entropy for the Ekman emotions (GoEmotions), and a cosine loss that keeps the
mean-pooled embedding close to the original all-MiniLM-L6-v2 sentence embedding, so exemplar
similarity for crisis detection keeps its meaning. The epoch is chosen on dev data only
(GoEmotions dev + a held-out fifth of TweetEval validation), and the sentiment bias is calibrated
on the same dev data as the model is served on this CPU (``nlp.runtime``: ONNX int8 where it is
faster than float32 here, float32 otherwise). Finally a logistic-regression crisis head is
fitted on reddit_cssrs posts of *training* users, and the int8 graph is exported beside the
weights (``nlp.training.export``).

    python -m nlp.training.train --data DIR [--out nlp/weights] [--log train.log]

The defaults reproduce the committed weights (seeded): all 47,049 training texts, a three-epoch
schedule, the epoch kept by dev score. On 2 CPU cores that takes about 17 minutes; with
``--device cuda``, about 2.5 minutes on one H100 GPU. Results differ slightly between devices and
library versions (``trained_on`` in the weights' config says which); evaluate what you train.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import transformers
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from torch import nn
from transformers import PreTrainedTokenizerBase

from nlp.encoder import load_base_encoder, load_tokenizer, mean_pool
from nlp.model import CHUNK, EXEMPLARS_PATH, encode_texts
from nlp.network import WEIGHTS_DIR, NetConfig, PeerchatNet, build_net, load_net
from nlp.runtime import Choice, choose
from nlp.text import encoder_text
from nlp.training import data
from nlp.training.export import ARTIFACT_FILE, export
from nlp.types import NlpRuntime

log = logging.getLogger("nlp.training.train")

SEED = 13
TWEET_VAL_TRAIN_SHARE = 0.8  # the rest of TweetEval validation is dev, never trained on
DISTILL_WEIGHT = 1.0
CRISIS_TARGET_RECALL = 0.9  # classifier threshold: out-of-fold recall on training users
# The sentiment bias is calibrated on the kernels the service will run on this CPU
# (nlp.runtime): ONNX int8 where the load-time probe finds it faster than float32, float32
# otherwise. Never torch's own int8: on a CPU with AVX2 alone it scored a few texts a second.
CALIBRATION_RUNTIME = NlpRuntime.AUTO
CALIBRATION_TEXTS = 3000  # GoEmotions dev comments used to set the embedding-signal cut-offs
# Where the network runs while training (--device). Cached states and teacher embeddings stay in
# CPU memory either way; the committed weights are evaluated on CPU.
DEVICE = torch.device("cpu")


class Cached:
    """Per-text hidden states after the frozen layers (float16, unpadded) and teacher embeddings."""

    def __init__(self, hidden: list[torch.Tensor], teacher: torch.Tensor) -> None:
        self.hidden = hidden
        self.teacher = teacher


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.inference_mode()
def cache_hidden(
    texts: Sequence[str], cfg: NetConfig, batch: int = 128, teacher_emb: bool = True
) -> Cached:
    """One pass of the original encoder: frozen-layer output (+ 6-layer teacher embedding)."""
    tok = load_tokenizer()
    teacher_model = load_base_encoder(6 if teacher_emb else max(1, cfg.n_frozen))
    nn.Module.to(teacher_model, DEVICE)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    hidden: list[torch.Tensor | None] = [None] * len(texts)
    teacher = torch.zeros(len(texts), teacher_model.config.hidden_size)
    t0 = time.time()
    for n, start in enumerate(range(0, len(order), batch)):
        idx = order[start : start + batch]
        enc = tok(
            [encoder_text(texts[i]) for i in idx],
            padding=True,
            truncation=True,
            max_length=cfg.max_len,
            return_tensors="pt",
        ).to(DEVICE)
        out = teacher_model(**enc, output_hidden_states=True)
        h = out.hidden_states[cfg.n_frozen]
        emb = nn.functional.normalize(
            mean_pool(out.last_hidden_state, enc["attention_mask"]), dim=-1
        )
        lengths = enc["attention_mask"].sum(1).tolist()
        h, emb = h.to(torch.float16).cpu(), emb.cpu()
        for j, i in enumerate(idx):
            hidden[i] = h[j, : lengths[j]].clone()
            teacher[i] = emb[j]
        if n % 50 == 0:
            log.info("cache %d/%d (%.0f s)", start + len(idx), len(texts), time.time() - t0)
    return Cached([h for h in hidden if h is not None], teacher)


def pad(hs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(h.shape[0] for h in hs)
    x = torch.zeros(len(hs), width, hs[0].shape[1])
    mask = torch.zeros(len(hs), width, dtype=torch.long)
    for i, h in enumerate(hs):
        x[i, : h.shape[0]] = h.float()
        mask[i, : h.shape[0]] = 1
    return x.to(DEVICE), mask.to(DEVICE)


def length_batches(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in random order; jitter keeps them varied."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


@torch.inference_mode()
def predict(net: PeerchatNet, cache: Cached, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Sentiment probabilities and embeddings for cached texts."""
    net.eval()
    probs, embs = [], []
    for s in range(0, len(cache.hidden), batch):
        x, m = pad(cache.hidden[s : s + batch])
        out = net.heads(net.run_top(x, m), m)
        probs.append(out.sentiment_logits.softmax(-1).cpu().numpy())
        embs.append(out.embedding.cpu().numpy())
    return np.concatenate(probs), np.concatenate(embs)


def train_epochs(
    net: PeerchatNet,
    cache: Cached,
    sent: list[int | None],
    emo: list[tuple[float, ...] | None],
    weights: list[float],
    devs: dict[str, tuple[Cached, list[int]]],
    epochs: int,
    lr: float,
    batch: int,
    on_best: Callable[[PeerchatNet, dict[str, float]], None] | None = None,
    run_epochs: int | None = None,
) -> tuple[PeerchatNet, dict[str, float]]:
    """Fine-tune; return the network of the epoch with the best mean dev macro-recall.

    ``on_best`` is called whenever an epoch improves on the previous best (checkpointing, so an
    interrupted run still leaves usable weights). ``run_epochs`` stops early within a schedule
    planned for ``epochs`` (learning rate not fully decayed), to fit a CPU-time budget.
    """
    rng = random.Random(SEED)
    for name, p in net.named_parameters():
        p.requires_grad = name.startswith(
            tuple(net.trainable_layer_prefixes())
        ) or not name.startswith("encoder.")
    head_params = [
        p for n, p in net.named_parameters() if not n.startswith("encoder.") and p.requires_grad
    ]
    layer_params = [
        p for n, p in net.named_parameters() if n.startswith("encoder.") and p.requires_grad
    ]
    opt = torch.optim.AdamW(
        [{"params": layer_params, "lr": lr}, {"params": head_params, "lr": lr * 20}],
        weight_decay=0.01,
    )
    lengths = [h.shape[0] for h in cache.hidden]
    steps_per_epoch = (len(lengths) + batch - 1) // batch
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, (total - s) / total)
    )
    counts = np.bincount([s for s in sent if s is not None], minlength=3).astype(float)
    class_w = torch.tensor(counts.sum() / (3 * counts), dtype=torch.float32, device=DEVICE)
    log.info("sentiment class counts %s -> weights %s", counts.tolist(), class_w.tolist())
    best: tuple[float, PeerchatNet | None, dict[str, float]] = (-1.0, None, {})
    for epoch in range(1, min(epochs, run_epochs or epochs) + 1):
        net.train()
        t0, run = time.time(), [0.0, 0.0, 0.0]
        for step, idx in enumerate(length_batches(lengths, batch, rng), 1):
            x, m = pad([cache.hidden[i] for i in idx])
            out = net.heads(net.run_top(x, m), m)
            loss_d = (1 - (out.embedding * cache.teacher[idx].to(DEVICE)).sum(-1)).mean()
            s_idx = [j for j, i in enumerate(idx) if sent[i] is not None]
            loss_s = torch.zeros((), device=DEVICE)
            if s_idx:
                target = torch.tensor([sent[idx[j]] for j in s_idx], device=DEVICE)
                w = torch.tensor([weights[idx[j]] for j in s_idx], device=DEVICE)
                ce = nn.functional.cross_entropy(
                    out.sentiment_logits[s_idx], target, weight=class_w, reduction="none"
                )
                loss_s = (ce * w).sum() / (class_w[target] * w).sum()
            e_idx = [j for j, i in enumerate(idx) if emo[i] is not None]
            loss_e = torch.zeros((), device=DEVICE)
            if e_idx:
                target_e = torch.tensor([emo[idx[j]] for j in e_idx], device=DEVICE)
                loss_e = nn.functional.binary_cross_entropy_with_logits(
                    out.emotion_logits[e_idx], target_e
                )
            loss = loss_s + loss_e + DISTILL_WEIGHT * loss_d
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            run = [
                0.98 * r + 0.02 * v
                for r, v in zip(run, (loss_s.item(), loss_e.item(), loss_d.item()), strict=True)
            ]
            if step % 100 == 0:
                log.info(
                    "epoch %d step %d/%d loss sent %.3f emo %.3f distill %.3f (%.0f s)",
                    epoch,
                    step,
                    steps_per_epoch,
                    *run,
                    time.time() - t0,
                )
        scores = {}
        for name, (dcache, labels) in devs.items():
            probs, _ = predict(net, dcache)
            scores[name] = float(recall_score(labels, probs.argmax(1), average="macro"))
        mean = float(np.mean(list(scores.values())))
        log.info(
            "epoch %d dev macro-recall %s mean %.4f (%.0f s)",
            epoch,
            {k: round(v, 4) for k, v in scores.items()},
            mean,
            time.time() - t0,
        )
        if mean > best[0]:
            best = (mean, copy.deepcopy(net), {**scores, "epoch": float(epoch)})
            if on_best is not None:
                on_best(best[1], best[2])
    assert best[1] is not None
    return best[1], best[2]


def fit_crisis_head(net: PeerchatNet, root: Path) -> dict[str, float]:
    """Logistic regression on embeddings of training users' reddit_cssrs posts.

    Positives: ideation/behavior/attempt; negatives: supportive/uninformative. ``indicator``
    (risk factors without ideation) is left out of training. Held-out (test) users are never seen.
    """
    posts = [
        p
        for p in data.read_cssrs(root)
        if not data.cssrs_is_test_user(p.user)
        and (p.label in data.CSSRS_POSITIVE or p.label in data.CSSRS_NEGATIVE)
    ]
    cache = cache_hidden([p.text for p in posts], net.cfg, teacher_emb=False)
    _, emb = predict(net, cache)
    y = np.array([p.label in data.CSSRS_POSITIVE for p in posts], dtype=int)
    groups = [p.user for p in posts]
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    oof = cross_val_predict(clf, emb, y, groups=groups, cv=GroupKFold(5), method="predict_proba")[
        :, 1
    ]
    pos_scores = np.sort(oof[y == 1])
    threshold = float(pos_scores[int((1 - CRISIS_TARGET_RECALL) * len(pos_scores))])
    flagged = oof >= threshold
    precision = float((flagged & (y == 1)).sum() / max(1, flagged.sum()))
    clf.fit(emb, y)
    with torch.no_grad():
        net.crisis.weight.copy_(torch.tensor(clf.coef_, dtype=torch.float32, device=DEVICE))
        net.crisis.bias.copy_(torch.tensor(clf.intercept_, dtype=torch.float32, device=DEVICE))
    net.cfg.crisis_clf_threshold = threshold
    stats = {
        "cssrs_train_posts": float(len(y)),
        "oof_recall": float(flagged[y == 1].mean()),
        "oof_precision": precision,
        "threshold": threshold,
    }
    log.info("crisis head: %s", stats)
    return stats


DevTexts = dict[str, tuple[list[str], list[int]]]


def dev_texts(root: Path, limit: int = 0) -> DevTexts:
    """GoEmotions dev (single-label view) and the held-out fifth of TweetEval validation."""
    tw_texts, tw_labels = data.read_tweeteval(root, "val")
    _, tw_dev = tweet_split(len(tw_texts))
    ge_texts, ge_labels = data.goemotions_single_label_test(root, "dev")
    if limit:
        ge_texts, ge_labels = ge_texts[: limit // 4], ge_labels[: limit // 4]
    return {
        "goemotions_dev": (list(ge_texts), list(ge_labels)),
        "tweeteval_val_heldout": ([tw_texts[i] for i in tw_dev], [tw_labels[i] for i in tw_dev]),
    }


def dev_sets(devs: DevTexts, cfg: NetConfig) -> dict[str, tuple[Cached, list[int]]]:
    return {
        name: (cache_hidden(texts, cfg, teacher_emb=False), labels)
        for name, (texts, labels) in devs.items()
    }


def tweet_split(n: int) -> tuple[list[int], list[int]]:
    """Seeded split of TweetEval validation into training and dev indices."""
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    cut = int(TWEET_VAL_TRAIN_SHARE * n)
    return order[:cut], order[cut:]


def served_runner(net: PeerchatNet, wanted: NlpRuntime, threads: int) -> Choice:
    """The network as the service will run it here: its int8 graph is exported from ``net``
    (a few seconds) and the same probe as at load picks ONNX int8 or torch float32."""
    shipped = copy.deepcopy(net).to("cpu").eval()
    tokenizer = load_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if wanted is not NlpRuntime.TORCH_FLOAT32:
            shipped.save(folder)
            export(folder, folder / ARTIFACT_FILE)  # the session reads it whole when it opens
        choice = choose(
            wanted,
            shipped,
            folder,
            threads,
            partial(encode_texts, tokenizer, shipped.cfg.max_len),
        )
    log.info("calibration runs %s", choice.describe())
    return choice


def served_sentiment_probs(
    choice: Choice, tokenizer: PreTrainedTokenizerBase, max_len: int, texts: Sequence[str]
) -> np.ndarray:
    """Negative/neutral/positive probabilities from the served kernels, in length order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), 3), dtype=np.float32)
    for s in range(0, len(order), CHUNK):
        idx = order[s : s + CHUNK]
        _, sent, _, _ = choice.runner(*encode_texts(tokenizer, max_len, [texts[i] for i in idx]))
        out[idx] = sent.softmax(-1).numpy()
    return out


def calibrate_sentiment_bias(
    net: PeerchatNet,
    devs: DevTexts,
    runtime: NlpRuntime = CALIBRATION_RUNTIME,
    threads: int = 1,
) -> dict[str, float | str]:
    """Shift the negative/neutral logits to maximise mean dev macro-recall (dev data only).

    Class priors differ between Reddit comments and tweets; a bias shift is the cheapest fix and
    has only two free parameters, so it cannot overfit 5,000 dev texts much. It is measured on
    the model as it is served on this CPU (``served_runner``), whatever device trained it.
    """
    choice = served_runner(net, runtime, threads)
    tokenizer = load_tokenizer()
    logits = {}
    t0 = time.time()
    for name, (texts, labels) in devs.items():
        probs = served_sentiment_probs(choice, tokenizer, net.cfg.max_len, texts)
        logits[name] = (np.log(np.clip(probs, 1e-9, 1.0)), np.array(labels))
    log.info("scored the dev sets with %s in %.0f s", choice.runtime.value, time.time() - t0)
    grid = np.round(np.arange(-1.0, 1.01, 0.1), 2)
    best = (-1.0, 0.0, 0.0)
    for b_neg in grid:
        for b_neu in grid:
            shift = np.array([b_neg, b_neu, 0.0])
            score = float(
                np.mean(
                    [
                        recall_score(y, (lg + shift).argmax(1), average="macro")
                        for lg, y in logits.values()
                    ]
                )
            )
            if score > best[0] + 1e-9:
                best = (score, float(b_neg), float(b_neu))
    before = float(
        np.mean([recall_score(y, lg.argmax(1), average="macro") for lg, y in logits.values()])
    )
    with torch.no_grad():
        net.sentiment.bias.add_(torch.tensor([best[1], best[2], 0.0], device=DEVICE))
    out: dict[str, float | str] = {
        "neg_shift": best[1],
        "neu_shift": best[2],
        "dev_mean_before": before,
        "dev_mean_after": best[0],
        "runtime": choice.runtime.value,
    }
    log.info("sentiment bias calibration: %s", out)
    return out


def calibrate_risk(net: PeerchatNet, root: Path, oof_threshold: float) -> dict[str, float]:
    """Cut-offs for the embedding signals from everyday text (GoEmotions *dev* comments).

    Similarity: ``elevated`` at the 99th and ``crisis`` at the 99.9th percentile of the nearest
    crisis-exemplar similarity, i.e. about 1% / 0.1% of ordinary comments would trip them.
    Classifier: the stricter of its recall-0.9 threshold on training users and the 98th percentile
    on everyday comments (it was trained on long Reddit posts and is noisy on short chat).
    """
    texts, _ = data.goemotions_single_label_test(root, "dev")
    texts = random.Random(SEED).sample(texts, min(CALIBRATION_TEXTS, len(texts)))
    exemplars = json.loads(EXEMPLARS_PATH.read_text(encoding="utf-8"))["crisis"]
    _, emb = predict(net, cache_hidden(texts, net.cfg, teacher_emb=False))
    _, ex_emb = predict(net, cache_hidden(exemplars, net.cfg, teacher_emb=False))
    max_sim = (emb @ ex_emb.T).max(1)
    with torch.no_grad():
        clf = torch.sigmoid(net.crisis(torch.from_numpy(emb).to(DEVICE))).squeeze(-1).cpu().numpy()
    sim_el = float(np.quantile(max_sim, 0.99))
    th = {
        "sim_elevated": round(sim_el, 4),
        "sim_crisis": round(max(float(np.quantile(max_sim, 0.999)), sim_el + 0.05), 4),
        "clf_elevated": round(max(oof_threshold, float(np.quantile(clf, 0.98))), 4),
    }
    log.info("risk thresholds: %s", th)
    return th


def command_line(args: argparse.Namespace) -> str:
    """The reproducing command, without machine-specific paths."""
    parts = ["python -m nlp.training.train --data DIR"]
    flags = ("epochs", "run_epochs", "lr", "batch", "layers", "frozen", "max_len", "limit")
    for flag in (*flags, "tweet_weight"):
        parts.append(f"--{flag.replace('_', '-')} {getattr(args, flag)}")
    return " ".join(parts)


def trained_on(device: str, seconds: float) -> str:
    """Where and how long, for the model card: results differ slightly between devices."""
    where = f"{platform.machine()} CPU ({os.cpu_count()} cores)" if device == "cpu" else device
    return (
        f"{where}, torch {torch.__version__}, transformers {transformers.__version__}; "
        f"about {seconds / 60:.0f} minutes"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data",
        help="folder holding goemotions/, tweeteval/, reddit_cssrs/ ... "
        "(default: $PEERCHAT_DATA_DIR)",
    )
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument(
        "--run-epochs", type=int, default=3, help="stop after this many epochs of the schedule"
    )
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--layers", type=int, default=4, help="encoder layers kept (of 6)")
    ap.add_argument("--frozen", type=int, default=2, help="bottom layers left as shipped")
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument(
        "--tweet-weight",
        type=float,
        default=2.0,
        help="loss weight of each TweetEval text (tweets are the target register but scarce)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--device", default="cpu", help="torch device for training, e.g. cuda (default cpu)"
    )
    ap.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use a seeded random N of the training texts, 0 = all (CPU time)",
    )
    ap.add_argument("--log", type=Path, help="also append progress to this file")
    ap.add_argument(
        "--stage",
        choices=["all", "heads", "bias"],
        default="all",
        help="heads: keep the fine-tuned layers in --out, redo the calibration steps and crisis "
        "head; bias: only the sentiment bias calibration",
    )
    ap.add_argument(
        "--calibration-runtime",
        choices=[NlpRuntime.AUTO.value, NlpRuntime.ONNX_INT8.value, NlpRuntime.TORCH_FLOAT32.value],
        default=CALIBRATION_RUNTIME.value,
        help="kernels the sentiment bias is calibrated on (default auto: as served on this CPU)",
    )
    return ap.parse_args(argv)


def setup(args: argparse.Namespace) -> None:
    """Logging, threads, device and seeds, before anything is loaded."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if args.log:
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers)
    torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = torch.device(args.device)
    seed_everything(SEED)


@dataclass
class TrainingSet:
    """Every training text with its targets; None where a text has no such target."""

    texts: list[str]
    sent: list[int | None]
    emo: list[tuple[float, ...] | None]
    weights: list[float]


def training_set(root: Path, tweet_weight: float, limit: int) -> TrainingSet:
    """GoEmotions train, most of TweetEval validation, reddit_cssrs training users' posts (the
    embedding loss only); a seeded sample of ``limit`` of them when set."""
    goemo = data.read_goemotions(root, "train")
    tw_texts, tw_labels = data.read_tweeteval(root, "val")
    tw_train, _ = tweet_split(len(tw_texts))
    cssrs_train = [p.text for p in data.read_cssrs(root) if not data.cssrs_is_test_user(p.user)]
    out = TrainingSet(
        texts=[e.text for e in goemo] + [tw_texts[i] for i in tw_train] + cssrs_train,
        sent=[e.sentiment for e in goemo]
        + [tw_labels[i] for i in tw_train]
        + [None] * len(cssrs_train),
        emo=[e.emotions for e in goemo] + [None] * (len(tw_train) + len(cssrs_train)),
        weights=[1.0] * len(goemo) + [tweet_weight] * len(tw_train) + [1.0] * len(cssrs_train),
    )
    total = len(out.texts)
    if limit:
        keep = sorted(random.Random(SEED).sample(range(total), min(limit, total)))
        out = TrainingSet(
            [out.texts[i] for i in keep],
            [out.sent[i] for i in keep],
            [out.emo[i] for i in keep],
            [out.weights[i] for i in keep],
        )
    log.info(
        "training texts: %d of %d (goemotions %d, tweeteval-val %d, cssrs distill-only %d)",
        len(out.texts),
        total,
        len(goemo),
        len(tw_train),
        len(cssrs_train),
    )
    return out


def fine_tune(
    args: argparse.Namespace, train: TrainingSet, devs_text: DevTexts
) -> dict[str, float]:
    """Fine-tune from the base encoder; the best epoch's overlay is checkpointed to ``--out``."""
    cfg = NetConfig(n_layers=args.layers, n_frozen=args.frozen, max_len=args.max_len)
    devs = dev_sets(devs_text, cfg)
    cache = cache_hidden(train.texts, cfg)
    net = build_net(cfg).to(DEVICE)

    def checkpoint(best: PeerchatNet, scores: dict[str, float]) -> None:
        best.save(args.out, {"dev": scores, "checkpoint": "fine-tuned layers only, heads pending"})

    _, dev_scores = train_epochs(
        net,
        cache,
        train.sent,
        train.emo,
        train.weights,
        devs,
        args.epochs,
        args.lr,
        args.batch,
        checkpoint,
        args.run_epochs or None,
    )
    return dev_scores


def load_for_calibration(out: Path, undo_bias: bool) -> PeerchatNet:
    """The saved (float16) overlay, as served; with ``undo_bias``, the sentiment bias shift of
    an earlier calibration taken off, so that it is calibrated afresh, not on top of it."""
    net = load_net(out).to(DEVICE)
    net.cfg.extra.pop("checkpoint", None)
    if undo_bias:
        previous = net.cfg.extra.get("sentiment_bias", {})
        with torch.no_grad():
            net.sentiment.bias.sub_(
                torch.tensor(
                    [previous.get("neg_shift", 0.0), previous.get("neu_shift", 0.0), 0.0],
                    device=DEVICE,
                )
            )
    return net


def calibrate_and_fit(
    net: PeerchatNet, root: Path, devs_text: DevTexts, args: argparse.Namespace, heads: bool
) -> dict[str, object]:
    """Sentiment bias on the served kernels; with ``heads``, the crisis head and the risk
    cut-offs too. Returns the metadata to save beside the weights."""
    runtime = NlpRuntime(args.calibration_runtime)
    meta: dict[str, object] = {
        "sentiment_bias": calibrate_sentiment_bias(net, devs_text, runtime, args.threads)
    }
    if heads:
        crisis = fit_crisis_head(net, root)
        meta["crisis_head"] = crisis
        meta["risk_thresholds"] = calibrate_risk(net, root, crisis["threshold"])
    return meta


def save_with_graph(net: PeerchatNet, out: Path, meta: dict[str, object]) -> None:
    """Weights, config and the int8 graph made from them, so that they are committed together
    (a stale graph is never run, see nlp.runtime, but re-making it costs every load)."""
    net.save(out, meta)
    graph = export(out, out / ARTIFACT_FILE)
    log.info("saved to %s (int8 graph %s)", out, graph.name)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup(args)
    root = data.data_dir(args.data)
    if args.stage in ("heads", "bias"):
        net = load_for_calibration(args.out, undo_bias=True)
        meta = calibrate_and_fit(net, root, dev_texts(root), args, heads=args.stage == "heads")
        save_with_graph(net, args.out, meta)
        return 0
    started = time.time()
    devs_text = dev_texts(root, args.limit)
    dev_scores = fine_tune(args, training_set(root, args.tweet_weight, args.limit), devs_text)
    # Continue from the saved (float16) overlay, as --stage heads does.
    net = load_for_calibration(args.out, undo_bias=False)
    meta = calibrate_and_fit(net, root, devs_text, args, heads=True)
    meta.update(
        {
            "seed": SEED,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch": args.batch,
            "dev": dev_scores,
            "command": command_line(args),
            "trained_on": trained_on(args.device, time.time() - started),
        }
    )
    save_with_graph(net, args.out, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
