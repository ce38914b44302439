"""The benchmark's process environment, fixed before NumPy loads: import this first and call `prepare()`.

OpenBLAS and MKL read OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS once, when they load,
and OpenBLAS picks its kernel then too: OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) force one, as some
machines set them to work around bugs of older builds, which can run AVX2 kernels on an AVX-512 CPU.
So the variables must be set before anything imports NumPy; if something already has, the process
starts again with them set. `--native-blas` removes the two kernel variables, so that the CPU's own
kernel is measured; without it the environment's kernel is left alone (never change them in tests or
CI). torch takes `torch.set_num_threads` at any time.
"""

from __future__ import annotations

import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
DEFAULT_THREADS = 2


def requested_threads(argv: list[str]) -> int:
    """--threads N or --threads=N from the command line, read before argparse can run."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return DEFAULT_THREADS


def forced_kernel(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel variables set in the environment (empty when OpenBLAS picks the CPU's own)."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in KERNEL_VARIABLES if name in environ}


def environment(argv: list[str], environ: dict[str, str]) -> dict[str, str]:
    """`environ` as this command line needs it: the thread variables at --threads and, with
    --native-blas, no kernel variables."""
    wanted = {**environ, **dict.fromkeys(THREAD_VARIABLES, str(requested_threads(argv)))}
    if "--native-blas" in argv:
        for name in KERNEL_VARIABLES:
            wanted.pop(name, None)
    return wanted


def prepare(argv: list[str] | None = None) -> int:
    """Make the process environment what `environment` says, re-executing if NumPy is already loaded
    and something changed. Returns the thread count."""
    argv = sys.argv[1:] if argv is None else argv
    wanted = environment(argv, dict(os.environ))
    changed = wanted != dict(os.environ)
    os.environ.clear()
    os.environ.update(wanted)
    if changed and "numpy" in sys.modules:  # too late for this process: start again with them set
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return requested_threads(argv)
