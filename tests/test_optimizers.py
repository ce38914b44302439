"""Optimizer updates against numbers worked out by hand, plus dtype, state and allocation behaviour.

Every case starts from p = [1, −2] with gradients g1 = [0.5, 1] and g2 = [0.25, −0.5] unless it says
otherwise; the expected values are the update formulas written out in plain Python arithmetic.
"""

from __future__ import annotations

import tracemalloc
from math import sqrt

import numpy as np
import pytest

from nncli.engine.optimizers import OPTIMIZERS, Optimizer
from nncli.engine.parameters import Parameter, ParameterBuffer
from nncli.errors import CheckpointError

P0 = [1.0, -2.0]
G1 = [0.5, 1.0]
G2 = [0.25, -0.5]


def make(name: str, values=P0, dtype=np.float64, **kwargs) -> Optimizer:
    buf = ParameterBuffer([("w", Parameter(np.array(values, dtype=dtype)))])
    return OPTIMIZERS.get(name)(buf, **kwargs)


def run(opt: Optimizer, *grads) -> np.ndarray:
    for g in grads:
        opt.params.grad[:] = g
        opt.step()
    return opt.params.data


def check(opt: Optimizer, grads, expected) -> None:
    np.testing.assert_allclose(run(opt, *grads), expected, rtol=1e-12, atol=0)


def test_registry_names():
    assert OPTIMIZERS.names() == ["sgd", "rmsprop", "adagrad", "adam", "adamw"]


# --- SGD -------------------------------------------------------------------------------------------


def test_sgd_plain():
    opt = make("sgd", lr=0.1)
    check(opt, [G1], [1 - 0.1 * 0.5, -2 - 0.1 * 1])
    check(opt, [G2], [0.95 - 0.1 * 0.25, -2.1 + 0.1 * 0.5])


def test_sgd_default_lr_is_torch_default():
    check(make("sgd"), [G1], [1 - 1e-3 * 0.5, -2 - 1e-3 * 1])


def test_sgd_momentum_first_buffer_is_the_gradient():
    # buf1 = g1 = [0.5, 1]; buf2 = 0.9·buf1 + g2 = [0.7, 0.4]; buf3 = 0.9·buf2 + 0 = [0.63, 0.36]
    opt = make("sgd", lr=0.1, momentum=0.9)
    check(opt, [G1, G2, [0.0, 0.0]], [1 - 0.1 * (0.5 + 0.7 + 0.63), -2 - 0.1 * (1 + 0.4 + 0.36)])


def test_sgd_dampening_spares_the_first_step():
    # buf1 = g1 (no dampening); buf2 = 0.9·buf1 + 0.5·g2 = [0.575, 0.65]
    opt = make("sgd", lr=0.1, momentum=0.9, dampening=0.5)
    check(opt, [G1, G2], [1 - 0.1 * (0.5 + 0.575), -2 - 0.1 * (1 + 0.65)])


def test_sgd_nesterov():
    # step 1: buf = g1, d = g1 + 0.9·buf = [0.95, 1.9]
    # step 2: buf = [0.7, 0.4], d = g2 + 0.9·buf = [0.88, −0.14]
    opt = make("sgd", lr=0.1, momentum=0.9, nesterov=True)
    check(opt, [G1, G2], [1 - 0.1 * (0.95 + 0.88), -2 - 0.1 * (1.9 - 0.14)])


def test_sgd_weight_decay():
    # g1' = g1 + 0.1·p0 = [0.6, 0.8] → p1 = [0.94, −2.08]; g2' = g2 + 0.1·p1 = [0.344, −0.708]
    opt = make("sgd", lr=0.1, weight_decay=0.1)
    check(opt, [G1, G2], [0.94 - 0.1 * 0.344, -2.08 + 0.1 * 0.708])
    np.testing.assert_array_equal(opt.params.grad, G2)  # the decay term is not written into grad


def test_sgd_weight_decay_enters_the_momentum_buffer():
    # buf1 = g1 + 0.1·p0 = [0.6, 0.8] → p1 = [0.94, −2.08]; buf2 = 0.5·buf1 + (g2 + 0.1·p1) = [0.644, −0.308]
    opt = make("sgd", lr=0.1, momentum=0.5, weight_decay=0.1)
    check(opt, [G1, G2], [0.94 - 0.1 * 0.644, -2.08 + 0.1 * 0.308])


def test_lr_is_read_at_every_step():
    opt = make("sgd", lr=0.1)
    run(opt, G1)
    opt.lr = 0.01
    check(opt, [G2], [0.95 - 0.01 * 0.25, -2.1 + 0.01 * 0.5])


# --- RMSprop ---------------------------------------------------------------------------------------


