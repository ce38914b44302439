"""How the benchmark measures: interleaved step timing, peak memory, the matmul peak and the machine.

Timing runs blocks of each contestant's steps in turn (nncli at each thread count, torch, and the
optional peers: about 40 ms a block, the order reversing every round) after a warm-up, with the garbage
collector off as `timeit` does, so that anything else slowing the machine down hits all alike. Blocks
are separated by a short sleep, so that one framework's worker threads, which keep spinning for a while
after its last step, do not tax the next one; the first step of each block is not timed either. A
ratio is the median over rounds of the ratio of two blocks' medians in the round.

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
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.threads import forced_kernel
from benchmarks.workloads import Workload


@dataclass(frozen=True)
class Contestant:
    """One framework's step in the interleaving; `context` is entered around each of its blocks (nncli
    at a fixed BLAS thread count: threadpoolctl's limit, whose few ms stay outside the timed steps)."""

    name: str
    step: Callable[[], object]
    context: Callable[[], AbstractContextManager] = contextlib.nullcontext


@dataclass(frozen=True)
class Timing:
    ms: dict[str, float]  # median per step over all timed steps
    ratio: dict[str, float]  # median over rounds of (its median step / the reference's) in the round
    reps: int  # timed steps of each
    after_self_ms: dict[str, float | None]  # median step in blocks that followed its own block
    after_other_ms: dict[str, float | None]  # ... that followed another contestant's block


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


SETTLE_S = 0.15  # idle time between blocks: OpenBLAS's and OpenMP's spinning threads go to sleep by then


def time_interleaved(
    contestants: list[Contestant],
    *,
    budget_s: float,
    reference: str = "torch",
    block_s: float = 0.04,
    settle_s: float = SETTLE_S,
) -> Timing:
    """Warm each up, then run blocks of about `block_s` of each contestant's steps in turn (the order
    reversing each round and rotating every second one, so that every contestant follows itself as well
    as the others) until
    `budget_s` is spent, at least 8 rounds. Between blocks the process sleeps `settle_s`, so that one
    framework's worker threads, still spinning after its last step, do not tax the next framework's
    block; `after_self_ms` against `after_other_ms` shows whether that worked."""
    warm = min(1.0, budget_s / 8)
    per_step = {}
    for c in contestants:
        with c.context():
            per_step[c.name] = _run_for(c.step, warm, 3)
    k = max(1, round(block_s / max(per_step.values())))
    per_round = sum((k + 1) * t + settle_s for t in per_step.values())
    rounds = max(8, round(budget_s / per_round))
    times: dict[str, list[float]] = {c.name: [] for c in contestants}
    after: dict[tuple[str, bool], list[float]] = {}
    blocks = np.empty((rounds, len(contestants)))
    n, previous = len(contestants), None
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            # rotated every second round and reversed every other: the last of an even round opens the
            # next, so each contestant in turn follows its own block
            order = [(i + r // 2) % n for i in range(n)]
            for i in order if r % 2 == 0 else order[::-1]:
                c = contestants[i]
                time.sleep(settle_s)
                with c.context():
                    blocks[r, i] = _time_block(c.step, k, times[c.name])
                after.setdefault((c.name, previous == c.name), []).append(blocks[r, i])
                previous = c.name
    finally:
        gc.enable()
    names = [c.name for c in contestants]
    ref = blocks[:, names.index(reference)] if reference in names else blocks[:, 0]

    def median_of(key) -> float | None:
        return float(np.median(after[key]) * 1e3) if key in after else None

    return Timing(
        ms={name: float(np.median(times[name]) * 1e3) for name in names},
        ratio={name: float(np.median(blocks[:, i] / ref)) for i, name in enumerate(names)},
        reps=len(times[names[0]]),
        after_self_ms={name: median_of((name, True)) for name in names},
        after_other_ms={name: median_of((name, False)) for name in names},
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


def numpy_blas_kernel() -> str | None:
    """The kernel NumPy's OpenBLAS runs (threadpoolctl's `architecture`, e.g. 'SkylakeX', 'Haswell')."""
    from threadpoolctl import threadpool_info

    kernels = [lib.get("architecture") for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return next((k for k in kernels if k), None)


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
        "numpy_blas_kernel": numpy_blas_kernel(),
        "blas_kernel_forced_by": forced_kernel(),  # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set
        "torch": torch.__version__,
        "torch_blas": _torch_blas(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews everything
    }
