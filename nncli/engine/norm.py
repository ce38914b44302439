"""LayerNorm and BatchNorm1d with PyTorch's semantics.

Both normalise with the biased variance and ε inside the square root, x̂ = (x − μ)/√(σ² + ε), then
scale and shift: y = γx̂ + β. (The notes divide by σ² + ε; the square root is the standard form.)
"""

from __future__ import annotations

import numpy as np

from nncli.engine.layers import LAYERS
from nncli.engine.module import Module, sum_last, sum_rows
from nncli.engine.parameters import Parameter


def _normalize_backward(gx_hat: np.ndarray, x_hat: np.ndarray, rstd: np.ndarray, axis: int) -> np.ndarray:
    """dx for x̂ = (x − mean)·rstd over `axis` (0: batch norm's rows, −1: layer norm's last axis):
    rstd·(g − mean(g) − x̂·mean(g·x̂)). The means are BLAS products and einsum, NumPy's fastest sums.

    Works in place, with no full-size temporary: `gx_hat` and `x_hat` must be arrays the caller owns;
    `gx_hat` becomes the result and `x_hat` is overwritten.
    """
    n = x_hat.shape[axis]
    if axis == 0:
        mean_g = sum_rows(gx_hat) / n
        mean_gx = np.einsum("ij,ij->j", gx_hat, x_hat) / n
    else:
        mean_g = (sum_last(gx_hat) / n)[..., None]
        mean_gx = (np.einsum("...i,...i->...", gx_hat, x_hat) / n)[..., None]
    gx_hat -= mean_g
    x_hat *= mean_gx
    gx_hat -= x_hat
    gx_hat *= rstd
    return gx_hat


@LAYERS.register("layer_norm")
class LayerNorm(Module):
    """Normalises each sample over its last axis (of size `normalized_shape`).

    The cache is the input (a reference, as Linear keeps its input) with the per-row mean and rstd, as in
    PyTorch, not x̂: forward then needs one full-size array, its output, and backward rebuilds x̂ with the
    same two operations, so bit for bit. In a pre-norm block the input is alive anyway (the residual).
    """

    def __init__(
        self, normalized_shape: int, *, eps: float = 1e-5, elementwise_affine: bool = True, dtype=np.float64
    ) -> None:
        self.normalized_shape, self.eps = normalized_shape, eps
        if elementwise_affine:
            self.weight: Parameter | None = Parameter(np.ones(normalized_shape, dtype=dtype))
            self.bias: Parameter | None = Parameter(np.zeros(normalized_shape, dtype=dtype))
        else:
            self.weight = self.bias = None
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[-1]
        mean = (sum_last(x) / n)[..., None]
        y = x - mean  # becomes x̂, then γx̂ + β, in place
        var = np.einsum("...i,...i->...", y, y) / n
        rstd = (1.0 / np.sqrt(var + x.dtype.type(self.eps)))[..., None]
        y *= rstd
        self._cache = (x, mean, rstd)
        if self.weight is not None:
            y *= self.weight.data
            y += self.bias.data
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, mean, rstd = self._cached(self._cache)
        self._cache = None
        x_hat = x - mean
        x_hat *= rstd
        if self.weight is None:
            return _normalize_backward(grad_out.copy(), x_hat, rstd, -1)
        g2 = grad_out.reshape(-1, self.normalized_shape)
        np.einsum("ij,ij->j", g2, x_hat.reshape(g2.shape), out=self.weight.grad)
        sum_rows(g2, out=self.bias.grad)
        return _normalize_backward(grad_out * self.weight.data, x_hat, rstd, -1)


@LAYERS.register("batch_norm1d")
class BatchNorm1d(Module):
    """Normalises each feature over the batch, input (N, C).

    Training uses the batch statistics and updates the running ones with `momentum`:
    r ← (1 − m)·r + m·s, where the running variance takes the unbiased batch variance (N/(N−1)·σ²).
    Eval mode normalises with the running statistics.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(
        self,
        num_features: int,
        *,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        dtype=np.float64,
    ) -> None:
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        if affine:
            self.weight: Parameter | None = Parameter(np.ones(num_features, dtype=dtype))
            self.bias: Parameter | None = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self._cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d expects input (N, {self.num_features}), got {x.shape}")
        eps = x.dtype.type(self.eps)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm1d needs more than one sample per batch in training mode")
            mean = x.mean(axis=0)
            xc = x - mean
            var = np.mean(xc * xc, axis=0)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            xc = x - self.running_mean
            var = self.running_var
        rstd = 1.0 / np.sqrt(var + eps)
        x_hat = xc
        x_hat *= rstd
        self._cache = (x_hat, rstd, self.training)
        if self.weight is None:
            return x_hat.copy()
        y = x_hat * self.weight.data
        y += self.bias.data
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, rstd, training = self._cached(self._cache)
        self._cache = None
        if self.weight is not None:
            np.einsum("ij,ij->j", grad_out, x_hat, out=self.weight.grad)
            sum_rows(grad_out, out=self.bias.grad)
            gx_hat = grad_out * self.weight.data
        else:
            gx_hat = grad_out.copy()  # _normalize_backward works in place
        if not training:  # running statistics are constants
            gx_hat *= rstd
            return gx_hat
        return _normalize_backward(gx_hat, x_hat, rstd, 0)
