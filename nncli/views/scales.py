"""Choices every picture of losses shares, so the terminal, the PNGs and the report agree."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

LOG_DECADES = 1.0  # a loss axis is logarithmic by default once the positive values span this many decades


def log_axis(values: Iterable[np.ndarray], log_y: bool | None = None) -> bool:
    """Whether a loss axis is logarithmic: as asked, or (None) when its positive values span > a decade."""
    if log_y is not None:
        return log_y
    arrays = [np.asarray(v, float).ravel() for v in values]
    ys = np.concatenate(arrays) if arrays else np.zeros(0)
    ys = ys[np.isfinite(ys) & (ys > 0)]
    return bool(ys.size >= 2 and np.log10(ys.max() / ys.min()) > LOG_DECADES)
