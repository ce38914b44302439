"""`nncli config schema|validate`: the config's JSON Schema, and a check without training."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import SetOption, console, user_errors
from nncli.config.loading import dump_config, load_config
from nncli.config.schema import RunConfig


@user_errors
def config_schema() -> None:
    """Print the JSON Schema of the config file (for editor autocompletion)."""
    sys.stdout.write(json.dumps(RunConfig.model_json_schema(), indent=2) + "\n")


@user_errors
def config_validate(
    file: Annotated[Path, typer.Argument(help="The config file to check.")],
    set_: SetOption = None,
    show: Annotated[bool, typer.Option(help="Print the resolved config.")] = False,
) -> None:
    """Check a config file without training."""
    cfg, _ = load_config(file, set_ or [])
    console.print(f"[green]ok:[/] {file} is a valid config")
    if show:
        console.print(dump_config(cfg), highlight=False, markup=False)
