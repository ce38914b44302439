"""The records a comparison passes between planning, running and ranking: a plan and one run's result.

Kept apart from nncli.compare.plan and nncli.compare.results so that both import them and neither
imports the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Plan:
    """The runs of a comparison and what the report needs to know about them."""

    specs: list  # TrainSpec or LandscapeSpec (nncli.compare.plan)
    labels: list[str]
    seeds: list[int]
    sections: dict[str, dict]  # label → optimizer section (lr: the base of a grid)
    grid: bool
    metric: str | None
    problem: dict  # described in results.json
    sources: dict[str, str] = field(default_factory=dict)  # label → where its arguments came from


@dataclass
class RunResult:
    """What one run gives back: its logged rows and the numbers the ranking needs."""

    label: str
    seed: int
    lr: float
    status: str  # completed, early_stopped or diverged
    steps: int
    wall_time_s: float
    rows: list[dict]  # step, loss, then val_loss/val_metric or the landscape's coordinates, time_s
    final_loss: float | None = None  # None when diverged
    final_val_loss: float | None = None
    best_val_metric: float | None = None  # the highest val metric logged, as `nncli train` reports it
    val_metric_at_best_loss: float | None = None  # the val metric of the row with the lowest val_loss

    def __post_init__(self) -> None:
        last = self.rows[-1] if self.rows else {}
        if self.status != "diverged":
            self.final_loss = finite(last.get("loss"))
        self.final_val_loss = finite(last.get("val_loss"))
        metrics = [m for r in self.rows if (m := finite(r.get("val_metric"))) is not None]
        self.best_val_metric = max(metrics) if metrics else None
        scored = [r for r in self.rows if finite(r.get("val_loss")) is not None]
        if scored:
            self.val_metric_at_best_loss = finite(min(scored, key=lambda r: r["val_loss"]).get("val_metric"))

    @property
    def steps_per_s(self) -> float | None:
        return self.steps / self.wall_time_s if self.wall_time_s > 0 else None

    def steps_to(self, target: float | None) -> int | None:
        """The first logged step whose loss is at most `target`, or None."""
        if target is None:
            return None
        return next(
            (r["step"] for r in self.rows if finite(r["loss"]) is not None and r["loss"] <= target), None
        )


def finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
