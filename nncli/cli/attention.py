"""`nncli attention RUN_DIR`: one head's attention map of a trained transformer, as a terminal heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from nncli.cli.common import RunDirArg, console, user_errors
from nncli.errors import NncliError
from nncli.rundir.directory import load_trained
from nncli.views import plots, termviz


@user_errors
def attention(
    run_dir: RunDirArg,
    sample: Annotated[int, typer.Option(help="Which validation sample (0-based).")] = 0,
    layer: Annotated[int, typer.Option(help="Which block (0-based; -1 is the last).")] = -1,
    head: Annotated[int | None, typer.Option(help="Which head (default: every head, one map each).")] = None,
    png: Annotated[
        Path | None, typer.Option(help="Also save every layer and head as a PNG (plot extra).")
    ] = None,
) -> None:
    """Draw where a transformer run looks: softmax(QKᵀ/√d) of one sample, per head."""
    run = load_trained(run_dir)
    if run.config.model.kind != "transformer":
        raise NncliError(f"{run_dir}: is a {run.config.model.kind} run; attention maps need a transformer")
    trainer, data = run.trainer, run.data
    X = trainer.X_val if trainer.X_val is not None else trainer.X
    raw = (data.val if data.val is not None else data.train).X
    if not 0 <= sample < len(X):
        raise NncliError(f"--sample: choose 0..{len(X) - 1}, got {sample}")
    maps = run.model.attention_maps(X[sample : sample + 1])
    if not -len(maps) <= layer < len(maps):
        raise NncliError(f"--layer: the model has {len(maps)} blocks, got {layer}")
    weights = maps[layer][0]  # (heads, T, T)
    heads = range(weights.shape[0]) if head is None else [head]
    if head is not None and not 0 <= head < weights.shape[0]:
        raise NncliError(f"--head: the model has {weights.shape[0]} heads, got {head}")
    tokens = raw[sample]
    labels = (
        [str(int(t)) for t in tokens]
        if not np.issubdtype(tokens.dtype, np.floating)
        else [str(i) for i in range(len(tokens))]
    )
    layer_no = layer % len(maps)
    console.print(f"sample {sample}: {' '.join(labels)}", highlight=False)
    for h in heads:
        console.print(
            termviz.heatmap(
                weights[h], row_labels=labels, col_labels=labels, title=f"layer {layer_no}, head {h}"
            )
        )
    if png is not None:
        plots.require_matplotlib()
        plots.save_attention_maps(maps, png, tokens=labels, title=f"{run.config.name}: sample {sample}")
        console.print(f"saved {png}")
