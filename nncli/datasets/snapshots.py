"""The bundled CSV snapshots in the repository's `datasets/` folder, and how to regenerate them.

Each is `generate(name, seed=0, samples=..., noise=...)` with the generator's default parameters, written by
`save_file`. Regenerate them all with `python -m nncli.datasets.snapshots [FOLDER]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nncli.datasets.base import Dataset, generate
from nncli.datasets.writing import save_file

SEED = 0
# name → (samples, noise); every other parameter keeps its default
SNAPSHOTS: dict[str, tuple[int, float]] = {
    "xor": (200, 0.05),
    "circles": (200, 0.05),
    "moons": (200, 0.1),
    "spirals": (300, 0.02),
    "sine": (200, 0.1),
    "linear": (200, 0.1),
}


def snapshot(name: str) -> Dataset:
    """The dataset behind `datasets/{name}.csv`."""
    samples, noise = SNAPSHOTS[name]
    return generate(name, samples=samples, noise=noise, seed=SEED)


def write_snapshots(folder: str | Path) -> list[Path]:
    """Write every snapshot as `{folder}/{name}.csv`; returns the paths written."""
    paths = [Path(folder) / f"{name}.csv" for name in SNAPSHOTS]
    for name, path in zip(SNAPSHOTS, paths, strict=True):
        save_file(snapshot(name), path)
    return paths


if __name__ == "__main__":
    for written in write_snapshots(sys.argv[1] if len(sys.argv) > 1 else "datasets"):
        print(written)
