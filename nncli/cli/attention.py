"""`nncli attention RUN_DIR`: one head's attention map of a trained transformer, as a terminal heatmap."""

from __future__ import annotations

import json
from typing import Annotated

import numpy as np
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
from nncli.rundir.directory import load_trained
from nncli.rundir.outputs import check_output
from nncli.views import plots, termviz


@examples("nncli attention runs/reverse --sample 3", "nncli attention runs/reverse --head 0 -o attention.png")
@user_errors
def attention(
    run_dir: RunDirArg,
    sample: Annotated[int, typer.Option(help="Which validation sample (0-based).")] = 0,
    layer: Annotated[int, typer.Option(help="Which block (0-based; -1 is the last).")] = -1,
    head: Annotated[int | None, typer.Option(help="Which head (default: every head, one map each).")] = None,
    out: out_option("Also save every layer and head as this PNG (plot extra).") = None,
    png: hidden_alias("--png") = None,
    json_: JsonOption = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Draw where a transformer run looks: softmax(QKᵀ/√d) of one sample, per head."""
    if png is not None:
        check_output(png, overwrite=overwrite, option="--png")
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
    png = pick(out, png, "--out", "--png")
    if json_:
        result = {"sample": sample, "tokens": labels, "layer": layer_no}
        console.print_json(json.dumps({**result, "heads": {h: weights[h].tolist() for h in heads}}))
    else:
        console.print(f"sample {sample}: {' '.join(labels)}", highlight=False, markup=False, soft_wrap=True)
    for h in heads if not json_ else ():
        console.print(
            termviz.heatmap(
                weights[h], row_labels=labels, col_labels=labels, title=f"layer {layer_no}, head {h}"
            )
        )
    if png is not None:
        plots.require_matplotlib()
        path = plots.save_attention_maps(
            maps, png, tokens=labels, title=f"{run.config.name}: sample {sample}"
        )
        if not json_:
            echo(f"wrote {path}")
