"""Reading datasets from .csv and .npz files and writing them back, with errors that say where.

A CSV has a header row; the target is the column `target` (default: `y` if present, else the last column)
and every other column is a feature. A target of integers with at most 20 distinct values is read as
class labels, which must then be 0..k-1; anything else is a regression target. An .npz holds arrays `X`
and `y`, optionally `task`, `n_classes`, `vocab_size`, `feature_names` and `target_name`; it is read with
`allow_pickle=False`, so a file holding Python objects is refused and nothing in it runs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nncli.datasets.base import TASKS, Dataset
from nncli.errors import DataError
from nncli.fileio import atomic_write, load_npz

MAX_CLASSES = 20  # an integer target with more distinct values than this is read as a regression target
MIN_SAMPLES = 2


def load_file(path: str | Path, *, target: str | None = None) -> Dataset:
    """Read a dataset from a .csv or .npz file; every problem raises DataError naming the file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _load_csv(path, target)
    if suffix == ".npz":
        if target is not None:
            raise DataError(f"{path}: an .npz file keeps its target in array 'y'; a target column is for CSV")
        return _load_npz(path)
    raise DataError(f"{path}: unsupported file type '{path.suffix}'; nncli reads .csv and .npz")


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


# ---- CSV ----


def _load_csv(path: Path, target: str | None) -> Dataset:
    lines, rows = read_rows(path)
    if not rows:
        raise DataError(f"{path}: file is empty")
    names = [cell.strip() for cell in rows[0]]
    _check_header(path, names, rows[0])
    if target is None:
        target = "y" if "y" in names else names[-1]
    if target not in names:
        raise DataError(f"{path}: no column '{target}'; columns: {', '.join(names)}")
    if len(names) < 2:
        raise DataError(f"{path}: only the target column '{target}'; at least one feature column is needed")
    lines, rows = lines[1:], rows[1:]
    if len(rows) < MIN_SAMPLES:
        raise DataError(f"{path}: needs at least {MIN_SAMPLES} data rows, found {len(rows)}")
    for line, row in zip(lines, rows, strict=True):
        if len(row) != len(names):
            raise DataError(f"{path}: row {line} has {len(row)} values, expected {len(names)}")
    values = parse_numbers(path, names, lines, rows)
    col = names.index(target)
    X = np.delete(values, col, axis=1)
    y = values[:, col]
    features = tuple(n for n in names if n != target)
    where = f"{path}: column '{target}'"
    if _looks_like_labels(y):
        y, k = _labels(y, None, where)
        return Dataset(X, y, "classification", path.stem, k, None, features, target)
    return Dataset(X, y, "regression", path.stem, None, None, features, target)


def read_rows(path: Path) -> tuple[list[int], list[list[str]]]:
    """Non-blank rows and the file line each starts on (1-based, the header on its own line)."""
    lines, rows = [], []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            line = 1
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    lines.append(line)
                    rows.append(row)
                line = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except csv.Error as err:
        raise DataError(f"{path}: row {line}: {err}") from None
    return lines, rows


def _check_header(path: Path, names: list[str], raw: list[str]) -> None:
    if all(_is_number(cell) for cell in raw):
        raise DataError(f"{path}: no header row; row 1 holds numbers ({', '.join(raw[:4])})")
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {i + 1} has no name in the header (row 1)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{path}: column name {', '.join(map(repr, twice))} appears twice in the header")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_numbers(path: Path, names: list[str], lines: list[int], rows: list[list[str]]) -> np.ndarray:
    """All cells as float64; on failure, the first cell that is empty, not a number, or not finite."""
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError:
        for line, row in zip(lines, rows, strict=True):
            for name, cell in zip(names, row, strict=True):
                if not cell.strip():
                    raise DataError(f"{path}: row {line}, column '{name}' is empty") from None
                if not _is_number(cell):
                    raise DataError(
                        f"{path}: row {line}, column '{name}': {cell!r} is not a number"
                    ) from None
        raise  # numpy and float() disagree: a bug, not bad input
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        r, c = bad[0]
        raise DataError(f"{path}: row {lines[r]}, column '{names[c]}': {rows[r][c].strip()!r} is not finite")
    return values


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
    targets = dataset.y.tolist()  # Python ints for labels, Python floats (shortest repr) for regression
    features = dataset.X.astype(np.float64).tolist()
    writer.writerows([*map(repr, x), repr(t)] for x, t in zip(features, targets, strict=True))
    return out.getvalue()


# ---- NPZ ----


