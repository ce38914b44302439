"""L1 and L2 penalties on the weight matrices (the flat slice `data[:n_decay]`), added to the objective.

The notes' picture: L2's λΣw² is a circle that shrinks weights toward zero; L1's λΣ|w| is a square with
corners on the axes, which lands solutions on exact zeros. With the `subgradient` form L1 only adds
λ·sign(w) to the gradient (what a PyTorch user writes); the `proximal` form soft-thresholds the weights
after each optimizer step, which is what actually leaves them at exactly zero.
"""

from __future__ import annotations

import numpy as np

from nncli.registry import Registry

REGULARIZERS: Registry[type[Regularizer]] = Registry("regularizer")

L1_MODES = ("subgradient", "proximal")


class Regularizer:
    """penalty(w) is added to the loss; add_grad(w, g) adds its gradient into g in place."""

    def __init__(self, strength: float) -> None:
        if strength < 0:
            raise ValueError(f"regularization strength must be ≥ 0, got {strength}")
        self.strength = strength

    def penalty(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def add_grad(self, w: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


@REGULARIZERS.register("l1")
class L1(Regularizer):
    """λ·Σ|w|; subgradient λ·sign(w), 0 at w = 0."""

    def penalty(self, w):
        return self.strength * float(np.sum(np.abs(w)))

    def add_grad(self, w, grad):
        grad += w.dtype.type(self.strength) * np.sign(w)

    def prox(self, w: np.ndarray, lr: float) -> None:
        """Soft-threshold in place: w ← sign(w)·max(|w| − lr·λ, 0)."""
        shrunk = np.abs(w)
        shrunk -= w.dtype.type(lr * self.strength)
        np.maximum(shrunk, 0, out=shrunk)
        np.copysign(shrunk, w, out=w)


@REGULARIZERS.register("l2")
class L2(Regularizer):
    """λ·Σw²; gradient 2λw (note: twice the `weight_decay` an optimizer would add for the same λ)."""

    def penalty(self, w):
        return self.strength * float(np.dot(w, w))

    def add_grad(self, w, grad):
        grad += w.dtype.type(2.0 * self.strength) * w
