"""A sweep in the terminal: the live table of trials with a progress bar, and the ranked table at the end."""

from __future__ import annotations

import json

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from nncli.views.board import LiveBoard
from nncli.views.reporter import fmt

MAX_ROWS = 24  # trials shown live: the running ones, then the best finished, then the next queued


def value_text(value) -> str:
    return str(value) if isinstance(value, int | float | str) else json.dumps(value)


def overrides_text(values: dict) -> str:
    return " ".join(f"{k}={value_text(v)}" for k, v in values.items())


class SweepBoard(LiveBoard):
    """Every trial's state (queued, running, finished, failed), its metric so far, the best so far and
    a progress bar with ETA. In-process trials update their metric at each logged step; others when they
    finish. Off a terminal it prints one plain line per finished trial instead."""

    def __init__(self, console: Console, plan, *, jobs: int, quiet: bool = False) -> None:
        self.plan, self.jobs = plan, jobs
        self.state = {t.index: {"status": "queued", "metric": None, "step": None} for t in plan.trials}
        self.best: dict | None = None
        self.progress = Progress(
            TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"), TimeRemainingColumn()
        )
        self.task = self.progress.add_task("sweep", total=len(plan.trials))
        super().__init__(console, self.render, quiet=quiet, fps=4)  # last: it may draw the board

    def start(self, pending: list, skipped: int) -> None:
        for index, state in self.state.items():
            if all(t.index != index for t in pending):
                state["status"] = "done before"
        self.progress.update(self.task, completed=skipped)
        self._mark_running()
        if skipped and not self.quiet:
            self.console.print(f"{skipped} trials already finished in this folder; running {len(pending)}")

    def _mark_running(self) -> None:
        """Workers take trials in order, so the first `jobs` queued ones are the ones running."""
        running = sum(s["status"] == "running" for s in self.state.values())
        for state in self.state.values():
            if running >= self.jobs:
                break
            if state["status"] == "queued":
                state["status"], running = "running", running + 1

    def step(self, index: int, row: dict) -> None:
        metric = self.plan.metric
        value = row.get("val_loss") if "val_loss" in metric else row.get("val_metric")
        if metric == "final_train_loss":
            value = row.get("train_loss")
        self.state[index].update(step=row["step"], metric=value)

    def row(self, row: dict) -> None:
        state = self.state[row["index"]]
        state["metric"] = row["metric"]
        state["status"] = row["status"] if row["status"] in ("failed", "diverged") else "finished"
        if self.plan.better(row["metric"], self.best["metric"] if self.best else None):
            self.best = row
        self.progress.advance(self.task)
        self._mark_running()
        if not self.live_mode and not self.quiet:
            trial = self.plan.trials[row["index"]]
            tail = f": {row['message'].splitlines()[0]}" if row["status"] == "failed" else ""
            self.console.print(
                f"trial {trial.id} ({overrides_text(trial.values)}): {row['status']}, "
                f"{self.plan.metric} {fmt(row['metric'], '.4g')}, {row['wall_time_s']:.2f} s on "
                f"{row['worker']}{tail}",
                highlight=False,
            )

    def render(self) -> Group:
        table = Table(header_style="bold", caption_justify="left")
        for name in ("trial", "overrides", "status", "step", self.plan.metric):
            table.add_column(name, justify="left" if name in ("overrides", "status") else "right")
        order = {"running": 0, "finished": 1, "diverged": 2, "failed": 2, "queued": 3, "done before": 4}
        shown = sorted(self.state.items(), key=lambda kv: (order[kv[1]["status"]], kv[0]))[:MAX_ROWS]
        for index, s in shown:
            trial = self.plan.trials[index]
            table.add_row(
                trial.id,
                overrides_text(trial.values),
                s["status"],
                fmt(s["step"], "d"),
                fmt(s["metric"], ".4g"),
            )
        if self.best is not None:
            best = self.best
            table.caption = (
                f"best so far: trial {best['trial']}, {self.plan.metric} {fmt(best['metric'], '.4g')}"
            )
        return Group(self.progress, table)


def ranked_table(outcome, limit: int = 20) -> Table:
    """The trials best first: rank, the swept values, status, the metric, time and worker."""
    plan = outcome.plan
    table = Table(title=f"ranked by {plan.metric} ({plan.mode})", header_style="bold", caption_justify="left")
    for name in ("#", "trial", *plan.keys, "status", plan.metric, "time (s)", "worker"):
        table.add_column(name, justify="left" if name in ("status", "worker") else "right")
    ranking = outcome.ranking
    for rank, row in enumerate(ranking[:limit], 1):
        values = [value_text(row["overrides"].get(k)) for k in plan.keys]
        table.add_row(
            str(rank),
            row["trial"],
            *values,
            row["status"],
            fmt(row["metric"], ".4g"),
            f"{row['wall_time_s']:.2f}",
            row["worker"],
        )
    failed = [r for r in ranking if r["status"] == "failed"]
    notes = [f"{len(ranking)} of {len(plan.trials)} trials"]
    if len(ranking) > limit:
        notes.append(f"top {limit} shown; all in results.csv")
    if failed:
        first = failed[0]["message"].splitlines()[0]
        notes.append(f"{len(failed)} failed (first: trial {failed[0]['trial']}: {first})")
    table.caption = "; ".join(notes)
    return table
