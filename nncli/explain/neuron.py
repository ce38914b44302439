"""One training step of the notes' neuron y = f(Wx + b), every quantity three times.

Each number comes from the engine's own layers (Linear's forward and backward, the activation's f and
f', the loss's forward and backward, the optimizer's step), beside a central finite difference of the
engine's forward (nncli.gradcheck) and PyTorch autograd's value when torch is installed. Where the
notes simplify, the notes' own value is kept next to nncli's with one line saying why they differ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from nncli.datasets import Dataset
from nncli.engine.optimizers import OPTIMIZERS
from nncli.errors import NncliError
from nncli.explain import torch_values
from nncli.explain.updates import NOTES_UPDATES, Term
from nncli.gradcheck import numeric_derivative

FD_EPS = 1e-5

# The default worked example: the notes' sigmoid neuron under MSE with weights set by hand.
DEFAULT_CONFIG = {
    "name": "the notes' neuron",
    "data": {"dataset": "gaussian_blobs", "samples": 4, "validation": 0.0, "standardize": False},
    "model": {
        "kind": "neuron",
        "activation": "sigmoid",
        "init_values": {"layers.0.weight": [[0.5, -1.0]], "layers.0.bias": [0.1]},
    },
    "loss": "mse",
    "optimizer": {"name": "sgd", "lr": 0.5},
    "training": {"steps": 1, "batch_size": 1, "shuffle": False},
}


def default_dataset() -> Dataset:
    """Four points in the plane, two per class: small enough to check by hand."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.5], [2.0, 1.0]])
    return Dataset(X, np.array([1, 0, 0, 1]), "classification", "four points", n_classes=2)


def sub(i: int) -> str:
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


@dataclass(frozen=True)
class Quantity:
    """One row: a symbol, nncli's formula, and its value from the engine, finite differences and torch.

    `notes` is the value of the notes' own formula where it differs from nncli's, `note` says why.
    """

    symbol: str
    formula: str
    engine: float
    fd: float | None = None
    torch: float | None = None
    notes: float | None = None
    note: str = ""


@dataclass(frozen=True)
class ParameterUpdate:
    """One parameter entry's update: its gradient, and each term of the notes' update with the engine's
    value beside it."""

    name: str
    before: float
    grad: float
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class NeuronStep:
    step: int
    sample: int
    x: tuple[float, ...]
    target: float
    forward: tuple[Quantity, ...]
    backward: tuple[Quantity, ...]
    update: tuple[ParameterUpdate, ...]


@dataclass
class NeuronExplanation:
    name: str
    activation: str
    loss: str
    optimizer: str
    lr: float
    differs: str
    torch_version: str | None
    standardized: bool = False  # x is the model's input: the data after standardisation
    engine_optimizer: dict = field(default_factory=dict)  # the engine optimizer that gives the notes' form
    steps: list[NeuronStep] = field(default_factory=list)
    torch_from_cache: bool = False  # PyTorch's values were read back (nncli.explain.torch_values)

    def largest_differences(self) -> dict[str, float | None]:
        """The largest |engine − finite difference| and |engine − torch| over every quantity of every step."""
        quantities = [q for s in self.steps for q in (*s.forward, *s.backward)]
        fd = [abs(q.engine - q.fd) for q in quantities if q.fd is not None]
        torch = [abs(q.engine - q.torch) for q in quantities if q.torch is not None]
        return {"finite difference": max(fd, default=None), "torch": max(torch, default=None)}

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "largest_differences": self.largest_differences()}


ACTIVATION_FORMULAS = {"sigmoid": ("1/(1 + e^−d)", "f(d)(1 − f(d))"), "identity": ("d", "1")}
ACTIVATION_FORMULAS["tanh"] = ("tanh d", "1 − tanh² d")
LOSS_FORMULAS = {
    "mse": ("(1/n)Σ(y* − y)²", "2(y − y*)/n"),
    "bce_with_logits": ("−y*·log σ(y) − (1 − y*)·log(1 − σ(y))", "(σ(y) − y*)/n"),
    "huber": ("½(y − y*)² near 0, linear beyond δ", "(y − y*)/n near 0"),
}
MSE_NOTE = "the notes write ∂E/∂y = −(y* − y), dropping the mean's 2/n; nncli keeps it, as PyTorch does"


