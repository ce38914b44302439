"""Reading datasets from .csv and .npz files and writing them back, with errors that say where.

A CSV has a header row and `,` `;` or tab between cells (detected from the header, or given); the target
is the column `target` (default: `y` if present, else the last column) and the features are the columns
`features` (default: every other column not in `drop`). Which task the target is, and how class labels
(text or any integers) become 0..k-1, is `nncli.datasets.labels`. An .npz holds arrays `X` and `y` (numbers,
or text labels), optionally `task`, `n_classes`, `vocab_size`, `feature_names` and `target_name`; it is
read with `allow_pickle=False`, so a file holding Python objects is refused and nothing in it runs.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nncli.datasets.base import TASKS, Dataset
from nncli.datasets.labels import Label, choose_task, encode_labels, label_values
from nncli.errors import DataError, excerpt
from nncli.fileio import load_npz

MIN_SAMPLES = 2
MAX_COLUMNS = 100_000  # a header wider than this is not a table nncli can train on


def load_file(
    path: str | Path,
    *,
    target: str | None = None,
    task: str = "auto",
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    delimiter: str | None = None,
    classes: Sequence[Label] | None = None,
) -> Dataset:
    """Read a dataset from a .csv or .npz file; every problem raises DataError naming the file.

    `target`, `features`, `drop` and `delimiter` pick a CSV's columns (`delimiter` None: detected); `task`
    is auto | classification | regression; `classes` are the labels a trained model knows, to encode this
    file's labels the same way (default: the file's own distinct labels, sorted)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        columns = Columns(target, tuple(features) if features is not None else None, tuple(drop))
        return _load_csv(path, columns, task, delimiter, classes)
    if suffix == ".npz":
        given = {"a target column": target, "data.features": features, "data.drop": drop or None}
        for name, value in given.items():
            if value is not None:
                raise DataError(f"{path}: an .npz file keeps its target in array 'y'; {name} is for CSV")
        return _load_npz(path, task, classes)
    raise DataError(f"{path}: unsupported file type '{path.suffix}'; nncli reads .csv and .npz")


def load_like(path: str | Path, like: Dataset) -> Dataset:
    """A file read as `like` was: a CSV's columns by the same names, the same task and the same classes;
    refuses inputs or targets of another shape."""
    path = Path(path)
    csv_file = path.suffix.lower() == ".csv"
    if csv_file and like.is_sequence:
        raise DataError(f"{path}: the model takes sequences; give an .npz file with arrays X and y")
    ds = load_file(
        path,
        target=like.target_name if csv_file else None,
        task=like.task,
        features=like.feature_names if csv_file else None,
        classes=like.class_names,
    )
    if ds.X.shape[1:] != like.X.shape[1:] or ds.vocab_size != like.vocab_size:
        raise DataError(f"{path}: inputs of shape {ds.X.shape}; the model takes {_per_sample(like.X)}")
    if ds.y.shape[1:] != like.y.shape[1:]:
        raise DataError(f"{path}: targets of shape {ds.y.shape}; the model predicts {_per_sample(like.y)}")
    return ds


def _per_sample(array: np.ndarray) -> str:
    return "(" + ", ".join(["samples", *map(str, array.shape[1:])]) + ")"


# ---- CSV ----


@dataclass(frozen=True)
class Columns:
    """Which CSV columns are what: the target (None: `y`, else the last column), the features in order
    (None: every other column) and columns to ignore."""

    target: str | None = None
    features: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()

    def pick(self, path: Path, names: list[str]) -> tuple[str, list[str]]:
        """(target, features) for a header of `names`; refuses names that are not columns, or overlap."""
        kept = [n for n in names if n not in self.drop]
        target = self.target or ("y" if "y" in kept else kept[-1] if kept else names[-1])
        for name in [target, *(self.features or ()), *self.drop]:
            if name not in names:
                raise DataError(f"{path}: no column '{name}'; columns: {', '.join(names)}")
        if target in self.drop or target in (self.features or ()):
            raise DataError(f"{path}: column '{target}' is the target; it cannot be dropped or a feature")
        if self.features is not None:
            clash = sorted(set(self.features) & set(self.drop))
            if clash:
                raise DataError(f"{path}: column {', '.join(map(repr, clash))} is both a feature and dropped")
            features = list(self.features)
        else:
            features = [n for n in kept if n != target]
        if not features:
            raise DataError(
                f"{path}: only the target column '{target}'; at least one feature column is needed"
            )
        return target, features


def _load_csv(
    path: Path, columns: Columns, task: str, delimiter: str | None, classes: Sequence[Label] | None
) -> Dataset:
    lines, rows, delimiter = read_rows(path, delimiter)
    if not rows:
        raise DataError(f"{path}: file is empty")
    names = [cell.strip() for cell in rows[0]]
    _check_header(path, names, rows[0])
    target, features = columns.pick(path, names)
    lines, rows = lines[1:], rows[1:]
    if len(rows) < MIN_SAMPLES:
        raise DataError(f"{path}: needs at least {MIN_SAMPLES} data rows, found {len(rows)}")
    for line, row in zip(lines, rows, strict=True):
        if len(row) != len(names):
            raise DataError(f"{path}: row {line} has {len(row)} values, expected {len(names)}")
    picked = [names.index(n) for n in features]
    X = parse_numbers(path, features, lines, [[row[i] for i in picked] for row in rows])
    col = names.index(target)
    cells = [row[col] for row in rows]
    y = _target_values(path, target, lines, cells, task)
    task, reason = choose_task(task, y, target)
    where = f"{path}: column '{target}'"
    kept = (tuple(features), target, reason, delimiter)
    if task == "regression":
        return _dataset(X, y, "regression", path.stem, None, None, *kept)
    y, found = encode_labels(y, where, classes)
    return _dataset(X, y, "classification", path.stem, found, None, *kept)