def test_rmsprop_defaults():
    # alpha 0.99: sq1 = 0.01·g1² = [0.0025, 0.01]; sq2 = 0.99·sq1 + 0.01·g2² = [0.0031, 0.0124]; eps 1e-8
    opt = make("rmsprop")
    p1 = [1 - 0.01 * 0.5 / (0.05 + 1e-8), -2 - 0.01 * 1 / (0.1 + 1e-8)]
    check(opt, [G1], p1)
    check(
        opt, [G2], [p1[0] - 0.01 * 0.25 / (sqrt(0.0031) + 1e-8), p1[1] + 0.01 * 0.5 / (sqrt(0.0124) + 1e-8)]
    )


def test_rmsprop_alpha_and_eps_outside_the_root():
    # alpha 0.5: sq1 = 0.5·g1² = [0.125, 0.5]; eps 0.1 is added to √sq, not inside it
    opt = make("rmsprop", lr=0.1, alpha=0.5, eps=0.1)
    check(opt, [G1], [1 - 0.1 * 0.5 / (sqrt(0.125) + 0.1), -2 - 0.1 * 1 / (sqrt(0.5) + 0.1)])


def test_rmsprop_centered():
    # alpha 0.9: sq1 = [0.025, 0.1], grad_avg1 = [0.05, 0.1]; √(sq − ga²) = √[0.0225, 0.09] = [0.15, 0.3]
    # sq2 = 0.9·sq1 + 0.1·g2² = [0.02875, 0.115]; ga2 = 0.9·ga1 + 0.1·g2 = [0.07, 0.04]
    opt = make("rmsprop", lr=0.01, alpha=0.9, eps=0.0, centered=True)
    p1 = [1 - 0.01 * 0.5 / 0.15, -2 - 0.01 * 1 / 0.3]
    check(opt, [G1], p1)
    avg2 = [sqrt(0.02875 - 0.07**2), sqrt(0.115 - 0.04**2)]
    check(opt, [G2], [p1[0] - 0.01 * 0.25 / avg2[0], p1[1] + 0.01 * 0.5 / avg2[1]])


def test_rmsprop_momentum_with_weight_decay():
    # alpha 0.9, momentum 0.5, weight_decay 0.1, eps 0
    # step 1: g' = [0.6, 0.8], sq1 = 0.1·g'² = [0.036, 0.064], buf1 = g'/√sq1
    opt = make("rmsprop", lr=0.01, alpha=0.9, eps=0.0, momentum=0.5, weight_decay=0.1)
    buf1 = [0.6 / sqrt(0.036), 0.8 / sqrt(0.064)]
    p1 = [1 - 0.01 * buf1[0], -2 - 0.01 * buf1[1]]
    check(opt, [G1], p1)
    g2 = [0.25 + 0.1 * p1[0], -0.5 + 0.1 * p1[1]]
    sq2 = [0.9 * 0.036 + 0.1 * g2[0] ** 2, 0.9 * 0.064 + 0.1 * g2[1] ** 2]
    buf2 = [0.5 * buf1[i] + g2[i] / sqrt(sq2[i]) for i in range(2)]
    check(opt, [G2], [p1[0] - 0.01 * buf2[0], p1[1] - 0.01 * buf2[1]])


# --- Adagrad ---------------------------------------------------------------------------------------


def test_adagrad_defaults():
    # sum1 = g1² = [0.25, 1]; sum2 = [0.3125, 1.25]; eps 1e-10
    opt = make("adagrad", lr=0.1)
    p1 = [1 - 0.1 * 0.5 / (0.5 + 1e-10), -2 - 0.1 * 1 / (1 + 1e-10)]
    check(opt, [G1], p1)
    check(opt, [G2], [p1[0] - 0.1 * 0.25 / (sqrt(0.3125) + 1e-10), p1[1] + 0.1 * 0.5 / (sqrt(1.25) + 1e-10)])


def test_adagrad_lr_decay():
    # clr_t = 0.1 / (1 + (t − 1)·0.5): 0.1, 0.1/1.5, 0.1/2; third gradient equals g1 again
    opt = make("adagrad", lr=0.1, lr_decay=0.5, eps=0.0)
    expected = [
        1 - 0.1 * 0.5 / 0.5 - 0.1 / 1.5 * 0.25 / sqrt(0.3125) - 0.1 / 2 * 0.5 / sqrt(0.5625),
        -2 - 0.1 * 1 / 1 + 0.1 / 1.5 * 0.5 / sqrt(1.25) - 0.1 / 2 * 1 / sqrt(2.25),
    ]
    check(opt, [G1, G2, G1], expected)


def test_adagrad_initial_accumulator_value_and_weight_decay():
    # sum0 = 0.75; g1' = g1 + 0.1·p0 = [0.6, 0.8] → sum1 = [1.11, 1.39]
    opt = make("adagrad", lr=0.1, initial_accumulator_value=0.75, weight_decay=0.1, eps=0.0)
    np.testing.assert_array_equal(opt.state["sum"], [0.75, 0.75])
    check(opt, [G1], [1 - 0.1 * 0.6 / sqrt(1.11), -2 - 0.1 * 0.8 / sqrt(1.39)])


