"""The ONNX form of the transformer: embeddings, positions, attention, blocks and pooling.

Inside the model every position is a row of a (B·T, d_model) matrix, as in the engine; attention
reshapes to (B, H, T, head_dim) and back. T is the run's sequence length (the inputs' fixed shape).
"""

from __future__ import annotations

import numpy as np

from nncli.engine.attention import MultiHeadAttention
from nncli.engine.transformer import (
    Embedding,
    FirstPooling,
    MeanPooling,
    NoPooling,
    Transformer,
    TransformerBlock,
)
from nncli.export.onnx_graph import Graph, emit, emits


@emits(Embedding)
def _embedding(g: Graph, m: Embedding, x: str) -> str:
    """Tokens (N, ...) int64 → rows of the table, (N, ..., embedding_dim)."""
    return g.op("Gather", g.tensor(m.weight), x, axis=0)


@emits(MultiHeadAttention)
def _attention(g: Graph, m: MultiHeadAttention, x: str) -> str:
    """softmax(QKᵀ/√d_k + mask)V per head on x (B·T, d_model), the fused projection split as in PyTorch."""
    t, h, hd = g.seq_len, m.n_heads, m.head_dim
    bias = [g.tensor(m.in_proj_bias)] if m.in_proj_bias is not None else []
    qkv = g.op("Gemm", x, g.tensor(m.in_proj_weight), *bias, transB=1)
    qkv = g.op("Transpose", g.reshape(qkv, -1, t, 3, h, hd), perm=[2, 0, 3, 1, 4])  # (3, B, H, T, hd)
    q, k, v = (g.op("Gather", qkv, g.tensor(np.array(i, dtype=np.int64)), axis=0) for i in range(3))
    q = g.op("Mul", q, g.scalar(m.scale))
    scores = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2]))  # (B, H, T_query, T_key)
    if m.causal:  # −inf where the key comes after the query
        mask = np.triu(np.full((t, t), -np.inf, dtype=g.dtype), k=1)
        scores = g.op("Add", scores, g.tensor(mask, name=f"causal_mask_{t}"))
    heads = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)  # (B, H, T, hd)
    merged = g.reshape(g.op("Transpose", heads, perm=[0, 2, 1, 3]), -1, m.d_model)
    return emit(g, m.out_proj, merged)


def _feed_forward(g: Graph, m: TransformerBlock, x: str) -> str:
    return emit(g, m.linear2, emit(g, m.activation, emit(g, m.linear1, x)))


@emits(TransformerBlock)
def _block(g: Graph, m: TransformerBlock, x: str) -> str:
    """Pre-norm: h = x + attn(norm1(x)), y = h + ff(norm2(h)); post-norm: h = norm1(x + attn(x)),
    y = norm2(h + ff(h)). Dropout is the identity in eval mode."""
    if m.norm_first:
        h = g.op("Add", x, emit(g, m.attn, emit(g, m.norm1, x)))
        return g.op("Add", h, _feed_forward(g, m, emit(g, m.norm2, h)))
    h = emit(g, m.norm1, g.op("Add", x, emit(g, m.attn, x)))
    return emit(g, m.norm2, g.op("Add", h, _feed_forward(g, m, h)))


def _pool(g: Graph, pool, h: str, t: int, d: int) -> str:
    """(B·T, d) → (B·T, d) for per-position outputs, (B, d) for mean or first-position pooling."""
    if isinstance(pool, NoPooling):
        return h
    h = g.reshape(h, -1, t, d)
    if isinstance(pool, MeanPooling):
        return g.op("ReduceMean", h, axes=[1], keepdims=0)
    if isinstance(pool, FirstPooling):
        return g.op("Gather", h, g.tensor(np.array(0, dtype=np.int64)), axis=1)
    raise TypeError(f"export has no ONNX form for pooling {type(pool).__name__}: add a branch here")


@emits(Transformer)
def _transformer(g: Graph, m: Transformer, x: str) -> str:
    """x: tokens (B, T) int64 or vectors (B, T, in_features) → (B, T, out) or, pooled, (B, out)."""
    t, d = m.pos.max_len, m.norm.normalized_shape
    g.seq_len = t
    if m.tokens:
        h = g.reshape(emit(g, m.embed, x), -1, t, d)
    else:
        h = g.reshape(emit(g, m.embed, g.reshape(x, -1, m.embed.in_features)), -1, t, d)
    table = m.pos.weight if m.pos.weight is not None else m.pos.table  # the sinusoidal table is no parameter
    h = g.reshape(g.op("Add", h, g.tensor(table, name="pos.table")), -1, d)
    for block in m.blocks:
        h = emit(g, block, h)
    out = emit(g, m.head, _pool(g, m.pool, emit(g, m.norm, h), t, d))
    return g.reshape(out, -1, t, m.head.out_features) if isinstance(m.pool, NoPooling) else out
