"""Time nncli against PyTorch eager on the benchmark workloads; print a table and write JSON.

    python -m benchmarks.run                      # everything, 2 threads, about 3 minutes
    python -m benchmarks.run --quick --workloads tiny_mlp large_mlp --dtypes float32

The thread count must be fixed before NumPy's BLAS starts, so this module sets OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS (benchmarks/threads.py) before it imports anything else;
torch gets `torch.set_num_threads`.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if not __package__:  # run as a file: make `benchmarks` importable from the repository root
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.threads import limit_threads

    limit_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import measure, report  # noqa: E402
from benchmarks.threads import DEFAULT_THREADS  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

SCHEMA_VERSION = 1
DTYPES = ("float32", "float64")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timing (about 1.5 s per case)")
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS.names(), metavar="NAME",
                        help=f"any of {', '.join(WORKLOADS.names())} (default: all)")  # fmt: skip
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads for both (default 2)")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds of timing per case (default 9, 1.5 with --quick)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="times to redo a case that other processes disturbed (default 1)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latest.json"))
    return parser


BUSY = 0.05  # other processes' share of the CPU above which a timing is redone


def run_case(
    workload, dtype: np.dtype, *, budget_s: float, seed: int, peak_gflops: float, retries: int
) -> dict:
    """Build both steps, check that they agree, time them interleaved and measure peak memory."""
    data = workload.data(dtype, np.random.default_rng(seed))
    nncli_step = workload.nncli(dtype, np.random.default_rng(seed), data)
    torch_step = workload.torch(nncli_step.params, data)
    loss_nncli, loss_torch = float(nncli_step()), float(torch_step().detach())  # same start, same loss
    attempts = 0
    while True:
        attempts += 1
        with measure.Contention() as contention:
            timing = measure.time_interleaved(nncli_step, torch_step, budget_s=budget_s)
        if contention.share is None or contention.share <= BUSY or attempts > retries:
            break
    del nncli_step, torch_step
    nncli_bytes = measure.nncli_peak_bytes(workload, dtype, seed)
    torch_bytes = measure.torch_peak_bytes(workload, dtype, seed)
    gflop = workload.flop / 1e9
    nncli_gflops, torch_gflops = gflop / timing.nncli_ms * 1e3, gflop / timing.torch_ms * 1e3
    fraction_target = workload.peak_fraction_target if dtype == np.float32 else None
    fraction = nncli_gflops / peak_gflops
    return {
        "workload": workload.name,
        "description": workload.description,
        "dtype": dtype.name,
        "nncli_ms": timing.nncli_ms,
        "torch_ms": timing.torch_ms,
        "ratio": timing.ratio,
        "ratio_target": workload.target,
        "ratio_met": timing.ratio <= workload.target,
        "reps": timing.reps,
        "gflop_per_step": gflop,
        "nncli_gflops": nncli_gflops,
        "torch_gflops": torch_gflops,
        "nncli_peak_fraction": fraction,
        "torch_peak_fraction": torch_gflops / peak_gflops,
        "peak_fraction_target": fraction_target,
        "peak_fraction_met": None if fraction_target is None else fraction >= fraction_target,
        "nncli_peak_mb": nncli_bytes / 1e6,
        "torch_peak_mb": None if torch_bytes is None else torch_bytes / 1e6,
        "other_cpu_share": None if contention.share is None else round(contention.share, 3),
        "attempts": attempts,
        "loss_nncli": loss_nncli,
        "loss_torch": loss_torch,
    }


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    workloads = [WORKLOADS.get(name) for name in args.workloads]  # unknown names fail with "did you mean"
    budget = args.budget if args.budget is not None else (1.5 if args.quick else 9.0)
    torch.set_num_threads(args.threads)
    machine = measure.machine(args.threads)  # before the run, so that the load average is other work
    started = time.perf_counter()
    dtypes = [np.dtype(name) for name in args.dtypes]
    peaks = {dtype.name: measure.matmul_peak_gflops(dtype) for dtype in dtypes}
    results = []
    with report.progress(len(workloads) * len(dtypes)) as advance:
        for workload in workloads:
            for dtype in dtypes:
                advance(f"{workload.name} {dtype.name}")
                timing = dict(budget_s=budget, seed=args.seed, retries=args.retries)
                results.append(run_case(workload, dtype, peak_gflops=peaks[dtype.name], **timing))
    summary = {
        "schema_version": SCHEMA_VERSION,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "settings": {
            "threads": args.threads,
            "quick": args.quick,
            "budget_s": budget,
            "seed": args.seed,
            "retries": args.retries,
            "workloads": args.workloads,
            "dtypes": args.dtypes,
        },
        "machine": machine,
        "matmul_peak_gflops": peaks,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    report.print_summary(summary, args.out)
    return summary


if __name__ == "__main__":
    main()
