"""The live picture beside the training table: the decision boundary of 2-D classification, or the fitted
curve of 1-D regression, redrawn after each evaluation so the boundary can be seen taking shape.

`view_kind` and `predictor` also serve `nncli plot`, so the terminal and the PNG show the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from rich.console import Console

from nncli.training.build import Run, class_threshold, model_inputs
from nncli.training.events import Evaluation, Event, StepEnd, TrainingEnd
from nncli.views import termviz

TABLE_WIDTH = 86  # the reporter's loss table with wide numbers, plus the gap; the picture gets the rest
MAX_WIDTH = 48  # characters; the picture is width × 2·(width/2) pixels, square in most fonts
MIN_WIDTH, MIN_HEIGHT = 24, 10  # below this the picture says too little: leave it out
CHROME_ROWS = 8  # progress line, panel borders, the picture's legend lines
MIN_INTERVAL_S = 0.1  # redraw at most this often (evaluations can come every step)


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


def picture_size(console: Console) -> tuple[int, int] | None:
    """(width, height) in characters of the picture that fits beside the table, or None if none does."""
    if not console.is_terminal:
        return None
    width = min(MAX_WIDTH, console.width - TABLE_WIDTH)
    height = min(width // 2, console.height - CHROME_ROWS)
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return None
    return width, height


class LivePlot:
    """A trainer listener that redraws the picture into `reporter.extra` after evaluations.

    It subscribes before the reporter, so the reporter's redraw on the same step shows the new picture.
    Without a validation set there are no evaluations, so it redraws on logged steps instead.
    """

    def __init__(self, run: Run, reporter, kind: str, size: tuple[int, int]) -> None:
        self.reporter, self.size = reporter, size
        self.draw = termviz.decision_boundary if kind == "boundary" else termviz.fitted_curve
        self.predict = predictor(run)
        train = run.data.train
        self.X, self.y = train.X, train.y
        self.on_steps = run.trainer.X_val is None
        self.last = -np.inf
        self.redraw()

    def redraw(self) -> None:
        width, height = self.size
        self.reporter.extra = self.draw(self.predict, self.X, self.y, width=width, height=height)
        self.last = time.perf_counter()

    def __call__(self, event: Event) -> None:
        due = isinstance(event, Evaluation) or (self.on_steps and isinstance(event, StepEnd))
        if isinstance(event, TrainingEnd) or (due and time.perf_counter() - self.last >= MIN_INTERVAL_S):
            self.redraw()


def attach(run: Run, reporter, console: Console) -> LivePlot | None:
    """Show the live picture if the data has one and the terminal has room for it; returns the listener."""
    kind = view_kind(run)
    size = picture_size(console)
    if kind is None or size is None:
        return None
    listener = LivePlot(run, reporter, kind, size)
    run.trainer.subscribe(listener)
    return listener
