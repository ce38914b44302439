"""Where a step's time goes, nncli beside PyTorch: median milliseconds in forward, loss, backward and
the update, each framework timed in its own run of steps (after a warm-up), same threads as run.py.

    python -m benchmarks.phases --workloads large_mlp block_d256 --dtypes float32

The loss phase is the loss's value and gradient for nncli and its value only for torch, whose loss
gradient is part of `backward()`; torch's update includes `zero_grad`.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if not __package__:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.threads import prepare

    prepare()

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.threads import DEFAULT_THREADS  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

PHASES = ("forward", "loss", "backward", "update")


def median_phases(step, seconds: float) -> np.ndarray:
    """Median seconds of each phase over about `seconds` of steps, after a few untimed ones."""
    for _ in range(3):
        step()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        times.append(step.phases())
    return np.median(np.array(times), axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases", description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS.names(), metavar="NAME")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per framework and case")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = Table(title=f"median ms per phase, {args.threads} threads")
    for column in ("workload", "dtype", "framework", *PHASES, "total"):
        table.add_column(column, justify="right" if column in (*PHASES, "total") else "left")
    for name in args.workloads:
        workload = WORKLOADS.get(name)
        for dtype in map(np.dtype, args.dtypes):
            data = workload.data(dtype, np.random.default_rng(0))
            nncli_step = workload.nncli(dtype, np.random.default_rng(0), data)
            torch_step = workload.torch(nncli_step.params, data)
            for label, step in (("nncli", nncli_step), ("torch", torch_step)):
                ms = median_phases(step, args.seconds) * 1e3
                table.add_row(name, dtype.name, label, *(f"{v:.3f}" for v in ms), f"{ms.sum():.3f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
