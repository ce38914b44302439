"""`nncli plot RUN_DIR`: a run's figures as PNG files (needs the `plot` extra)."""

from __future__ import annotations

import json

from nncli.cli.common import (
    JsonOption,
    LogYOption,
    OverwriteOption,
    RunDirArg,
    console,
    echo,
    examples,
    out_option,
    user_errors,
)
from nncli.views.runplots import plot_run


@examples("nncli plot runs/xor", "nncli plot runs/xor -o figures --linear-y")
@user_errors
def plot(
    run_dir: RunDirArg,
    out: out_option("Folder for the PNGs (default RUN_DIR/plots).") = None,
    log_y: LogYOption = None,
    json_: JsonOption = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Draw a run's loss curves, decision boundary or fitted curve, weight histograms and attention maps."""
    written = plot_run(run_dir, out, log_y=log_y, overwrite=overwrite)
    if json_:
        console.print_json(json.dumps({"written": [str(p) for p in written]}))
        return
    for path in written:
        echo(f"wrote {path}")
