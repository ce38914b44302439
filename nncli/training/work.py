"""The size of a step's largest matrix product, read from the model's layer shapes: what
`nncli.runtime.auto_threads` decides a run's BLAS thread count by."""

from __future__ import annotations

import numpy as np

from nncli.engine.attention import MultiHeadAttention
from nncli.engine.module import Module
from nncli.engine.parameters import Parameter
from nncli.engine.transformer import Embedding, PositionalEncoding

# tables read by index (a token, a position): their weights take part in no product
LOOKUPS = (Embedding, PositionalEncoding)


def rows_per_sample(X: np.ndarray) -> int:
    """Rows a sample gives the model's products: 1 for a feature vector, T for a sequence of T tokens
    (B, T) or of T vectors (B, T, features)."""
    shape = X.shape[1:] if not np.issubdtype(X.dtype, np.floating) else X.shape[1:-1]
    return int(np.prod(shape, dtype=np.int64))


def largest_matmul(model: Module, batch: int, positions: int = 1) -> int:
    """Multiply-adds (m·n·k) of the largest matrix product of one training step on `batch` samples of
    `positions` rows each: a weight matrix (a Linear's, attention's input projection) times the batch's
    rows, or one head's attention scores QKᵀ (positions × positions × head_dim). Backward's products
    (gᵀx, g W) have the same m·n·k as forward's. A head after pooling is counted at every position, an
    upper bound."""
    rows = batch * positions
    largest = 0
    for module in model.modules():
        if isinstance(module, LOOKUPS):
            continue
        for value in vars(module).values():
            if isinstance(value, Parameter) and value.data.ndim == 2:
                largest = max(largest, rows * value.data.size)
        if isinstance(module, MultiHeadAttention):
            largest = max(largest, positions * positions * module.head_dim)
    return largest