def _load_npz(path: Path) -> Dataset:
    arrays = load_npz(path, ".npz archive", error=DataError)
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(f"{path}: no array '{key}'; arrays: {', '.join(arrays) or 'none'}")
    X, y = arrays["X"], arrays["y"]
    for key, array in (("X", X), ("y", y)):
        if array.dtype.kind not in "biuf":
            raise DataError(f"{path}: array '{key}' has dtype {array.dtype}; expected numbers")
    vocab_size = _scalar(path, arrays, "vocab_size", int)
    n_classes = _scalar(path, arrays, "n_classes", int)
    task = _scalar(path, arrays, "task", str)
    if task is not None and task not in TASKS:
        raise DataError(f"{path}: task '{task}' is not one of {', '.join(TASKS)}")

    if vocab_size is not None:
        if X.ndim != 2 or X.dtype.kind not in "iu":
            raise DataError(
                f"{path}: token array 'X' must be 2-D integers (samples, seq_len); got {X.dtype} {X.shape}"
            )
        if X.size and (X.min() < 0 or X.max() >= vocab_size):
            raise DataError(
                f"{path}: tokens in 'X' must lie in 0..{vocab_size - 1} for vocab_size {vocab_size}"
            )
        X = X.astype(np.int64)
    else:
        if X.ndim not in (2, 3):
            raise DataError(
                f"{path}: array 'X' must be 2-D (samples, features) or 3-D (samples, seq_len, features); "
                f"got shape {X.shape}"
            )
        X = _finite(path, "X", X.astype(np.float64))
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: array 'y' must be 1-D or 2-D (samples[, outputs]); got shape {y.shape}")
    if len(X) != len(y):
        raise DataError(f"{path}: X has {len(X)} samples but y has {len(y)}")
    if len(X) < MIN_SAMPLES:
        raise DataError(f"{path}: needs at least {MIN_SAMPLES} samples, found {len(X)}")
    y = _finite(path, "y", y.astype(np.float64))

    sequence = vocab_size is not None or X.ndim == 3
    features = _names(path, arrays, X) if not sequence else ()
    target_name = _scalar(path, arrays, "target_name", str) or "y"
    task = task or ("classification" if _looks_like_labels(y) else "regression")
    if task == "regression":
        return Dataset(X, y, task, path.stem, None, vocab_size, features, target_name)
    if y.ndim == 2 and not (sequence and y.shape[1] == X.shape[1]):
        raise DataError(f"{path}: labels 'y' must be 1-D, or (samples, seq_len) for sequences; got {y.shape}")
    y, k = _labels(y, n_classes, f"{path}: array 'y'")
    return Dataset(X, y, task, path.stem, k, vocab_size, features, target_name)


def _scalar(path: Path, arrays: dict[str, np.ndarray], key: str, kind: type) -> object:
    """An optional 0-d metadata array as a Python int or str; None when absent."""
    if key not in arrays:
        return None
    value = arrays[key]
    ok = value.ndim == 0 and (value.dtype.kind in "iu" if kind is int else value.dtype.kind == "U")
    if not ok:
        raise DataError(f"{path}: '{key}' must be a single {kind.__name__}; got {value.dtype} {value.shape}")
    return kind(value)


def _names(path: Path, arrays: dict[str, np.ndarray], X: np.ndarray) -> tuple[str, ...]:
    if "feature_names" not in arrays:
        return tuple(f"x{i + 1}" for i in range(X.shape[1]))
    names = arrays["feature_names"]
    if names.dtype.kind != "U" or names.shape != (X.shape[1],):
        raise DataError(f"{path}: 'feature_names' must hold {X.shape[1]} strings, one per column of X")
    return tuple(names.tolist())


def _finite(path: Path, key: str, array: np.ndarray) -> np.ndarray:
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        raise DataError(f"{path}: array '{key}' has the non-finite value {array[index]} at index {index}")
    return array


def _npz_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    arrays = {"X": dataset.X, "y": dataset.y, "task": np.array(dataset.task)}
    if dataset.n_classes is not None:
        arrays["n_classes"] = np.array(dataset.n_classes)
    if dataset.vocab_size is not None:
        arrays["vocab_size"] = np.array(dataset.vocab_size)
    if dataset.feature_names:
        arrays["feature_names"] = np.array(dataset.feature_names, dtype=str)
    arrays["target_name"] = np.array(dataset.target_name)
    return arrays


# ---- shared ----


def _looks_like_labels(y: np.ndarray) -> bool:
    """Integers with at most MAX_CLASSES distinct values."""
    return bool(np.all(y == np.round(y))) and len(np.unique(y)) <= MAX_CLASSES


def _labels(y: np.ndarray, n_classes: int | None, where: str) -> tuple[np.ndarray, int]:
    """Class labels as int64 and the class count; without a stated count the labels must be exactly 0..k-1."""
    present = np.unique(y)
    if not np.all(present == np.round(present)) or present[0] < 0:
        raise DataError(f"{where}: class labels must be integers 0..k-1; found {_some(present)}")
    if n_classes is None:
        n_classes = int(present[-1]) + 1
        if len(present) != n_classes:
            raise DataError(
                f"{where}: class labels must be 0..k-1 with every class present; found {_some(present)} "
                f"(an integer target with at most {MAX_CLASSES} distinct values is read as class labels)"
            )
    elif present[-1] >= n_classes:
        raise DataError(f"{where}: label {int(present[-1])} is out of range for n_classes={n_classes}")
    if n_classes < 2:
        raise DataError(f"{where}: only one class ({_some(present)}); classification needs at least 2")
    return y.astype(np.int64), n_classes


def _some(values: np.ndarray) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:10])
    return shown + (", …" if len(values) > 10 else "")
