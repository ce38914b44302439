"""One trial of a sweep, run anywhere: a pure function from a `Trial` (config and overrides) to a
`TrialResult` (summary, metrics, parameters as arrays).

It reads no file but the config's data, writes none, and never changes the working directory, so a
worker process or a Ray task on another machine gives exactly what the driver would; the driver writes
every file (nncli.compare.sweep_files). A trial that fails — a combination the config rejects, a build
error, an exception — comes back with status "failed" and the message instead of raising.
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nncli.compare.sweep import Trial
from nncli.config.loading import validate
from nncli.errors import NncliError
from nncli.rundir.checkpoint import checkpoint_arrays
from nncli.rundir.summary import build_summary
from nncli.training.build import build_run
from nncli.training.events import StepEnd, TrainingEnd

# Summary fields that measure time, which no two runs share; everything else is bit-identical.
TIMING_FIELDS = ("wall_time_s", "steps_per_s", "time_s")


@dataclass
class TrialResult:
    index: int
    status: str  # completed, early_stopped, diverged or failed
    message: str
    summary: dict | None  # as summary.json of `nncli train` (None when the trial failed before training)
    metrics: list[dict]  # one row per logged step, as metrics.jsonl
    config: dict | None  # the resolved config, every default filled in
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # init, final, checkpoint
    wall_time_s: float = 0.0
    worker: str = ""
    train_time_s: float = 0.0  # the trainer's own time, without the whole-training-set evaluations
    curve: list[dict] = field(default_factory=list)  # step, loss (whole training set), val_loss, ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def run_trial(trial: Trial, on_step: Callable[[dict], None] | None = None) -> TrialResult:
    """Train the trial's config and collect what its run directory will hold; `on_step(row)` sees each
    logged row as it comes (in-process runs only: the live table)."""
    start = time.perf_counter()

    def failed(message: str) -> TrialResult:
        return TrialResult(
            trial.index, "failed", message, None, [], None, {}, time.perf_counter() - start, worker_name()
        )

    try:
        config = validate(trial.config, f"trial {trial.id} ({', '.join(trial.overrides)})")
        run = build_run(config)
    except NncliError as exc:
        return failed(str(exc))
    except Exception as exc:  # a bug or a resource limit: recorded, the sweep goes on
        return failed(f"{type(exc).__name__}: {exc}")
    rows: list[dict] = []
    ends: list[TrainingEnd] = []
    trainer = run.trainer
    curve = [curve_row(trainer, 0, 0.0)] if trial.train_set_curve else []
    curve_s = 0.0  # time spent on the whole-training-set loss

    def collect(event) -> None:
        nonlocal curve_s
        if isinstance(event, StepEnd):
            rows.append({k: _finite(v) for k, v in event.to_dict().items()})
            if trial.train_set_curve:
                begin = time.perf_counter()
                curve.append(
                    curve_row(trainer, event.step, event.time_s - curve_s, event.val_loss, event.val_metric)
                )
                curve_s += time.perf_counter() - begin
            if on_step is not None:
                on_step(curve[-1] if trial.train_set_curve else rows[-1])
        elif isinstance(event, TrainingEnd):
            ends.append(event)

    init = run.params.state_dict()
    run.trainer.subscribe(collect)
    try:
        state = run.trainer.run()
    except Exception as exc:
        return failed(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    end = ends[-1]
    arrays = {"init": init, "checkpoint": checkpoint_arrays(run, state.step)}
    if end.status != "diverged":
        arrays["final"] = run.params.state_dict()
    summary = build_summary(run, end)
    return TrialResult(
        trial.index,
        end.status,
        end.message,
        summary,
        rows,
        config.model_dump(mode="json"),
        arrays,
        time.perf_counter() - start,
        worker_name(),
        state.elapsed_s - curve_s,
        curve,
    )


def curve_row(trainer, step: int, time_s: float, val_loss=None, val_metric=None) -> dict:
    """One point of a compare-optimizers curve: the loss over the whole training set, in eval mode (no
    dropout draw, no running-statistics update, so training is not disturbed)."""
    if step == 0 and trainer.X_val is not None:
        val_loss, val_metric = trainer.evaluate()
    loss, _ = trainer.evaluate(trainer.X, trainer.y)
    return {"step": step, "loss": loss, "val_loss": val_loss, "val_metric": val_metric, "time_s": time_s}
