"""`nncli sweep`: many trainings of one config, over a grid, random draws and seeds, on this machine's
cores (`--jobs`) or on Ray (`--backend ray`). A thin layer over nncli.compare.sweep (planning),
nncli.compare.sweep_run (running and files) and nncli.views.sweep (the tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from nncli.cli.common import JsonOption, SetOption, console, err_console, user_errors
from nncli.compare.executors import import_ray, make_executor
from nncli.compare.sweep import plan_sweep
from nncli.compare.sweep_run import run_sweep
from nncli.config.loading import load_config
from nncli.config.sweep import load_spec, spec_from_options, validate_spec
from nncli.errors import NncliError
from nncli.rundir.directory import default_run_dir
from nncli.views import plots
from nncli.views.sweep import SweepBoard, ranked_table
from nncli.views.sweep_plots import save_sweep_metric


@user_errors
def sweep(
    config: Annotated[Path, typer.Argument(help="The YAML config every trial starts from.")],
    grid: Annotated[
        list[str] | None,
        typer.Option("--grid", help="KEY=V1,V2,...: try every value (repeatable; all combinations)."),
    ] = None,
    random: Annotated[
        list[str] | None,
        typer.Option(
            "--random", help="KEY=DIST: choice(a,b,..), uniform(a,b), loguniform(a,b), int(a,b) (repeatable)."
        ),
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Random draws per grid point (default 1).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Repeat every trial over this many seeds.")] = None,
    sweep_seed: Annotated[int | None, typer.Option(help="Seed of the random draws (default 0).")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Summary field to rank by (default best_val_loss).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="min or max (default: from the metric).")] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="A YAML sweep file: grid, random, samples, seeds, ...")
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=1, help="Trials at once: local processes, or the CPUs of in-process Ray."
        ),
    ] = 1,
    backend: Annotated[
        Literal["local", "ray"],
        typer.Option(help="local processes, or Ray tasks (pip install nncli\\[ray])."),
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="A Ray cluster's HOST:PORT (default RAY_ADDRESS, else in-process).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Sweep folder (default runs/sweep-<name>-<time>).")
    ] = None,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Train many variants of one config and rank them; re-run in the same -o folder to resume."""
    if address is not None and backend != "ray":
        raise NncliError("--address names a Ray cluster; add --backend ray")
    _, raw = load_config(config, set_ or [])
    base, lines = load_spec(spec) if spec is not None else ({}, {})
    source = str(spec) if spec is not None else "sweep options"
    options = dict(samples=samples, seeds=seeds, sweep_seed=sweep_seed, metric=metric, mode=mode)
    sweep_spec = validate_spec(spec_from_options(grid or [], random or [], base, **options), source, lines)
    if not (sweep_spec.grid or sweep_spec.random or sweep_spec.seeds > 1):
        raise NncliError(
            "nothing to sweep: give --grid KEY=V1,V2, --random KEY=DIST, --seeds K or --spec FILE"
        )
    plan = plan_sweep(raw, sweep_spec, source, lines)
    if backend == "ray":
        import_ray()
    directory = out if out is not None else default_run_dir(f"sweep-{raw.get('name') or 'run'}")
    where = f"Ray at {address}" if address else "Ray" if backend == "ray" else f"{jobs} processes"
    where = "1 process" if backend == "local" and jobs == 1 else where
    if not json_:
        console.print(
            f"[bold]{raw.get('name')}[/]: {len(plan.trials)} trials over {', '.join(plan.keys)} on "
            f"{where}, ranked by {plan.metric} ({plan.mode})",
            highlight=False,
        )
    board = SweepBoard(console, plan, jobs=jobs, quiet=json_)
    try:
        with board:
            outcome = run_sweep(
                plan,
                directory,
                make_executor(jobs, backend, address),
                on_start=board.start,
                on_step=board.step,
                on_row=board.row,
            )
    except KeyboardInterrupt:
        finished = sum(s["status"] not in ("queued", "running") for s in board.state.values())
        err_console.print(
            f"interrupted: {finished} of {len(plan.trials)} trials are written in {directory}; "
            "run the same command again to run the rest"
        )
        raise typer.Exit(130) from None
    written = _write_picture(outcome, directory)
    if json_:
        console.print_json(
            json.dumps(
                {
                    "run_dir": str(directory),
                    "metric": plan.metric,
                    "mode": plan.mode,
                    "digest": plan.digest,
                    "best": outcome.best,
                    "trials": outcome.ranking,
                }
            )
        )
        return
    console.print(ranked_table(outcome))
    names = [
        "results.csv",
        "results.jsonl",
        *(["best.yaml"] if outcome.best else []),
        *(p.name for p in written),
    ]
    console.print(f"results in {directory}: {', '.join(names)}, trials/", highlight=False)


def _write_picture(outcome, directory: Path) -> list[Path]:
    if not plots.has_matplotlib() or not outcome.rows:
        return []

    title = f"{outcome.plan.base.get('name')}: {outcome.plan.metric} of {len(outcome.rows)} trials"
    return [
        save_sweep_metric(
            outcome.rows, outcome.plan.keys, outcome.plan.metric, directory / "metric.png", title
        )
    ]
