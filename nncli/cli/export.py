"""`nncli export`: a trained run as ONNX, safetensors or a PyTorch module."""

from __future__ import annotations

from typing import Annotated

import typer

from nncli.cli.common import (
    OverwriteOption,
    RunDirArg,
    echo,
    examples,
    hidden_alias,
    out_option,
    pick,
    user_errors,
)
from nncli.export import export_run


@examples(
    "nncli export runs/xor --format onnx",
    "nncli export runs/xor --format pytorch -o xor_model.py --weights best",
)
@user_errors
def export(
    run_dir: RunDirArg,
    format_: Annotated[
        str, typer.Option("--format", "-f", help="onnx, safetensors or pytorch (model.py + .safetensors).")
    ],
    out: out_option("The file to write (default: model.onnx|.safetensors|.py in RUN_DIR).") = None,
    output: hidden_alias("--output") = None,
    weights: Annotated[
        str, typer.Option(help="final, or best (the best validation weights, if kept).")
    ] = "final",
    overwrite: OverwriteOption = False,
) -> None:
    """Export a trained model for onnxruntime, PyTorch or any safetensors reader."""
    target = pick(out, output, "--out", "--output")
    for path in export_run(run_dir, format_, target, weights=weights, overwrite=overwrite):
        echo(f"wrote {path}")
