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
from nncli.errors import NncliError
from nncli.rundir.directory import WEIGHTS, load_trained
from nncli.rundir.predict import evaluation_data, evaluation_report, predict_file
from nncli.views.reporter import class_tables, key_value_table

WeightsOption = Annotated[
    str, typer.Option("--weights", help="final (final.npz) or best (best.npz: the lowest val_loss).")
]


def _weights(value: str) -> str:
    if value not in WEIGHTS:
        raise NncliError(f"--weights: '{value}' is not one of {', '.join(WEIGHTS)}")
    return value


@examples("nncli evaluate runs/xor", "nncli evaluate runs/xor --data new.csv --json")
@user_errors
def evaluate(
    run_dir: RunDirArg,
    data: Annotated[
        Path | None, typer.Option(help="Evaluate on this .csv/.npz instead of the validation set.")
    ] = None,
    weights: WeightsOption = "final",
    json_: JsonOption = False,
) -> None:
    """Report the loss and metric of a trained run; for classification the confusion matrix and the
    precision, recall and F1 of each class."""
    run = load_trained(run_dir, _weights(weights))
    trainer = run.trainer
    if data is not None:
        X, y = evaluation_data(run, data)
        source = str(data)
    elif trainer.X_val is not None:
        X, y, source = trainer.X_val, trainer.y_val, "validation set"
    else:
        X, y, source = trainer.X, trainer.y, "training set"
    result = {"data": source, "weights": weights, **evaluation_report(run, X, y)}
    if json_:
        console.print_json(json.dumps(result), ensure_ascii=True)  # no raw control characters
        return
    scalars = {k: v for k, v in result.items() if not isinstance(v, list)}
    console.print(key_value_table(f"{run.config.name}: {source}", scalars))
    for table in class_tables(result):
        console.print(table)


@examples("nncli predict runs/xor inputs.csv", "nncli predict runs/xor inputs.csv -o predictions.csv")
@user_errors
def predict(
    run_dir: RunDirArg,
    input_file: Annotated[
        Path, typer.Argument(help="A .csv (the feature columns by name, header row) or .npz (X) file.")
    ],
    out: out_option("The .csv to write (default RUN_DIR/predictions.csv).") = None,
    output: hidden_alias("--output") = None,
    json_: JsonOption = False,
    weights: WeightsOption = "final",
    overwrite: OverwriteOption = False,
) -> None:
    """Write a trained run's predictions for new inputs, beside the input columns."""
    path = predict_file(
        run_dir,
        input_file,
        pick(out, output, "--out", "--output"),
        weights=_weights(weights),
        overwrite=overwrite,
    )
    if json_:
        console.print_json(json.dumps({"predictions": str(path)}))
    else:
        echo(f"predictions written to {path}")
