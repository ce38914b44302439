"""The live picture beside the training table: the decision boundary of 2-D classification, or the fitted
curve of 1-D regression, redrawn after each evaluation so the boundary can be seen taking shape.

It draws what `nncli.training.predictor` says fits the run, as `nncli plot` does, so the terminal and the
PNG show the same thing.
"""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console

from nncli.training.build import Run
from nncli.training.events import Evaluation, Event, StepEnd, TrainingEnd
from nncli.training.predictor import predictor, view_kind
from nncli.views import termviz
from nncli.views.losstable import table_width
from nncli.views.reporter import GAP, columns

MAX_WIDTH = 48  # characters; the picture is width × 2·(width/2) pixels, square in most fonts
MIN_WIDTH, MIN_HEIGHT = 20, 10  # below this the picture says too little: leave it out
CHROME_ROWS = 8  # progress line, panel borders, the picture's legend lines
PANEL = 4  # the picture's panel: a border and a space of padding each side
MIN_INTERVAL_S = 0.1  # redraw at most this often (evaluations can come every step)
MIN_TERMINAL = (110, 18)  # the smallest terminal with room for the picture beside the essential columns


def picture_size(console: Console, metric_name: str = "accuracy") -> tuple[int, int] | None:
    """(width, height) in characters of the picture beside the table, or None if none fits: beside every
    column where a picture of MIN_WIDTH fits there, else beside the essential ones (the table drops the
    rest to make room)."""
    if not console.is_terminal:
        return None
    cols = columns(metric_name)
    width = console.width - table_width(cols) - GAP - PANEL
    if width < MIN_WIDTH:
        width = console.width - table_width(cols[:4]) - GAP - PANEL  # step, train loss, val loss, metric
    width = min(MAX_WIDTH, width)
    height = min(width // 2, console.height - CHROME_ROWS)
    width = min(width, 2 * height)  # width × 2·height pixels: square
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
        names = run.data.feature_names
        self.labels = {"names": names[:2], "classes": run.data.train.classes} if len(names) == 2 else {}
        self.predict = predictor(run)
        train = run.data.train
        self.X, self.y = train.X, train.y
        self.on_steps = run.trainer.X_val is None
        self.last = -np.inf
        self.redraw()

    def redraw(self) -> None:
        width, height = self.size
        labels = self.labels if self.draw is termviz.decision_boundary else {}
        self.reporter.extra = self.draw(self.predict, self.X, self.y, width=width, height=height, **labels)
        self.last = time.perf_counter()

    def __call__(self, event: Event) -> None:
        due = isinstance(event, Evaluation) or (self.on_steps and isinstance(event, StepEnd))
        if isinstance(event, TrainingEnd) or (due and time.perf_counter() - self.last >= MIN_INTERVAL_S):
            self.redraw()


def attach(run: Run, reporter, console: Console) -> LivePlot | None:
    """Show the live picture if the data has one and the terminal has room for it; returns the listener."""
    kind = view_kind(run)
    size = picture_size(console, run.trainer.metric_name)
    if kind is None:
        return None
    if size is None:
        if console.is_terminal:
            w, h = MIN_TERMINAL
            reporter.hint = (
                f"the {'decision boundary' if kind == 'boundary' else 'fitted curve'} needs a terminal of at "
                f"least {w}×{h}; this one is {console.width}×{console.height}"
            )
        return None
    listener = LivePlot(run, reporter, kind, size)
    run.trainer.subscribe(listener)
    return listener
