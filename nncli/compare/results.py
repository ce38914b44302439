"""The ranked outcome of a comparison and its files: what each run gives back, how the optimizers are
ranked, and what results.json and curves.csv hold.

`summarize(plan, results)` picks each optimizer's learning rate (the best `grid_score` when the plan
tried a grid), averages its runs over seeds into `Stat`s and sorts the entries by mean final loss,
diverged last. `write_results` writes the `Comparison` as results.json (`Comparison.to_dict`) and
curves.csv (`Comparison.curves_csv`); the CLI draws the pictures from the `Comparison`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from nncli.compare.landscapes import loss_grid
from nncli.compare.records import Plan, RunResult, finite
from nncli.fileio import atomic_write_text

RESULT_FILES = ("results.json", "curves.csv", "curves.png", "landscape.png")

# ---------------------------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class Stat:
    """Mean ± sample standard deviation (ddof=1) of the values that exist; std is None for one value."""

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat:
        xs = np.array([v for v in values if v is not None], dtype=float)
        if xs.size == 0:
            return cls(None, None, 0)
        return cls(float(xs.mean()), float(xs.std(ddof=1)) if xs.size > 1 else None, int(xs.size))

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


@dataclass
class Entry:
    """One optimizer's line of the ranked table: its runs at the chosen learning rate, over seeds."""

    label: str
    lr: float
    optimizer: dict
    runs: list[RunResult]
    target: float | None
    grid: list[dict] = field(default_factory=list)  # lr and score of each grid point

    @property
    def diverged(self) -> int:
        return sum(r.status == "diverged" for r in self.runs)

    @property
    def final_loss(self) -> Stat:
        return Stat(None, None, 0) if self.diverged else Stat.of([r.final_loss for r in self.runs])

    @property
    def best_val_metric(self) -> Stat:
        return Stat.of([r.best_val_metric for r in self.runs])

    @property
    def steps_to_target(self) -> Stat:
        return Stat.of([r.steps_to(self.target) for r in self.runs])

    @property
    def wall_time_s(self) -> Stat:
        return Stat.of([r.wall_time_s for r in self.runs])

    @property
    def steps_per_s(self) -> Stat:
        return Stat.of([r.steps_per_s for r in self.runs])

    def to_dict(self, rank: int) -> dict:
        return {
            "rank": rank,
            "optimizer": self.label,
            "lr": self.lr,
            "optimizer_config": self.optimizer,
            "diverged": self.diverged,
            "final_loss": self.final_loss.to_dict(),
            "best_val_metric": self.best_val_metric.to_dict(),
            "val_metric_at_best_loss": Stat.of([r.val_metric_at_best_loss for r in self.runs]).to_dict(),
            "steps_to_target": self.steps_to_target.to_dict(),
            "wall_time_s": self.wall_time_s.to_dict(),
            "steps_per_s": self.steps_per_s.to_dict(),
            "runs": [
                {
                    "seed": r.seed,
                    "status": r.status,
                    "steps": r.steps,
                    "final_loss": r.final_loss,
                    "final_val_loss": r.final_val_loss,
                    "best_val_metric": r.best_val_metric,
                    "val_metric_at_best_loss": r.val_metric_at_best_loss,
                    "steps_to_target": r.steps_to(self.target),
                    "wall_time_s": r.wall_time_s,
                }
                for r in self.runs
            ],
            **({"lr_grid": self.grid} if self.grid else {}),
        }


def grid_score(runs: Sequence[RunResult]) -> float:
    """What `--lr-grid` minimises: the mean final validation loss over seeds (the final training loss
    when there is no validation set); a diverged run scores infinity."""
    scores = [r.final_val_loss if r.final_val_loss is not None else r.final_loss for r in runs]
    return math.inf if any(s is None for s in scores) else float(np.mean(scores))


