"""Process-wide speed settings: how many BLAS threads a run uses, and a malloc that keeps freed temporaries.

The BLAS thread count is chosen per run, not at import: `choose_threads` gives one thread to a model
whose matrix products are too small for a second thread to pay and every available core to one with a
product large enough (`auto_threads`). It is overridden by `training.threads` (or `nncli train
--threads`), then by the environment variable NNCLI_THREADS; worker processes (compare-optimizers
--jobs) pin one thread each, which beats both. `blas_threads(n)` applies a count with threadpoolctl for
the length of a `with` block.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

from nncli.errors import ConfigError

THREADS_VARIABLE = "NNCLI_THREADS"
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# The largest matrix product of a step, in multiply-adds (m·n·k), from which a second BLAS thread pays.
# See `auto_threads` for why, and the timings behind it.
SECOND_THREAD_MATMUL = 2e6

_pinned: int | None = None  # set by pin_threads in worker processes


def available_cores() -> int:
    """Cores this process may run on, capped by a thread count the user gave OpenBLAS/OpenMP/MKL."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for name in BLAS_THREAD_VARS:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            cores = min(cores, int(value))
    return max(1, cores)


def auto_threads(largest_matmul: float, cores: int | None = None) -> int:
    """The policy alone: every core when the step's largest matrix product has at least
    SECOND_THREAD_MATMUL multiply-adds (m·n·k), else one thread.

    It is the size of the single largest product that decides, not the step's total work. OpenBLAS
    itself runs a product of m·n·k ≤ 2.6e5 on one thread (65536 × GEMM_MULTITHREAD_THRESHOLD), and gives
    it two only above 5.2e5, so a model made of many small products (the tiny MLP's 256×16×16, 6.6e4)
    never gets anything from a second thread but its wake-ups; everything else in a step (activations,
    norms, the optimizer's update) is single-threaded NumPy whatever the count. A step with one product
    past the threshold spends enough of its time in threaded GEMM for two threads to win.

    Timed 1 against 2 threads, interleaved, on the benchmark's idle 2-core Zen 3 (AVX2), two threads over
    one: the tiny MLP (6.6e4) 0.97–1.09; a 64→64→64→10 MLP at batch 128 (5.2e5, the first size OpenBLAS
    splits) 1.00, break-even; the medium MLP (8.4e6) 0.79–0.96; the d_model-64 blocks (1.7e7) 0.95–0.99
    with GELU, whose single-threaded exp hides the gain, and 0.74–0.87 with ReLU; the large MLP (2.7e8)
    0.63–0.72, and the d_model-256 block (2.7e8) gains as much. The threshold is four times the
    break-even size, the benchmark's rows 30× below and 4× above it; a second thread that does not pay
    costs more than one missed (see below). On a machine that other processes keep busy, two threads were 3–6×
    slower than one for every model here (a thread waits at a barrier for a descheduled partner): no
    size rule helps there, NNCLI_THREADS=1 does.
    """
    cores = available_cores() if cores is None else cores
    return cores if largest_matmul >= SECOND_THREAD_MATMUL else 1


def _positive(value: str | int, where: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ConfigError(f"{where} must be a positive integer, got {value!r}")
    return n


def choose_threads(
    largest_matmul: float, requested: int | None = None, source: str = "training.threads"
) -> tuple[int, str]:
    """(BLAS threads, where the count came from) for a run whose largest matrix product in a step has
    `largest_matmul` multiply-adds.

    In order: a worker's pin ("worker"), `requested` (training.threads or --threads, named by
    `source`), NNCLI_THREADS, else the policy ("auto").
    """
    if _pinned is not None:
        return _pinned, "worker"
    if requested is not None:
        return _positive(requested, source), source
    raw = os.environ.get(THREADS_VARIABLE)
    if raw is not None and raw.strip():
        return _positive(raw.strip(), THREADS_VARIABLE), THREADS_VARIABLE
    return auto_threads(largest_matmul), "auto"


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with NumPy's BLAS limited to `n` threads (threadpoolctl), restoring it after."""
    from threadpoolctl import threadpool_limits  # a few ms to import: only when a run starts

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def current_blas_threads() -> int | None:
    """The thread count NumPy's BLAS uses now (None if threadpoolctl finds no BLAS)."""
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts) if counts else None


def pin_threads(n: int = 1) -> None:
    """Fix this process at `n` BLAS threads for every later run: for worker processes, which share the
    cores with their siblings (J workers × 1 thread on J cores). The pool's `initializer`."""
    import numpy  # noqa: F401  (loads the BLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    global _pinned
    _pinned = n
    threadpool_limits(limits=n, user_api="blas")


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks up to 64 MiB instead of returning them to the system.

    A training step allocates and frees the same temporaries every time; by default glibc unmaps the
    large ones and page-faults them back in on the next step (about 2,000 faults per transformer block
    step). Keeping them removes that cost. glibc only; elsewhere this does nothing.
    """
    if any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
        )
    except (OSError, AttributeError):
        return False
