"""`nncli evaluate` and `nncli predict`: use a trained run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import (
    JsonOption,
    OverwriteOption,
    RunDirArg,
    console,
    echo,
    examples,
    hidden_alias,
    out_option,
    pick,
    user_errors,
)
from nncli.rundir.directory import load_trained
from nncli.rundir.predict import evaluation_data, predict_file
from nncli.views.reporter import key_value_table


@examples("nncli evaluate runs/xor", "nncli evaluate runs/xor --data new.csv --json")
@user_errors
def evaluate(
    run_dir: RunDirArg,
    data: Annotated[
        Path | None, typer.Option(help="Evaluate on this .csv/.npz instead of the validation set.")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Report the loss and metric of a trained run."""

    run = load_trained(run_dir)
    trainer = run.trainer
    if data is not None:
        X, y = evaluation_data(run, data)
        source = str(data)
    elif trainer.X_val is not None:
        X, y, source = trainer.X_val, trainer.y_val, "validation set"
    else:
        X, y, source = trainer.X, trainer.y, "training set"
    loss, metric = trainer.evaluate(X, y)
    result = {"data": source, "samples": int(X.shape[0]), "loss": loss, trainer.metric_name: metric}
    if json_:
        console.print_json(json.dumps(result), ensure_ascii=True)  # no raw control characters
    else:
        console.print(key_value_table(f"{run.config.name}: {source}", result))


@examples("nncli predict runs/xor inputs.csv", "nncli predict runs/xor inputs.csv -o predictions.csv")
@user_errors
def predict(
    run_dir: RunDirArg,
    input_file: Annotated[
        Path, typer.Argument(help="A .csv (feature columns, header row) or .npz (X) file.")
    ],
    out: out_option("The .csv to write (default RUN_DIR/predictions.csv).") = None,
    output: hidden_alias("--output") = None,
    json_: JsonOption = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a trained run's predictions for new inputs."""
    path = predict_file(run_dir, input_file, pick(out, output, "--out", "--output"), overwrite=overwrite)
    if json_:
        console.print_json(json.dumps({"predictions": str(path)}))
    else:
        echo(f"predictions written to {path}")
