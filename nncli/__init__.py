"""nncli: train small neural networks from YAML configs on an engine written in NumPy alone."""

from nncli import runtime as _runtime

# Before anything imports NumPy: see nncli.runtime for why, and how to opt out.
_runtime.single_blas_thread()
_runtime.keep_freed_memory()

__version__ = "0.1.0"
