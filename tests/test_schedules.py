"""Learning-rate schedules against values worked out by hand."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest

from nncli.engine.schedules import SCHEDULES


def lrs(name: str, base_lr: float, n: int, **kwargs) -> list[float]:
    schedule = SCHEDULES.get(name)(base_lr, **kwargs)
    return [schedule.lr_at(t) for t in range(n)]


def test_registry_names():
    assert SCHEDULES.names() == ["constant", "step", "exponential", "cosine", "warmup"]


def test_constant():
    schedule = SCHEDULES.get("constant")(0.1)
    assert [schedule.lr_at(t) for t in (0, 1, 5, 10_000)] == [0.1] * 4


def test_step_multiplies_by_gamma_every_step_size_steps():
    assert lrs("step", 0.8, 8, step_size=3, gamma=0.5) == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]


def test_step_default_gamma_is_a_tenth():
    np.testing.assert_allclose(lrs("step", 1.0, 5, step_size=2), [1, 1, 0.1, 0.1, 0.01], rtol=1e-15)


def test_exponential():
    assert lrs("exponential", 1.0, 4, gamma=0.5) == [1.0, 0.5, 0.25, 0.125]


def test_cosine_falls_to_zero_at_t_max_and_rises_after():
    half = sqrt(2) / 2  # cos(π/4)
    expected = [1, (1 + half) / 2, 0.5, (1 - half) / 2, 0, (1 - half) / 2, 0.5, (1 + half) / 2, 1]
    np.testing.assert_allclose(lrs("cosine", 1.0, 9, T_max=4), expected, rtol=1e-15, atol=1e-16)


def test_cosine_eta_min():
    # eta_min + (base − eta_min)·(1 + cos(πt/2))/2 with base 1, eta_min 0.2, T_max 2
    np.testing.assert_allclose(lrs("cosine", 1.0, 3, T_max=2, eta_min=0.2), [1.0, 0.6, 0.2], rtol=1e-15)


def test_warmup_defaults_ramp_from_a_third_over_five_steps():
    # factors 1/3 + (2/3)·t/5 for t ≤ 5, then 1
    expected = [0.3 * (1 / 3 + 2 / 3 * t / 5) for t in range(6)] + [0.3, 0.3]
    np.testing.assert_allclose(lrs("warmup", 0.3, 8), expected, rtol=1e-15)
    assert lrs("warmup", 0.3, 1) == pytest.approx([0.1], rel=1e-15)


def test_warmup_start_and_end_factor():
    np.testing.assert_allclose(
        lrs("warmup", 1.0, 5, start_factor=0.5, end_factor=1.0, total_iters=2), [0.5, 0.75, 1, 1, 1]
    )
    np.testing.assert_allclose(
        lrs("warmup", 2.0, 4, start_factor=1.0, end_factor=0.5, total_iters=2), [2.0, 1.5, 1.0, 1.0]
    )


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("constant", {"base_lr": -1.0}, "base_lr"),
        ("step", {"step_size": 0}, "step_size"),
        ("step", {"step_size": 2, "gamma": -0.5}, "gamma"),
        ("exponential", {"gamma": -1.0}, "gamma"),
        ("cosine", {"T_max": 0}, "T_max"),
        ("cosine", {"T_max": 10, "eta_min": -0.1}, "eta_min"),
        ("warmup", {"start_factor": 0.0}, "start_factor"),
        ("warmup", {"start_factor": 1.5}, "start_factor"),
        ("warmup", {"end_factor": 1.5}, "end_factor"),
        ("warmup", {"total_iters": 0}, "total_iters"),
    ],
)
def test_bad_arguments_raise(name, kwargs, message):
    kwargs = {"base_lr": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        SCHEDULES.get(name)(**kwargs)


def test_a_negative_step_raises():
    with pytest.raises(ValueError, match=">= 0"):
        SCHEDULES.get("constant")(0.1).lr_at(-1)
