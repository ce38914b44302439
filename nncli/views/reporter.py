"""The terminal side: a rich listener that shows training live, and the panels and tables the CLI prints.

In a terminal it redraws a progress bar and a growing loss table; elsewhere (CI, a pipe) it prints one
plain line per logged step.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from nncli.training.events import Event, StepEnd, TrainingEnd

TABLE_ROWS = 12  # rows kept on screen while training; the run directory keeps them all


def fmt(value, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


class TrainingReporter:
    """Listens to trainer events and draws them."""

    def __init__(
        self, console: Console, total_steps: int, metric_name: str, *, start_step: int = 0, live=None
    ):
        self.console, self.metric_name = console, metric_name
        self.live_mode = console.is_terminal if live is None else live
        self.rows: list[StepEnd] = []
        self.progress = Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}"),
            console=console,
        )
        self.task = self.progress.add_task("train", total=total_steps, completed=start_step, rate="")
        self.extra = None  # an optional renderable beside the table (the decision boundary view)
        self._live: Live | None = None

    def __enter__(self) -> TrainingReporter:
        if self.live_mode:
            self._live = Live(self.render(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self.render())
            self._live.__exit__(*exc)
            self._live = None

    def table(self) -> Table:
        table = Table(title=None, expand=False, header_style="bold")
        # the train loss shown is the data loss averaged since the row before: comparable to val loss
        columns = (
            "step",
            "epoch",
            "train loss\n(mean)",
            "val loss",
            f"val {self.metric_name}",
            "lr",
            "grad norm",
        )
        for col in columns:
            table.add_column(col, justify="right")
        for r in self.rows[-TABLE_ROWS:]:
            table.add_row(
                str(r.step),
                str(r.epoch),
                fmt(r.data_loss_mean, ".5g"),
                fmt(r.val_loss, ".5g"),
                fmt(r.val_metric, ".4f"),
                fmt(r.lr, ".3g"),
                fmt(r.grad_norm, ".3g"),
            )
        return table

    def render(self):
        if self.extra is None:
            return Group(self.progress, self.table())
        grid = Table.grid(padding=(0, 2))
        grid.add_row(self.table(), self.extra)
        return Group(self.progress, grid)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEnd):
            self.rows.append(event)
            rate = event.step / event.time_s if event.time_s > 0 else 0.0
            self.progress.update(self.task, completed=event.step, rate=f"{rate:,.0f} steps/s")
            if self._live is not None:
                self._live.update(self.render())
            else:
                self.console.print(
                    f"step {event.step} epoch {event.epoch} "
                    f"data_loss_mean {fmt(event.data_loss_mean, '.6g')} "
                    f"val_loss {fmt(event.val_loss, '.6g')} "
                    f"val_{self.metric_name} {fmt(event.val_metric, '.4f')} "
                    f"lr {fmt(event.lr, '.3g')} grad_norm {fmt(event.grad_norm, '.3g')}",
                    highlight=False,
                    soft_wrap=True,
                )
        elif isinstance(event, TrainingEnd) and self._live is not None:
            self._live.update(self.render())


def summary_panel(summary: dict) -> Panel:
    """The closing panel: how the run ended and its final and best numbers."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    metric = summary.get("metric", "metric")
    colour = {"completed": "green", "early_stopped": "cyan", "diverged": "red", "interrupted": "yellow"}
    t.add_row(
        "status",
        f"[{colour.get(summary['status'], 'white')}]{summary['status']}[/] {summary.get('message', '')}",
    )
    t.add_row("steps", f"{summary['steps']} / {summary['total_steps']}")
    t.add_row("final train loss (mean)", fmt(summary.get("final_data_loss_mean"), ".6g"))
    t.add_row("final val loss", fmt(summary.get("final_val_loss"), ".6g"))
    t.add_row(f"final val {metric}", fmt(summary.get("final_val_metric"), ".4f"))
    t.add_row(
        "best val loss", f"{fmt(summary.get('best_val_loss'), '.6g')} (step {summary.get('best_step')})"
    )
    t.add_row(f"val {metric} at best loss", fmt(summary.get("val_metric_at_best_loss"), ".4f"))
    best_metric = fmt(summary.get("best_val_metric"), ".4f")
    if summary.get("best_val_metric") is not None:
        best_metric += f" (step {summary.get('best_metric_step')})"
    t.add_row(f"best val {metric}", best_metric)
    sp = summary.get("sparsity") or {}
    if sp.get("weights"):
        t.add_row(
            "weights", f"{sp['weights']}: {sp['exact_zero']} exactly 0, {sp['near_zero']} below 1e-3·max|w|"
        )
    rate = summary.get("steps_per_s")
    t.add_row("wall time", f"{summary['wall_time_s']:.2f} s ({fmt(rate, ',.0f')} steps/s)")
    if summary.get("run_dir"):
        t.add_row("run directory", summary["run_dir"])
    return Panel(t, title=f"[bold]{summary.get('name') or 'run'}", expand=False)


def key_value_table(title: str, rows: dict) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows.items():
        table.add_row(str(k), fmt(v, ".6g") if isinstance(v, float) else str(v))
    return table


def class_tables(report: dict) -> list[Table]:
    """An evaluation's confusion matrix (rows true, columns predicted) and per-class scores, if any."""
    if "confusion_matrix" not in report:
        return []
    names = [str(c) for c in report["classes"]]
    matrix = Table(title="confusion matrix (rows: true class, columns: predicted)", header_style="bold")
    matrix.add_column("true \\ predicted", style="bold")
    for name in names:
        matrix.add_column(name, justify="right")
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        matrix.add_row(name, *(str(v) for v in row))
    scores = Table(title="per class", header_style="bold")
    for col in ("class", "precision", "recall", "f1", "support"):
        scores.add_column(col, justify="left" if col == "class" else "right")
    for entry in report["per_class"]:
        scores.add_row(
            str(entry["class"]),
            *(fmt(entry[k], ".4f") for k in ("precision", "recall", "f1")),
            str(entry["support"]),
        )
    return [matrix, scores]


def runs_table(entries: list[dict]) -> Table:
    """`nncli runs`: one row per run directory, newest first."""
    table = Table(header_style="bold")
    for col in ("run", "status", "steps", "best val metric", "best val loss", "wall time", "started"):
        table.add_column(col, justify="right" if col in ("steps", "wall time") else "left")
    for e in entries:
        steps = "—" if e["steps"] is None else f"{e['steps']} / {e['total_steps']}"
        metric = "—" if e["best_val_metric"] is None else f"{e['metric']} {e['best_val_metric']:.4f}"
        wall = "—" if e["wall_time_s"] is None else f"{e['wall_time_s']:.2f} s"
        loss = fmt(e["best_val_loss"], ".6g")
        table.add_row(Path(e["path"]).name, e["status"], steps, metric, loss, wall, e["started"])
    return table
