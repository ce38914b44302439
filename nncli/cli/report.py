"""`nncli report RUN_DIR`: one self-contained HTML file about a run."""

from __future__ import annotations

import json

from rich.markup import escape

from nncli.cli.common import (
    JsonOption,
    LogYOption,
    RunDirArg,
    console,
    err_console,
    examples,
    hidden_alias,
    out_option,
    pick,
    user_errors,
)
from nncli.views.report import build_report


@examples("nncli report runs/xor", "nncli report runs/xor -o xor.html")
@user_errors
def report(
    run_dir: RunDirArg,
    out: out_option("The HTML file (default RUN_DIR/report.html).") = None,
    output: hidden_alias("--output") = None,
    log_y: LogYOption = None,
    json_: JsonOption = False,
) -> None:
    """Write the config, summary, metrics and every plot of a run into one HTML file (images inlined)."""

    path, note = build_report(run_dir, pick(out, output, "--out", "--output"), log_y=log_y)
    if note:
        err_console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False)
    if json_:
        console.print_json(json.dumps({"written": str(path)}))
    else:
        console.print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)