# --- Adam and AdamW --------------------------------------------------------------------------------


def adam_step(p, g, m, v, t, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, vmax=None):
    """One textbook Adam step on plain floats: returns (p, m, v)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    v_used = v if vmax is None else vmax
    return p - lr * (m / (1 - b1**t)) / (sqrt(v_used / (1 - b2**t)) + eps), m, v


def test_adam_first_step_moves_each_weight_by_lr():
    # with bias correction m̂1 = g1 and √v̂1 = |g1|, so the first step is lr·sign(g) up to eps
    opt = make("adam", lr=0.1)
    check(opt, [G1], [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 - 0.1 * 1 / (1 + 1e-8)])


def test_adam_two_steps():
    opt = make("adam", lr=0.1)
    expected = []
    for i in range(2):
        p, m, v = adam_step(P0[i], G1[i], 0.0, 0.0, 1)
        expected.append(adam_step(p, G2[i], m, v, 2)[0])
    check(opt, [G1, G2], expected)


def test_adam_betas_eps_and_weight_decay():
    # weight_decay 0.1 is L2: g' = g + 0.1·p, and it goes through the moments
    opt = make("adam", lr=0.1, betas=(0.5, 0.75), eps=0.1, weight_decay=0.1)
    expected = []
    for i in range(2):
        p, m, v = adam_step(P0[i], G1[i] + 0.1 * P0[i], 0.0, 0.0, 1, b1=0.5, b2=0.75, eps=0.1)
        expected.append(adam_step(p, G2[i] + 0.1 * p, m, v, 2, b1=0.5, b2=0.75, eps=0.1)[0])
    check(opt, [G1, G2], expected)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    # beta2 0.5: v1 = 0.5·g1² = [0.5, 2]; a small g2 = [0.1, 0.1] gives v2 = [0.255, 1.005] < v1,
    # so step 2 divides by √(v1 / (1 − 0.5²)) instead
    opt = make("adam", lr=0.1, betas=(0.9, 0.5), eps=0.0, amsgrad=True)
    g1, g2 = [1.0, -2.0], [0.1, 0.1]
    expected = []
    for i in range(2):
        p, m, v1 = adam_step(P0[i], g1[i], 0.0, 0.0, 1, b2=0.5, eps=0.0)
        expected.append(adam_step(p, g2[i], m, v1, 2, b2=0.5, eps=0.0, vmax=v1)[0])
    check(opt, [g1, g2], expected)
    np.testing.assert_allclose(opt.state["max_exp_avg_sq"], [0.5, 2.0], rtol=1e-15)
    np.testing.assert_allclose(opt.state["exp_avg_sq"], [0.255, 1.005], rtol=1e-15)


def test_adam_without_bias_correction_is_the_notes_form():
    # p ← p − lr·m/(√v + eps): m1 = 0.1·g1 = [0.05, 0.1], v1 = 0.001·g1² = [0.00025, 0.001]
    opt = make("adam", lr=0.1, eps=0.0, bias_correction=False)
    check(opt, [G1], [1 - 0.1 * 0.05 / sqrt(0.00025), -2 - 0.1 * 0.1 / sqrt(0.001)])


def test_adamw_decays_the_weights_before_the_adam_step():
    # p ← p·(1 − 0.1·0.5) = 0.95·p, then the Adam step on the plain gradient
    opt = make("adamw", lr=0.1, weight_decay=0.5)
    expected = []
    for i in range(2):
        p, m, v = adam_step(0.95 * P0[i], G1[i], 0.0, 0.0, 1)
        expected.append(adam_step(0.95 * p, G2[i], m, v, 2)[0])
    check(opt, [G1, G2], expected)


def test_adamw_default_weight_decay_is_torch_default():
    assert make("adamw").weight_decay == 0.01
    assert make("adam").weight_decay == 0.0


# --- behaviour shared by all optimizers ------------------------------------------------------------

EVERY_OPTION = [
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2}),
    ("rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.9}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adam", {"bias_correction": False}),
    ("adamw", {"amsgrad": True}),
]


def grads(n: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=size) for _ in range(n)]


@pytest.mark.parametrize("name, kwargs", EVERY_OPTION)
def test_float32_stays_float32(name, kwargs):
    values = np.random.default_rng(1).normal(size=5)
    opt32 = make(name, values, np.float32, **kwargs)
    opt64 = make(name, values, np.float64, **kwargs)
    gs = grads(4, 5)
    run(opt32, *[g.astype(np.float32) for g in gs])
    run(opt64, *gs)
    assert opt32.params.data.dtype == np.float32
    assert all(s.dtype == np.float32 for s in opt32.state.values())
    np.testing.assert_allclose(opt32.params.data, opt64.params.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kwargs", EVERY_OPTION)
def test_state_dict_round_trip_continues_bit_identically(name, kwargs, tmp_path):
    values = np.random.default_rng(1).normal(size=6)
    first = make(name, values, **kwargs)
    gs = grads(6, 6)
    run(first, *gs[:3])
    first.lr *= 0.5
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    with np.load(tmp_path / "opt.npz") as saved:
        state = dict(saved)

    second = make(name, first.params.data.copy(), **kwargs)
    second.load_state_dict(state)
    assert second.step_count == 3 and second.lr == first.lr
    run(first, *gs[3:])
    run(second, *gs[3:])
    np.testing.assert_array_equal(second.params.data, first.params.data)
    for key, value in first.state.items():
        np.testing.assert_array_equal(second.state[key], value)


def test_state_dict_is_a_copy():
    opt = make("adam", lr=0.1)
    saved = opt.state_dict()
    run(opt, G1)
    assert saved["step"] == 0 and not saved["exp_avg"].any()


@pytest.mark.parametrize("name, kwargs", EVERY_OPTION)
def test_state_and_parameters_keep_their_arrays(name, kwargs):
    opt = make(name, np.ones(4), **kwargs)
    before = {key: id(value) for key, value in opt.state.items()}
    data = opt.params.data
    run(opt, *grads(3, 4))
    assert {key: id(value) for key, value in opt.state.items()} == before
    assert opt.params.data is data


@pytest.mark.parametrize("name, kwargs", EVERY_OPTION)
def test_step_allocates_no_parameter_sized_array(name, kwargs):
    size = 100_000  # 800 kB of float64
    opt = make(name, np.ones(size), **kwargs)
    opt.params.grad[:] = 0.5
    opt.step()  # the first step may take a different branch (SGD's first momentum buffer)
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size  # bytes: far below one parameter-sized array


def test_zero_grad_clears_the_buffer_gradient():
    opt = make("sgd")
    opt.params.grad[:] = G1
    opt.zero_grad()
    assert not opt.params.grad.any()


def test_load_state_dict_refuses_a_missing_key():
    state = make("adam").state_dict()
    del state["exp_avg_sq"]
    with pytest.raises(CheckpointError, match="missing exp_avg_sq"):
        make("adam").load_state_dict(state)


def test_load_state_dict_refuses_state_of_other_options():
    state = make("adam", amsgrad=True).state_dict()
    with pytest.raises(CheckpointError, match="unexpected max_exp_avg_sq"):
        make("adam").load_state_dict(state)


def test_load_state_dict_refuses_a_wrong_shape_and_changes_nothing():
    state = make("adam", values=[1.0, 2.0, 3.0]).state_dict()
    state["step"] = np.array(7)
    opt = make("adam")
    with pytest.raises(CheckpointError, match="'exp_avg' has shape \\(3,\\)"):
        opt.load_state_dict(state)
    assert opt.step_count == 0


def test_load_state_dict_refuses_a_bad_step():
    state = make("sgd", momentum=0.9).state_dict()
    state["step"] = np.array(1.5)
    with pytest.raises(CheckpointError, match="step"):
        make("sgd", momentum=0.9).load_state_dict(state)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("sgd", {"lr": -0.1}, "lr"),
        ("sgd", {"momentum": -0.5}, "momentum"),
        ("sgd", {"nesterov": True}, "nesterov"),
        ("sgd", {"momentum": 0.9, "dampening": 0.1, "nesterov": True}, "nesterov"),
        ("sgd", {"weight_decay": -1e-4}, "weight_decay"),
        ("rmsprop", {"alpha": -0.1}, "alpha"),
        ("rmsprop", {"eps": -1e-8}, "eps"),
        ("rmsprop", {"momentum": -0.9}, "momentum"),
        ("adagrad", {"lr_decay": -0.1}, "lr_decay"),
        ("adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        ("adagrad", {"eps": -1.0}, "eps"),
        ("adam", {"betas": (1.0, 0.999)}, "betas\\[0\\]"),
        ("adam", {"betas": (0.9, -0.1)}, "betas\\[1\\]"),
        ("adam", {"betas": (0.9,)}, "betas"),
        ("adam", {"eps": -1e-8}, "eps"),
        ("adamw", {"weight_decay": -0.01}, "weight_decay"),
        ("adamw", {"lr": -1.0}, "lr"),
    ],
)
def test_bad_arguments_raise(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(name, **kwargs)


def test_an_integer_buffer_is_refused():
    buf = ParameterBuffer([("w", Parameter(np.array([1, 2])))])
    with pytest.raises(ValueError, match="float32 or float64"):
        OPTIMIZERS.get("sgd")(buf)
