"""Running a sweep into a folder: the driver hands trials to an executor and writes every file itself,
so workers on other machines need no shared filesystem.

    DIR/sweep.json      the sweep's identity: base config, spec, digest and every trial's overrides
    DIR/results.jsonl   one row per finished trial, appended as each finishes (what a resume reads)
    DIR/trials/NNNN/    each trial's run directory, as `nncli train` writes it (evaluate/plot/report)
    DIR/results.csv     the rows again, ranked, one column per swept key (at the end)
    DIR/best.yaml       the best trial's resolved config, ready for `nncli train` (at the end)

Running the same sweep again in the same folder skips the trials results.jsonl already holds; a folder
that holds a different sweep is refused. Ctrl-C (KeyboardInterrupt) leaves every finished trial written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from nncli import fileio
from nncli.compare.executors import Executor, SerialExecutor
from nncli.compare.sweep import SweepPlan, Trial
from nncli.compare.trial import TrialResult, run_trial
from nncli.config.loading import dump_config, validate
from nncli.errors import NncliError
from nncli.fileio import save_npz
from nncli.rundir.directory import append_line

MANIFEST, ROWS, CSV, BEST = "sweep.json", "results.jsonl", "results.csv", "best.yaml"
SUMMARY_FIELDS = ("final_train_loss", "final_val_loss", "best_val_loss", "best_val_metric", "steps")


@dataclass
class SweepOutcome:
    plan: SweepPlan
    rows: list[dict]  # one per trial that has finished, in trial order
    skipped: int  # trials found finished in the folder and not run again

    @property
    def ranking(self) -> list[dict]:
        """Rows best first by the plan's metric; trials without a value (failed, diverged) last."""
        sign = 1 if self.plan.mode == "min" else -1
        scored = [r for r in self.rows if r["metric"] is not None]
        unscored = [r for r in self.rows if r["metric"] is None]
        return sorted(scored, key=lambda r: sign * r["metric"]) + unscored

    @property
    def best(self) -> dict | None:
        ranked = self.ranking
        return ranked[0] if ranked and ranked[0]["metric"] is not None else None


def manifest(plan: SweepPlan) -> dict:
    return {
        "digest": plan.digest,
        "metric": plan.metric,
        "mode": plan.mode,
        "keys": plan.keys,
        "spec": plan.spec.model_dump(mode="json"),
        "config": plan.base,
        "trials": [{"trial": t.id, "overrides": list(t.overrides)} for t in plan.trials],
    }


def open_folder(plan: SweepPlan, directory: Path) -> dict[int, dict]:
    """Create the folder or reopen it for the same sweep; returns the rows already finished there."""
    path = directory / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise NncliError(f"{path}: not a readable sweep manifest ({exc}); pick another -o") from None
        if old.get("digest") != plan.digest:
            raise NncliError(
                f"{directory}: holds a different sweep ({len(old.get('trials', []))} trials, another "
                f"config or other values; this one has {len(plan.trials)}); pick another -o to run it"
            )
        return read_rows(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise NncliError(f"{directory}: exists and holds no sweep; pick another -o")
    directory.mkdir(parents=True, exist_ok=True)
    fileio.atomic_write_text(path, json.dumps(manifest(plan), indent=2) + "\n")
    fileio.atomic_write_text(directory / ROWS, "")
    return {}


def read_rows(directory: Path) -> dict[int, dict]:
    """Finished rows by trial index; a line a killed driver left half-written is dropped."""
    rows = {}
    path = directory / ROWS
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[row["index"]] = row
    return rows


def write_trial(plan: SweepPlan, directory: Path, result: TrialResult) -> dict:
    """The trial's run directory (when it trained) and its row in results.jsonl; returns the row."""
    trial = plan.trials[result.index]
    run_dir = directory / "trials" / trial.id
    if result.config is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write_text(run_dir / "config.yaml", dump_config(validate(result.config)))
        for name, arrays in result.arrays.items():
            save_npz(run_dir / f"{name}.npz", arrays)
        lines = "".join(json.dumps(r) + "\n" for r in result.metrics)
        fileio.atomic_write_text(run_dir / "metrics.jsonl", lines)
        summary = {**result.summary, "run_dir": str(run_dir)}
        fileio.atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    summary = result.summary or {}
    row = {
        "trial": trial.id,
        "index": trial.index,
        "overrides": trial.values,
        "status": result.status,
        "message": result.message,
        "metric": summary.get(plan.metric) if result.status in ("completed", "early_stopped") else None,
        **{name: summary.get(name) for name in SUMMARY_FIELDS},
        "wall_time_s": result.wall_time_s,
        "worker": result.worker,
        "run_dir": str(run_dir.relative_to(directory)) if result.config is not None else None,
    }
    append_line(directory / ROWS, json.dumps(row) + "\n")  # last: a row means the trial is written
    return row


def run_sweep(
    plan: SweepPlan,
    directory: Path,
    executor: Executor | None = None,
    *,
    on_start: Callable[[list[Trial], int], None] | None = None,
    on_step: Callable[[int, dict], None] | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> SweepOutcome:
    """Run the trials the folder does not hold yet and write everything; `on_start(pending, skipped)`
    before the first, `on_step(index, metrics_row)` live (in-process executors), `on_row(row)` as each
    trial is written."""
    executor = executor or SerialExecutor()
    done = open_folder(plan, directory)
    pending = [t for t in plan.trials if t.index not in done]
    if on_start is not None:
        on_start(pending, len(done))

    def finished(_, result: TrialResult) -> None:
        done[result.index] = write_trial(plan, directory, result)
        if on_row is not None:
            on_row(done[result.index])

    if on_step is not None and executor.in_process:
        calls = [partial(run_trial, t, partial(on_step, t.index)) for t in pending]
        executor.map(_call, calls, finished)
    else:
        executor.map(run_trial, pending, finished)
    outcome = SweepOutcome(plan, [done[i] for i in sorted(done)], len(plan.trials) - len(pending))
    write_summary_files(outcome, directory)
    return outcome


def _call(fn: Callable[[], TrialResult]) -> TrialResult:
    return fn()


def write_summary_files(outcome: SweepOutcome, directory: Path) -> list[Path]:
    """results.csv (ranked) and best.yaml (when some trial has a metric)."""
    written = [directory / CSV]
    fileio.atomic_write_text(written[0], results_csv(outcome))
    best = outcome.best
    if best is not None:
        config = validate(outcome.plan.trials[best["index"]].config)
        written.append(directory / BEST)
        fileio.atomic_write_text(written[-1], dump_config(config))
    return written


def results_csv(outcome: SweepOutcome) -> str:
    keys = outcome.plan.keys
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["rank", "trial", *keys, "status", "metric", *SUMMARY_FIELDS, "wall_time_s", "worker", "message"]
    )
    for rank, row in enumerate(outcome.ranking, 1):
        values = [_value(row["overrides"].get(k)) for k in keys]
        numbers = [_cell(row[name]) for name in ("metric", *SUMMARY_FIELDS, "wall_time_s")]
        writer.writerow([rank, row["trial"], *values, row["status"], *numbers, row["worker"], row["message"]])
    return out.getvalue()


def _value(value) -> str:
    """A swept value as its CSV cell: numbers and names as they are, lists as JSON."""
    return str(value) if isinstance(value, int | float | str) else json.dumps(value)


def _cell(value) -> str:
    return "" if value is None else repr(value)
