"""The transformer: token embeddings, positional encodings, transformer blocks and the `transformer` model.

A block lets positions exchange information (attention: softmax(QKᵀ/√d_k)V, where Q asks, K raises its
hand and V delivers) and then lets each position work on what it gathered on its own (the feed-forward
MLP, which moves information within an embedding). Both sit on a residual connection with a LayerNorm.
"""

from __future__ import annotations

import numpy as np

from nncli.engine.activations import ACTIVATIONS
from nncli.engine.attention import MultiHeadAttention
from nncli.engine.layers import LAYERS, Dropout, Linear
from nncli.engine.models import MODELS
from nncli.engine.module import Module
from nncli.engine.norm import LayerNorm
from nncli.engine.parameters import Parameter
from nncli.registry import Registry


@LAYERS.register("embedding")
class Embedding(Module):
    """A lookup table: integer tokens x (B, T) pick rows of `weight` (num_embeddings, embedding_dim),
    giving (B, T, embedding_dim). Init N(0, 1) as in PyTorch. There is no gradient for integer inputs;
    backward adds each position's gradient into its token's row and returns None."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(
            rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype), decay=True
        )
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"Embedding expects integer tokens, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.num_embeddings):
            raise IndexError(f"tokens must lie in [0, {self.num_embeddings}), got [{x.min()}, {x.max()}]")
        self._x = x
        return np.take(self.weight.data, x, axis=0)

    def backward(self, grad_out: np.ndarray) -> None:
        x = self._cached(self._x)
        self._x = None
        d = self.embedding_dim
        # scatter-add on the flat gradient: NumPy's fast path for np.add.at is one index per value
        flat = (x.reshape(-1, 1) * d + np.arange(d)).ravel()
        grad = self.weight.grad.reshape(-1)
        grad.fill(0)
        np.add.at(grad, flat, grad_out.reshape(-1))
        return None


POSITIONAL_KINDS = ("learned", "sinusoidal")


def sinusoidal_table(max_len: int, d_model: int) -> np.ndarray:
    """The original paper's encoding: PE[p, 2i] = sin(p/10000^(2i/d)), PE[p, 2i+1] = cos(p/10000^(2i/d))."""
    position = np.arange(max_len)[:, None]
    angle = position / 10000.0 ** (np.arange(0, d_model, 2) / d_model)
    table = np.empty((max_len, d_model))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return table


