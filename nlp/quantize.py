"""int8 inference for the encoder: per-channel weights, activations scaled per token.

torch's dynamic int8 Linear scales activations per *tensor*, that is over the whole batch, padding
included. A message's score then depended on which other messages shared its batch: on dev data
6% of sentiment labels changed between scoring a message alone and in a batch of 32, and the
embedding behind crisis similarity moved with them. Here each token row gets its own scale, so a
message's result is its own whatever the traffic (0.05% of labels changed, at rounding edges), and
the finer scales lose less accuracy too (docs/model-card.md). The int8 product runs in
``torch._int_mm``, the same int8 GEMM speed class as the dynamic Linear.
"""

from __future__ import annotations

import torch
from torch import nn

from nlp.network import PeerchatNet

_QMAX = 127.0


def padded_rows(n: int) -> int:
    """Row count rounded up to one of ~50 sizes (at most 1/8 or 15 rows more).

    The int8 GEMM builds a kernel for each new row count (about 1 ms each, 14 ms for the first)
    and keeps about 1,000. Batches come in every row count (messages x padded length), so three
    layer shapes times thousands of counts would keep rebuilding them.
    """
    granule = max(16, 1 << max(0, n.bit_length() - 4))
    return -(-n // granule) * granule


class Int8Linear(nn.Module):
    """A Linear layer with int8 weights (a scale per output channel) and per-token int8 inputs."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(1).clamp(min=1e-8) / _QMAX
        q = torch.round(weight / scale[:, None]).to(torch.int8)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight_t: torch.Tensor
        self.weight_scale: torch.Tensor
        self.bias: torch.Tensor | None
        self.register_buffer("weight_t", q.t().contiguous())  # [in, out], as _int_mm wants it
        self.register_buffer("weight_scale", scale)
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        n = rows.shape[0]
        inv = _QMAX / rows.abs().amax(1, keepdim=True).clamp(min=1e-8)
        q = rows.mul(inv).round_().to(torch.int8)
        if pad := padded_rows(n) - n:
            q = nn.functional.pad(q, (0, 0, 0, pad))
        out = torch._int_mm(q, self.weight_t)[:n].float()
        out.div_(inv).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def quantize_encoder(net: PeerchatNet, max_rows: int) -> PeerchatNet:
    """Swap every Linear layer of the encoder for an ``Int8Linear``, in place (CPU inference).

    Then build the GEMM kernels for every padded row count up to ``max_rows`` (messages per
    forward pass x max tokens), about half a second, so that no message waits for one later.
    """
    shapes: dict[tuple[int, int], torch.Tensor] = {}
    for module in list(net.encoder.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                layer = Int8Linear(child)
                setattr(module, name, layer)
                shapes[(layer.in_features, layer.out_features)] = layer.weight_t
    for rows in sorted({padded_rows(n) for n in range(1, max_rows + 1)}):
        for (in_features, _), weight_t in shapes.items():
            torch._int_mm(torch.zeros(rows, in_features, dtype=torch.int8), weight_t)
    return net
