"""Reading a run directory's own files: the one check that a folder is a run, its metrics and summary.

Writers (`directory.RunDirectory`) replace files atomically and append whole lines to metrics.jsonl, so
a reader sees whole files; a torn last line of a killed run is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

from nncli.errors import CheckpointError


def require_run_directory(path: str | Path) -> Path:
    """`path` as a Path if it is a folder written by `nncli train` (it has config.yaml), else a clear error."""
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


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The rows of a run's metrics.jsonl, in order; [] when it has none. A torn line is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def read_summary(run_dir: str | Path) -> dict:
    """A run's summary.json, or {} while it has none (a run still training, or killed)."""
    path = Path(run_dir) / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        return {}
