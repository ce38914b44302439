"""`nncli plot RUN_DIR`: a run's figures as PNG files (needs the `plot` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import RunDirArg, console, user_errors
from nncli.views.runplots import plot_run

LogYOption = Annotated[bool, typer.Option("--log-y", help="Draw losses on a log scale.")]


@user_errors
def plot(
    run_dir: RunDirArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the PNGs (default RUN_DIR/plots).")
    ] = None,
    log_y: LogYOption = False,
) -> None:
    """Draw a run's loss curves, decision boundary or fitted curve, weight histograms and attention maps."""
    for path in plot_run(run_dir, out, log_y=log_y):
        console.print(f"wrote {path}", highlight=False)
