"""`nncli export`: a trained run as ONNX, safetensors or a PyTorch module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import RunDirArg, console, user_errors
from nncli.export import export_run


@user_errors
def export(
    run_dir: RunDirArg,
    format_: Annotated[
        str, typer.Option("--format", "-f", help="onnx, safetensors or pytorch (model.py + .safetensors).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The file to write (default: model.onnx|.safetensors|.py in RUN_DIR)."
        ),
    ] = None,
    weights: Annotated[
        str, typer.Option(help="final, or best (the best validation weights, if kept).")
    ] = "final",
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Export a trained model for onnxruntime, PyTorch or any safetensors reader."""
    for path in export_run(run_dir, format_, output, weights=weights, overwrite=overwrite):
        console.print(f"wrote {path}")