def explain_neuron(
    run, *, sample: int = 0, steps: int = 1, optimizer: str = "sgd", use_torch: bool = True
) -> NeuronExplanation:
    """`steps` updates of a `neuron` run on its training example `sample`, each explained; PyTorch's
    values too when `use_torch` and torch is installed."""
    if run.config.model.kind != "neuron":
        raise NncliError(f"model.kind: the step-by-step view is for the neuron; got {run.config.model.kind}")
    X, Y = run.trainer.X, run.trainer.y
    if not 0 <= sample < len(X):
        raise NncliError(f"--sample: choose 0..{len(X) - 1} (the training examples), got {sample}")
    if steps < 1:
        raise NncliError(f"--steps: give at least 1, got {steps}")
    reg = run.config.regularization
    if reg.l1 > 0 or reg.l2 > 0:
        raise NncliError(
            "regularization: the step-by-step view is the notes' unregularised step; set l1 and l2 to 0 "
            "(nncli explain --regularization draws what L1 and L2 do)"
        )
    notes = NOTES_UPDATES.get(optimizer)
    lr = run.config.optimizer.lr
    engine_opt = OPTIMIZERS.get(notes.engine)(run.params, **notes.kwargs(lr))
    torch_version = torch_values.torch_version() if use_torch else None
    out = NeuronExplanation(
        run.config.name or "neuron",
        run.config.model.activation,
        run.loss_name,
        optimizer,
        lr,
        notes.differs,
        torch_version,
        run.data.standardizer is not None,
        {"name": notes.engine, **notes.kwargs(lr)},
    )
    hits = []
    for t in range(steps):
        step, cached = _one_step(run, engine_opt, notes, t + 1, sample, X, Y, torch_version)
        out.steps.append(step)
        hits.append(cached)
    out.torch_from_cache = torch_version is not None and all(hits)
    return out


