"""The `nncli` command line: a thin typer layer over the library.

Every command turns user mistakes (`nncli.errors.NncliError`) into one clear message and exit code 2;
anything else is a bug: exit 1, with the traceback behind `--debug`.
"""

from __future__ import annotations

import functools
import json
import math
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from nncli.errors import ConfigError, NncliError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    help="Train small neural networks from YAML configs on a NumPy engine.",
)
config_app = typer.Typer(no_args_is_help=True, help="Inspect and check config files.")
datasets_app = typer.Typer(no_args_is_help=True, help="The bundled datasets.")
app.add_typer(config_app, name="config")
app.add_typer(datasets_app, name="datasets")

console = Console()
err_console = Console(stderr=True)
_debug = {"on": False}

# Options shared by several commands, declared once.
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory written by `nncli train`.")]


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False):
    _debug["on"] = debug


def user_errors(fn):
    """Exit 2 with the message for user errors; exit 1 for bugs (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NncliError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except typer.Exit:
            raise
        except MemoryError:
            err_console.print(
                "[bold red]error:[/] not enough memory for this run; use fewer data.samples or smaller layers"
            )
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _debug["on"]:
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                "This is a bug in nncli; run again with --debug for the traceback.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper


# ---------------------------------------------------------------------------------------------- train


class _StopOnSignal:
    """Ask the trainer to stop after the current step on SIGINT/SIGTERM; remembers which arrived."""

    CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}

    def __init__(self, trainer) -> None:
        self.trainer, self.received = trainer, None

    def __enter__(self):
        self.previous = {s: signal.signal(s, self.handle) for s in self.CODES}
        return self

    def handle(self, signum, frame) -> None:
        if self.received is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.received = signum
        self.trainer.stop_requested = "interrupted"

    def __exit__(self, *exc) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)


@app.command()
@user_errors
def train(
    config: Annotated[Path | None, typer.Argument(help="The run's YAML config.")] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<name>-<time>).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the files of an existing --out directory.")
    ] = False,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the run in this directory from its checkpoint.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final summary.")] = False,
    json_: JsonOption = False,
    no_plot: Annotated[
        bool, typer.Option("--no-plot", help="No live decision boundary / fitted curve.")
    ] = False,
) -> None:
    """Train the model a config describes, showing the loss live, and write a run directory."""
    from nncli import rundir as rd
    from nncli.configio import load_config
    from nncli.reporter import TrainingReporter, summary_panel

    if resume is not None:
        if config is not None or set_ or out is not None:
            raise NncliError(
                "--resume continues in the run directory with its own config; give no CONFIG, --set or --out"
            )
        run, directory = rd.resumed_run(resume)
    else:
        if config is None:
            raise NncliError("give a CONFIG file to train, or --resume RUN_DIR")
        cfg, _ = load_config(config, set_ or [])
        try:
            run, directory = rd.new_run(cfg, out, overwrite=overwrite)
        except ConfigError as exc:  # found while building: name the file as validation errors do
            raise ConfigError(f"{config}: {exc}") from None
        directory.start()
    trainer = run.trainer
    trainer.subscribe(directory)
    show = not (quiet or json_)
    reporter = TrainingReporter(
        console, trainer.settings.total_steps, trainer.metric_name, start_step=trainer.state.step
    )
    if show:
        if not no_plot:
            _attach_live_plot(run, reporter)
        trainer.subscribe(reporter)
    with _StopOnSignal(trainer) as stopper:
        if show:
            with reporter:
                trainer.run()
        else:
            trainer.run()
    summary = directory.summary
    if json_:
        console.print_json(json.dumps(summary))
    else:
        console.print(summary_panel(summary))
    if summary["status"] == "diverged":
        err_console.print(f"[bold red]diverged:[/] {summary['message']}", highlight=False)
        raise typer.Exit(3)
    if stopper.received is not None:
        raise typer.Exit(_StopOnSignal.CODES[stopper.received])


def _attach_live_plot(run, reporter) -> None:
    """The live decision boundary / fitted curve beside the loss table, where the terminal allows."""
    try:
        from nncli.liveplot import attach
    except ImportError:
        return
    attach(run, reporter, console)


# ---------------------------------------------------------------------------------------------- evaluate


@app.command()
@user_errors
def evaluate(
    run_dir: RunDirArg,
    data: Annotated[
        Path | None, typer.Option(help="Evaluate on this .csv/.npz instead of the validation set.")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Report the loss and metric of a trained run."""
    from nncli.predict import evaluation_data
    from nncli.reporter import key_value_table
    from nncli.rundir import load_trained

    run = load_trained(run_dir)
    trainer = run.trainer
    if data is not None:
        X, y = evaluation_data(run, data)
        source = str(data)
    elif trainer.X_val is not None:
        X, y, source = trainer.X_val, trainer.y_val, "validation set"
    else:
        X, y, source = trainer.X, trainer.y, "training set"
    loss, metric = trainer.evaluate(X, y)
    result = {"data": source, "samples": int(X.shape[0]), "loss": loss, trainer.metric_name: metric}
    if json_:
        console.print_json(json.dumps(result))
    else:
        console.print(key_value_table(f"{run.config.name}: {source}", result))


@app.command()
@user_errors
def predict(
    run_dir: RunDirArg,
    input_file: Annotated[
        Path, typer.Argument(help="A .csv (feature columns, header row) or .npz (X) file.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write (.csv).")] = None,
) -> None:
    """Write a trained run's predictions for new inputs."""
    from nncli.predict import predict_file

    path = predict_file(run_dir, input_file, output)
    console.print(f"predictions written to {path}")


# ---------------------------------------------------------------------------------------------- gradcheck


