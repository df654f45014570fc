"""int8 inference: close to float32, and a message's score never depends on its batch-mates."""

from __future__ import annotations

import torch
from torch import nn

from nlp.model import Model
from nlp.quantize import Int8Linear, padded_rows

MESSAGE = "honestly today was rough but talking helps a bit"
OTHERS = [
    "ok",
    "I HAVE BEEN SCREAMING INTO MY PILLOW FOR AN HOUR!!!!!!! WHY DOES NOBODY LISTEN",
    "thanks so much for being here with me tonight, it really means a lot to me 😭❤️",
    "1234567890 " * 12,
]


def test_int8_linear_matches_float32() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(384, 1536)
    x = torch.randn(3, 7, 384) * torch.linspace(0.1, 10, 7)[None, :, None]  # rows of varied size
    got, want = Int8Linear(linear)(x), linear(x)
    assert got.shape == want.shape == (3, 7, 1536)
    assert ((got - want).abs().amax(-1) / want.abs().amax(-1)).max() < 0.02


def test_int8_rows_are_independent() -> None:
    torch.manual_seed(0)
    layer = Int8Linear(nn.Linear(64, 32))
    small, huge = torch.randn(1, 64), torch.randn(1, 64) * 1000
    assert torch.equal(layer(small), layer(torch.cat([small, huge]))[:1])


def test_row_padding_keeps_few_shapes_and_little_waste() -> None:
    sizes = {padded_rows(n) for n in range(1, 4097)}
    assert len(sizes) <= 50
    for n in range(1, 4097):
        assert n <= padded_rows(n) <= max(n + 15, n + n // 8)


def test_padding_rows_do_not_change_results() -> None:
    torch.manual_seed(0)
    layer = Int8Linear(nn.Linear(64, 32))
    x = torch.randn(5, 64)  # padded to 16 rows inside
    assert torch.equal(layer(x), torch.cat([layer(x[i : i + 1]) for i in range(5)]))


def test_a_message_scores_the_same_alone_and_in_any_batch(real_model: Model) -> None:
    """The path chosen at load on this CPU (ONNX int8 or float32; tests/nlp/test_runtime.py
    holds ONNX int8 to it explicitly)."""
    alone = real_model.score_batch([MESSAGE])[0]
    for others in ([], OTHERS[:1], OTHERS, OTHERS * 20):
        batch = real_model.score_batch([*others, MESSAGE])
        got = batch[-1]
        assert got.sentiment.label == alone.sentiment.label
        assert abs(got.sentiment.score - alone.sentiment.score) < 1e-3
        assert got.risk == alone.risk
        for name, value in alone.emotions.items():
            assert abs(got.emotions[name] - value) < 1e-3