@dataclass
class Comparison:
    """The ranked outcome: entries sorted by mean final loss (diverged last), plus what produced them."""

    plan: Plan
    ranking: list[Entry]
    target_loss: float | None

    def to_dict(self) -> dict:
        return {
            "problem": self.plan.problem,
            "optimizers": self.plan.labels,
            "seeds": self.plan.seeds,
            "metric": self.plan.metric,
            "target_loss": self.target_loss,
            "lr_grid": self.plan.grid,
            "optimizer_sources": self.plan.sources,
            "ranking": [e.to_dict(i + 1) for i, e in enumerate(self.ranking)],
        }

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """label → (steps, loss averaged over seeds), in ranking order; non-finite points dropped."""
        series = {}
        for e in self.ranking:
            n = min(len(r.rows) for r in e.runs)
            steps = np.array([row["step"] for row in e.runs[0].rows[:n]])
            loss = np.mean([[row["loss"] for row in r.rows[:n]] for r in e.runs], axis=0)
            keep = np.isfinite(loss)
            series[e.label] = (steps[keep], loss[keep])
        return series

    @cached_property
    def landscape(self) -> tuple[np.ndarray, tuple]:
        """(loss grid, extent) of a landscape comparison, computed once."""
        return loss_grid(self.plan.problem["name"], self.plan.seeds[0])

    def paths(self) -> dict[str, np.ndarray]:
        """label → (k, 2) parameter path of a landscape run."""
        names = self.plan.problem["parameters"]
        return {e.label: np.array([[row[n] for n in names] for row in e.runs[0].rows]) for e in self.ranking}

    def curves_csv(self) -> str:
        """One line per logged row of every run at the chosen learning rates."""
        rows = [(e.label, r.seed, r.lr, row) for e in self.ranking for r in e.runs for row in r.rows]
        columns = list(rows[0][3]) if rows else []
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["optimizer", "seed", "lr", *columns])
        for label, seed, lr, row in rows:
            writer.writerow([label, seed, repr(lr), *(_cell(row[c]) for c in columns)])
        return out.getvalue()


def _cell(value) -> str:
    """A CSV cell that reads back to the same number: repr of floats, empty for a missing value."""
    return (
        "" if value is None else repr(float(value)) if isinstance(value, float | np.floating) else str(value)
    )


def summarize(plan: Plan, results: Sequence[RunResult], target_loss: float | None = None) -> Comparison:
    """Pick each optimizer's learning rate (the best grid score, or its only one), then rank.

    The default target loss is the median over optimizers of their mean final loss: the level the
    better half reaches, so "steps to target" compares how fast they get there.
    """
    entries = []
    for label in plan.labels:
        by_lr: dict[float, list[RunResult]] = {}
        for r in results:
            if r.label == label:
                by_lr.setdefault(r.lr, []).append(r)
        scores = {lr: grid_score(runs) for lr, runs in by_lr.items()}
        best = min(by_lr, key=lambda lr: scores[lr])  # first of equals: the smaller lr
        grid = [{"lr": lr, "score": finite(s)} for lr, s in scores.items()] if plan.grid else []
        entries.append(Entry(label, best, {**plan.sections[label], "lr": best}, by_lr[best], None, grid))
    if target_loss is None:
        finals = [e.final_loss.mean for e in entries if e.final_loss.mean is not None]
        target_loss = float(np.median(finals)) if finals else None
    for e in entries:
        e.target = target_loss
    entries.sort(key=lambda e: math.inf if e.final_loss.mean is None else e.final_loss.mean)
    return Comparison(plan, entries, target_loss)


# ---------------------------------------------------------------------------------------------- files


def clear_results(directory: Path) -> None:
    for name in RESULT_FILES:
        (directory / name).unlink(missing_ok=True)


def write_results(comparison: Comparison, directory: Path) -> list[Path]:
    """results.json and curves.csv (atomic writes); the pictures are drawn by nncli.views.plots."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "results.json", directory / "curves.csv"]
    atomic_write_text(written[0], json.dumps(comparison.to_dict(), indent=2) + "\n")
    atomic_write_text(written[1], comparison.curves_csv())
    return written
