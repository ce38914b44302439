"""Writing a dataset to .csv or .npz, atomically, so that `load_file` reads it back exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nncli.datasets.base import Dataset
from nncli.errors import DataError
from nncli.fileio import atomic_write


def save_file(dataset: Dataset, path: str | Path) -> None:
    """Write a dataset to .csv (tabular data, one target column) or .npz (anything), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; nncli writes .csv and .npz")
    if not path.parent.is_dir():
        raise DataError(f"{path}: directory {path.parent} does not exist")
    if suffix == ".csv":
        data = _csv_text(dataset, path).encode("utf-8")
        atomic_write(path, lambda f: f.write(data))
    else:
        atomic_write(path, lambda f: np.savez(f, **_npz_arrays(dataset)))


def _csv_text(dataset: Dataset, path: Path) -> str:
    """Header of feature names then the target name; floats in repr form, so they read back exactly."""
    if dataset.is_sequence or dataset.X.ndim != 2 or dataset.y.ndim != 1:
        raise DataError(f"{path}: CSV holds tabular data with one target column; save {dataset.name} as .npz")
    names = list(dataset.feature_names) or [f"x{i + 1}" for i in range(dataset.X.shape[1])]
    if len(names) != dataset.X.shape[1] or dataset.target_name in names:
        raise DataError(
            f"{path}: feature names {names} do not fit X{dataset.X.shape} and target '{dataset.target_name}'"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, dataset.target_name])
    targets = _stored_targets(dataset).tolist()  # Python ints or names for labels, floats for regression
    features = dataset.X.astype(np.float64).tolist()
    for x, t in zip(features, targets, strict=True):
        writer.writerow([*map(repr, x), t if isinstance(t, str) else repr(t)])
    return out.getvalue()


def _npz_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    arrays = {"X": dataset.X, "y": _stored_targets(dataset), "task": np.array(dataset.task)}
    if dataset.n_classes is not None and dataset.class_names == tuple(range(dataset.n_classes)):
        arrays["n_classes"] = np.array(dataset.n_classes)
    if dataset.vocab_size is not None:
        arrays["vocab_size"] = np.array(dataset.vocab_size)
    if dataset.feature_names:
        arrays["feature_names"] = np.array(dataset.feature_names, dtype=str)
    arrays["target_name"] = np.array(dataset.target_name)
    return arrays


def _stored_targets(dataset: Dataset) -> np.ndarray:
    """Targets as they are written to a file: class labels back under their original names."""
    if dataset.classes is None:
        return dataset.y
    return np.array(dataset.classes)[dataset.y]
