"""Model kinds a config can name: `neuron` and `mlp` here, `transformer` in nncli.engine.transformer.

Each builder takes plain keyword arguments (the config's fields plus the data's `in_features` and
`out_features`, an `rng` and a `dtype`) and returns a `Module`.
"""

from __future__ import annotations

import numpy as np

from nncli.engine.activations import ACTIVATIONS
from nncli.engine.layers import Dropout, Linear
from nncli.engine.module import Module, Sequential
from nncli.engine.norm import BatchNorm1d, LayerNorm
from nncli.registry import Registry

MODELS: Registry = Registry("model kind")

NORMS = {"none": None, "layer_norm": LayerNorm, "batch_norm": BatchNorm1d}


@MODELS.register("neuron")
def neuron(
    *,
    in_features: int,
    out_features: int = 1,
    activation: str = "identity",
    init: str = "default",
    rng: np.random.Generator,
    dtype=np.float64,
) -> Module:
    """The notes' single neuron N(x) = f(Wx + b): one Linear layer and an activation.

    f is the identity by default, since nncli's losses take logits (with bce_with_logits that is
    logistic regression); `activation="sigmoid"` with MSE is the notes' neuron."""
    return Sequential(
        Linear(in_features, out_features, init=init, rng=rng, dtype=dtype), ACTIVATIONS.get(activation)()
    )


@MODELS.register("mlp")
def mlp(
    *,
    in_features: int,
    out_features: int,
    hidden_sizes: list[int] = (16, 16),
    activation: str = "tanh",
    output_activation: str = "identity",
    norm: str = "none",
    dropout: float = 0.0,
    init: str = "default",
    rng: np.random.Generator,
    dtype=np.float64,
) -> Module:
    """Linear → [norm] → activation → [dropout] for each hidden size, then a Linear output layer.

    With `norm="batch_norm"` the hidden Linear layers have no bias: batch norm's β takes its place.
    """
    act = ACTIVATIONS.get(activation)
    norm_cls = NORMS[norm]
    layers: list[Module] = []
    width = in_features
    for size in hidden_sizes:
        # a bias right before batch norm is cancelled by its mean subtraction, so it is left out
        bias = norm != "batch_norm"
        layers.append(Linear(width, size, bias=bias, init=init, rng=rng, dtype=dtype))
        if norm_cls is not None:
            layers.append(norm_cls(size, dtype=dtype))
        layers.append(act())
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
        width = size
    layers.append(Linear(width, out_features, init=init, rng=rng, dtype=dtype))
    if output_activation not in ("identity", "linear"):
        layers.append(ACTIVATIONS.get(output_activation)())
    return Sequential(*layers)
