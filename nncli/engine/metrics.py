"""Validation metrics: accuracy for classification, R² for regression; the confusion matrix and
per-class precision, recall and F1 that `nncli evaluate` reports."""

from __future__ import annotations

import numpy as np


def accuracy(
    pred: np.ndarray, target: np.ndarray, *, threshold: float = 0.0, ignore_index: int = -100
) -> float:
    """Fraction of correct labels. Several outputs: argmax; one output: pred > threshold (0 for logits,
    0.5 for probabilities). Positions labelled `ignore_index` are not counted."""
    labels = predicted_labels(pred, target, threshold=threshold)
    keep = target != ignore_index
    return float(np.mean(labels[keep] == target[keep])) if keep.any() else 0.0


def predicted_labels(pred: np.ndarray, target: np.ndarray, *, threshold: float = 0.0) -> np.ndarray:
    """The class each output picks, shaped like `target`: argmax, or pred > threshold for one output."""
    if pred.shape[-1] == 1 or pred.ndim == target.ndim:
        return (pred.reshape(target.shape) > threshold).astype(np.int64)
    return np.argmax(pred, axis=-1)


def confusion_matrix(labels: np.ndarray, target: np.ndarray, n_classes: int) -> np.ndarray:
    """C[i, j] = how many samples of true class i were predicted as class j (rows true, columns predicted,
    as scikit-learn's `confusion_matrix`)."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (target.reshape(-1), labels.reshape(-1)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision C[j,j]/Σ_i C[i,j], recall C[i,i]/Σ_j C[i,j], F1 = 2PR/(P+R) and support Σ_j C[i,j] of
    each class; 0 where a ratio has nothing to divide by (scikit-learn's `zero_division=0`)."""
    hits = np.diag(matrix).astype(np.float64)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def r2_score(pred: np.ndarray, target: np.ndarray) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: 1 is a perfect fit, 0 is no better than predicting the mean."""
    target = target.reshape(pred.shape).astype(np.float64)
    ss_res = float(np.sum((target - pred) ** 2))
    ss_tot = float(np.sum((target - target.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0.0)
