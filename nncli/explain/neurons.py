"""What each first-layer neuron draws: its activation over the input plane (TensorFlow Playground's view)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nncli.engine.activations import Activation
from nncli.training.build import model_inputs


@dataclass
class NeuronMaps:
    layer: str
    activation: str
    extent: tuple[float, float, float, float]  # (x₀ min, x₀ max, x₁ min, x₁ max) of the raw inputs
    values: np.ndarray  # (neurons, ny, nx), row 0 at x₁ min
    lo: float
    hi: float


def has_neuron_maps(run) -> bool:
    X = run.data.train.X
    return run.config.model.kind == "mlp" and X.ndim == 2 and X.shape[1] == 2


def first_layer_maps(run, n: int = 60, margin: float = 0.1) -> NeuronMaps:
    """The model's layers up to its first activation, run by the engine on an n × n grid of raw inputs."""
    X = run.data.train.X
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    gx, gy = np.meshgrid(xs, ys)
    h = model_inputs(run.data, np.column_stack([gx.ravel(), gy.ravel()]), run.params.dtype)
    run.model.eval()
    name = "layers.0"
    for i, layer in enumerate(run.model.layers):
        h = layer.forward(h)
        if isinstance(layer, Activation):
            name = f"layers.{i}"
            break
    run.model.train()
    values = h.T.reshape(-1, n, n)
    bound = float(np.max(np.abs(values))) or 1.0
    low = -bound if values.min() < 0 else 0.0
    return NeuronMaps(name, run.config.model.activation, (xs[0], xs[-1], ys[0], ys[-1]), values, low, bound)
