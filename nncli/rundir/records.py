"""The one check that a folder is a run directory, and reading its records, metrics.jsonl and
summary.json, strictly: every command that reads them
refuses a damaged file with its name and line instead of crashing or guessing.

The one thing forgiven is a last line without its newline: a run killed while appending leaves at most
that, and it is skipped. Anything else that is not what nncli writes was damaged or edited.
"""

from __future__ import annotations

import json
from pathlib import Path

from nncli.errors import CheckpointError, excerpt, visible
from nncli.fileio import fault


def require_run_directory(path: str | Path) -> Path:
    """`path` as a Path if it is a folder written by `nncli train` (it has config.yaml), else a clear
    error."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory")
    if not path.is_dir():
        raise CheckpointError(f"{path}: is a file; give a run directory written by `nncli train`")
    if not (path / "config.yaml").is_file():
        raise CheckpointError(
            f"{path}: not a run directory (no config.yaml); give a folder written by `nncli train`"
        )
    return path


def _read_bytes(path: Path, what: str) -> bytes | None:
    if not path.exists():
        return None
    if path.is_dir():
        raise CheckpointError(f"{visible(path)}: is a folder where the run keeps its {what}; remove it")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fault(exc, "reading", path) from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CheckpointError(
            f"{visible(path)}: line {line} is not UTF-8 text; the file is damaged"
        ) from None


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The rows of RUN_DIR/metrics.jsonl ([] when there is none yet), each checked: a JSON object whose
    'step' is a whole number and whose other values are numbers or null."""
    path = Path(run_dir) / "metrics.jsonl"
    data = _read_bytes(path, "metrics")
    if data is None:
        return []
    lines = _decode(path, data).split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        last = number == len(lines)  # no newline after it: possibly torn by a kill
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if last:
                continue
            raise CheckpointError(
                f"{visible(path)}: line {number} is not JSON ({excerpt(line)!r}); the file is damaged"
            ) from None
        rows.append(_check_row(row, path, number))
    return rows


def _check_row(row, path: Path, number: int) -> dict:
    where = f"{visible(path)}: line {number}"
    if not isinstance(row, dict):
        raise CheckpointError(f"{where} is {excerpt(json.dumps(row))}, not a JSON object of one step")
    step = row.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{where}: 'step' is {excerpt(json.dumps(step))}, expected a whole number")
    for key, value in row.items():
        if isinstance(value, bool) or not isinstance(value, int | float | None):
            raise CheckpointError(
                f"{where}: '{excerpt(key)}' is {excerpt(json.dumps(value))}, expected a number or null"
            )
    return row


def read_summary(run_dir: str | Path) -> dict:
    """RUN_DIR/summary.json as a dict; {} while the run has none (still training, or killed)."""
    path = Path(run_dir) / "summary.json"
    data = _read_bytes(path, "summary")
    if data is None:
        return {}
    text = _decode(path, data)
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{visible(path)}: line {exc.lineno} is not valid JSON; the file is damaged"
        ) from None
    if not isinstance(summary, dict):
        raise CheckpointError(
            f"{visible(path)}: holds {excerpt(json.dumps(summary))}, not the JSON object nncli writes"
        )
    return summary
