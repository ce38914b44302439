"""`nncli report RUN_DIR`: one self-contained HTML file about a run (or about a sweep folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from nncli.cli.common import RunDirArg, console, err_console, user_errors
from nncli.cli.plot import LogYOption
from nncli.views.report import build_report
from nncli.views.sweep_report import build_sweep_report, is_sweep


@user_errors
def report(
    run_dir: RunDirArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The HTML file (default RUN_DIR/report.html).")
    ] = None,
    log_y: LogYOption = False,
) -> None:
    """Write the config, summary, metrics and every plot of a run into one HTML file (images inlined);
    for a sweep folder, its ranked trials, best config and metric plot."""
    if is_sweep(run_dir):
        path, note = build_sweep_report(run_dir, output)
    else:
        path, note = build_report(run_dir, output, log_y=log_y)
    if note:
        err_console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False)
    console.print(f"wrote {path}", highlight=False)
