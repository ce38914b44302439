"""`nncli evaluate` and `nncli predict`: use a trained run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import JsonOption, RunDirArg, console, user_errors
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
        console.print_json(json.dumps(result))
        return
    scalars = {k: v for k, v in result.items() if not isinstance(v, list)}
    console.print(key_value_table(f"{run.config.name}: {source}", scalars))
    for table in class_tables(result):
        console.print(table)


@user_errors
def predict(
    run_dir: RunDirArg,
    input_file: Annotated[
        Path, typer.Argument(help="A .csv (the feature columns by name, header row) or .npz (X) file.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default RUN_DIR/predictions.csv).")
    ] = None,
    weights: WeightsOption = "final",
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
) -> None:
    """Write a trained run's predictions for new inputs, beside the input columns."""
    path = predict_file(run_dir, input_file, output, weights=_weights(weights), overwrite=overwrite)
    console.print(f"predictions written to {path}")
