"""`nncli train`: train a config's model into a run directory, showing the loss live."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import JsonOption, SetOption, console, err_console, user_errors
from nncli.config.loading import load_config
from nncli.errors import ConfigError, NncliError
from nncli.rundir import directory as rd
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
        if self.received is not None:  # a second Ctrl-C: stop now
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
            run, directory = rd.new_run(cfg, out, overwrite=overwrite)
        except ConfigError as exc:  # found while building: name the file as validation errors do
            raise ConfigError(f"{config}: {exc}") from None
        directory.start()
        if getattr(cfg.data, "task", None) == "auto":  # a file's task was guessed: say what and why
            err_console.print(run.data.train.task_reason, highlight=False, soft_wrap=True)
    trainer = run.trainer
    trainer.subscribe(directory)
    show = not (quiet or json_)
    reporter = TrainingReporter(
        console, trainer.settings.total_steps, trainer.metric_name, start_step=trainer.state.step
    )
    output = _StopOnClosedOutput(trainer, reporter)
    if show:
        if not no_plot:
            attach(run, reporter, console)  # the live boundary / fitted curve, where it fits
        trainer.subscribe(output)
    with _StopOnSignal(trainer) as stopper:
        if show:
            with reporter:
                trainer.run()
        else:
            trainer.run()
    summary = directory.summary
    try:
        if not output.closed:
            console.print_json(json.dumps(summary)) if json_ else console.print(summary_panel(summary))
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
        err_console.print(f"[bold red]diverged:[/] {summary['message']}", highlight=False)
        raise typer.Exit(3)
    if stopper.received is not None:
        raise typer.Exit(_StopOnSignal.CODES[stopper.received])
