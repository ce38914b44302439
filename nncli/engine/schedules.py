"""Learning-rate schedules: `lr_at(t)` is the learning rate after t scheduler steps.

The trainer sets `optimizer.lr = schedule.lr_at(t)` before optimizer step t + 1 (t = 0, 1, ...), which
is PyTorch's order of `optimizer.step()` then `scheduler.step()`. The closed forms below equal the lr
that torch.optim.lr_scheduler's StepLR, ExponentialLR, CosineAnnealingLR and LinearLR reach by their
step-by-step updates, to rounding.
"""

from __future__ import annotations

import math

from nncli.registry import Registry

SCHEDULES: Registry = Registry("schedule")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _power(base: float, exponent: int) -> float:
    """base**exponent, inf where it overflows (a growing schedule then shows up as divergence)."""
    try:
        return base**exponent
    except OverflowError:
        return math.inf


class Schedule:
    """Base: the learning rate as a function of the number of scheduler steps taken."""

    def __init__(self, base_lr: float) -> None:
        _require(base_lr >= 0, f"base_lr must be >= 0, got {base_lr}")
        self.base_lr = float(base_lr)

    def lr_at(self, t: int) -> float:
        _require(t >= 0, f"a schedule step must be >= 0, got {t}")
        return self._lr(t)

    def _lr(self, t: int) -> float:
        raise NotImplementedError


@SCHEDULES.register("constant")
class Constant(Schedule):
    """lr = base_lr at every step."""

    def _lr(self, t: int) -> float:
        return self.base_lr


@SCHEDULES.register("step")
class StepLR(Schedule):
    """torch's StepLR: lr = base_lr · gamma^⌊t / step_size⌋ (multiply by gamma every step_size steps)."""

    def __init__(self, base_lr: float, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(base_lr)
        _require(step_size >= 1, f"step_size must be >= 1, got {step_size}")
        _require(gamma >= 0, f"gamma must be >= 0, got {gamma}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def _lr(self, t: int) -> float:
        return self.base_lr * _power(self.gamma, t // self.step_size)


@SCHEDULES.register("exponential")
class ExponentialLR(Schedule):
    """torch's ExponentialLR: lr = base_lr · gammaᵗ."""

    def __init__(self, base_lr: float, gamma: float) -> None:
        super().__init__(base_lr)
        _require(gamma >= 0, f"gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def _lr(self, t: int) -> float:
        return self.base_lr * _power(self.gamma, t)


@SCHEDULES.register("cosine")
class CosineAnnealingLR(Schedule):
    """torch's CosineAnnealingLR (https://arxiv.org/abs/1608.03983, without restarts):
    lr = eta_min + (base_lr − eta_min)·(1 + cos(π·t / T_max))/2, reaching eta_min at t = T_max and, as in
    torch, rising again after it (the cosine continues with period 2·T_max)."""

    def __init__(self, base_lr: float, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(base_lr)
        _require(T_max >= 1, f"T_max must be >= 1, got {T_max}")
        _require(eta_min >= 0, f"eta_min must be >= 0, got {eta_min}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def _lr(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


@SCHEDULES.register("warmup")
class LinearLR(Schedule):
    """torch's LinearLR, used for warm-up: the factor on base_lr moves linearly from start_factor (at t = 0)
    to end_factor (at t = total_iters) and stays there:
    lr = base_lr · (start_factor + (end_factor − start_factor)·min(t, total_iters)/total_iters).
    Unlike the other schedules, lr_at(0) is base_lr·start_factor, as torch sets it at construction."""

    def __init__(
        self, base_lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
    ) -> None:
        super().__init__(base_lr)
        _require(0 < start_factor <= 1, f"start_factor must be in (0, 1], got {start_factor}")
        _require(0 <= end_factor <= 1, f"end_factor must be in [0, 1], got {end_factor}")
        _require(total_iters >= 1, f"total_iters must be >= 1, got {total_iters}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = int(total_iters)

    def _lr(self, t: int) -> float:
        frac = (self.end_factor - self.start_factor) * min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + frac)
