"""The gradient checker: every registered component passes, and a wrong backward is caught."""

import numpy as np
import pytest

from nncli.engine.activations import ACTIVATIONS, Tanh
from nncli.engine.layers import LAYERS, Linear
from nncli.engine.losses import LOSSES
from nncli.engine.models import MODELS
from nncli.gradcheck import CASES, check_case, relative_error, run_all
from nncli.gradcheck.cases import module_case

RESULTS = {r.component: r for r in run_all()}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_component_gradients_match_finite_differences(name):
    result = RESULTS[name]
    assert result.max_rel_error <= 1e-7, result


TRANSFORMER_CASES = [
    n for n in CASES.names() if n.startswith(("layer:attention", "layer:transformer", "model:transformer"))
]


@pytest.mark.parametrize("seed", [1, 6, 11])
def test_transformer_components_pass_at_other_seeds_too(seed):
    """Seed 6 once put an out_proj entry at 1.5e-7: rounding noise on a tiny entry, now judged at its
    tensor's scale."""
    for result in run_all(TRANSFORMER_CASES, seed=seed):
        assert result.max_rel_error <= 1e-7, result


def test_relative_error_judges_tiny_entries_at_their_tensors_scale():
    # a correct but tiny entry with finite-difference noise of 1e-12 of the tensor's scale (1.0)
    assert relative_error(np.array(1e-5), np.array(1e-5 + 1e-12), scale=1.0) < 1e-8
    assert relative_error(np.array(1e-5), np.array(1e-5 + 1e-12)) > 4e-8  # without the floor
    # an entry off by a third is caught whatever its size
    assert relative_error(np.array(0.5), np.array(0.75), scale=1.0) > 0.1
    # an inf or NaN anywhere in the tensor's gradient fails it
    assert np.isnan(relative_error(np.array(0.5), np.array(0.5), scale=float("inf")))


def test_every_registered_component_has_a_case():
    cases = set(CASES.names())
    assert {f"activation:{n}" for n in ACTIVATIONS.names() if n != "linear"} <= cases
    assert {f"loss:{n}" for n in LOSSES.names()} <= cases
    assert all(any(c.startswith(f"model:{n}") for c in cases) for n in MODELS.names())
    layer_cases = {c.split(":")[1].split("(")[0] for c in cases}
    assert set(LAYERS.names()) <= layer_cases | set(ACTIVATIONS.names())


class WrongTanh(Tanh):
    """A deliberate bug: forgets the square in 1 − tanh²."""

    def df(self, x, y):
        return 1 - y


class WrongLinear(Linear):
    """A deliberate bug: the bias gradient is off by a factor of two."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.bias.grad *= 2
        return dx


@pytest.mark.parametrize("make", [lambda rng: WrongTanh(), lambda rng: WrongLinear(3, 2, rng=rng)])
def test_a_wrong_backward_is_caught(make):
    rng = np.random.default_rng(0)
    result = check_case(module_case(make(rng), rng.standard_normal((4, 3)), rng), rng=rng, name="wrong")
    assert not result.passed
    assert result.max_rel_error > 1e-2


def test_a_correct_backward_passes_the_same_check():
    rng = np.random.default_rng(0)
    result = check_case(
        module_case(Linear(3, 2, rng=rng), rng.standard_normal((4, 3)), rng), rng=rng, name="ok"
    )
    assert result.passed and result.max_rel_error < 1e-9
