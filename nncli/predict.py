"""Predictions of a trained run for new inputs, written as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nncli.build import model_inputs
from nncli.checkpoint import atomic_write_text, load_npz
from nncli.errors import DataError
from nncli.rundir import load_trained


def read_inputs(path: Path, n_features: int) -> np.ndarray:
    """Feature columns from a .csv (header row; a target column, if present, is dropped) or X from a .npz."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".npz":
        arrays = load_npz(path, "input file")
        if "X" not in arrays:
            raise DataError(f"{path}: has no array named X")
        return arrays["X"]
    from nncli.datasets import load_file

    try:  # a file with a target column: reuse the full loader and its checks
        ds = load_file(path)
        if ds.X.shape[1] == n_features:
            return ds.X
    except DataError:
        pass
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of inputs")
    header, body = rows[0], rows[1:]
    values = []
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: row {i} has {len(row)} cells, the header {len(header)}")
        try:
            values.append([float(c) for c in row])
        except ValueError:
            raise DataError(f"{path}: row {i} has a cell that is not a number") from None
    X = np.array(values)
    if X.shape[1] != n_features:
        raise DataError(f"{path}: has {X.shape[1]} input columns, the model takes {n_features}")
    if not np.all(np.isfinite(X)):
        raise DataError(f"{path}: holds NaN or infinite values")
    return X


def predict_file(run_dir: Path, input_file: Path, output: Path | None = None) -> Path:
    run = load_trained(run_dir)
    n_features = run.trainer.X.shape[-1]
    X_raw = read_inputs(input_file, n_features)
    X = model_inputs(run.data, X_raw, run.params.dtype)
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
    output = Path(output) if output is not None else Path(run_dir) / "predictions.csv"
    atomic_write_text(output, buf.getvalue())
    return output
