"""Two-parameter loss surfaces on which optimizers' paths can be drawn: the notes' "path down the loss"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncli.config.loading import validate
from nncli.engine.parameters import Parameter, ParameterBuffer
from nncli.registry import Registry
from nncli.training.build import build_run


class Rosenbrock:
    """f(x, y) = (a − x)² + b·(y − x²)²: a curved valley with its minimum f = 0 at (a, a²)."""

    names = ("x", "y")

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a, self.b = a, b
        self.params = ParameterBuffer([("xy", Parameter(np.zeros(2)))])

    def loss_at(self, point) -> float:
        x, y = point
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def loss_and_grad(self) -> float:
        """∂f/∂x = −2(a − x) − 4b·x·(y − x²), ∂f/∂y = 2b·(y − x²)."""
        x, y = self.params.data
        r = y - x * x
        self.params.grad[0] = -2.0 * (self.a - x) - 4.0 * self.b * x * r
        self.params.grad[1] = 2.0 * self.b * r
        return self.loss_at((x, y))


class NeuronSurface:
    """The notes' neuron σ(w·x + b) under MSE on 1-D two-class data, computed by the engine: the flat
    parameter buffer is exactly (w, b), and sigmoid's flat tails make plateaus where steps stall."""

    names = ("weight", "bias")

    def __init__(self, seed: int) -> None:
        raw = {
            "seed": seed,
            "data": {
                "dataset": "gaussian_blobs",
                "samples": 200,
                "centers": 2,
                "features": 1,
                "std": 1.0,
                "validation": 0.0,
            },
            "model": {"kind": "neuron", "activation": "sigmoid"},
            "loss": "mse",
            "training": {"steps": 1, "batch_size": 0},
        }
        run = build_run(validate(raw, "neuron landscape"))
        self.trainer, self.params = run.trainer, run.params

    def loss_at(self, point) -> float:
        self.params.data[:] = point
        return self.trainer.evaluate(self.trainer.X, self.trainer.y)[0]

    def loss_and_grad(self) -> float:
        tr = self.trainer
        self.params.zero_grad()
        loss = tr.loss.forward(tr.model.forward(tr.X), tr.y)
        tr.model.backward(tr.loss.backward())
        return loss


@dataclass(frozen=True)
class LandscapeProblem:
    description: str
    surface: Callable[[int], Any]  # seed → a surface with names, params, loss_at, loss_and_grad
    start: tuple[float, float]
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the picture
    steps: int
    lrs: dict[str, float]  # learning rates that suit this surface, over the presets'


LANDSCAPES: Registry = Registry("landscape")
LANDSCAPES.register("rosenbrock")(
    LandscapeProblem(
        "Rosenbrock's banana valley (a=1, b=100), minimum at (1, 1)",
        lambda seed: Rosenbrock(),
        start=(-0.5, 2.5),
        extent=(-2.0, 2.0, -1.0, 3.0),
        steps=1000,
        lrs=dict(sgd=1e-3, momentum=2e-4, nesterov=2e-4, rmsprop=1e-2, adagrad=0.3, adam=0.1, adamw=0.1),
    )
)
LANDSCAPES.register("neuron")(
    LandscapeProblem(
        "one sigmoid neuron σ(w·x + b) with MSE on two 1-D clusters: weight and bias",
        NeuronSurface,
        start=(2.0, 6.0),  # on the plateau where σ saturates: the gradient nearly vanishes
        extent=(-6.0, 4.0, -3.0, 8.0),
        steps=300,
        lrs=dict(sgd=2.0, momentum=0.5, nesterov=0.5, rmsprop=0.05, adagrad=0.5, adam=0.1, adamw=0.1),
    )
)


def loss_grid(name: str, seed: int = 0, nx: int = 121, ny: int = 121) -> tuple[np.ndarray, tuple]:
    """The problem's loss over its extent: grid[j, i] = loss at (x_i, y_j)."""
    problem = LANDSCAPES.get(name)
    surface = problem.surface(seed)
    xmin, xmax, ymin, ymax = problem.extent
    xs, ys = np.linspace(xmin, xmax, nx), np.linspace(ymin, ymax, ny)
    grid = np.array([[surface.loss_at((x, y)) for x in xs] for y in ys])
    return grid, problem.extent
