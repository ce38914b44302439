"""The notes' circle and square: a two-weight model's loss contours and its weight path under plain
training, L2, subgradient L1 and proximal L1, each trained by the real `Trainer`.

The model is y = w₁x₁ + w₂x₂ (a Linear layer without bias) under MSE on correlated features where x₂
matters little. Proximal L1 lands on the w₁ axis: w₂ exactly 0. Subgradient L1 only jitters around it,
and L2 shrinks both weights without zeroing either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nncli.engine.layers import Linear
from nncli.engine.losses import MSELoss
from nncli.engine.metrics import r2_score
from nncli.engine.module import Sequential
from nncli.engine.optimizers import OPTIMIZERS
from nncli.engine.parameters import ParameterBuffer
from nncli.engine.regularizers import L1, L2
from nncli.engine.schedules import SCHEDULES
from nncli.training.events import StepEnd
from nncli.training.trainer import LoopSettings, Trainer

TRUE_WEIGHTS = (1.5, 0.05)
START = (-1.0, 2.0)
EXTENT = (-1.5, 2.5, -1.0, 2.5)


@dataclass
class WeightPaths:
    strength: float
    lr: float
    steps: int
    extent: tuple[float, float, float, float]
    grid: list  # data loss at x = linspace(xmin, xmax, n)[j], y = linspace(ymin, ymax, n)[i]
    paths: dict[str, list]  # name → [(w₁, w₂), ...] from the start, one point per step
    circle: list  # the L2 ball through the L2 path's end: w₁² + w₂² = r²
    square: list  # the L1 ball through the proximal L1 path's end: |w₁| + |w₂| = r

    def final(self, name: str) -> tuple[float, float]:
        return tuple(self.paths[name][-1])

    def to_dict(self) -> dict:
        return asdict(self)


def problem(samples: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((samples, 2))
    X = np.column_stack([z[:, 0], 0.6 * z[:, 0] + 0.8 * z[:, 1]])  # correlation 0.6: tilted ellipses
    y = X @ np.array(TRUE_WEIGHTS) + 0.1 * rng.standard_normal(samples)
    return X, y[:, None]


def train_path(X, y, *, l1: float = 0.0, l2: float = 0.0, proximal: bool = False, lr: float, steps: int):
    """The weights after every full-batch SGD step of the trainer, from START."""
    model = Sequential(Linear(2, 1, bias=False, rng=np.random.default_rng(0)))
    params = ParameterBuffer(model.named_parameters())
    params.data[:] = START
    regs = [L2(l2)] if l2 else []
    if l1 and not proximal:
        regs.append(L1(l1))
    trainer = Trainer(
        model=model,
        params=params,
        loss=MSELoss(),
        optimizer=OPTIMIZERS.get("sgd")(params, lr=lr),
        schedule=SCHEDULES.get("constant")(lr),
        settings=LoopSettings(total_steps=steps, batch_size=len(X), shuffle=False, log_every=1, eval_every=1),
        X=X,
        y=y,
        metric=r2_score,
        metric_name="r2",
        regularizers=regs,
        proximal_l1=L1(l1) if l1 and proximal else None,
    )
    points = [params.data.copy()]
    trainer.subscribe(lambda event: points.append(params.data.copy()) if isinstance(event, StepEnd) else None)
    trainer.run()
    return np.array(points)


def weight_paths(strength: float = 0.3, lr: float = 0.05, steps: int = 300, n: int = 80) -> WeightPaths:
    X, y = problem()
    paths = {
        "no regularisation": train_path(X, y, lr=lr, steps=steps),
        "L2": train_path(X, y, l2=strength, lr=lr, steps=steps),
        "L1 (subgradient)": train_path(X, y, l1=strength, lr=lr, steps=steps),
        "L1 (proximal)": train_path(X, y, l1=strength, proximal=True, lr=lr, steps=steps),
    }
    xmin, xmax, ymin, ymax = EXTENT
    loss, model = MSELoss(), Sequential(Linear(2, 1, bias=False, rng=np.random.default_rng(0)))
    w = model.layers[0].weight.data
    grid = np.empty((n, n))
    for i, b in enumerate(np.linspace(ymin, ymax, n)):
        for j, a in enumerate(np.linspace(xmin, xmax, n)):
            w[0] = (a, b)
            grid[i, j] = loss.forward(model.forward(X), y)
    loss._cache = None
    theta = np.linspace(0, 2 * np.pi, 121)
    r2 = float(np.linalg.norm(paths["L2"][-1]))
    r1 = float(np.abs(paths["L1 (proximal)"][-1]).sum())
    circle = np.column_stack([r2 * np.cos(theta), r2 * np.sin(theta)])
    square = np.array([[r1, 0], [0, r1], [-r1, 0], [0, -r1], [r1, 0]])
    return WeightPaths(
        strength,
        lr,
        steps,
        EXTENT,
        grid.tolist(),
        {k: v.tolist() for k, v in paths.items()},
        circle.tolist(),
        square.tolist(),
    )
