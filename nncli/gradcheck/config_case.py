"""The gradient-check case for a config: its model, loss and regularizers on a few of its samples."""

from __future__ import annotations

import numpy as np

from nncli.gradcheck.check import Case
from nncli.training.build import build_run


def config_case(config, batch: int = 8) -> Case:
    """Objective = loss(model(x), y) + penalties, in float64, with dropout masks held fixed."""
    return run_case(build_run(config.model_copy(update={"dtype": "float64"})), batch)


def run_case(run, batch: int = 8) -> Case:
    """The same for a run already built (in float64)."""
    trainer = run.trainer
    x, y = trainer.X[:batch], trainer.y[:batch]
    model, params = run.model, run.params
    state = run.model_rng.bit_generator.state

    def objective() -> float:
        run.model_rng.bit_generator.state = state  # same dropout masks every evaluation
        value = trainer.loss.forward(model.forward(x), y)
        trainer.loss._cache = None
        return value + trainer.penalty()

    def gradients() -> dict[str, np.ndarray]:
        run.model_rng.bit_generator.state = state
        params.zero_grad()
        trainer.loss.forward(model.forward(x), y)
        model.backward(trainer.loss.backward())
        w, g = params.data[trainer.reg_slice], params.grad[trainer.reg_slice]
        for reg in [*trainer.regularizers, *([trainer.proximal_l1] if trainer.proximal_l1 else [])]:
            reg.add_grad(w, g)
        return {name: p.grad.copy() for name, p in params.params.items()}

    model.train()
    return Case({name: p.data for name, p in params.params.items()}, objective, gradients)
