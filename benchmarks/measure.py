"""How the benchmark measures: interleaved step timing, peak memory, the matmul peak and the machine.

Timing alternates blocks of nncli steps and blocks of torch steps (about 40 ms each, the order flipping
every round) after a warm-up, with the garbage collector off as `timeit` does, so that anything else
slowing the machine down hits both alike. The first step of each block is not timed: it absorbs the
switch from the other framework (whose threads may still be spinning). The ratio is the median over
rounds of the ratio of the two blocks' medians.

Peak memory is the most bytes live at once during three training steps, counting everything the
framework allocated for the model (parameters, gradients, optimizer state, activations, temporaries)
but not the input batch, which both share. For nncli it comes from `tracemalloc` (NumPy reports its
array allocations to it); for torch from the profiler's record of every CPU allocator call.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import platform
import re
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.workloads import Workload


@dataclass(frozen=True)
class Timing:
    nncli_ms: float  # median per step
    torch_ms: float
    ratio: float  # median over rounds of (nncli's median step / torch's median step) in the round
    reps: int  # timed steps of each


def _run_for(step, seconds: float, at_least: int) -> float:
    """Call `step` for about `seconds` (and at least `at_least` times); returns seconds per call."""
    n, start = 0, time.perf_counter()
    while n < at_least or time.perf_counter() - start < seconds:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def _time_block(step, k: int, out: list[float]) -> float:
    """Run `step` k + 1 times; the first absorbs the switch from the other framework (its threads still
    spinning, caches holding its data), the other k are timed into `out`. Returns their median."""
    clock = time.perf_counter
    step()
    times = []
    for _ in range(k):
        t0 = clock()
        step()
        times.append(clock() - t0)
    out.extend(times)
    return float(np.median(times))


def time_interleaved(nncli_step, torch_step, *, budget_s: float, block_s: float = 0.04) -> Timing:
    """Warm both up, then alternate blocks of about `block_s` of each framework's steps (the order
    flipping each round) until `budget_s` is spent, at least 8 rounds."""
    warm = min(1.0, budget_s / 8)
    t_nncli, t_torch = _run_for(nncli_step, warm, 3), _run_for(torch_step, warm, 3)
    k = max(1, round(block_s / max(t_nncli, t_torch)))
    rounds = max(8, round(budget_s / ((k + 1) * (t_nncli + t_torch))))
    ours: list[float] = []
    theirs: list[float] = []
    ratios = np.empty(rounds)
    gc.collect()
    gc.disable()
    try:
        for i in range(rounds):
            if i % 2 == 0:
                a = _time_block(nncli_step, k, ours)
                b = _time_block(torch_step, k, theirs)
            else:
                b = _time_block(torch_step, k, theirs)
                a = _time_block(nncli_step, k, ours)
            ratios[i] = a / b
    finally:
        gc.enable()
    return Timing(
        nncli_ms=float(np.median(ours) * 1e3),
        torch_ms=float(np.median(theirs) * 1e3),
        ratio=float(np.median(ratios)),
        reps=len(ours),
    )


class Contention:
    """The share of the machine's CPU time that other processes used while the block ran (Linux).

    From /proc/stat's busy time less this process's own CPU time, over wall time × cores: 0 on an idle
    machine; 0.5 on two cores means one core's worth of other work, enough to wreck threaded timings.
    """

    def __enter__(self) -> Contention:
        self.share: float | None = None
        self._start = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        end = self._sample()
        if self._start is None or end is None:
            return
        (busy0, own0, wall0), (busy1, own1, wall1) = self._start, end
        cores = os.cpu_count() or 1
        self.share = max(0.0, ((busy1 - busy0) - (own1 - own0)) / ((wall1 - wall0) * cores))

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
        times = os.times()
        return busy, times.user + times.system, time.perf_counter()


def nncli_peak_bytes(workload: Workload, dtype: np.dtype, seed: int, steps: int = 3) -> int:
    """Most bytes live during `steps` nncli steps, of what was allocated from the model's build on."""
    data = workload.data(dtype, np.random.default_rng(seed))
    gc.collect()
    tracemalloc.start()
    try:
        step = workload.nncli(dtype, np.random.default_rng(seed), data)
        tracemalloc.reset_peak()  # building may briefly hold two copies of the parameters
        for _ in range(steps):
            step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_peak_bytes(workload: Workload, dtype: np.dtype, seed: int, steps: int = 3) -> int | None:
    """The same for torch, from the profiler's allocation events (a private API: None if it moves).

    The live total runs over every allocation and free from the model's build on; the peak is taken
    over the steps, which run inside a `record_function("steps")` that marks where they begin.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    data = workload.data(dtype, np.random.default_rng(seed))
    params = workload.nncli(dtype, np.random.default_rng(seed), data).params
    gc.collect()
    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step = workload.torch(params, data)
            with record_function("steps"):
                for _ in range(steps):
                    step()
        allocation = torch._C._profiler._EventType.Allocation
        events, begin, stack = [], None, list(prof.profiler.kineto_results.experimental_event_tree())
        while stack:
            node = stack.pop()
            if node.tag == allocation:
                events.append((node.start_time_ns, node.extra_fields.alloc_size))
            elif node.name == "steps":
                begin = node.start_time_ns
            stack.extend(node.children)
    except (AttributeError, RuntimeError):
        return None
    if begin is None:
        return None
    events.sort()
    live = itertools.accumulate(size for _, size in events)
    return max((total for (t, _), total in zip(events, live) if t >= begin), default=0)


def matmul_peak_gflops(dtype: np.dtype, n: int = 1024, seconds: float = 0.6) -> float:
    """Best GFLOP/s of `np.matmul` on two n×n matrices of `dtype` (2n³ flop a product)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _cpu_model() -> str:
    with contextlib.suppress(OSError):  # no /proc (not Linux): fall back to what platform knows
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _numpy_blas() -> str:
    """NumPy's BLAS as its build configuration names it, e.g. 'scipy-openblas 0.3.31 (Haswell …)'."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):
        return "unknown"
    config = " ".join(str(blas.get("openblas configuration", "")).split())
    return f"{blas.get('name', '?')} {blas.get('version', '')}" + (f" ({config})" if config else "")


def _torch_blas() -> str:
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return found.group(1) if found else "unknown"


def machine(threads: int) -> dict:
    """The machine and libraries, for the JSON and the README."""
    return {
        "cpu": _cpu_model(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": threads,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": _numpy_blas(),
        "torch": torch.__version__,
        "torch_blas": _torch_blas(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews everything
    }