class PositionalEncoding(Module):
    """x + PE[:T] for x (B, T, d_model), so that attention, which by itself ignores order, can see it.

    `kind="learned"`: PE is a Parameter `weight` (max_len, d_model), init N(0, 0.02²) as in GPT-2.
    `kind="sinusoidal"`: PE is the fixed table of `sinusoidal_table` (a constant, not trained or saved).
    """

    def __init__(
        self,
        max_len: int,
        d_model: int,
        *,
        kind: str = "learned",
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.max_len, self.kind = max_len, kind
        if kind == "learned":
            self.weight: Parameter | None = Parameter(
                (0.02 * rng.standard_normal((max_len, d_model))).astype(dtype), decay=True
            )
        elif kind == "sinusoidal":
            self.weight = None
            self.table = sinusoidal_table(max_len, d_model).astype(dtype)
        else:
            raise ValueError(
                f"unknown positional encoding '{kind}'; choose from {', '.join(POSITIONAL_KINDS)}"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        t = x.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds the positional encoding's max_len {self.max_len}")
        return x + (self.table if self.weight is None else self.weight.data)[:t]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self.weight is not None:
            t = grad_out.shape[1]
            np.sum(grad_out, axis=0, out=self.weight.grad[:t])
            self.weight.grad[t:] = 0
        return grad_out


class TransformerBlock(Module):
    """Attention and a feed-forward MLP (Linear d→ff_mult·d, activation, Linear back), each on a residual
    connection with a LayerNorm, with torch.nn.TransformerEncoderLayer's semantics and parameter names
    (`attn` for its `self_attn`):

        norm_first=True  (pre-norm, GPT-2):          h = x + attn(norm1(x));  y = h + ff(norm2(h))
        norm_first=False (post-norm, the paper):     h = norm1(x + attn(x));  y = norm2(h + ff(h))

    Dropout, as in PyTorch, acts on the attention weights, on each branch's output and after the
    feed-forward activation. Works on x (B, T, d_model); everything but attention sees (B·T, d_model).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        ff_mult: int = 4,
        activation: str = "gelu",
        dropout: float = 0.0,
        norm_first: bool = True,
        causal: bool = False,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.norm_first = norm_first
        self.attn = MultiHeadAttention(d_model, n_heads, causal=causal, dropout=dropout, rng=rng, dtype=dtype)
        self.linear1 = Linear(d_model, ff_mult * d_model, rng=rng, dtype=dtype)
        self.activation = ACTIVATIONS.get(activation)()
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(ff_mult * d_model, d_model, rng=rng, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=1e-5, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=1e-5, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        self._shape: tuple[int, int, int] | None = None

    def _attend(self, x2: np.ndarray, key_padding_mask: np.ndarray | None) -> np.ndarray:
        b, t, d = self._shape
        y = self.attn.forward(x2.reshape(b, t, d), key_padding_mask=key_padding_mask)
        return self.dropout1.forward(y.reshape(b * t, d))

    def _attend_backward(self, g2: np.ndarray) -> np.ndarray:
        b, t, d = self._shape
        return self.attn.backward(self.dropout1.backward(g2).reshape(b, t, d)).reshape(b * t, d)

    def _feed_forward(self, x2: np.ndarray) -> np.ndarray:
        h = self.dropout.forward(self.activation.forward(self.linear1.forward(x2)))
        return self.dropout2.forward(self.linear2.forward(h))

    def _feed_forward_backward(self, g2: np.ndarray) -> np.ndarray:
        g = self.linear2.backward(self.dropout2.backward(g2))
        return self.linear1.backward(self.activation.backward(self.dropout.backward(g)))

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        b, t, d = self._shape = x.shape
        x2 = x.reshape(b * t, d)
        # each branch returns a fresh array, so the residual sums are done in place
        if self.norm_first:
            h = self._attend(self.norm1.forward(x2), key_padding_mask)
            h += x2
            y = self._feed_forward(self.norm2.forward(h))
            y += h
        else:
            h = self._attend(x2, key_padding_mask)
            h += x2
            h = self.norm1.forward(h)
            y = self._feed_forward(h)
            y += h
            y = self.norm2.forward(y)
        return y.reshape(b, t, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """A residual y = x + f(x) passes g straight through and adds f's input gradient."""
        b, t, d = self._cached(self._shape)
        g = grad_out.reshape(b * t, d)
        if self.norm_first:
            g_h = self.norm2.backward(self._feed_forward_backward(g))
            g_h += g
            g_x = self.norm1.backward(self._attend_backward(g_h))
            g_x += g_h
        else:
            g_u = self.norm2.backward(g)
            g_h = self._feed_forward_backward(g_u)
            g_h += g_u
            g_v = self.norm1.backward(g_h)
            g_x = self._attend_backward(g_v)
            g_x += g_v
        self._shape = None
        return g_x.reshape(b, t, d)


POOLINGS: Registry[type[Module]] = Registry("pooling")


@POOLINGS.register("none")
class NoPooling(Module):
    """Keep every position: (B, T, d) → (B, T, d), one prediction per position."""

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


@POOLINGS.register("mean")
class MeanPooling(Module):
    """Average over the positions not masked out: (B, T, d) → (B, d)."""

    def __init__(self) -> None:
        self._weights: np.ndarray | None = None

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        b, t, _ = x.shape
        keep = np.ones((b, t)) if key_padding_mask is None else (~key_padding_mask).astype(np.float64)
        self._weights = (keep / keep.sum(axis=1, keepdims=True)).astype(x.dtype)
        return np.matmul(self._weights[:, None, :], x)[:, 0]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        w = self._cached(self._weights)
        self._weights = None
        return w[:, :, None] * grad_out[:, None, :]


@POOLINGS.register("first")
class FirstPooling(Module):
    """Take the first position (a [CLS]-style summary): (B, T, d) → (B, d)."""

    def __init__(self) -> None:
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        self._shape = x.shape
        return x[:, 0].copy()

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad = np.zeros(self._cached(self._shape), dtype=grad_out.dtype)
        self._shape = None
        grad[:, 0] = grad_out
        return grad


@MODELS.register("transformer")
class Transformer(Module):
    """Sequences in, predictions out: input embedding + positional encoding → blocks → LayerNorm →
    pooling → Linear head.

    The input embedding `embed` is an Embedding for token sequences (B, T) int64 (`vocab_size`) or a
    Linear projection for real-valued ones (B, T, in_features). Outputs are (B, T, out_features) with
    pooling "none", (B, out_features) with "mean" or "first". `key_padding_mask` (B, T), True = padding,
    keeps attention and mean pooling off the padded positions. `seq_len` is the longest sequence the
    positional encoding covers.
    """

    def __init__(
        self,
        *,
        in_features: int | None = None,
        vocab_size: int | None = None,
        out_features: int,
        seq_len: int,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_mult: int = 4,
        activation: str = "gelu",
        dropout: float = 0.0,
        norm_first: bool = True,
        causal: bool = False,
        positional: str = "learned",
        pooling: str = "none",
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        if (in_features is None) == (vocab_size is None):
            raise ValueError("a transformer takes either tokens (vocab_size) or real vectors (in_features)")
        self.tokens = vocab_size is not None
        if self.tokens:
            self.embed: Module = Embedding(vocab_size, d_model, rng=rng, dtype=dtype)
        else:
            self.embed = Linear(in_features, d_model, rng=rng, dtype=dtype)
        self.pos = PositionalEncoding(seq_len, d_model, kind=positional, rng=rng, dtype=dtype)
        self.drop = Dropout(dropout, rng=rng)
        block = dict(
            ff_mult=ff_mult, activation=activation, dropout=dropout, norm_first=norm_first, causal=causal
        )
        self.blocks = [
            TransformerBlock(d_model, n_heads, **block, rng=rng, dtype=dtype) for _ in range(n_layers)
        ]
        self.norm = LayerNorm(d_model, eps=1e-5, dtype=dtype)
        self.pool = POOLINGS.get(pooling)()
        self.head = Linear(d_model, out_features, rng=rng, dtype=dtype)
        self._shape: tuple[int, int, int] | None = None

    def forward(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        if x.ndim != (2 if self.tokens else 3):
            expected = "tokens (B, T)" if self.tokens else "real vectors (B, T, in_features)"
            raise ValueError(f"this transformer expects {expected}, got shape {x.shape}")
        if self.tokens:
            h = self.embed.forward(x)
        else:
            h = self.embed.forward(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:2], -1)
        h = self.drop.forward(self.pos.forward(h))
        for block in self.blocks:
            h = block.forward(h, key_padding_mask=key_padding_mask)
        b, t, d = self._shape = h.shape
        h = self.pool.forward(self.norm.forward(h.reshape(b * t, d)).reshape(b, t, d), key_padding_mask)
        return self.head.forward(h.reshape(-1, d)).reshape(*h.shape[:-1], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Returns the input gradient for real-valued inputs, None for tokens (and for data inputs whose
        projection skips it: `Linear.needs_input_grad`)."""
        b, t, d = self._cached(self._shape)
        self._shape = None
        g = self.head.backward(grad_out.reshape(-1, grad_out.shape[-1]))
        g = self.pool.backward(g.reshape(*grad_out.shape[:-1], d))
        g = self.norm.backward(g.reshape(b * t, d)).reshape(b, t, d)
        for block in reversed(self.blocks):
            g = block.backward(g)
        g = self.pos.backward(self.drop.backward(g))
        if self.tokens:
            return self.embed.backward(g)
        g = self.embed.backward(g.reshape(b * t, d))
        return None if g is None else g.reshape(b, t, -1)

    def attention_maps(self, x: np.ndarray, key_padding_mask: np.ndarray | None = None) -> list[np.ndarray]:
        """Each block's attention weights softmax(QKᵀ/√d_k), (B, H, T_query, T_key), in eval mode."""
        was_training = self.training
        self.eval()
        for block in self.blocks:
            block.attn.keep_attention = True
        try:
            self.forward(x, key_padding_mask=key_padding_mask)
            return [block.attn.last_attention for block in self.blocks]
        finally:
            for block in self.blocks:
                block.attn.keep_attention = False
                block.attn.last_attention = None
            self.train(was_training)
