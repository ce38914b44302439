"""What a trained model says about raw inputs, and which picture of it fits the data: the decision
boundary of 2-D classification, the fitted curve of 1-D regression. The live view and the PNGs share it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nncli.training.build import Run, class_threshold, model_inputs


def view_kind(run: Run) -> str | None:
    """'boundary' for 2-D classification, 'curve' for 1-D regression with one target, else None."""
    train = run.data.train
    if train.is_sequence or train.X.ndim != 2:
        return None
    if train.task == "classification" and train.X.shape[1] == 2:
        return "boundary"
    if train.task == "regression" and train.X.shape[1] == 1 and train.y.ndim == 1:
        return "curve"
    return None


def predictor(run: Run) -> Callable[[np.ndarray], np.ndarray]:
    """raw inputs (n, d) → class labels (n,) for classification, predictions (n,) for regression.

    The inputs are standardised as the training data was; the model runs in eval mode.
    """
    trainer, data, dtype = run.trainer, run.data, run.params.dtype
    classify = run.data.train.task == "classification"
    threshold = class_threshold(run.loss_name)

    def predict(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        out = trainer.predict(model_inputs(data, points, dtype))
        if not classify:
            return out.reshape(len(points))
        if out.ndim == 2 and out.shape[1] > 1:
            return np.argmax(out, axis=1)
        return (out.reshape(len(points)) > threshold).astype(np.int64)

    return predict
