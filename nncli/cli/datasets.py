"""`nncli datasets list|export`: the bundled datasets."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nncli.cli.common import (
    JsonOption,
    OverwriteOption,
    console,
    echo,
    examples,
    hidden_alias,
    out_option,
    pick,
    user_errors,
)
from nncli.config.loading import parse_override, validate
from nncli.config.schema import RunConfig
from nncli.datasets import DATASETS, save_file
from nncli.errors import NncliError
from nncli.rundir.outputs import check_output
from nncli.training.build import load_dataset


@examples("nncli datasets list", "nncli datasets list --json")
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
        cells = (r["name"], r["task"], r["kind"], ", ".join(f"{k}={v}" for k, v in r["params"].items()))
        table.add_row(*(escape(c) for c in (*cells, r["description"])))
    console.print(table)


@examples(
    "nncli datasets export spirals -o spirals.csv --set arms=4 --samples 600",
    "nncli datasets export reverse -o reverse.npz",
)
@user_errors
def datasets_export(
    name: Annotated[str, typer.Argument(help="A dataset name from `nncli datasets list`.")],
    out: out_option("A .csv or .npz file to write.") = None,
    samples: Annotated[
        int | None, typer.Option(help="Number of samples (default: the config's, data.samples).")
    ] = None,
    noise: Annotated[float | None, typer.Option(help="Noise level (default: the dataset's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A dataset parameter, as in the config's data section: key=value."),
    ] = None,
    output: hidden_alias("--output") = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", hidden=True)] = None,
    json_: JsonOption = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a bundled dataset to a .csv or .npz file."""
    path = pick(out, output, "--out", "--output")
    if path is None:
        raise NncliError("give the file to write with -o/--out, for example -o data.csv")
    if path.suffix.lower() not in (".csv", ".npz"):
        raise NncliError(f"--out: write a .csv or .npz file, not '{path.suffix or path.name}'")
    check_output(path, overwrite=overwrite, option="--out")
    data: dict = {"dataset": name, "validation": 0.0}
    if samples is not None:
        data["samples"] = samples
    if noise is not None:
        data["noise"] = noise
    for p in [*(set_ or []), *(param or [])]:
        key, value = parse_override(p)
        data[".".join(key).removeprefix("data.")] = value
    cfg: RunConfig = validate({"data": data, "seed": seed, "training": {"steps": 1}}, "datasets export")
    ds = load_dataset(cfg)
    save_file(ds, path)
    if json_:
        console.print_json(json.dumps({"dataset": name, "samples": int(ds.X.shape[0]), "out": str(path)}))
    else:
        echo(f"wrote {ds.X.shape[0]} samples of {name} to {path}")
