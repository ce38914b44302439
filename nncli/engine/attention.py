"""Multi-head self-attention: each position takes a weighted mix of what every position offers.

In the notes' words, a position's query Q asks a question, each key K raises its hand ("I have the
answer!") and the values V deliver it:

    attention(Q, K, V) = softmax(QKᵀ/√d_k) V

softmax(QKᵀ/√d_k) says where to look, V says what comes back. With `n_heads` heads the width d_model
is split into chunks of head_dim = d_model/n_heads that attend separately (a team of specialists, each
on part of the project); their outputs are concatenated and mixed by `out_proj`.
"""

from __future__ import annotations

import functools

import numpy as np

from nncli.engine.layers import Dropout, Linear
from nncli.engine.module import Module, sum_rows
from nncli.engine.parameters import Parameter


@functools.lru_cache(maxsize=16)
def causal_mask(t: int, dtype) -> np.ndarray:
    """Additive mask in the (key, query) layout: −inf where key j comes after query i (j > i), else 0.
    Built once per length and dtype (read-only, shared)."""
    mask = np.tril(np.full((t, t), -np.inf, dtype=dtype), k=-1)
    mask.flags.writeable = False
    return mask


@functools.lru_cache(maxsize=16)
def causal_keep(t: int) -> tuple[np.ndarray, np.ndarray]:
    """The causal mask as booleans in the (key, query) layout: (seen, hidden), where seen is j ≤ i.
    Built once per length (read-only, shared)."""
    seen = np.triu(np.ones((t, t), dtype=bool))
    hidden = ~seen
    seen.flags.writeable = hidden.flags.writeable = False
    return seen, hidden


def _max_over_keys(s: np.ndarray) -> np.ndarray:
    """s.max(axis=-2, keepdims=True) as a halving tree of elementwise maxima, about twice as fast.

    Each step keeps max(first half, last half); for an odd length the halves share the middle row,
    which max does not mind.
    """
    n, m = s.shape[-2], s
    while n > 1:
        h = (n + 1) // 2
        m = np.maximum(m[..., :h, :], m[..., n - h : n, :])
        n = h
    return m


def _needs_shift(dtype: np.dtype, finite_range: tuple[np.floating, np.floating]) -> bool:
    """Whether exp(scores) needs the max subtracted first to be safe.

    Softmax is unchanged by subtracting any per-query constant; the stable form subtracts the max, so
    that exp never overflows. When every finite score lies within ±¼ of the largest exponent the dtype
    holds (±22 in float32, ±177 in float64; attention scores are rarely beyond ±10), exp neither
    overflows nor underflows, even summed over a million keys, and the shift is skipped; it is the
    most expensive pass of the softmax.
    """
    lo, hi = finite_range
    limit = 0.25 * np.log(np.finfo(dtype).max)
    return not (-limit <= lo and hi <= limit)  # also when NaN


def _sum_groups(a: np.ndarray, size: int) -> np.ndarray:
    """Sums of consecutive groups of `size` along the last axis of a C-contiguous `a`, as one BLAS
    matrix-vector product."""
    return np.matmul(a.reshape(-1, size), np.ones(size, dtype=a.dtype))


def _scaled_transpose(a: np.ndarray, scale: np.floating) -> np.ndarray:
    """scale·aᵀ over the last two axes, C-contiguous as BLAS wants a stacked matmul's second operand."""
    out = np.empty(a.shape[:-2] + (a.shape[-1], a.shape[-2]), dtype=a.dtype)
    return np.multiply(a.swapaxes(-1, -2), scale, out=out)


