"""The fast paths of the transformer block: causal softmax with exp over the seen keys only, layer norm
that caches its input and rebuilds x̂, and a bound on the memory of a block step."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from nncli.engine.attention import MultiHeadAttention
from nncli.engine.norm import LayerNorm
from nncli.engine.transformer import TransformerBlock


def reference_weights(attn: MultiHeadAttention, x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """softmax(QKᵀ/√d_k + masks) over the keys, the textbook way: (B, H, T_query, T_key)."""
    b, t, d = x.shape
    qkv = x.reshape(b * t, d) @ attn.in_proj_weight.data.T + attn.in_proj_bias.data
    heads = qkv.reshape(b, t, 3, attn.n_heads, -1).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, head_dim)
    q, k = heads[0], heads[1]
    s = q @ k.transpose(0, 1, 3, 2) * attn.scale
    if attn.causal:
        s = np.where(np.triu(np.ones((t, t), dtype=bool), k=1), -np.inf, s)
    if mask is not None:
        s = np.where(mask[:, None, None, :], -np.inf, s)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("sharpen", [1.0, 40.0])
def test_causal_softmax_paths_match_the_textbook_form(dtype, padded, sharpen):
    """float64 with scores in range takes exp over the seen keys only; float32, and scores sharp enough to
    need the max subtracted, take the additive mask. Hidden keys get exactly zero weight either way."""
    rng = np.random.default_rng(5)
    attn = MultiHeadAttention(16, 4, causal=True, rng=rng, dtype=dtype)
    attn.in_proj_bias.data[...] = rng.standard_normal(48)
    attn.in_proj_weight.data[:32] *= sharpen
    x = rng.standard_normal((3, 9, 16)).astype(dtype)
    mask = None
    if padded:
        mask = np.zeros((3, 9), dtype=bool)
        mask[0, 4:] = mask[2, 1] = True
    attn.keep_attention = True
    attn.forward(x, key_padding_mask=mask)
    w = attn.last_attention
    expected = reference_weights(attn, x.astype(np.float64), mask)
    tol = 1e-13 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(w, expected, rtol=tol, atol=tol)
    hidden = np.broadcast_to(np.triu(np.ones((9, 9), dtype=bool), k=1), w.shape)
    assert (w[hidden] == 0).all()
    assert w.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_keeps_its_input_and_matches_the_formula(dtype):
    """LayerNorm caches the input it was given (not a copy) and rebuilds x̂ in backward: the input is
    left as it was, and dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝx̂)) with ĝ = γg."""
    rng = np.random.default_rng(6)
    ln = LayerNorm(12, dtype=dtype)
    ln.weight.data[...] = rng.uniform(0.5, 1.5, 12)
    ln.bias.data[...] = rng.standard_normal(12)
    x = (3 + 2 * rng.standard_normal((4, 5, 12))).astype(dtype)
    g = rng.standard_normal((4, 5, 12)).astype(dtype)
    before = x.copy()
    y = ln.forward(x)
    dx = ln.backward(g)
    assert np.array_equal(x, before) and y.dtype == dx.dtype == dtype

    x64, g64, gamma = x.astype(np.float64), g.astype(np.float64), ln.weight.data.astype(np.float64)
    x_hat = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    gh = g64 * gamma
    rstd = 1 / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    expected = rstd * (gh - gh.mean(-1, keepdims=True) - x_hat * (gh * x_hat).mean(-1, keepdims=True))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(y, x_hat * gamma + ln.bias.data, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(ln.weight.grad, (g64 * x_hat).sum((0, 1)), rtol=tol, atol=tol)


def test_layer_norm_without_affine_returns_a_fresh_array():
    ln = LayerNorm(6, elementwise_affine=False)
    x = np.random.default_rng(7).standard_normal((3, 6))
    y = ln.forward(x)
    assert not np.shares_memory(x, y)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_step_memory_stays_within_what_backward_needs(dtype):
    """The peak of a block's forward and backward, measured by tracemalloc, against a bound from the
    shapes (N = B·T rows of width d, ff = 4d). Backward needs about 16 N·d and one (B, H, T, T) score
    array cached (the feed-forward's 12 N·d of it: its hidden input, GELU's cache and the output);
    the feed-forward's backward adds its (N, 4d) input gradient and a few N·d, and attention's backward
    one more score array, about 22 N·d and two score arrays in all. The bound leaves 10 % over 23 N·d; a
    copy too many of the hidden layer (4 N·d) or of the scores fails it."""
    b, t, d, h = 16, 32, 64, 4
    rng = np.random.default_rng(8)
    block = TransformerBlock(d, h, causal=True, rng=rng, dtype=dtype)
    x = rng.standard_normal((b, t, d)).astype(dtype)
    g = rng.standard_normal((b, t, d)).astype(dtype)
    block.backward(block.forward(x))  # warm the caches (masks, ones) outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        y = block.forward(x)  # kept, as a loss would keep it
        block.backward(g)
        peak = tracemalloc.get_traced_memory()[1]
        del y
    finally:
        tracemalloc.stop()
    item = np.dtype(dtype).itemsize
    bound = (23 * b * t * d + 2 * b * h * t * t) * item * 1.1
    assert peak < bound, f"peak {peak / 2**20:.2f} MB over the bound {bound / 2**20:.2f} MB"
