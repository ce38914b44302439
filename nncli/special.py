"""Special functions NumPy lacks. `erf` here is exact to libm (one Python call per element) and slow;
a vectorised version replaces it."""

from __future__ import annotations

import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in the dtype of `x`."""
    x = np.asarray(x)
    return _erf(x).astype(x.dtype)
