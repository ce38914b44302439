"""`nncli init`: write a commented starter config that validates and trains."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import OverwriteOption, console, examples, out_option, user_errors
from nncli.config.starter import STARTERS, starter_config
from nncli.errors import NncliError
from nncli.fileio import atomic_write_text

ModelKind = Enum("ModelKind", {name: name for name in STARTERS}, type=str)


@examples("nncli init", "nncli init -o reverse.yaml --model transformer", "nncli init --dataset moons")
@user_errors
def init(
    out: out_option("The config file to write (default config.yaml).") = None,
    model: Annotated[ModelKind, typer.Option(help="The kind of network.")] = ModelKind.mlp,
    dataset: Annotated[
        str | None, typer.Option(help="A bundled dataset (default: one that suits the model).")
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a commented starter config, every line explained, ready for `nncli train`."""

    path = out if out is not None else Path("config.yaml")
    text = starter_config(model.value, dataset)
    if path.exists() and not overwrite:
        raise NncliError(f"{path}: already exists; give another -o FILE, or --overwrite to replace it")
    atomic_write_text(path, text)
    console.print(
        f"wrote {path}; train it with: nncli train {path}", highlight=False, markup=False, soft_wrap=True
    )
