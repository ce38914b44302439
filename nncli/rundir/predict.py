"""Predictions of a trained run for new inputs, written as CSV, and the checked inputs (and targets) that
`evaluate` and `predict` feed a trained model."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nncli.datasets import load_like
from nncli.datasets.files import parse_numbers, read_rows
from nncli.errors import DataError
from nncli.fileio import atomic_write_text
from nncli.rundir.checkpoint import load_npz
from nncli.rundir.directory import load_trained
from nncli.training.build import Run, loss_targets, model_inputs


def read_inputs(path: Path, run: Run) -> np.ndarray:
    """Raw inputs for `run`'s model, shape (n, *input shape): from a .csv (header row; the training
    feature columns by name, else every column, else every column but the target) or array X of an .npz."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = load_npz(path, "input file", error=DataError)
        if "X" not in arrays:
            raise DataError(f"{path}: has no array 'X'; arrays: {', '.join(arrays) or 'none'}")
        X = arrays["X"]
        if X.dtype.kind not in "biuf":
            raise DataError(f"{path}: array 'X' has dtype {X.dtype}; expected numbers")
    elif suffix == ".csv":
        X = _read_csv_inputs(path, run)
    else:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; give a .csv or .npz file")
    return check_inputs(X, run, str(path))


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


def _read_csv_inputs(path: Path, run: Run) -> np.ndarray:
    train = run.data.train
    if train.is_sequence:
        raise DataError(f"{path}: this model takes sequences; give an .npz file with an array X")
    lines, rows, _ = read_rows(path)
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of inputs")
    header = [cell.strip() for cell in rows[0]]
    n, names = train.X.shape[1], list(train.feature_names)
    if names and all(name in header for name in names):
        columns = [header.index(name) for name in names]
    elif len(header) == n:
        columns = list(range(n))
    elif len(header) == n + 1 and train.target_name in header:
        columns = [i for i, name in enumerate(header) if name != train.target_name]
    else:
        raise DataError(
            f"{path}: has the columns {', '.join(header)}; the model takes {n} inputs"
            + (f" ({', '.join(names)})" if names else "")
        )
    for line, row in zip(lines[1:], rows[1:]):
        if len(row) != len(header):
            raise DataError(f"{path}: row {line} has {len(row)} values, the header {len(header)}")
    picked = [[row[i] for i in columns] for row in rows[1:]]
    return parse_numbers(path, [header[i] for i in columns], lines[1:], picked)


def evaluation_data(run: Run, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a labelled .csv/.npz file, as `run.trainer.evaluate` takes them: read as the
    training data was (columns by name, labels by their names), whatever format that came from."""
    ds = load_like(path, run.data.train)
    check_inputs(ds.X, run, str(path))
    dtype = run.params.dtype
    return model_inputs(run.data, ds.X, dtype), loss_targets(ds.y, run.loss_name, dtype)


def output_path(output: Path | None, run_dir: Path) -> Path:
    """Where predictions go (default run_dir/predictions.csv); checked before any work is done."""
    output = Path(output) if output is not None else Path(run_dir) / "predictions.csv"
    if output.is_dir():
        raise DataError(f"{output}: is a folder; give a file name for --output")
    if not output.parent.is_dir():
        raise DataError(f"{output}: the folder {output.parent} does not exist")
    return output


def predict_file(run_dir: Path, input_file: Path, output: Path | None = None) -> Path:
    """Write a trained run's predictions for the inputs in `input_file` as CSV; returns the path."""
    output = output_path(output, run_dir)
    run = load_trained(run_dir)
    X = model_inputs(run.data, read_inputs(input_file, run), run.params.dtype)
    out = run.trainer.predict(X)
    lines = []
    if run.loss_name == "cross_entropy":
        header = ["prediction", *[f"p{k}" for k in range(out.shape[-1])]]
        probs = np.exp(out - out.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        for label, p in zip(np.argmax(out, axis=-1).reshape(len(X), -1), probs.reshape(len(X), -1)):
            lines.append([*(str(int(v)) for v in label), *(repr(float(v)) for v in p)])
    else:
        flat = out.reshape(len(X), -1)
        header = ["prediction"] if flat.shape[1] == 1 else [f"prediction{k}" for k in range(flat.shape[1])]
        lines = [[repr(float(v)) for v in row] for row in flat]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    atomic_write_text(output, buf.getvalue())
    return output
