"""Losses with their gradients. Each averages over its elements (mean reduction), as PyTorch's default.

`forward(pred, target)` returns the loss as a float and caches what `backward()` needs to return
∂loss/∂pred.
"""

from __future__ import annotations

import numpy as np

from nncli.engine.activations import sigmoid
from nncli.engine.module import constant, sum_last
from nncli.registry import Registry

LOSSES: Registry[type[Loss]] = Registry("loss")


class Loss:
    """Base: `task` says which targets fit: 'regression' (real values) or 'classification' (labels)."""

    task = "regression"

    def __init__(self) -> None:
        self._cache: tuple | None = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def _take_cache(self) -> tuple:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        cache, self._cache = self._cache, None
        return cache


def _as_pred_shape(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Targets of shape (N,) meet predictions of shape (N, 1)."""
    if type(target) is np.ndarray and target.shape == pred.shape and target.dtype == pred.dtype:
        return target  # already fits: the common case, without the conversions' calls
    target = np.asarray(target)
    if target.shape != pred.shape:
        if target.size != pred.size:
            raise ValueError(f"target shape {target.shape} does not fit prediction shape {pred.shape}")
        target = target.reshape(pred.shape)
    return target.astype(pred.dtype, copy=False)


@LOSSES.register("mse")
class MSELoss(Loss):
    """E = mean((ŷ − y)²); ∂E/∂ŷ = 2(ŷ − y)/n (the notes' −(y* − y) up to the constant)."""

    def forward(self, pred, target):
        diff = pred - _as_pred_shape(pred, target)
        self._cache = (diff,)
        return float(np.vdot(diff, diff)) / diff.size  # Σd² in one BLAS call, no d² temporary

    def backward(self):
        (diff,) = self._take_cache()
        diff *= constant(2.0 / diff.size, diff.dtype)  # diff is ours and the cache is spent: scale in place
        return diff


@LOSSES.register("huber")
class HuberLoss(Loss):
    """½d² where |d| ≤ delta, delta·(|d| − ½delta) beyond: quadratic near zero, linear for outliers."""

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = delta

    def forward(self, pred, target):
        diff = pred - _as_pred_shape(pred, target)
        absd = np.abs(diff)
        small = absd <= self.delta
        self._cache = (diff, small)
        return float(np.mean(np.where(small, 0.5 * diff * diff, self.delta * (absd - 0.5 * self.delta))))

    def backward(self):
        diff, small = self._take_cache()
        grad = np.where(small, diff, self.delta * np.sign(diff))
        grad *= diff.dtype.type(1.0 / diff.size)
        return grad


@LOSSES.register("bce_with_logits")
class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z with targets y ∈ [0, 1]:
    mean(max(z, 0) − z·y + log(1 + e^−|z|)), stable for any z; ∂/∂z = (σ(z) − y)/n."""

    task = "classification"

    def forward(self, pred, target):
        y = _as_pred_shape(pred, target)
        self._cache = (pred, y)
        loss = np.maximum(pred, 0) - pred * y + np.log1p(np.exp(-np.abs(pred)))
        return float(np.mean(loss))

    def backward(self):
        z, y = self._take_cache()
        grad = sigmoid(z) - y
        grad *= z.dtype.type(1.0 / z.size)
        return grad


@LOSSES.register("cross_entropy")
class CrossEntropyLoss(Loss):
    """Softmax cross-entropy on logits (..., C) with integer class targets (...):
    mean over counted positions of −log softmax(z)[y]; ∂/∂z = (softmax(z) − onehot(y))/count.
    Targets equal to `ignore_index` are left out of the mean (masked positions in sequences).
    """

    task = "classification"

    def __init__(self, ignore_index: int = -100) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, pred, target):
        n_classes = pred.shape[-1]
        logits = pred.reshape(-1, n_classes)
        labels = np.asarray(target).reshape(-1).astype(np.int64, copy=False)
        if labels.size != logits.shape[0]:
            raise ValueError(f"target shape {np.shape(target)} does not fit logits shape {pred.shape}")
        keep = labels != self.ignore_index
        count = int(np.count_nonzero(keep))
        safe = labels if count == labels.size else np.where(keep, labels, 0)
        # log softmax(z)[y] = (z − max z)[y] − log Σ e^(z − max z); the probabilities e^(z − max z)/Σ are
        # kept for backward, which would otherwise compute them again
        shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
        probs = np.exp(shifted)
        total = sum_last(probs)  # Σ over the classes as a matrix-vector product: fast for short rows
        rows = np.arange(labels.size)
        picked = shifted[rows, safe] - np.log(total)
        probs /= total[:, None]
        self._cache = (pred.shape, probs, rows, safe, keep, count)
        if count == labels.size:
            return float(-np.sum(picked) / count)
        return float(-np.sum(picked[keep]) / count) if count else 0.0

    def backward(self):
        shape, grad, rows, safe, keep, count = self._take_cache()
        grad[rows, safe] -= 1
        if 0 < count == keep.size:
            grad *= grad.dtype.type(1 / count)
        else:
            grad *= (keep / max(count, 1)).astype(grad.dtype)[:, None]
        return grad.reshape(shape)
