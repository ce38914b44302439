"""The notes' optimizer updates, each beside the engine optimizer configured to match it.

`NOTES_UPDATES` maps a name to a `NotesUpdate`: the engine optimizer and arguments that give the notes'
form, the notes' own recursion written out (a hand computation, the check the engine's step is held to),
and the one line that says where the notes' form and nncli's default differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from nncli.registry import Registry


def fmt(v: float) -> str:
    """A number as the worked example prints it: 6 significant digits, negatives in parentheses."""
    text = f"{v:.6g}"
    return f"({text})" if v < 0 else text


@dataclass(frozen=True)
class Term:
    """One line of an update: `name = expression = value`, the expression with the numbers plugged in."""

    name: str
    formula: str
    expression: str
    notes: float  # the notes' formula, computed by hand
    engine: float | None  # the engine's state or new parameter value


@dataclass(frozen=True)
class NotesUpdate:
    """An optimizer in the notes' form.

    `engine` names the engine optimizer (`OPTIMIZERS`) and `kwargs(lr)` its arguments; `state` maps each
    notes' symbol to the engine's state vector that holds it; `step(p, g, state, lr)` applies the notes'
    formulas to one entry and returns the terms and the new state.
    """

    engine: str
    kwargs: Callable[[float], dict]
    state: dict[str, str]
    step: Callable[[float, float, dict, float], tuple[list[Term], dict]]
    differs: str = ""


NOTES_UPDATES: Registry[NotesUpdate] = Registry("optimizer of the notes")

BETA = 0.9  # the notes' β for momentum and RMSprop (they give no value)
BETAS = (0.9, 0.999)
EPS = 1e-8


def _sgd(p, g, state, lr):
    new = p - lr * g
    return [Term("p", "p − α·G", f"{fmt(p)} − {fmt(lr)}·{fmt(g)}", new, None)], state


def _momentum(p, g, state, lr):
    v0 = state.get("v", 0.0)
    v = BETA * v0 + (1 - BETA) * g
    terms = [
        Term("v", "β·v + (1 − β)·G", f"{BETA:g}·{fmt(v0)} + {1 - BETA:g}·{fmt(g)}", v, None),
        Term("p", "p − α·v", f"{fmt(p)} − {fmt(lr)}·{fmt(v)}", p - lr * v, None),
    ]
    return terms, {"v": v}


def _rmsprop(p, g, state, lr):
    v0 = state.get("v", 0.0)
    v = BETA * v0 + (1 - BETA) * g * g
    step = g / (math.sqrt(v) + EPS)
    terms = [
        Term("v", "β·v + (1 − β)·G²", f"{BETA:g}·{fmt(v0)} + {1 - BETA:g}·{fmt(g)}²", v, None),
        Term(
            "p",
            "p − α·G/(√v + ε)",
            f"{fmt(p)} − {fmt(lr)}·{fmt(g)}/(√{fmt(v)} + ε)",
            p - lr * step,
            None,
        ),
    ]
    return terms, {"v": v}


def _adagrad(p, g, state, lr):
    v0 = state.get("v", 0.0)
    v = v0 + g * g
    step = g / (math.sqrt(v) + 1e-10)
    terms = [
        Term("v", "v + G²", f"{fmt(v0)} + {fmt(g)}²", v, None),
        Term("p", "p − α·G/(√v + ε)", f"{fmt(p)} − {fmt(lr)}·{fmt(g)}/(√{fmt(v)} + ε)", p - lr * step, None),
    ]
    return terms, {"v": v}


def _adam(p, g, state, lr):
    b1, b2 = BETAS
    m0, v0 = state.get("m", 0.0), state.get("v", 0.0)
    m = b1 * m0 + (1 - b1) * g
    v = b2 * v0 + (1 - b2) * g * g
    new = p - lr * m / (math.sqrt(v) + EPS)
    terms = [
        Term("m", "β₁·m + (1 − β₁)·G", f"{b1:g}·{fmt(m0)} + {1 - b1:g}·{fmt(g)}", m, None),
        Term("v", "β₂·v + (1 − β₂)·G²", f"{b2:g}·{fmt(v0)} + {1 - b2:.3g}·{fmt(g)}²", v, None),
        Term("p", "p − α·m/(√v + ε)", f"{fmt(p)} − {fmt(lr)}·{fmt(m)}/(√{fmt(v)} + ε)", new, None),
    ]
    return terms, {"m": m, "v": v}


NOTES_UPDATES.register("sgd")(NotesUpdate("sgd", lambda lr: {"lr": lr}, {}, _sgd))
NOTES_UPDATES.register("momentum")(
    NotesUpdate(
        "sgd",
        lambda lr: {"lr": lr, "momentum": BETA, "dampening": BETA},
        {"v": "momentum_buffer"},
        _momentum,
        "the notes' average is momentum: β, dampening: β in PyTorch's SGD, whose first step takes v = G",
    )
)
NOTES_UPDATES.register("rmsprop")(
    NotesUpdate(
        "rmsprop",
        lambda lr: {"lr": lr, "alpha": BETA, "eps": EPS},
        {"v": "square_avg"},
        _rmsprop,
        "the notes' β is PyTorch's alpha (default 0.99); ε sits outside the root in both",
    )
)
NOTES_UPDATES.register("adagrad")(
    NotesUpdate("adagrad", lambda lr: {"lr": lr, "eps": 1e-10}, {"v": "sum"}, _adagrad)
)
NOTES_UPDATES.register("adam")(
    NotesUpdate(
        "adam",
        lambda lr: {"lr": lr, "betas": BETAS, "eps": EPS, "bias_correction": False},
        {"m": "exp_avg", "v": "exp_avg_sq"},
        _adam,
        "the notes' Adam has no bias correction (bias_correction: false); nncli's default divides m by "
        "1 − β₁ᵗ and v by 1 − β₂ᵗ, as PyTorch does",
    )
)
