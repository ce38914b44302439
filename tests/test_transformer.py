"""Attention, the transformer block, embeddings and the `transformer` model kind."""

from __future__ import annotations

import numpy as np
import pytest

from nncli.engine import attention
from nncli.engine.attention import MultiHeadAttention
from nncli.engine.layers import LAYERS
from nncli.engine.losses import LOSSES
from nncli.engine.models import MODELS
from nncli.engine.parameters import ParameterBuffer
from nncli.engine.transformer import (
    Embedding,
    PositionalEncoding,
    Transformer,
    TransformerBlock,
    sinusoidal_table,
)
from nncli.errors import UnknownNameError
from nncli.gradcheck import run_all

CASE_NAMES = [
    "layer:attention",
    "layer:attention(causal)",
    "layer:attention(padding_mask)",
    "layer:attention(dropout)",
    "layer:transformer_block(pre_norm)",
    "layer:transformer_block(post_norm)",
    "layer:embedding",
    "layer:positional(learned)",
    "model:transformer(tokens)",
    "model:transformer(real, mean pooling)",
]


def make_model(**kwargs) -> Transformer:
    defaults = dict(
        vocab_size=5, out_features=3, seq_len=6, d_model=8, n_heads=2, rng=np.random.default_rng(0)
    )
    return MODELS.get("transformer")(**{**defaults, **kwargs})


@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradients_match_finite_differences(name):
    (result,) = run_all([name])
    assert result.max_rel_error <= 1e-7, result.to_dict()


def test_key_bias_gradient_vanishes():
    """b_k shifts every score of a row by q·b_k, which softmax ignores (why the gradient check skips it)."""
    rng = np.random.default_rng(1)
    attn = MultiHeadAttention(8, 2, rng=rng)
    attn.in_proj_bias.data[:] = rng.standard_normal(24)
    attn.forward(rng.standard_normal((3, 5, 8)))
    attn.backward(rng.standard_normal((3, 5, 8)))
    g = attn.in_proj_bias.grad
    assert np.abs(g[8:16]).max() < 1e-14 * np.abs(g).max()
    assert np.abs(g[:8]).min() > 0 and np.abs(g[16:]).min() > 0


def attention_weights(attn: MultiHeadAttention, x: np.ndarray, mask=None) -> np.ndarray:
    attn.keep_attention = True
    attn.forward(x, key_padding_mask=mask)
    return attn.last_attention


def test_attention_rows_are_distributions():
    rng = np.random.default_rng(2)
    w = attention_weights(MultiHeadAttention(8, 2, rng=rng), rng.standard_normal((3, 5, 8)))
    assert w.shape == (3, 2, 5, 5)
    assert (w > 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-15)


def test_causal_attention_weights_are_lower_triangular():
    rng = np.random.default_rng(3)
    w = attention_weights(MultiHeadAttention(8, 2, causal=True, rng=rng), rng.standard_normal((2, 5, 8)))
    future = np.triu(np.ones((5, 5), dtype=bool), k=1)
    assert (w[..., future] == 0).all() and (w[..., ~future] > 0).all()
    np.testing.assert_allclose(w[..., 0, 0], 1.0)  # the first position can only look at itself


def test_causal_model_ignores_later_tokens_exactly():
    model = make_model(causal=True, n_layers=2)
    x = np.array([[0, 1, 2, 3, 4, 0], [4, 3, 2, 1, 0, 4]])
    y = model.forward(x)
    x2 = x.copy()
    x2[:, 3:] = (x2[:, 3:] + 1) % 5
    y2 = model.forward(x2)
    assert np.array_equal(y[:, :3], y2[:, :3])
    assert not np.allclose(y[:, 3:], y2[:, 3:])


