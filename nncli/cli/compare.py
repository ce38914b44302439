"""`nncli compare-optimizers`: one problem, one set of initial weights, several optimizers, ranked.

A thin layer over `nncli.compare.plan` (plans and runs) and `nncli.compare.results` (ranking and
files): it reads the options, shows the runs live, prints the ranked table and the loss curves (or
the landscape), and writes the results directory and its pictures.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nncli.cli.common import (
    JsonOption,
    LogYOption,
    OverwriteOption,
    QuietOption,
    SetOption,
    console,
    echo,
    examples,
    out_option,
    user_errors,
)
from nncli.compare import plan as cmp
from nncli.compare.executors import make_executor
from nncli.compare.results import Comparison, Entry, RunResult, Stat, clear_results, summarize, write_results
from nncli.config.loading import apply_overrides, load_config, validate
from nncli.config.sweep import validate_optimizer
from nncli.errors import NncliError
from nncli.rundir.directory import default_run_dir, prepare_new
from nncli.views import plots, termviz
from nncli.views.board import LiveBoard
from nncli.views.reporter import fmt


@examples(
    "nncli compare-optimizers",
    "nncli compare-optimizers configs/spirals.yaml --optimizers sgd,adam --lr adam=0.01,sgd=0.1 --seeds 3",
    "nncli compare-optimizers --landscape rosenbrock",
)
@user_errors
def compare_optimizers(
    config: Annotated[
        Path | None, typer.Argument(help="The problem's YAML config (default: a small MLP on spirals).")
    ] = None,
    optimizers: Annotated[
        str,
        typer.Option(help="Comma-separated: sgd, momentum, nesterov, rmsprop, adagrad, adam, adamw."),
    ] = ",".join(cmp.DEFAULT_OPTIMIZERS),
    lr: Annotated[
        str | None, typer.Option("--lr", help="Learning rates: adam=0.01,sgd=0.1 (one number: all).")
    ] = None,
    lr_grid: Annotated[
        bool,
        typer.Option(
            "--lr-grid", help="Try 5 lrs (×0.1…×10, log-spaced) each; keep the lowest final val loss."
        ),
    ] = False,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimizer steps (default: the config's).")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Repeat over this many seeds; report mean ± std.")] = 1,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    target_loss: Annotated[
        float | None,
        typer.Option(help="Loss for 'steps to target' (default: the median of the final losses)."),
    ] = None,
    landscape: Annotated[
        str | None,
        typer.Option(help="Descend a 2-parameter surface instead: rosenbrock or neuron."),
    ] = None,
    log_y: LogYOption = None,
    out: out_option("Results directory (default runs/compare-<time>).") = None,
    overwrite: OverwriteOption = False,
    set_: SetOption = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
) -> None:
    """Train one model under several optimizers from the same initial weights and batches, and rank them."""
    labels = [name.strip() for name in optimizers.split(",") if name.strip()]
    lrs = cmp.parse_lrs(lr, labels)
    if landscape is not None:
        if config is not None or set_:
            raise NncliError("--landscape draws a built-in surface; give no CONFIG or --set with it")
        if seeds > 1:
            raise NncliError("--landscape: a descent from a fixed start has no seeds to repeat; drop --seeds")
        plan = cmp.plan_landscape(landscape, labels, lrs, steps=steps, grid=lr_grid)
    else:
        plan = cmp.plan_training(
            _base_config(config, set_ or []), labels, lrs, seeds=seeds, steps=steps, grid=lr_grid
        )
    directory = out if out is not None else default_run_dir("compare")
    lock = prepare_new(directory, overwrite, (config,))  # held while the comparison writes there
    try:
        clear_results(directory)
        if not (json_ or quiet):
            console.print(_headline(plan, jobs), highlight=False)
        board = CompareBoard(console, plan, parallel=jobs > 1, quiet=json_ or quiet)
        with board:
            results = cmp.run_plan(plan, make_executor(jobs), on_row=board.row, on_result=board.done)
        comparison = summarize(plan, results, target_loss)
        written = write_results(comparison, directory) + _write_pictures(comparison, directory, log_y)
    finally:
        lock.release()
    if json_:
        console.print_json(json.dumps({**comparison.to_dict(), "run_dir": str(directory)}), ensure_ascii=True)
        return
    _print_report(comparison, log_y)
    echo(f"results in {directory}: {', '.join(p.name for p in written)}")


def _write_pictures(comparison: Comparison, directory: Path, log_y: bool) -> list[Path]:
    """curves.png (and landscape.png) when matplotlib is installed."""
    if not plots.has_matplotlib():
        return []
    written = [
        plots.save_loss_curves(
            comparison.curves(), directory / "curves.png", log_y=log_y, title=chart_title(comparison)
        )
    ]
    if comparison.plan.problem["kind"] == "landscape":
        grid, extent = comparison.landscape
        written.append(
            plots.save_landscape(
                grid,
                extent,
                comparison.paths(),
                directory / "landscape.png",
                title=chart_title(comparison, False),
                axes=tuple(comparison.plan.problem["parameters"]),
            )
        )
    return written


def _base_config(path: Path | None, overrides: list[str]):
    if path is not None:
        return load_config(path, overrides)[0]
    return validate(apply_overrides(cmp.DEFAULT_CONFIG, overrides), "default problem", overrides=overrides)


def _headline(plan: cmp.Plan, jobs: int) -> str:
    p = plan.problem
    what = p["description"] if p["kind"] == "landscape" else f"{p['model']} on {p['dataset']}"
    seeds = f" × {len(plan.seeds)} seeds" if len(plan.seeds) > 1 else ""
    grid = f" × {len(cmp.LR_GRID_FACTORS)} lrs" if plan.grid else ""
    return (
        f"[bold]{escape(p['name'])}[/]: {escape(what)}, {p['steps']} steps; "
        f"{len(plan.labels)} optimizers{grid}{seeds} "
        f"= {len(plan.specs)} runs on {jobs} {'process' if jobs == 1 else 'processes'}"
    )


def _print_report(comparison: Comparison, log_y: bool) -> None:
    console.print(ranked_table(comparison))
    width = max(40, min(80, console.width - 16))
    problem = comparison.plan.problem
    console.print(arguments_table(comparison))
    console.print(
        termviz.line_chart(comparison.curves(), width=width, log_y=log_y, title=chart_title(comparison))
    )
    if problem["kind"] == "landscape":
        grid, extent = comparison.landscape
        console.print(termviz.contour_map(grid, extent, comparison.paths(), width=width))


# ---------------------------------------------------------------------------------------------- tables


def fmt_stat(stat: Stat, spec: str = ".4g", std_spec: str = ".2g") -> str:
    """'0.1234 ± 0.0056' over seeds, '0.1234' for one seed, '—' for none."""
    if stat.mean is None:
        return "—"
    return fmt(stat.mean, spec) + (f" ± {fmt(stat.std, std_spec)}" if stat.std is not None else "")


def ranked_cells(entry: Entry, rank: int, metric: str | None) -> list[str]:
    """The cells of one line of the ranked table (also what the tests compare with results.json)."""
    runs = len(entry.runs)
    final = fmt_stat(entry.final_loss)
    if entry.diverged:
        final = "diverged" + (f" ({entry.diverged}/{runs})" if runs > 1 else "")
    to_target = fmt_stat(entry.steps_to_target, ".0f", ".0f")
    if 0 < entry.steps_to_target.n < runs:
        to_target += f" ({entry.steps_to_target.n}/{runs})"
    cells = [str(rank), entry.label, f"{entry.lr:.3g}", final]
    if metric is not None:
        cells.append(fmt_stat(entry.best_val_metric, ".4f", ".4f"))
    return cells + [
        to_target,
        fmt_stat(entry.wall_time_s, ".2f", ".2f"),
        fmt_stat(entry.steps_per_s, ",.0f", ",.0f"),
    ]


def chart_title(comparison: Comparison, loss: bool = True) -> str:
    """'5 optimizers on spirals: loss over the training set' (what is compared, not only the config)."""
    problem, n = comparison.plan.problem, len(comparison.plan.labels)
    what = f"{n} optimizer{'s' if n != 1 else ''} on {problem['name']}"
    if not loss:
        return what
    return what + (": loss over the training set" if problem["kind"] == "training" else ": loss")


def arguments_table(comparison: Comparison) -> Table:
    """Each optimizer's arguments as it ran (at the chosen lr; the others at their defaults) and where
    they came from."""

    table = Table(title="optimizer arguments", header_style="bold")
    for name in ("optimizer", "arguments", "from"):
        table.add_column(name)
    for entry in comparison.ranking:
        opt = entry.optimizer
        defaults = validate_optimizer({"name": opt["name"], "lr": opt["lr"]}, entry.label)
        args = (
            ", ".join(
                [f"{opt['name']}(lr={opt['lr']:.3g}"]
                + [f"{k}={v}" for k, v in opt.items() if k not in ("name", "lr") and v != defaults.get(k)]
            )
            + ")"
        )
        table.add_row(entry.label, args, comparison.plan.sources.get(entry.label, ""))
    return table


def ranked_table(comparison: Comparison) -> Table:
    metric = comparison.plan.metric
    columns = ["#", "optimizer", "lr", "final loss", *([f"best val {metric}"] if metric else [])]
    columns += ["steps to target", "time (s)", "steps/s"]
    table = Table(title="ranked by final loss", header_style="bold", caption_justify="left")
    for name in columns:
        table.add_column(
            name, justify="left" if name == "optimizer" else "right", no_wrap=name == "optimizer"
        )
    for rank, entry in enumerate(comparison.ranking, 1):
        table.add_row(*ranked_cells(entry, rank, metric))
    landscape = comparison.plan.problem["kind"] == "landscape"
    notes = [
        "final loss: the surface's value at the last step"
        if landscape
        else "final loss: over the whole training set"
    ]
    if comparison.target_loss is not None:
        notes.append(f"target: loss ≤ {fmt(comparison.target_loss, '.4g')}")
    if len(comparison.plan.seeds) > 1:
        notes.append(f"mean ± std over seeds {', '.join(map(str, comparison.plan.seeds))}")
    table.caption = "; ".join(notes)
    return table


class CompareBoard(LiveBoard):
    """One row per optimizer while the runs go: runs finished, step, loss, validation metric, steps/s.

    In-process runs update their row at every logged step; worker-process runs when each finishes. Off a
    terminal it prints one plain line per finished run instead.
    """

    def __init__(self, console: Console, plan: cmp.Plan, *, parallel: bool, quiet: bool = False) -> None:
        self.plan = plan
        self.labels = [spec.label for spec in plan.specs]
        self.total = Counter(self.labels)
        status = "running" if parallel else "waiting"
        blank = {"done": 0, "status": status, "step": None, "loss": None, "metric": None, "rate": None}
        self.rows = {label: dict(blank) for label in plan.labels}
        super().__init__(console, self.table, quiet=quiet, fps=8)  # last: it may draw the table

    def row(self, index: int, row: dict) -> None:
        self.rows[self.labels[index]].update(
            status="running",
            step=row["step"],
            loss=row["loss"],
            metric=row.get("val_metric"),
            rate=row["step"] / row["time_s"] if row["time_s"] > 0 else None,
        )

    def done(self, index: int, result: RunResult) -> None:
        state = self.rows[result.label]
        state["done"] += 1
        last = result.rows[-1]
        state.update(
            step=result.steps, loss=last["loss"], metric=last.get("val_metric"), rate=result.steps_per_s
        )
        state["status"] = "done" if state["done"] == self.total[result.label] else state["status"]
        if result.status == "diverged":
            state["status"] = "diverged"
        if not self.live_mode and not self.quiet:
            metric = (
                f", best val {self.plan.metric} {fmt(result.best_val_metric, '.4f')}"
                if self.plan.metric
                else ""
            )
            self.console.print(
                f"{result.label} (lr {result.lr:.3g}, seed {result.seed}): {result.status}, "
                f"final loss {fmt(result.final_loss, '.4g')}{metric}, "
                f"{result.steps} steps in {result.wall_time_s:.2f} s",
                highlight=False,
            )

    def table(self) -> Table:
        table = Table(header_style="bold")
        metric = self.plan.metric
        for name in (
            "optimizer",
            "runs",
            "step",
            "loss",
            *([f"val {metric}"] if metric else []),
            "steps/s",
            "",
        ):
            table.add_column(name, justify="left" if name == "optimizer" else "right")
        for label, s in self.rows.items():
            cells = [label, f"{s['done']}/{self.total[label]}", fmt(s["step"], "d"), fmt(s["loss"], ".4g")]
            cells += [fmt(s["metric"], ".4f")] if metric else []
            table.add_row(*cells, fmt(s["rate"], ",.0f"), s["status"])
        return table