@app.command()
@user_errors
def gradcheck(
    config: Annotated[
        Path | None, typer.Argument(help="Check the model, loss and regularizer of this config.")
    ] = None,
    eps: Annotated[float, typer.Option(help="Finite-difference step h.")] = 1e-4,
    threshold: Annotated[float, typer.Option(help="Largest relative error that passes.")] = 1e-6,
    samples: Annotated[int, typer.Option(help="Entries sampled per tensor.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed for inputs and sampled entries.")] = 0,
    only: Annotated[str | None, typer.Option(help="Comma-separated component names to check.")] = None,
    json_: JsonOption = False,
) -> None:
    """Check every hand-written gradient against central finite differences (float64)."""
    from rich.table import Table

    from nncli import gradcheck as gc

    if not (0 < eps < math.inf and 0 < threshold < math.inf) or samples < 1:
        raise NncliError("--eps and --threshold must be > 0 and --samples ≥ 1")
    if config is not None:
        from nncli.configio import load_config
        from nncli.gradcheck.config_case import config_case

        cfg, _ = load_config(config)
        rng = __import__("numpy").random.default_rng(seed)
        results = [
            gc.check_case(
                config_case(cfg), eps=eps, samples=samples, rng=rng, threshold=threshold, name=str(config)
            )
        ]
    else:
        names = [n.strip() for n in only.split(",")] if only else None
        results = gc.run_all(names, eps=eps, samples=samples, seed=seed, threshold=threshold)
    failed = [r for r in results if not r.passed]
    if json_:
        console.print_json(json.dumps({"passed": not failed, "results": [r.to_dict() for r in results]}))
    else:
        table = Table(title=f"gradient check (h={eps:g}, threshold {threshold:g})")
        table.add_column("component")
        table.add_column("checked tensors")
        table.add_column("max rel. error", justify="right")
        table.add_column("", justify="center")
        for r in results:
            names = [t.name for t in r.tensors]
            tensors = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
            tensors += f" ({sum(t.checked for t in r.tensors)} entries)"
            mark = "[green]pass[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(r.component, tensors, f"{r.max_rel_error:.2e}", mark)
        console.print(table)
        console.print(f"{len(results) - len(failed)} of {len(results)} components pass")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------- config


@config_app.command("schema")
@user_errors
def config_schema() -> None:
    """Print the JSON Schema of the config file (for editor autocompletion)."""
    from nncli.config import RunConfig

    sys.stdout.write(json.dumps(RunConfig.model_json_schema(), indent=2) + "\n")


@config_app.command("validate")
@user_errors
def config_validate(
    file: Annotated[Path, typer.Argument(help="The config file to check.")],
    set_: SetOption = None,
    show: Annotated[bool, typer.Option(help="Print the resolved config.")] = False,
) -> None:
    """Check a config file without training."""
    from nncli.configio import dump_config, load_config

    cfg, _ = load_config(file, set_ or [])
    console.print(f"[green]ok:[/] {file} is a valid config")
    if show:
        console.print(dump_config(cfg), highlight=False, markup=False)


# ---------------------------------------------------------------------------------------------- datasets


@datasets_app.command("list")
@user_errors
def datasets_list(json_: JsonOption = False) -> None:
    """Show every bundled dataset with its task and parameters."""
    from rich.table import Table

    from nncli.datasets import DATASETS

    rows = []
    for name in DATASETS.names():
        spec = DATASETS.get(name)
        params = {p: default for p, (_, default) in spec.params().items()}
        summary = spec.description.split(". ")[0].rstrip(".")
        rows.append(
            {"name": name, "task": spec.task, "kind": spec.kind, "params": params, "description": summary}
        )
    if json_:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="datasets")
    for col in ("name", "task", "kind", "parameters", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["task"],
            r["kind"],
            ", ".join(f"{k}={v}" for k, v in r["params"].items()),
            r["description"],
        )
    console.print(table)


@datasets_app.command("export")
@user_errors
def datasets_export(
    name: Annotated[str, typer.Argument(help="A dataset name from `nncli datasets list`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A .csv or .npz file to write.")],
    samples: Annotated[int, typer.Option(help="Number of samples.")] = 500,
    noise: Annotated[float | None, typer.Option(help="Noise level (default: the dataset's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A dataset parameter: key=value.")
    ] = None,
) -> None:
    """Write a bundled dataset to a .csv or .npz file."""
    from nncli.build import load_dataset
    from nncli.config import RunConfig
    from nncli.configio import parse_override, validate
    from nncli.datasets import save_file

    if output.suffix.lower() not in (".csv", ".npz"):
        raise NncliError(f"--output: write a .csv or .npz file, not '{output.suffix or output.name}'")
    data: dict = {"dataset": name, "samples": samples, "validation": 0.0}
    if noise is not None:
        data["noise"] = noise
    for p in param or []:
        key, value = parse_override(p)
        data[".".join(key)] = value
    cfg: RunConfig = validate({"data": data, "seed": seed, "training": {"steps": 1}}, "datasets export")
    ds = load_dataset(cfg)
    save_file(ds, output)
    console.print(f"wrote {ds.X.shape[0]} samples of {name} to {output}")


# ------------------------------------------------------------------------------------------ other commands
# Registered last: their modules import the shared options and `user_errors` from this one.
from nncli.commands.attention import attention  # noqa: E402
from nncli.commands.compare import compare_optimizers  # noqa: E402
from nncli.commands.plot import plot  # noqa: E402
from nncli.commands.report import report  # noqa: E402

app.command("compare-optimizers")(compare_optimizers)
app.command("plot")(plot)
app.command("report")(report)
app.command("attention")(attention)