class MultiHeadAttention(Module):
    """Self-attention over x of shape (B, T, d_model), with torch.nn.MultiheadAttention's parameters.

    Q, K and V come from one fused projection: `in_proj_weight` (3·d_model, d_model) holds W_q, W_k and
    W_v as adjacent row blocks and `in_proj_bias` holds b_q, b_k, b_v, exactly as in PyTorch, so one
    matmul computes all three and weights copy across unchanged; `out_proj` is a Linear layer. Init is
    PyTorch's: xavier-uniform in_proj_weight, zero biases, out_proj.weight ~ U(±1/√d_model).

    Note that b_k never changes the output: it adds q·b_k to a whole row of scores, which softmax
    ignores, so its gradient is zero (up to rounding).

    Attention dropout is `self.dropout` (a Dropout layer, so a test can impose its mask); it acts on the
    weights in the (B, H, T_key, T_query) layout used inside. Set `keep_attention = True` to keep the
    last weights softmax(QKᵀ/√d_k), before dropout, as `last_attention` (B, H, T_query, T_key).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        causal: bool = False,
        dropout: float = 0.0,
        bias: bool = True,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.causal = causal
        self.scale = 1.0 / np.sqrt(self.head_dim)
        limit = np.sqrt(6.0 / (d_model + 3 * d_model))
        self.in_proj_weight = Parameter(
            rng.uniform(-limit, limit, (3 * d_model, d_model)).astype(dtype), decay=True
        )
        self.in_proj_bias = Parameter(np.zeros(3 * d_model, dtype=dtype)) if bias else None
        self.out_proj = Linear(d_model, d_model, bias=bias, rng=rng, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0
        self.dropout = Dropout(dropout, rng=rng)
        self.keep_attention = False
        self.last_attention: np.ndarray | None = None
        self._cache: tuple | None = None

    def _heads(self, qkv: np.ndarray, b: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views Q, K, V of shape (B, H, T, head_dim) into the fused (B·T, 3·d_model) projection."""
        split = qkv.reshape(b, t, 3, self.n_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        return split[0], split[1], split[2]

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        """x (B, T, d_model) → (B, T, d_model). `key_padding_mask` (B, T) bool: True = ignore that key."""
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"MultiHeadAttention expects (B, T, {self.d_model}), got {x.shape}")
        b, t, d = x.shape
        x2 = x.reshape(b * t, d)
        qkv = np.matmul(x2, self.in_proj_weight.data.T)
        if self.in_proj_bias is not None:
            qkv += self.in_proj_bias.data
        q, k, v = self._heads(qkv, b, t)
        # The scores are laid out transposed, (B, H, T_key, T_query): softmax reduces over the keys, and
        # NumPy reduces several times faster over a non-last axis than over a short last one. BLAS wants
        # the second operand of a stacked matmul C-contiguous, hence the copy of Qᵀ (scaled on the way).
        scale = x.dtype.type(self.scale)
        probs_t = np.matmul(k, _scaled_transpose(q, scale))  # Sᵀ = K(Q/√d_k)ᵀ
        finite_range = probs_t.min(initial=0), probs_t.max(initial=0)  # before the masks add −inf
        if key_padding_mask is not None:
            probs_t += np.where(key_padding_mask, -np.inf, 0).astype(x.dtype)[:, None, :, None]
        shift = _needs_shift(x.dtype, finite_range)
        if self.causal and x.dtype == np.float64 and not shift:
            # exp only where a query sees the key, zeros elsewhere (what exp(s − ∞) gives): half the work
            # of float64 exp, the costliest elementwise pass (scalar on AVX2). Float32 exp is vectorised
            # and faster over every entry than over the masked runs.
            seen, hidden = causal_keep(t)
            np.exp(probs_t, out=probs_t, where=seen)
            np.copyto(probs_t, 0, where=hidden)
        else:
            if self.causal:
                probs_t += causal_mask(t, x.dtype)
            if shift:
                probs_t -= _max_over_keys(probs_t)
            np.exp(probs_t, out=probs_t)
        probs_t *= (1 / np.matmul(np.ones(t, dtype=x.dtype), probs_t))[:, :, None, :]  # 1ᵀP: Σ over keys
        if self.keep_attention:
            self.last_attention = probs_t.transpose(0, 1, 3, 2).copy()
        dropped_t = self.dropout.forward(probs_t)
        merged = np.empty((b, t, self.n_heads, self.head_dim), dtype=x.dtype)
        np.matmul(dropped_t.transpose(0, 1, 3, 2), v, out=merged.transpose(0, 2, 1, 3))  # heads back together
        merged = merged.reshape(b * t, d)
        self._cache = (x2, qkv, probs_t, dropped_t, merged)
        return self.out_proj.forward(merged).reshape(b, t, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Through out_proj, O = P̃V, the dropout P̃ = P⊙m, the softmax (dS = P ⊙ (dP − Σ_k dP⊙P)),
        S = QKᵀ/√d_k and the fused projection; returns dx, the sum of the gradients through Q, K and V."""
        x2, qkv, probs_t, dropped_t, merged = self._cached(self._cache)
        self._cache = None
        b, t, d = grad_out.shape
        g_merged = self.out_proj.backward(grad_out.reshape(b * t, d))
        g_o = g_merged.reshape(b, t, self.n_heads, self.head_dim).transpose(0, 2, 1, 3)  # dO (B, H, T, hd)
        q, k, v = self._heads(qkv, b, t)
        scale = g_merged.dtype.type(self.scale)
        g_qkv = np.empty_like(qkv)
        g_q, g_k, g_v = self._heads(g_qkv, b, t)
        np.matmul(dropped_t, g_o, out=g_v)  # dV = P̃ᵀ dO
        # dP/√d_k = V (dO/√d_k)ᵀ: the 1/√d_k of S that Q and K share rides along from here on
        g_probs_t = self.dropout.backward(np.matmul(v, _scaled_transpose(g_o, scale)))
        # softmax backward over the keys, in place (g_probs_t is ours): dS = P ⊙ (dP − Σ_k dP⊙P), where
        # Σ_k dP⊙P = Σ_k P̃ (V dOᵀ) = Σ_d dO⊙O per query: over head_dim, not over the keys
        row = _sum_groups(g_merged * merged, self.head_dim).reshape(b, t, self.n_heads)
        g_probs_t -= (scale * np.ascontiguousarray(row.transpose(0, 2, 1)))[:, :, None, :]
        g_probs_t *= probs_t  # dSᵀ/√d_k
        np.matmul(g_probs_t.transpose(0, 1, 3, 2), k, out=g_q)  # dQ = (dS/√d_k) K
        np.matmul(g_probs_t, q, out=g_k)  # dK = (dS/√d_k)ᵀ Q
        np.matmul(g_qkv.T, x2, out=self.in_proj_weight.grad)
        if self.in_proj_bias is not None:
            sum_rows(g_qkv, out=self.in_proj_bias.grad)
        return np.matmul(g_qkv, self.in_proj_weight.data).reshape(b, t, d)
