"""Validation metrics: accuracy for classification, R² for regression."""

from __future__ import annotations

import numpy as np


def accuracy(
    pred: np.ndarray, target: np.ndarray, *, threshold: float = 0.0, ignore_index: int = -100
) -> float:
    """Fraction of correct labels. Several outputs: argmax; one output: pred > threshold (0 for logits,
    0.5 for probabilities). Positions labelled `ignore_index` are not counted."""
    if pred.shape[-1] == 1 or pred.ndim == target.ndim:
        labels = (pred.reshape(target.shape) > threshold).astype(np.int64)
    else:
        labels = np.argmax(pred, axis=-1)
    keep = target != ignore_index
    return float(np.mean(labels[keep] == target[keep])) if keep.any() else 0.0


def r2_score(pred: np.ndarray, target: np.ndarray) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: 1 is a perfect fit, 0 is no better than predicting the mean."""
    target = target.reshape(pred.shape).astype(np.float64)
    ss_res = float(np.sum((target - pred) ** 2))
    ss_tot = float(np.sum((target - target.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0.0)
