"""Fix the thread count of NumPy's BLAS before NumPy loads: import this first and call `limit_threads()`.

OpenBLAS and MKL read OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS once, when they load,
so the variables must be set before anything imports NumPy; if something already has, the process
starts again with them set. torch takes `torch.set_num_threads` at any time.
"""

from __future__ import annotations

import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_THREADS = 2


def requested_threads(argv: list[str]) -> int:
    """--threads N or --threads=N from the command line, read before argparse can run."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return DEFAULT_THREADS


def limit_threads() -> int:
    """Set the variables to the --threads of this command line; returns that count."""
    n = requested_threads(sys.argv[1:])
    changed = any(os.environ.get(name) != str(n) for name in THREAD_VARIABLES)
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(n)))
    if changed and "numpy" in sys.modules:  # too late for this process: start again with them set
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return n
