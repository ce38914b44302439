"""Process-wide settings that make small-model training fast: one BLAS thread and a malloc that keeps
freed temporaries.

Both are opt-out through the environment: set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (or MALLOC_*
variables) yourself and nncli leaves them alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_blas_thread() -> bool:
    """Ask for one BLAS thread, if NumPy is not imported yet and the user set no thread count.

    The matrices of the models nncli is made for are small: a second BLAS thread saves little and, on a
    busy 2-core machine, threads that spin waiting for each other made steps up to 40× slower.
    """
    if "numpy" in sys.modules or any(v in os.environ for v in BLAS_THREAD_VARS):
        return False
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    return True


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
