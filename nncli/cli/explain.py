"""`nncli explain [CONFIG]`: backpropagation as the notes write it, with every number checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import JsonOption, SetOption, console, user_errors
from nncli.config.loading import apply_overrides, load_config, validate
from nncli.explain import layers, neuron
from nncli.explain.regularization import weight_paths
from nncli.training.build import build_run
from nncli.views import explain as view
from nncli.views import plots, regpicture


@user_errors
def explain(
    config: Annotated[
        Path | None, typer.Argument(help="A config to explain (default: the notes' neuron on four points).")
    ] = None,
    overrides: SetOption = None,
    steps: Annotated[int, typer.Option(help="Training steps to show (the neuron).")] = 1,
    optimizer: Annotated[
        str | None,
        typer.Option(help="The update in the notes' form: sgd, momentum, rmsprop, adagrad or adam."),
    ] = None,
    sample: Annotated[int, typer.Option(help="Which training example (0-based; the neuron).")] = 0,
    regularization: Annotated[
        bool, typer.Option("--regularization", help="Draw the L1 square and L2 circle with weight paths.")
    ] = False,
    png: Annotated[Path | None, typer.Option(help="With --regularization: also save it as a PNG.")] = None,
    use_torch: Annotated[
        bool, typer.Option("--torch/--no-torch", help="Compare with PyTorch autograd (when installed).")
    ] = True,
    json_: JsonOption = False,
) -> None:
    """Show one training step with every number: the engine, finite differences and PyTorch, side by side.

    With the neuron (the default): the notes' forward, backward and update. With an MLP or transformer:
    the backward pass layer by layer; an all-identity MLP is multiplied out into its one linear map.
    """
    if regularization:
        return _regularization(png, json_)
    if config is None:
        cfg = validate(apply_overrides(neuron.DEFAULT_CONFIG, list(overrides or [])), "the default neuron")
        dataset = neuron.default_dataset()
    else:
        cfg, _ = load_config(config, list(overrides or []))
        dataset = None
    if cfg.model.kind == "neuron":
        run = build_run(cfg.model_copy(update={"dtype": "float64"}), dataset)
        name = optimizer or neuron.notes_optimizer(cfg)
        record = neuron.explain_neuron(run, sample=sample, steps=steps, optimizer=name, use_torch=use_torch)
        if json_:
            console.print_json(json.dumps(record.to_dict()))
        else:
            console.print(view.neuron_explanation(record))
        return None
    table = layers.layer_table(cfg)
    linear = layers.collapse(cfg) if layers.is_linear(cfg) else None
    if json_:
        out = {"layers": table.to_dict(), "collapse": linear.to_dict() if linear else None}
        console.print_json(json.dumps(out))
        return None
    console.print(view.layer_table(table))
    if linear is not None:
        console.print(view.collapse(linear))
    return None


def _regularization(png: Path | None, json_: bool) -> None:
    record = weight_paths()
    if json_:
        console.print_json(json.dumps(record.to_dict()))
    else:
        console.print(regpicture.terminal(record))
    if png is not None:
        plots.require_matplotlib()
        regpicture.save(record, png)
        console.print(f"saved {png}", highlight=False)
