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
    from benchmarks.threads import prepare

    prepare()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import measure, peers, report  # noqa: E402
from benchmarks.threads import DEFAULT_THREADS  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402
from nncli.runtime import auto_threads, blas_threads  # noqa: E402
from nncli.training.work import largest_matmul, rows_per_sample  # noqa: E402

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
        "--native-blas", action="store_true", help="without OPENBLAS_CORETYPE/_L2_SIZE: the CPU's own kernel"
    )
    parser.add_argument("--peers", nargs="*", default=None, choices=peers.PEERS,
                        help="optional columns (default: those installed; none if no names)")  # fmt: skip
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds of timing per case (default 9, 1.5 with --quick)"
    )
    parser.add_argument("--settle", type=float, default=measure.SETTLE_S,
                        help=f"seconds of sleep between blocks (default {measure.SETTLE_S})")  # fmt: skip
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
AUTO_TOLERANCE = 1.05  # the thread policy's step at most this much slower than the better fixed count


def contestants(workload, dtype, data, seed: int, threads: int, peer_names: list[str]) -> tuple:
    """nncli at `threads` (and at one thread, for the `auto` column), torch eager and the peers, all from
    the same initial parameters; returns (contestants, first losses, the policy's thread count)."""
    nncli_step = workload.nncli(dtype, np.random.default_rng(seed), data)
    params = nncli_step.params
    steps = {"nncli": nncli_step, "torch": workload.torch(params, data)}
    steps.update((name, peers.build(name, workload, params, data)) for name in peer_names)
    losses = {}  # the first step of each: same start, so the same loss to rounding
    for name, step in steps.items():
        value = step()
        losses[name] = float(value.detach() if hasattr(value, "detach") else value)
    found = [measure.Contestant("nncli", nncli_step, lambda: blas_threads(threads))]
    if threads > 1:
        found.append(measure.Contestant("nncli_1thread", nncli_step, lambda: blas_threads(1)))
    found += [measure.Contestant(name, step) for name, step in steps.items() if name != "nncli"]
    # as nncli.training.trainer measures a step's work: its largest matrix product
    work = largest_matmul(nncli_step.model, data[0].shape[0], rows_per_sample(data[0]))
    return found, losses, auto_threads(work, cores=threads)


def run_case(
    workload,
    dtype: np.dtype,
    *,
    budget_s: float,
    seed: int,
    peak_gflops: float,
    retries: int,
    threads: int = DEFAULT_THREADS,
    peer_names: list[str] = (),
    settle_s: float = measure.SETTLE_S,
) -> dict:
    """Build every step, check that they agree, time them interleaved and measure peak memory."""
    data = workload.data(dtype, np.random.default_rng(seed))
    found, losses, auto = contestants(workload, dtype, data, seed, threads, list(peer_names))
    attempts = 0
    while True:
        attempts += 1
        with measure.Contention() as contention:
            timing = measure.time_interleaved(found, budget_s=budget_s, settle_s=settle_s)
        if contention.share is None or contention.share <= BUSY or attempts > retries:
            break
    del found
    nncli_bytes = measure.nncli_peak_bytes(workload, dtype, seed)
    torch_bytes = measure.torch_peak_bytes(workload, dtype, seed)
    gflop = workload.flop / 1e9
    ms = timing.ms
    nncli_gflops, torch_gflops = gflop / ms["nncli"] * 1e3, gflop / ms["torch"] * 1e3
    fraction_target = workload.peak_fraction_target if dtype == np.float32 else None
    fraction = nncli_gflops / peak_gflops
    by_threads = {threads: ms["nncli"], 1: ms.get("nncli_1thread", ms["nncli"])}
    auto_ms = by_threads[auto]
    peer_rows = {
        name: {
            "ms": ms[name],
            "nncli_ratio": timing.ratio["nncli"] / timing.ratio[name],  # nncli / peer, per round
            "loss": losses[name],
        }
        for name in peer_names
    }
    return {
        "workload": workload.name,
        "description": workload.description,
        "dtype": dtype.name,
        "nncli_ms": ms["nncli"],
        "torch_ms": ms["torch"],
        "ratio": timing.ratio["nncli"],
        "ratio_target": workload.target,
        "ratio_met": timing.ratio["nncli"] <= workload.target,
        "reps": timing.reps,
        "nncli_1thread_ms": by_threads[1],
        "auto_threads": auto,
        "auto_ms": auto_ms,
        "auto_vs_best": auto_ms / min(by_threads.values()),
        "auto_met": auto_ms <= AUTO_TOLERANCE * min(by_threads.values()),
        "peers": peer_rows,
        "after_self_ms": timing.after_self_ms,
        "after_other_ms": timing.after_other_ms,
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
        "loss_nncli": losses["nncli"],
        "loss_torch": losses["torch"],
    }


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    workloads = [WORKLOADS.get(name) for name in args.workloads]  # unknown names fail with "did you mean"
    budget = args.budget if args.budget is not None else (1.5 if args.quick else 9.0)
    torch.set_num_threads(args.threads)
    peer_names = peers.available() if args.peers is None else args.peers
    if "jax" in peer_names and "float64" in args.dtypes:
        import jax

        jax.config.update("jax_enable_x64", True)  # before JAX makes its first array
    machine = measure.machine(args.threads)  # before the run, so that the load average is other work
    report.warn_forced_kernel(machine)
    started = time.perf_counter()
    dtypes = [np.dtype(name) for name in args.dtypes]
    peaks = {dtype.name: measure.matmul_peak_gflops(dtype) for dtype in dtypes}
    results = []
    with report.progress(len(workloads) * len(dtypes)) as advance:
        for workload in workloads:
            for dtype in dtypes:
                advance(f"{workload.name} {dtype.name}")
                timing = dict(budget_s=budget, seed=args.seed, retries=args.retries, threads=args.threads)
                timing.update(peer_names=peer_names, settle_s=args.settle)
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
            "native_blas": args.native_blas,
            "peers": peer_names,
            "settle_s": args.settle,
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
