"""`nncli report RUN_DIR`: one self-contained HTML file about a run (or about a sweep folder)."""

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
    hidden_alias,
    out_option,
    pick,
    say,
    user_errors,
)
from nncli.views.report import build_report
from nncli.views.sweep_report import build_sweep_report, is_sweep


@examples("nncli report runs/xor", "nncli report runs/xor -o xor.html")
@user_errors
def report(
    run_dir: RunDirArg,
    out: out_option("The HTML file (default RUN_DIR/report.html).") = None,
    output: hidden_alias("--output") = None,
    log_y: LogYOption = None,
    json_: JsonOption = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write the config, summary, metrics and every plot of a run into one HTML file (images inlined);
    for a sweep folder, its ranked trials, best config and metric plot."""
    target = pick(out, output, "--out", "--output")
    if is_sweep(run_dir):
        path, note = build_sweep_report(run_dir, target, overwrite=overwrite)
    else:
        path, note = build_report(run_dir, target, log_y=log_y, overwrite=overwrite)
    if note:
        say("warning:", "yellow", note)
    if json_:
        console.print_json(json.dumps({"written": str(path)}))
    else:
        echo(f"wrote {path}")
