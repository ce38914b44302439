"""`nncli datasets list|export`: the bundled datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nncli.cli.common import JsonOption, console, user_errors
from nncli.config.loading import parse_override, validate
from nncli.config.schema import RunConfig
from nncli.datasets import DATASETS, save_file
from nncli.errors import NncliError
from nncli.training.build import load_dataset


@user_errors
def datasets_list(json_: JsonOption = False) -> None:
    """Show every bundled dataset with its task and parameters."""
    rows = []
    for name in DATASETS.names():
        spec = DATASETS.get(name)
        params = {p: default for p, (_, default) in spec.params().items()}
        summary = spec.description.split(". ")[0].rstrip(".")
        rows.append(
            {"name": name, "task": spec.task, "kind": spec.kind, "params": params, "description": summary}
        )
    if json_:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="datasets")
    for col in ("name", "task", "kind", "parameters", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["task"],
            r["kind"],
            ", ".join(f"{k}={v}" for k, v in r["params"].items()),
            r["description"],
        )
    console.print(table)


@user_errors
def datasets_export(
    name: Annotated[str, typer.Argument(help="A dataset name from `nncli datasets list`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A .csv or .npz file to write.")],
    samples: Annotated[int, typer.Option(help="Number of samples.")] = 500,
    noise: Annotated[float | None, typer.Option(help="Noise level (default: the dataset's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A dataset parameter: key=value.")
    ] = None,
) -> None:
    """Write a bundled dataset to a .csv or .npz file."""
    if output.suffix.lower() not in (".csv", ".npz"):
        raise NncliError(f"--output: write a .csv or .npz file, not '{output.suffix or output.name}'")
    data: dict = {"dataset": name, "samples": samples, "validation": 0.0}
    if noise is not None:
        data["noise"] = noise
    for p in param or []:
        key, value = parse_override(p)
        data[".".join(key)] = value
    cfg: RunConfig = validate({"data": data, "seed": seed, "training": {"steps": 1}}, "datasets export")
    ds = load_dataset(cfg)
    save_file(ds, output)
    console.print(f"wrote {ds.X.shape[0]} samples of {name} to {output}")
