"""The run directories under a folder (default `runs/`), newest first, with how each one ended."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from nncli.errors import CheckpointError


def list_runs(root: str | Path = "runs") -> list[dict]:
    """One entry per run directory in `root` (a folder holding config.yaml): name, path, status, steps,
    best validation metric, wall time and start time, newest first. A run without summary.json is still
    training or was killed: its status is 'no summary'."""
    root = Path(root)
    if not root.is_dir():
        raise CheckpointError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
    entries = []
    for path in root.iterdir():
        config = path / "config.yaml"
        if not path.is_dir() or not config.is_file():
            continue
        summary = _read_json(path / "summary.json")
        first = path / "init.npz"  # written once, at the start (config.yaml changes when a run is continued)
        started = (first if first.is_file() else config).stat().st_mtime
        entries.append(
            {
                "name": summary.get("name") or path.name,
                "path": str(path),
                "status": summary.get("status", "no summary"),
                "steps": summary.get("steps"),
                "total_steps": summary.get("total_steps"),
                "metric": summary.get("metric"),
                "best_val_metric": summary.get("best_val_metric"),
                "best_val_loss": summary.get("best_val_loss"),
                "wall_time_s": summary.get("wall_time_s"),
                "started": datetime.fromtimestamp(started).isoformat(sep=" ", timespec="minutes"),
                "_order": (started, path.name),
            }
        )
    entries.sort(key=lambda e: e.pop("_order"), reverse=True)
    return entries


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
