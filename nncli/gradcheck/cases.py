"""The gradient-check cases for every built-in layer, activation, loss, regularizer and model kind.

Each case is a small random instance in float64. Layers are checked through the scalar Σ(y ⊙ R) for a
fixed random R, so the gradient flowing in is R itself. Inputs are kept away from kinks (relu's 0,
L1's 0, Huber's ±delta), where the derivative is not defined.
"""

from __future__ import annotations

import math

import numpy as np

from nncli.engine.activations import ACTIVATIONS
from nncli.engine.layers import Dropout, Linear
from nncli.engine.losses import LOSSES
from nncli.engine.models import MODELS
from nncli.engine.module import Module
from nncli.engine.norm import BatchNorm1d, LayerNorm
from nncli.engine.regularizers import L1, L2
from nncli.gradcheck.check import CASES, Case

F64 = np.float64
_KINKED = {"relu", "leaky_relu"}


def away_from_zero(x: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Push entries at least `margin` away from 0, keeping their sign."""
    return np.where(x >= 0, x + margin, x - margin)


def module_case(module: Module, x: np.ndarray, rng: np.random.Generator, smooth: bool = True) -> Case:
    """Check all parameters of `module` and its input through Σ(module(x) ⊙ R)."""
    params = dict(module.named_parameters())
    r = rng.standard_normal(module.forward(x).shape)

    def objective() -> float:
        # fsum is exactly rounded, so terms that a perturbation leaves alone cancel exactly
        return math.fsum((module.forward(x) * r).ravel())

    def gradients() -> dict[str, np.ndarray]:
        module.forward(x)
        grads = {"input": module.backward(r.copy())}
        grads.update({name: p.grad.copy() for name, p in params.items()})
        return grads

    tensors = {"input": x, **{name: p.data for name, p in params.items()}}
    return Case(tensors, objective, gradients, smooth)


def loss_case(loss, pred: np.ndarray, target: np.ndarray, smooth: bool = True) -> Case:
    def gradients():
        loss.forward(pred, target)
        return {"input": loss.backward()}

    return Case({"input": pred}, lambda: loss.forward(pred, target), gradients, smooth)


def _activation_case(name: str):
    def make(rng):
        x = rng.standard_normal((3, 5))
        if name in _KINKED:
            x = away_from_zero(x)
        return module_case(ACTIVATIONS.get(name)(), x, rng, smooth=name not in _KINKED)

    return make


for _name in ACTIVATIONS.names():
    if _name != "linear":  # an alias of identity
        CASES.register(f"activation:{_name}")(_activation_case(_name))


@CASES.register("activation:gelu(tanh)")
def _gelu_tanh(rng):
    return module_case(ACTIVATIONS.get("gelu")(approximate="tanh"), rng.standard_normal((3, 5)), rng)


@CASES.register("layer:linear")
def _linear(rng):
    return module_case(Linear(4, 3, rng=rng), rng.standard_normal((5, 4)), rng)


@CASES.register("layer:linear(seq)")
def _linear_seq(rng):
    return module_case(Linear(4, 3, rng=rng), rng.standard_normal((2, 5, 4)), rng)


@CASES.register("layer:dropout")
def _dropout(rng):
    layer = Dropout(0.3, rng=rng)
    mask = rng.random((4, 6)) >= 0.3
    layer.sample_mask = lambda shape: mask  # the same mask for every evaluation
    return module_case(layer, rng.standard_normal((4, 6)), rng)


@CASES.register("layer:layer_norm")
def _layer_norm(rng):
    layer = LayerNorm(6)
    layer.weight.data[:] = rng.standard_normal(6)
    layer.bias.data[:] = rng.standard_normal(6)
    return module_case(layer, rng.standard_normal((2, 3, 6)), rng)


def _batch_norm(training: bool):
    def make(rng):
        layer = BatchNorm1d(5)
        layer.weight.data[:] = rng.standard_normal(5)
        layer.bias.data[:] = rng.standard_normal(5)
        layer.running_mean[:] = rng.standard_normal(5)
        layer.running_var[:] = rng.uniform(0.5, 2.0, 5)
        layer.train(training)
        return module_case(layer, rng.standard_normal((8, 5)), rng)

    return make


CASES.register("layer:batch_norm1d(train)")(_batch_norm(True))
CASES.register("layer:batch_norm1d(eval)")(_batch_norm(False))


def _targets_for(name: str, pred: np.ndarray, rng) -> np.ndarray:
    if name == "cross_entropy":
        return rng.integers(0, pred.shape[-1], pred.shape[:-1])
    if name == "bce_with_logits":
        return rng.random(pred.shape)
    return rng.standard_normal(pred.shape)


def _loss_case(name: str):
    def make(rng):
        loss = LOSSES.get(name)()
        pred = rng.standard_normal((6, 3))
        target = _targets_for(name, pred, rng)
        if name == "huber":  # keep |pred − target| away from delta = 1
            d = pred - target
            pred = target + np.where(np.abs(np.abs(d) - 1.0) < 0.1, d * 1.3, d)
        return loss_case(loss, pred, target)

    return make


for _name in LOSSES.names():
    CASES.register(f"loss:{_name}")(_loss_case(_name))


@CASES.register("loss:cross_entropy(ignore_index)")
def _ce_masked(rng):
    pred = rng.standard_normal((2, 5, 4))
    target = rng.integers(0, 4, (2, 5))
    target[0, 1] = target[1, 3] = -100
    return loss_case(LOSSES.get("cross_entropy")(), pred, target)


def _regularizer_case(*regs):
    def make(rng):
        w = away_from_zero(rng.standard_normal(12))

        def gradients():
            g = np.zeros_like(w)
            for reg in regs:
                reg.add_grad(w, g)
            return {"weights": g}

        return Case({"weights": w}, lambda: sum(reg.penalty(w) for reg in regs), gradients)

    return make


CASES.register("regularizer:l1")(_regularizer_case(L1(0.3)))
CASES.register("regularizer:l2")(_regularizer_case(L2(0.3)))
CASES.register("regularizer:l1+l2")(_regularizer_case(L1(0.2), L2(0.1)))


def _model_case(kind: str, **kwargs):
    def make(rng):
        model = MODELS.get(kind)(in_features=3, rng=rng, dtype=F64, **kwargs)
        return module_case(model, rng.standard_normal((6, 3)), rng)

    return make


CASES.register("model:neuron")(_model_case("neuron", out_features=1, activation="sigmoid"))
CASES.register("model:mlp")(_model_case("mlp", out_features=2, hidden_sizes=[5, 4], activation="tanh"))
CASES.register("model:mlp(layer_norm)")(
    _model_case("mlp", out_features=2, hidden_sizes=[5, 4], activation="gelu", norm="layer_norm")
)
CASES.register("model:mlp(batch_norm)")(
    _model_case("mlp", out_features=2, hidden_sizes=[5], activation="softplus", norm="batch_norm")
)
