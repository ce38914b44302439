"""Which task a target is, and class labels encoded as 0..k-1 with the original values kept.

In `auto`, a target is classification when its values are text, or integers with at most MAX_CLASSES
distinct values; otherwise regression. `choose_task` says why in one line, for the run to report. Class
labels, whatever they are (`apple`, or integers 1..3, or 0, 5, 7), are encoded by their position in the
sorted list of distinct values, `classes`; the run directory keeps that list so predictions can be written
back with the original names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nncli.errors import DataError

TASK_CHOICES = ("auto", "classification", "regression")
MAX_CLASSES = 20  # in auto, an integer target with more distinct values than this is a regression target

Label = str | int | float


def label_values(values: np.ndarray) -> list[Label]:
    """Python values of labels: integral numbers as int, other numbers as float, text stripped."""
    if values.dtype.kind in "biu":
        return [int(v) for v in values.tolist()]
    if values.dtype.kind == "f":
        return [int(v) if float(v).is_integer() else float(v) for v in values.tolist()]
    return [str(v).strip() for v in values.tolist()]


def choose_task(task: str, values: np.ndarray, name: str) -> tuple[str, str]:
    """(task, reason) for a target column: `values` are numbers, or text for labels that are names."""
    if task != "auto":
        return task, f"data.task: {task}"
    distinct = len(np.unique(values))
    if values.dtype.kind not in "biuf":
        return "classification", f"target '{name}': {distinct} distinct text values → classification"
    if not np.all(values == np.round(values)):
        return "regression", f"target '{name}': real values → regression"
    if distinct > MAX_CLASSES:
        return "regression", (
            f"target '{name}': {distinct} distinct integer values (more than {MAX_CLASSES}) → regression; "
            "set data.task: classification to read them as classes"
        )
    return "classification", f"target '{name}': {distinct} distinct integer values → classification"


def encode_labels(
    values: np.ndarray, where: str, classes: Sequence[Label] | None = None
) -> tuple[np.ndarray, tuple[Label, ...]]:
    """Labels as int64 positions in `classes` (default: the sorted distinct values) and the classes.

    With `classes` given (those a model was trained on), a value that is not one of them is refused."""
    shape = values.shape
    flat = label_values(values.reshape(-1))
    if classes is None:
        classes = tuple(sorted(set(flat)))
        if len(classes) < 2:
            raise DataError(f"{where}: only one class ({_some(classes)}); classification needs at least 2")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({v for v in flat if v not in index}, key=str)
    if unknown:
        raise DataError(
            f"{where}: label {_some(unknown)} is not one of the model's classes ({_some(classes)})"
        )
    return np.array([index[v] for v in flat], dtype=np.int64).reshape(shape), tuple(classes)


def _some(values: Sequence[Label]) -> str:
    shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in list(values)[:10])
    return shown + (", …" if len(values) > 10 else "")
