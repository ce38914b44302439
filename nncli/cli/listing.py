"""`nncli runs`: the run directories under runs/ (or DIR), newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import JsonOption, console, examples, user_errors
from nncli.rundir.listing import list_runs
from nncli.views.reporter import runs_table


@examples("nncli runs", "nncli runs experiments --json")
@user_errors
def runs(
    root: Annotated[Path, typer.Argument(help="The folder holding run directories.")] = Path("runs"),
    json_: JsonOption = False,
) -> None:
    """List the run directories: name, status, steps, best metric, wall time and date, newest first."""
    entries = list_runs(root)
    if json_:
        console.print_json(json.dumps(entries))
    elif not entries:
        console.print(f"no run directories in {root}")
    else:
        console.print(runs_table(entries))
