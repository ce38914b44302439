"""`nncli train`: train a config's model into a run directory, showing the loss live."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import (
    JsonOption,
    OverwriteOption,
    QuietOption,
    SetOption,
    console,
    err_console,
    examples,
    out_option,
    say,
    user_errors,
)
from nncli.config.loading import load_config
from nncli.errors import ConfigError, NncliError
from nncli.rundir import directory as rd
from nncli.training.pace import Pace
from nncli.views.liveplot import attach
from nncli.views.reporter import TrainingReporter, summary_panel


class _StopOnSignal:
    """Ask the trainer to stop after the current step on SIGINT/SIGTERM; remembers which arrived."""

    CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}

    def __init__(self, trainer) -> None:
        self.trainer, self.received = trainer, None

    def __enter__(self):
        self.previous = {s: signal.signal(s, self.handle) for s in self.CODES}
        return self

    def handle(self, signum, frame) -> None:
        if self.trainer.finishing:  # the checkpoint and summary are being written: let them finish
            self.received = self.received or signum
            return
        if self.received is not None:  # a second Ctrl-C during a step: stop now, mid-step
            raise KeyboardInterrupt
        self.received = signum
        self.trainer.stop_requested = "interrupted"

    def __exit__(self, *exc) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)


class _StopOnClosedOutput:
    """A listener that passes events on to `listener` until standard output is closed (`nncli train |
    head -1`); then it drops all output and asks the trainer to stop as SIGTERM does, so the run keeps
    its checkpoint and summary and can be resumed."""

    CODE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away

    def __init__(self, trainer, listener) -> None:
        self.trainer, self.listener, self.closed = trainer, listener, False

    def __call__(self, event) -> None:
        if self.closed:
            return
        try:
            self.listener(event)
        except BrokenPipeError:
            self.close()
            self.trainer.stop_requested = "interrupted"

    def close(self) -> None:
        """Point standard output at /dev/null, so that no later write (nor Python's exit) fails again."""
        self.closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):  # no real file descriptor (a test's captured output)
            os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@examples(
    "nncli train configs/xor.yaml",
    "nncli train configs/spirals.yaml --set optimizer.lr=0.01 --set training.steps=500 -o runs/spirals",
    "nncli train --resume runs/spirals",
    "nncli train configs/spirals.yaml --pace 200",
)
@user_errors
def train(
    config: Annotated[Path | None, typer.Argument(help="The run's YAML config.")] = None,
    set_: SetOption = None,
    out: out_option("Run directory (default runs/<name>-<time>).") = None,
    overwrite: OverwriteOption = False,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the run in this directory from its checkpoint.")
    ] = None,
    quiet: QuietOption = False,
    json_: JsonOption = False,
    plot: Annotated[
        bool, typer.Option("--plot/--no-plot", help="Show the live decision boundary / fitted curve.")
    ] = True,
    pace: Annotated[
        float | None,
        typer.Option(
            min=0.001, metavar="STEPS_PER_S", help="Slow training to this many steps a second, to watch it."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, help="BLAS threads (default: training.threads, NNCLI_THREADS, else by model size)."
        ),
    ] = None,
) -> None:
    """Train the model a config describes, showing the loss live, and write a run directory."""
    if resume is not None:
        if config is not None or out is not None:
            raise NncliError(
                "--resume continues in the run directory with its own config; give no CONFIG or --out "
                "(--set training.epochs=N continues a finished run for longer)"
            )
        run, directory = rd.resumed_run(resume, set_ or [])
    else:
        if config is None:
            raise NncliError("give a CONFIG file to train, or --resume RUN_DIR")
        cfg, _ = load_config(config, set_ or [])
        try:
            run, directory = rd.new_run(cfg, out, overwrite=overwrite, inputs=(config,))
        except ConfigError as exc:  # found while building: name the file as validation errors do
            raise ConfigError(f"{config}: {exc}") from None
    try:
        if resume is None:
            directory.start()
            if getattr(cfg.data, "task", None) == "auto":  # a file's task was guessed: say what and why
                err_console.print(run.data.train.task_reason, highlight=False, soft_wrap=True)
        _train(run, directory, quiet=quiet, json_=json_, plot=plot, pace=pace, threads=threads)
    finally:
        directory.close()


def _train(
    run, directory, *, quiet: bool, json_: bool, plot: bool, pace: float | None, threads: int | None
) -> None:
    trainer = run.trainer
    if threads is not None:
        trainer.use_threads(threads, "--threads")
    trainer.subscribe(directory)
    if pace is not None:
        trainer.subscribe(Pace(pace, trainer.state.step))
    show = not (quiet or json_)
    reporter = TrainingReporter(
        console, trainer.settings.total_steps, trainer.metric_name, start_step=trainer.state.step
    )
    output = _StopOnClosedOutput(trainer, reporter)
    if show:
        if plot:
            attach(run, reporter, console)  # the live boundary / fitted curve, where it fits
        trainer.subscribe(output)
    with _StopOnSignal(trainer) as stopper:
        try:
            if show:
                with reporter:
                    trainer.run()
            else:
                trainer.run()
        except KeyboardInterrupt:  # a second signal mid-step: the step's update may be half done
            step = trainer.state.step
            directory.write_summary(
                "interrupted", f"stopped at once during step {step + 1}; the last checkpoint is kept"
            )
            say("interrupted", "yellow", f"during step {step + 1}; the last checkpoint is kept")
            raise typer.Exit(_StopOnSignal.CODES.get(stopper.received, 130)) from None
    summary = directory.summary
    try:
        if not output.closed:
            if json_:
                console.print_json(json.dumps(summary), ensure_ascii=True)  # no raw control characters
            else:
                console.print(summary_panel(summary))
    except BrokenPipeError:  # closed after training: the run is complete, only the summary went unread
        output.close()
    if output.closed and summary["status"] == "interrupted":
        err_console.print(
            f"standard output closed: stopped at step {summary['steps']} with a checkpoint; "
            f"continue with nncli train --resume {directory.path}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(_StopOnClosedOutput.CODE)
    if summary["status"] == "diverged":
        say("diverged:", "bold red", summary["message"])
        raise typer.Exit(3)
    if stopper.received is not None:
        if not json_:
            err_console.print(
                f"continue with: nncli train --resume {shlex.quote(str(directory.path))}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        raise typer.Exit(_StopOnSignal.CODES[stopper.received])