def test_padded_keys_get_zero_weight_and_change_nothing_else():
    rng = np.random.default_rng(4)
    attn = MultiHeadAttention(8, 2, rng=rng)
    mask = np.array([[False, False, False, True, True], [False, True, False, False, False]])
    x = rng.standard_normal((2, 5, 8))
    w = attention_weights(attn, x, mask)
    assert (w[0, :, :, 3:] == 0).all() and (w[1, :, :, 1] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    y = attn.forward(x, key_padding_mask=mask)
    x2 = x.copy()
    x2[0, 3:] += 10.0  # padded positions: only their own (query) rows may change
    x2[1, 1] -= 10.0
    y2 = attn.forward(x2, key_padding_mask=mask)
    assert np.array_equal(y[0, :3], y2[0, :3]) and np.array_equal(y[1, [0, 2, 3, 4]], y2[1, [0, 2, 3, 4]])


def test_mean_pooling_skips_padding():
    model = make_model(pooling="mean")
    mask = np.array([[False, False, False, False, True, True]] * 2)
    x = np.array([[0, 1, 2, 3, 4, 0], [1, 1, 2, 2, 3, 3]])
    y = model.forward(x, key_padding_mask=mask)
    x[:, 4:] = (x[:, 4:] + 2) % 5
    assert np.array_equal(model.forward(x, key_padding_mask=mask), y)
    np.testing.assert_allclose(model.forward(x[:, :4]), y, rtol=1e-12)  # as if the padding were not there


def test_dropout_acts_in_training_only():
    rng = np.random.default_rng(5)
    block = TransformerBlock(8, 2, dropout=0.5, rng=rng)
    plain = TransformerBlock(8, 2, dropout=0.0, rng=np.random.default_rng(5))
    x = rng.standard_normal((2, 4, 8))
    np.testing.assert_array_equal(plain.forward(x), plain.forward(x))
    block.eval()
    np.testing.assert_array_equal(block.forward(x), plain.forward(x))
    block.train()
    a, b = block.forward(x), block.forward(x)
    assert not np.allclose(a, b) and not np.allclose(a, plain.forward(x))


def test_attention_dropout_mask_can_be_imposed():
    """An all-keep mask leaves only the 1/(1 − p) scale: P̃ = P/(1 − p), so out_proj sees O/(1 − p)."""
    rng = np.random.default_rng(6)
    attn = MultiHeadAttention(8, 2, dropout=0.2, bias=False, rng=rng)
    x = rng.standard_normal((2, 4, 8))
    attn.eval()
    expected = attn.forward(x) / 0.8
    attn.train()
    attn.dropout.sample_mask = lambda shape: np.ones(shape, dtype=bool)
    np.testing.assert_allclose(attn.forward(x), expected, rtol=1e-13)


@pytest.mark.parametrize(("pooling", "shape"), [("none", (3, 6, 2)), ("mean", (3, 2)), ("first", (3, 2))])
@pytest.mark.parametrize("tokens", [True, False])
def test_output_shapes(pooling, shape, tokens):
    rng = np.random.default_rng(7)
    if tokens:
        model, x = make_model(out_features=2, pooling=pooling), rng.integers(0, 5, (3, 6))
    else:
        model = make_model(vocab_size=None, in_features=4, out_features=2, pooling=pooling)
        x = rng.standard_normal((3, 6, 4))
    y = model.forward(x)
    assert y.shape == shape
    g = model.backward(np.ones_like(y))
    assert g is None if tokens else g.shape == x.shape


def test_a_projection_that_skips_the_data_gradient_still_fills_its_own():
    """As nncli train sets it for real-valued inputs (`Linear.needs_input_grad = False`)."""
    model = make_model(vocab_size=None, in_features=4, out_features=2, pooling="mean")
    model.embed.needs_input_grad = False
    y = model.forward(np.random.default_rng(9).standard_normal((3, 6, 4)))
    assert model.backward(np.ones_like(y)) is None
    assert np.any(model.embed.weight.grad != 0)


def test_attention_maps_are_taken_in_eval_mode_and_released():
    model = make_model(n_layers=3, dropout=0.3)
    maps = model.attention_maps(np.array([[0, 1, 2, 3], [4, 3, 2, 1]]))
    assert [m.shape for m in maps] == [(2, 2, 4, 4)] * 3
    np.testing.assert_allclose(np.sum(maps, axis=-1), 1.0, rtol=0, atol=1e-15)
    assert model.training and all(b.attn.training and b.attn.last_attention is None for b in model.blocks)
    again = model.attention_maps(np.array([[0, 1, 2, 3], [4, 3, 2, 1]]))
    assert all(np.array_equal(m, n) for m, n in zip(maps, again))  # no dropout in eval


def test_backward_releases_the_attention_cache():
    rng = np.random.default_rng(8)
    attn = MultiHeadAttention(8, 2, rng=rng)
    attn.backward(np.zeros_like(attn.forward(rng.standard_normal((2, 3, 8)))))
    assert attn._cache is None and attn.last_attention is None
    with pytest.raises(RuntimeError, match="before forward"):
        attn.backward(np.zeros((2, 3, 8)))


def test_empty_batches_and_sequences_pass_through():
    attn = MultiHeadAttention(8, 2, causal=True, rng=np.random.default_rng(3))
    for shape in [(0, 5, 8), (2, 0, 8)]:
        y = attn.forward(np.empty(shape))
        assert y.shape == shape
        assert attn.backward(np.empty(shape)).shape == shape


@pytest.mark.parametrize("sharpen", [1.0, 40.0])
def test_float32_attention_matches_float64_with_and_without_the_softmax_shift(sharpen, monkeypatch):
    """Scores within ±22 skip the max subtraction in float32; sharper ones (×40 on Q and K) take it.
    Both agree with the same weights in float64 to float32 accuracy."""
    shifted = []
    max_over_keys = attention._max_over_keys
    monkeypatch.setattr(attention, "_max_over_keys", lambda s: shifted.append(s.dtype) or max_over_keys(s))
    rng = np.random.default_rng(12)
    a64 = MultiHeadAttention(16, 4, causal=True, rng=rng)
    a64.in_proj_weight.data[:32] *= sharpen
    a32 = MultiHeadAttention(16, 4, causal=True, rng=rng, dtype=np.float32)
    for (_, p32), (_, p64) in zip(a32.named_parameters(), a64.named_parameters()):
        p32.data[...] = p64.data
    x, g = rng.standard_normal((3, 7, 16)), rng.standard_normal((3, 7, 16))
    a32.keep_attention = a64.keep_attention = True
    y32, y64 = a32.forward(x.astype(np.float32)), a64.forward(x)
    assert shifted.count(np.float32) == (sharpen > 1)  # float64's limit (±177) is not reached
    np.testing.assert_allclose(y32, y64, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(a32.backward(g.astype(np.float32)), a64.backward(g), rtol=2e-3, atol=2e-4)


def test_float32_stays_float32():
    rng = np.random.default_rng(9)
    model = make_model(dtype=np.float32, vocab_size=None, in_features=4, pooling="mean", dropout=0.1)
    y = model.forward(rng.standard_normal((2, 6, 4)).astype(np.float32))
    g = model.backward(np.ones_like(y))
    assert y.dtype == g.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_embedding_gathers_rows_and_sums_repeated_tokens():
    emb = Embedding(4, 3, rng=np.random.default_rng(10))
    assert LAYERS.get("embedding") is Embedding
    x = np.array([[1, 1, 3], [0, 1, 3]])
    np.testing.assert_array_equal(emb.forward(x), emb.weight.data[x])
    g = np.arange(18.0).reshape(2, 3, 3)
    assert emb.backward(g) is None
    expected = np.array([g[1, 0], g[0, 0] + g[0, 1] + g[1, 1], np.zeros(3), g[0, 2] + g[1, 2]])
    np.testing.assert_array_equal(emb.weight.grad, expected)
    with pytest.raises(IndexError):
        emb.forward(np.array([[4]]))
    with pytest.raises(TypeError):
        emb.forward(np.array([[1.0]]))


def test_sinusoidal_encoding_follows_the_paper():
    pe = sinusoidal_table(5, 6)
    assert pe[3, 0] == pytest.approx(np.sin(3)) and pe[3, 1] == pytest.approx(np.cos(3))
    assert pe[2, 4] == pytest.approx(np.sin(2 / 10000 ** (4 / 6)))
    assert pe[2, 5] == pytest.approx(np.cos(2 / 10000 ** (4 / 6)))
    enc = PositionalEncoding(5, 6, kind="sinusoidal", rng=np.random.default_rng(0))
    assert list(enc.named_parameters()) == []
    x = np.zeros((2, 3, 6))
    np.testing.assert_allclose(enc.forward(x), np.broadcast_to(pe[:3], x.shape))
    with pytest.raises(ValueError, match="max_len"):
        enc.forward(np.zeros((1, 6, 6)))


def test_model_names_and_bad_arguments():
    names = [n for n, _ in make_model(n_layers=1).named_parameters()]
    assert names[:4] == [
        "embed.weight",
        "pos.weight",
        "blocks.0.attn.in_proj_weight",
        "blocks.0.attn.in_proj_bias",
    ]
    assert names[-4:] == ["norm.weight", "norm.bias", "head.weight", "head.bias"]
    with pytest.raises(ValueError, match="either"):
        make_model(in_features=3)
    with pytest.raises(ValueError, match="either"):
        make_model(vocab_size=None)
    with pytest.raises(ValueError, match="divisible"):
        make_model(n_heads=3)
    with pytest.raises(UnknownNameError, match="did you mean 'mean'"):
        make_model(pooling="meen")


def test_learns_to_reverse_a_sequence():
    """Reverse 4 tokens over 5 symbols: chance is 0.2 per token; attention must look at position T−1−i."""
    rng = np.random.default_rng(0)
    model = make_model(
        out_features=5, seq_len=4, d_model=32, n_heads=4, n_layers=1, dtype=np.float32, rng=rng
    )
    buf = ParameterBuffer(model.named_parameters())
    loss = LOSSES.get("cross_entropy")()
    m, v = np.zeros_like(buf.data), np.zeros_like(buf.data)
    lr, b1, b2 = 1e-2, 0.9, 0.999
    for t in range(1, 151):  # Adam
        x = rng.integers(0, 5, (64, 4))
        loss.forward(model.forward(x), x[:, ::-1])
        model.backward(loss.backward())
        m = b1 * m + (1 - b1) * buf.grad
        v = b2 * v + (1 - b2) * buf.grad**2
        buf.data -= (lr * np.sqrt(1 - b2**t) / (1 - b1**t)) * m / (np.sqrt(v) + 1e-8)
    x = rng.integers(0, 5, (500, 4))
    model.eval()
    accuracy = (model.forward(x).argmax(axis=-1) == x[:, ::-1]).mean()
    assert accuracy > 0.9  # it reaches 1.0 from any of 10 seeds tried
