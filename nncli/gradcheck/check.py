"""Gradient checking: analytic gradients against central finite differences in float64.

A `Case` exposes the arrays to perturb (parameters and the input), a scalar `objective()` and the
analytic `gradients()`. The numeric derivative is the fourth-order central difference
(f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h)) / 12h, whose truncation error is O(h⁴), so smooth components
agree to about 1e-10 rather than the 1e-7 of the two-point form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nncli.registry import Registry


@dataclass
class Case:
    """Something to check: arrays perturbed in place, the scalar they feed, and its analytic gradients."""

    tensors: dict[str, np.ndarray]
    objective: Callable[[], float]
    gradients: Callable[[], dict[str, np.ndarray]]
    smooth: bool = True


@dataclass(frozen=True)
class TensorResult:
    name: str
    checked: int
    max_rel_error: float


@dataclass(frozen=True)
class ComponentResult:
    component: str
    tensors: tuple[TensorResult, ...]
    threshold: float

    @property
    def max_rel_error(self) -> float:
        return float(np.max([t.max_rel_error for t in self.tensors], initial=0.0))  # keeps a NaN

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.threshold

    def to_dict(self) -> dict:
        return {
            "component": self.component,
            "passed": self.passed,
            "max_rel_error": self.max_rel_error,
            "threshold": self.threshold,
            "tensors": [t.__dict__ for t in self.tensors],
        }


# name → factory(rng) -> Case; filled by nncli.gradcheck.cases and nncli.gradcheck.transformer_cases
CASES: Registry[Callable[[np.random.Generator], Case]] = Registry("gradcheck component")


SCALE_FLOOR = 1e-3  # entries below this fraction of their tensor's largest gradient count at that size


def relative_error(analytic: np.ndarray, numeric: np.ndarray, scale: float = 0.0) -> np.ndarray:
    """|a − n| / max(|a| + |n|, SCALE_FLOOR·scale, 1e-12), elementwise, with `scale` the largest
    |gradient| of the tensor the entries belong to.

    The floor keeps rounding noise from deciding the result: a finite difference carries an absolute
    error of about 1e-12 of the tensor's gradients, so an entry a few millionths of the largest would
    show a relative error of ~1e-7 with a correct backward (it happened: 1.5e-7 at one seed). Errors
    below ~1e-10 of the scale go unseen; a wrong backward is off by a fraction of the typical entry.
    A non-finite scale gives NaN: a tensor with an inf or NaN gradient never passes.
    """
    if not np.isfinite(scale):
        return np.full(np.shape(analytic), np.nan)
    floor = max(SCALE_FLOOR * scale, 1e-12)
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), floor)


def numeric_derivative(objective: Callable[[], float], array: np.ndarray, index: tuple, eps: float) -> float:
    """∂objective/∂array[index] by the fourth-order central difference; restores the entry."""
    orig = array[index]
    values = []
    for step in (-2, -1, 1, 2):
        array[index] = orig + step * eps
        values.append(objective())
    array[index] = orig
    # grouped as differences so that an objective that does not depend on the entry gives exactly 0
    return ((values[0] - values[3]) + 8 * (values[2] - values[1])) / (12 * eps)


def check_case(
    case: Case,
    *,
    eps: float = 1e-4,
    samples: int = 20,
    rng: np.random.Generator,
    threshold: float = 1e-6,
    name: str,
) -> ComponentResult:
    """Compare `case.gradients()` to finite differences on up to `samples` random entries per tensor."""
    analytic = case.gradients()
    results = []
    for tname, array in case.tensors.items():
        grad = analytic[tname]
        if grad.shape != array.shape:
            raise AssertionError(f"{name}: gradient of {tname} has shape {grad.shape}, tensor {array.shape}")
        n = array.size
        flat_ids = rng.choice(n, size=min(samples, n), replace=False)
        scale = float(np.max(np.abs(grad), initial=0.0))
        errors = []
        for flat in flat_ids:
            index = np.unravel_index(flat, array.shape)
            numeric = numeric_derivative(case.objective, array, index, eps)
            errors.append(float(relative_error(np.asarray(grad[index]), np.asarray(numeric), scale)))
        results.append(TensorResult(tname, len(flat_ids), float(np.max(errors))))  # keeps a NaN
    return ComponentResult(name, tuple(results), threshold)


def run_all(
    names: list[str] | None = None,
    *,
    eps: float = 1e-4,
    samples: int = 20,
    seed: int = 0,
    threshold: float = 1e-6,
) -> list[ComponentResult]:
    """Check every registered component (or those named), each from its own seeded generator."""
    results = []
    for i, cname in enumerate(names or CASES.names()):
        rng = np.random.default_rng([seed, i])
        case = CASES.get(cname)(rng)
        results.append(check_case(case, eps=eps, samples=samples, rng=rng, threshold=threshold, name=cname))
    return results