def _target_values(path: Path, target: str, lines: list[int], cells: list[str], task: str) -> np.ndarray:
    """The target column as float64 numbers, or as text when its labels are names (never for regression,
    nor in auto when only some cells are text: that is more likely a typo than a class)."""
    numbers = [_is_number(c) for c in cells]
    text = task == "classification" or (task == "auto" and not any(numbers))
    if not text or all(numbers):
        return parse_numbers(path, [target], lines, [[c] for c in cells])[:, 0]
    for line, cell in zip(lines, cells, strict=True):
        if not cell.strip():
            raise DataError(f"{path}: row {line}, column '{target}' is empty")
    return np.array([c.strip() for c in cells])


def _dataset(X, y, task, name, classes, vocab_size, features, target, reason, delimiter=None) -> Dataset:
    n_classes = len(classes) if classes is not None else None
    return Dataset(X, y, task, name, n_classes, vocab_size, features, target, classes, reason, delimiter)


DELIMITERS = (",", ";", "\t")


def detect_delimiter(header: str) -> str:
    """The one of `,` `;` tab that the header line holds most often (a comma when it holds none)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def read_rows(path: Path, delimiter: str | None = None) -> tuple[list[int], list[list[str]], str]:
    """Non-blank rows, the file line each starts on (1-based, the header on its own line), and the
    delimiter (detected from the first non-blank line when None)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if delimiter is None:
        first = next((line for line in text.splitlines() if line.strip()), "")
        delimiter = detect_delimiter(first)
    lines, rows = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):
                lines.append(line)
                rows.append(row)
            line = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"{path}: row {line}: {err}") from None
    return lines, rows, delimiter


def column_list(names: list[str], shown: int = 8) -> str:
    """Column names for a message: short excerpts of the first few (a header may not be a CSV's)."""
    listed = ", ".join(excerpt(n, 24) for n in names[:shown])
    return listed if len(names) <= shown else f"{listed}, … ({len(names):,} in all)"


def _check_header(path: Path, names: list[str], raw: list[str]) -> None:
    """Every check here is linear in the number of columns, which is itself bounded."""
    if len(names) > MAX_COLUMNS:
        raise DataError(f"{path}: the header has {len(names):,} columns; nncli reads at most {MAX_COLUMNS:,}")
    numbers = [cell.strip() for cell in raw if _is_number(cell)]
    if numbers:  # a column name that is a number is the first row of data, which would be lost
        raise DataError(
            f"{path}: no header row; row 1 holds numbers ({column_list(numbers, 4)}); "
            "add a first row naming the columns"
        )
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {i + 1} has no name in the header (row 1)")
    twice = sorted(n for n, count in Counter(names).items() if count > 1)
    if twice:
        shown = ", ".join(repr(excerpt(n, 24)) for n in twice[:5])
        raise DataError(f"{path}: column name {shown} appears twice in the header")


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


# ---- NPZ ----


def _load_npz(path: Path, task_choice: str, classes: Sequence[Label] | None) -> Dataset:
    arrays = load_npz(path, ".npz archive", error=DataError)
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(f"{path}: no array '{key}'; arrays: {', '.join(arrays) or 'none'}")
    X, y = arrays["X"], arrays["y"]
    for key, array in (("X", X), ("y", y)):
        if array.dtype.kind not in "biuf" and not (key == "y" and array.dtype.kind == "U"):  # text: labels
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
    if 0 in X.shape[1:]:
        sequence = vocab_size is not None or X.ndim == 3
        empty = "sequences of length 0" if sequence and X.shape[1] == 0 else "0 features"
        raise DataError(f"{path}: array 'X' has shape {X.shape}: {empty}; nothing to learn from")
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: array 'y' must be 1-D or 2-D (samples[, outputs]); got shape {y.shape}")
    if len(X) != len(y):
        raise DataError(f"{path}: X has {len(X)} samples but y has {len(y)}")
    if len(X) < MIN_SAMPLES:
        raise DataError(f"{path}: needs at least {MIN_SAMPLES} samples, found {len(X)}")
    if y.dtype.kind != "U":
        y = _finite(path, "y", y.astype(np.float64))
    elif task_choice == "regression" or task == "regression":
        raise DataError(f"{path}: array 'y' holds text ({y.dtype}); a regression target must be numbers")

    sequence = vocab_size is not None or X.ndim == 3
    features = _names(path, arrays, X) if not sequence else ()
    target_name = _scalar(path, arrays, "target_name", str) or "y"
    if task_choice == "auto" and task is not None:
        reason = f"{path.name} holds task '{task}'"
    else:
        task, reason = choose_task(task_choice, y, target_name)
    kept = (features, target_name, reason)
    if task == "regression":
        return _dataset(X, y, task, path.stem, None, vocab_size, *kept)
    if y.ndim == 2 and not (sequence and y.shape[1] == X.shape[1]):
        raise DataError(f"{path}: labels 'y' must be 1-D, or (samples, seq_len) for sequences; got {y.shape}")
    if n_classes is not None and classes is None:  # labels 0..n_classes-1, not all of them present
        if y.dtype.kind == "U" or not np.all((y >= 0) & (y < n_classes) & (y == np.round(y))):
            bad = next(v for v in label_values(y.reshape(-1)) if v not in range(n_classes))
            raise DataError(f"{path}: array 'y': label {bad} is out of range for n_classes={n_classes}")
        classes = tuple(range(n_classes))
    y, found = encode_labels(y, f"{path}: array 'y'", classes)
    return _dataset(X, y, task, path.stem, found, vocab_size, *kept)


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
