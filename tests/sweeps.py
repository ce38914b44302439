"""What the sweep tests compare: everything a sweep folder holds that does not measure time or name
the worker, so two backends' folders are equal exactly when their trials gave bit-identical results."""

import json
from pathlib import Path

import numpy as np

TIMING = {"wall_time_s", "steps_per_s", "time_s", "worker", "run_dir"}


def fingerprint(directory: Path) -> dict:
    """rows, summaries, metrics and every array (the checkpoint's meta holds the elapsed time)."""
    directory = Path(directory)
    rows = [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]
    out = {
        "rows": sorted(
            ({k: v for k, v in r.items() if k not in TIMING} for r in rows), key=lambda r: r["index"]
        )
    }
    for trial in sorted((directory / "trials").iterdir()):
        summary = json.loads((trial / "summary.json").read_text())
        metrics = [json.loads(line) for line in (trial / "metrics.jsonl").read_text().splitlines()]
        arrays = {}
        for npz in sorted(trial.glob("*.npz")):
            with np.load(npz) as f:
                arrays.update({f"{npz.stem}/{k}": f[k].tobytes() for k in f.files if k != "meta"})
        out[trial.name] = {
            "summary": {k: v for k, v in summary.items() if k not in TIMING},
            "metrics": [{k: v for k, v in m.items() if k not in TIMING} for m in metrics],
            "arrays": arrays,
            "config": (trial / "config.yaml").read_text(),
        }
    return out
