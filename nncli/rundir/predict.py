"""Predictions of a trained run for new inputs, written as CSV, and the checked inputs (and targets) that
`evaluate` and `predict` feed a trained model."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nncli.datasets import load_like
from nncli.datasets.files import column_list, parse_numbers, read_rows
from nncli.engine import metrics
from nncli.errors import DataError
from nncli.fileio import atomic_write_text, load_npz
from nncli.rundir.directory import load_trained
from nncli.rundir.outputs import check_output
from nncli.training.build import Run, class_threshold, loss_targets, model_inputs


@dataclass
class Inputs:
    """Inputs read for a model: X, and what identifies each row in the output (a CSV's own columns)."""

    X: np.ndarray
    columns: list[str] = field(default_factory=list)  # a CSV's header, passed through to the output
    cells: list[list[str]] = field(default_factory=list)  # its rows, as written in the file


def read_inputs(path: Path, run: Run) -> Inputs:
    """Inputs for `run`'s model: from a .csv (header row; the training feature columns, found by name) or
    array X of an .npz."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = load_npz(path, "input file", error=DataError)
        if "X" not in arrays:
            raise DataError(f"{path}: has no array 'X'; arrays: {', '.join(arrays) or 'none'}")
        inputs = Inputs(arrays["X"])
        if inputs.X.dtype.kind not in "biuf":
            raise DataError(f"{path}: array 'X' has dtype {inputs.X.dtype}; expected numbers")
    elif suffix == ".csv":
        inputs = _read_csv_inputs(path, run)
    else:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; give a .csv or .npz file")
    check_inputs(inputs.X, run, str(path))
    return inputs


def check_inputs(X: np.ndarray, run: Run, source: str) -> np.ndarray:
    """Refuse inputs the model cannot take: another shape, no rows, NaN/inf, tokens outside the vocabulary."""
    train = run.data.train
    expected = train.X.shape[1:]
    if X.ndim == 0 or X.shape[1:] != expected or len(X) == 0:
        raise DataError(
            f"{source}: inputs of shape {X.shape}; the model takes (samples, {', '.join(map(str, expected))})"
        )
    if train.vocab_size is not None:
        if X.dtype.kind not in "iu" or X.min() < 0 or X.max() >= train.vocab_size:
            raise DataError(f"{source}: tokens must be integers in 0..{train.vocab_size - 1}")
    elif not np.all(np.isfinite(X)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise DataError(f"{source}: holds the non-finite value {X[bad]} at index {bad}")
    return X


def _read_csv_inputs(path: Path, run: Run) -> Inputs:
    train = run.data.train
    if train.is_sequence:
        raise DataError(f"{path}: this model takes sequences; give an .npz file with an array X")
    lines, rows, _ = read_rows(path)
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of inputs")
    header = [cell.strip() for cell in rows[0]]
    names = list(run.data.feature_names)
    missing = [name for name in names if name not in header]
    if missing:
        raise DataError(
            f"{path}: has no column {', '.join(map(repr, missing))}; the model takes the columns "
            f"{column_list(names)} (by name, in any order); the file has {column_list(header)}"
        )
    for line, row in zip(lines[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise DataError(f"{path}: row {line} has {len(row)} values, the header {len(header)}")
    columns = [header.index(name) for name in names]
    picked = [[row[i] for i in columns] for row in rows[1:]]
    X = parse_numbers(path, names, lines[1:], picked)
    return Inputs(X, header, [[cell.strip() for cell in row] for row in rows[1:]])


def evaluation_data(run: Run, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a labelled .csv/.npz file, as `run.trainer.evaluate` takes them: read as the
    training data was (columns by name, labels by their names), whatever format that came from."""
    ds = load_like(path, run.data.train)
    check_inputs(ds.X, run, str(path))
    dtype = run.params.dtype
    return model_inputs(run.data, ds.X, dtype), loss_targets(ds.y, run.loss_name, dtype)


def evaluation_report(run: Run, X: np.ndarray, y: np.ndarray) -> dict:
    """Loss and metric of `run` on model inputs X and targets y; for classification also the confusion
    matrix (rows true class, columns predicted, in the order of `classes`) and per-class scores."""
    trainer = run.trainer
    loss, metric = trainer.evaluate(X, y)
    report = {"samples": int(X.shape[0]), "loss": loss, trainer.metric_name: metric}
    names = run.data.class_names
    if names is None:
        return report
    target = y.astype(np.int64)
    labels = metrics.predicted_labels(trainer.predict(X), target, threshold=class_threshold(run.loss_name))
    matrix = metrics.confusion_matrix(labels, target, len(names))
    scores = metrics.per_class_scores(matrix)
    report["classes"] = list(names)
    report["confusion_matrix"] = matrix.tolist()
    report["per_class"] = [
        {"class": name, **{key: scores[key][i].item() for key in ("precision", "recall", "f1", "support")}}
        for i, name in enumerate(names)
    ]
    return report


def output_path(output: Path | None, run_dir: Path, input_file: Path, overwrite: bool = False) -> Path:
    """Where predictions go (default run_dir/predictions.csv); checked before any work is done: never a
    run's own file or the input, an existing file only with `overwrite`."""
    output = Path(output) if output is not None else Path(run_dir) / "predictions.csv"
    return check_output(output, inputs=[input_file], overwrite=overwrite, option="--output")


def predictions(run: Run, X: np.ndarray) -> dict[str, np.ndarray]:
    """What `nncli predict` reports for raw inputs X (`read_inputs(...).X`), in eval mode: for a
    cross_entropy model the `label` (argmax), the class `probabilities` (softmax) and the `logits`; for any
    other the model's raw output as `prediction`. `nncli export` names its ONNX outputs the same."""
    out = run.trainer.predict(model_inputs(run.data, X, run.params.dtype))
    if run.loss_name != "cross_entropy":
        return {"prediction": out}
    probs = np.exp(out - out.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return {"label": np.argmax(out, axis=-1), "probabilities": probs, "logits": out}


def prediction_table(run: Run, result: dict[str, np.ndarray]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of `predictions(run, X)`: the class name and one probability per class
    (`p_<class>`), or the predicted value(s). A model with one output per position (sequence to sequence)
    gives one row per sample and position."""
    out = result.get("probabilities", result.get("prediction"))
    n, positions = out.shape[0], out.shape[1:-1]
    flat = out.reshape(-1, out.shape[-1])
    if "label" in result:
        names = run.data.class_names
        labels = result["label"].reshape(-1)
        header = ["prediction", *(f"p_{name}" for name in names)]
        rows = [[str(names[k]), *map(_number, p)] for k, p in zip(labels, flat, strict=True)]
    elif run.data.train.task == "classification":  # one output: a logit, or a 0/1 target (mse, huber)
        names = run.data.class_names
        threshold = class_threshold(run.loss_name)
        header = ["prediction", "output"]
        rows = [[str(names[int(v[0] > threshold)]), _number(v[0])] for v in flat]
    else:
        header = ["prediction"] if flat.shape[1] == 1 else [f"prediction_{k}" for k in range(flat.shape[1])]
        rows = [list(map(_number, v)) for v in flat]
    if positions:
        index = np.indices((n, *positions)).reshape(1 + len(positions), -1).T
        header = ["sample", "position", *header]
        rows = [[*map(str, i), *row] for i, row in zip(index, rows, strict=True)]
    return header, rows


def _number(value) -> str:
    return repr(float(value))


def predict_file(
    run_dir: Path,
    input_file: Path,
    output: Path | None = None,
    *,
    weights: str = "final",
    overwrite: bool = False,
) -> Path:
    """Write a trained run's predictions for the inputs in `input_file` as CSV: the input file's own
    columns (or a `sample` number for an .npz), then the predictions; returns the path."""
    output = output_path(output, run_dir, input_file, overwrite)
    run = load_trained(run_dir, weights)
    inputs = read_inputs(input_file, run)
    header, rows = prediction_table(run, predictions(run, inputs.X))
    if inputs.columns and len(rows) == len(inputs.cells):
        header = [*inputs.columns, *header]
        rows = [[*cells, *row] for cells, row in zip(inputs.cells, rows, strict=True)]
    elif header[0] != "sample":
        header = ["sample", *header]
        rows = [[str(i), *row] for i, row in enumerate(rows)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(output, buf.getvalue())
    return output
