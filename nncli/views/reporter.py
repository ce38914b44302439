"""The terminal side: a rich listener that shows training live, and the panels and tables the CLI prints.

In a terminal it redraws a progress bar and a growing loss table; elsewhere (CI, a pipe) it prints one
plain line per logged step.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.measure import Measurement
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.segment import ControlType, Segment
from rich.table import Table
from rich.text import Text

from nncli.errors import visible
from nncli.training.events import Event, StepEnd, TrainingEnd
from nncli.views.losstable import LineCache, LossTable, table_width

CHROME_ROWS = 6  # the live region besides its table rows: progress line, hint, table borders and header
GAP = 2  # characters between the table and the picture
SYNC_BEGIN, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"  # synchronized output: a frame appears whole


def fmt(value, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


def columns(metric_name: str) -> list[tuple[str, int, object]]:
    """The loss table's columns: (header, fixed width, cell of a StepEnd), in the order they are dropped
    last to first when the terminal is narrow. `.4g` numbers take at most 9 characters (1.235e-05)."""
    return [
        ("step", 7, lambda r: str(r.step)),
        # the data loss averaged since the row before: comparable to the val loss
        ("train loss", 10, lambda r: fmt(r.data_loss_mean)),
        ("val loss", 10, lambda r: fmt(r.val_loss)),
        (f"val {metric_name}", max(10, 4 + len(metric_name)), lambda r: fmt(r.val_metric, ".4f")),
        ("epoch", 5, lambda r: str(r.epoch)),
        ("lr", 9, lambda r: fmt(r.lr, ".3g")),
        ("grad norm", 9, lambda r: fmt(r.grad_norm, ".3g")),
    ]


def fitting_columns(metric_name: str, width: int) -> list:
    """As many columns as fit in `width` characters (at least step, train loss and val loss)."""
    cols = columns(metric_name)
    while len(cols) > 3 and table_width(cols) > width:
        cols = cols[:-1]
    return cols


class _Raw:
    """A control sequence that rich writes as it is (rich's own Control knows no synchronized output)."""

    def __init__(self, code: str) -> None:
        self.segment = Segment(code, None, [(ControlType.BELL,)])


class SyncedLive(Live):
    """rich's Live, each redraw bracketed by synchronized-output marks (DEC mode 2026): terminals that know
    them show a frame only once it is complete; the others ignore them."""

    def refresh(self) -> None:
        with self.console:
            self.console.control(_Raw(SYNC_BEGIN))
            super().refresh()
            self.console.control(_Raw(SYNC_END))


class TrainingReporter:
    """Listens to trainer events and draws them.

    In a terminal the live region holds the progress bar, the newest table rows that fit its height and
    the picture beside them (`extra`); when training ends it is replaced by the whole table, so the
    scrollback keeps every row. Columns have fixed widths, and the last ones are dropped when narrow.
    """

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
        self.hint: str | None = None  # one line under the progress bar (why there is no picture)
        self._live: Live | None = None
        self._lines = LineCache()  # each row's line of the table, formatted once

    def __enter__(self) -> TrainingReporter:
        if self.live_mode:
            # the view is built only when Live redraws, not at every logged step: building and drawing
            # it at each event cost the live run more than its training steps
            self._live = SyncedLive(
                console=self.console, get_renderable=self.render, refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(*exc)
            self._live = None
            self.console.print(self.render(every_row=True))

    def table(self, start: int = 0) -> LossTable:
        """The rows from `start` on, in as many columns as fit beside the picture."""
        room = self.console.width
        if self.extra is not None:  # what the picture takes, its legend included
            room -= Measurement.get(self.console, self.console.options, self.extra).maximum + GAP
        cols = fitting_columns(self.metric_name, room)
        return LossTable(cols, self.rows[start:], self._lines.lines(cols, self.rows, start))

    def render(self, every_row: bool = False):
        room = max(1, self.console.height - CHROME_ROWS)
        table = self.table(0 if every_row else max(0, len(self.rows) - room))
        head = [self.progress] + ([Text(self.hint, style="dim")] if self.hint and not every_row else [])
        if self.extra is None:
            return Group(*head, table)
        grid = Table.grid(padding=(0, GAP, 0, 0), pad_edge=False)
        grid.add_row(table, self.extra)
        return Group(*head, grid)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEnd):
            self.rows.append(event)
            rate = event.step / event.time_s if event.time_s > 0 else 0.0
            self.progress.update(self.task, completed=event.step, rate=f"{rate:,.0f} steps/s")
            if self._live is None:
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
            self._live.refresh()


STATUS_STYLES = {"completed": "green", "early_stopped": "cyan", "diverged": "red", "interrupted": "yellow"}


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """(label, text) of each line of a run's summary: what the terminal panel and the HTML report show."""
    metric = summary.get("metric", "metric")
    status = summary["status"] + (f" — {summary['message']}" if summary.get("message") else "")
    best_metric = fmt(summary.get("best_val_metric"), ".4f")
    if summary.get("best_val_metric") is not None:
        best_metric += f" (step {summary.get('best_metric_step')})"
    rows = [
        ("status", status),
        ("steps", f"{summary['steps']} / {summary['total_steps']}"),
        ("final train loss (mean)", fmt(summary.get("final_data_loss_mean"), ".6g")),
        ("final val loss", fmt(summary.get("final_val_loss"), ".6g")),
        (f"final val {metric}", fmt(summary.get("final_val_metric"), ".4f")),
        ("best val loss", f"{fmt(summary.get('best_val_loss'), '.6g')} (step {summary.get('best_step')})"),
        (f"val {metric} at best loss", fmt(summary.get("val_metric_at_best_loss"), ".4f")),
        (f"best val {metric}", best_metric),
    ]
    sp = summary.get("sparsity") or {}
    if sp.get("weights"):
        rows.append(
            (
                "weights",
                f"{sp['exact_zero']} of {sp['weights']} exactly zero, "
                f"{sp['near_zero']} below 1e-3 of the largest |w|",
            )
        )
    rate = summary.get("steps_per_s")
    rows.append(("wall time", f"{summary['wall_time_s']:.2f} s ({fmt(rate, ',.0f')} steps/s)"))
    if summary.get("run_dir"):
        rows.append(("run directory", summary["run_dir"]))
    return rows


def summary_panel(summary: dict) -> Panel:
    """The closing panel: how the run ended and its final and best numbers."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    for label, text in summary_rows(summary):
        value = Text(visible(text))
        if label == "status":
            value.stylize(STATUS_STYLES.get(summary["status"], "white"), 0, len(summary["status"]))
        t.add_row(label, value)
    return Panel(t, title=Text(visible(summary.get("name") or "run"), style="bold"), expand=False)


def key_value_table(title: str, rows: dict) -> Table:
    """A two-column table of plain text: keys and values are never read as rich markup."""
    table = Table(title=Text(visible(title)), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows.items():
        table.add_row(Text(visible(k)), Text(fmt(v, ".6g") if isinstance(v, float) else visible(v)))
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