def _one_step(run, opt, notes, t, sample, X, Y, torch_version) -> tuple[NeuronStep, bool]:
    lin, act = run.model.layers
    loss = run.trainer.loss
    x, target = X[sample : sample + 1], Y[sample : sample + 1]
    names = [f"w{sub(j)}" for j in range(x.shape[1])]
    W, b = lin.weight, lin.bias

    # ∂d/∂w and ∂d/∂b: Linear's backward of a gradient of 1 on d
    run.params.zero_grad()
    lin.forward(x)
    lin.backward(np.ones((1, 1)))
    dd_dw, dd_db = W.grad[0].copy(), float(b.grad[0])

    # the step itself: forward and backward through the engine's layers and loss
    run.params.zero_grad()
    run.model.train()
    d = lin.forward(x)
    y = act.forward(d)
    E = loss.forward(y, target)
    dE_dy = loss.backward()
    dy_dd = act.df(d, y)
    dE_dd = act.backward(dE_dy)
    lin.backward(dE_dd)
    grads = {**dict(zip(names, W.grad[0])), "b": float(b.grad[0])}
    a = float(np.matmul(x, W.data.T)[0, 0])  # the notes' a = Wx; the engine adds b in the same matmul

    def objective_of_y(arr):
        value = loss.forward(arr, target)
        loss._cache = None
        return value

    def full():
        return objective_of_y(act.f(lin.forward(x)))

    y_var, d_var = y.copy(), d.copy()  # perturbed copies: the intermediate quantities as variables
    fd = {
        "dE/dy": numeric_derivative(lambda: objective_of_y(y_var), y_var, (0, 0), FD_EPS),
        "dy/dd": numeric_derivative(lambda: float(act.f(d_var)[0, 0]), d_var, (0, 0), FD_EPS),
        "dE/dd": numeric_derivative(lambda: objective_of_y(act.f(d_var)), d_var, (0, 0), FD_EPS),
        "dd/db": numeric_derivative(lambda: float(lin.forward(x)[0, 0]), b.data, (0,), FD_EPS),
        "dE/db": numeric_derivative(full, b.data, (0,), FD_EPS),
    }
    for j, n in enumerate(names):
        fd[f"dd/d{n}"] = numeric_derivative(lambda: float(lin.forward(x)[0, 0]), W.data, (0, j), FD_EPS)
        fd[f"dE/d{n}"] = numeric_derivative(full, W.data, (0, j), FD_EPS)
    tv, cached = {}, False
    if torch_version is not None:
        tv, cached = torch_values.neuron_values(
            x, W.data, b.data, target, run.config.model.activation, run.loss_name, names, torch_version
        )

    f_formula, df_formula = ACTIVATION_FORMULAS.get(
        act_name := run.config.model.activation, ("f(d)", "f′(d)")
    )
    e_formula, de_formula = LOSS_FORMULAS.get(run.loss_name, ("loss(y, y*)", "∂loss/∂y"))
    is_mse = run.loss_name == "mse"
    notes_dE_dy = -(float(target[0]) - float(y[0, 0])) if is_mse else None
    forward = (
        Quantity("a", "Wx", a, torch=tv.get("a")),
        Quantity("d", "a + b", float(d[0, 0]), torch=tv.get("d")),
        Quantity(
            "y", f"f(d) = {f_formula}" if act_name != "identity" else "d", float(y[0, 0]), torch=tv.get("y")
        ),
        Quantity("E", e_formula, E, torch=tv.get("E")),
    )
    backward = [
        Quantity(
            "∂E/∂y",
            de_formula,
            float(dE_dy[0, 0]),
            fd["dE/dy"],
            tv.get("dE/dy"),
            notes_dE_dy,
            MSE_NOTE if is_mse else "",
        ),
        Quantity("∂y/∂d", df_formula, float(dy_dd[0, 0]), fd["dy/dd"], tv.get("dy/dd")),
        Quantity("∂E/∂d", "∂E/∂y · ∂y/∂d", float(dE_dd[0, 0]), fd["dE/dd"], tv.get("dE/dd")),
    ]
    for j, n in enumerate(names):
        backward.append(
            Quantity(f"∂d/∂{n}", f"x{sub(j)}", float(dd_dw[j]), fd[f"dd/d{n}"], tv.get(f"dd/d{n}"))
        )
        backward.append(
            Quantity(f"∂E/∂{n}", f"∂E/∂d · x{sub(j)}", float(grads[n]), fd[f"dE/d{n}"], tv.get(f"dE/d{n}"))
        )
    backward.append(Quantity("∂d/∂b", "1", dd_db, fd["dd/db"], tv.get("dd/db")))
    backward.append(Quantity("∂E/∂b", "∂E/∂d · 1", grads["b"], fd["dE/db"], tv.get("dE/db")))

    updates = _update(run, opt, notes, names, grads)
    step = NeuronStep(
        t, sample, tuple(float(v) for v in x[0]), float(target[0]), forward, tuple(backward), updates
    )
    return step, cached


def _update(run, opt, notes, names, grads) -> tuple[ParameterUpdate, ...]:
    """The engine's step, beside the notes' formulas applied entry by entry to the engine's state before
    the step, so that each line can be checked on its own."""
    flat = {n: run.params.slices["layers.0.weight"].start + j for j, n in enumerate(names)}
    flat["b"] = run.params.slices["layers.0.bias"].start
    before = {n: float(run.params.data[i]) for n, i in flat.items()}
    state = {n: {k: float(opt.state[v][i]) for k, v in notes.state.items()} for n, i in flat.items()}
    opt.step()
    updates = []
    for n, i in flat.items():
        terms, _ = notes.step(before[n], float(grads[n]), state[n], opt.lr)
        filled = []
        for term in terms:
            if term.name == "p":  # the new parameter value, named after the parameter
                filled.append(dataclasses.replace(term, name=n, engine=float(run.params.data[i])))
            else:
                filled.append(dataclasses.replace(term, engine=float(opt.state[notes.state[term.name]][i])))
        updates.append(ParameterUpdate(n, before[n], float(grads[n]), tuple(filled)))
    return tuple(updates)


def notes_optimizer(config) -> str:
    """The notes' name for a config's optimizer: sgd, momentum (sgd with momentum), rmsprop, adagrad, adam."""
    oc = config.optimizer
    if oc.name == "sgd":
        return "momentum" if oc.momentum > 0 else "sgd"
    if oc.name in NOTES_UPDATES:
        return oc.name
    raise NncliError(
        f"optimizer.name: '{oc.name}' is not one of the notes' optimizers; pass --optimizer "
        f"{', '.join(NOTES_UPDATES.names())}"
    )
