"""Attention and the transformer block against PyTorch in float64: same weights, outputs and gradients."""

from __future__ import annotations

import numpy as np
import pytest

from nncli.engine import attention
from nncli.engine.attention import MultiHeadAttention
from nncli.engine.module import Module
from nncli.engine.transformer import TransformerBlock

torch = pytest.importorskip("torch", reason="the parity tests compare against PyTorch")

B, T, D, H = 3, 5, 16, 4


def assert_close(ours: np.ndarray, theirs, rtol: float = 1e-10) -> None:
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= rtol * np.abs(theirs).max()


def copy_into_torch(module: Module, torch_module, rename=lambda name: name) -> None:
    """Copy every parameter of `module` into the torch module's parameter of the (renamed) same name."""
    theirs = dict(torch_module.named_parameters())
    assert len(theirs) == len(list(module.named_parameters()))
    with torch.no_grad():
        for name, p in module.named_parameters():
            theirs[rename(name)].copy_(torch.from_numpy(p.data))


def compare_gradients(module: Module, torch_module, rename=lambda name: name) -> None:
    theirs = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        assert_close(p.grad, theirs[rename(name)].grad)


def randomized(module: Module, rng: np.random.Generator) -> Module:
    """Non-trivial biases and norm parameters, so that every gradient is exercised."""
    for _, p in module.named_parameters():
        if p.data.ndim == 1:
            p.data += 0.3 * rng.standard_normal(p.shape)
    return module


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("sharp", [False, True])
def test_multihead_attention_matches_torch(causal, padded, sharp, monkeypatch):
    """`sharp` scales Q and K up until scores pass ±177, where softmax must subtract each max first."""
    rng = np.random.default_rng(0)
    ours = randomized(MultiHeadAttention(D, H, causal=causal, rng=rng), rng)
    ours.keep_attention = True
    if sharp:
        ours.in_proj_weight.data[: 2 * D] *= 25.0
    shifted = []
    max_over_keys = attention._max_over_keys
    monkeypatch.setattr(attention, "_max_over_keys", lambda s: shifted.append(s.shape) or max_over_keys(s))
    theirs = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    copy_into_torch(ours, theirs)
    x, r = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, D))
    mask = None
    if padded:
        mask = np.zeros((B, T), dtype=bool)
        mask[0, 3:] = mask[2, 1] = True

    y = ours.forward(x, key_padding_mask=mask)
    weights = ours.last_attention
    dx = ours.backward(r)

    xt = torch.tensor(x, requires_grad=True)
    attn_mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1) if causal else None
    yt, wt = theirs(
        xt,
        xt,
        xt,
        key_padding_mask=None if mask is None else torch.from_numpy(mask),
        need_weights=True,
        attn_mask=attn_mask,
        average_attn_weights=False,
    )
    yt.backward(torch.from_numpy(r))

    assert_close(y, yt)
    assert_close(weights, wt)
    assert_close(dx, xt.grad)
    compare_gradients(ours, theirs)
    assert len(shifted) == sharp  # the max is taken only when exp could overflow or underflow


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_transformer_block_matches_torch_encoder_layer(norm_first, activation):
    rng = np.random.default_rng(1)
    ours = TransformerBlock(D, H, ff_mult=2, activation=activation, norm_first=norm_first, rng=rng)
    randomized(ours, rng)
    for norm in (ours.norm1, ours.norm2):
        norm.weight.data[:] = rng.uniform(0.5, 1.5, D)
    theirs = torch.nn.TransformerEncoderLayer(
        D,
        H,
        dim_feedforward=2 * D,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    )
    rename = lambda name: "self_" + name if name.startswith("attn.") else name  # noqa: E731
    copy_into_torch(ours, theirs, rename)
    x, r = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, D))
    mask = np.zeros((B, T), dtype=bool)
    mask[1, 2:] = True

    y = ours.forward(x, key_padding_mask=mask)
    dx = ours.backward(r)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt, src_key_padding_mask=torch.from_numpy(mask))
    yt.backward(torch.from_numpy(r))

    assert_close(y, yt)
    assert_close(dx, xt.grad)
    compare_gradients(ours, theirs, rename)
