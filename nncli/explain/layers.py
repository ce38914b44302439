"""Any small model's backward pass as a table, and a linear model multiplied out into one map.

The table's output gradients are what each layer's real `backward` receives; its parameter errors come
from nncli.gradcheck's finite differences on the same examples (`run_case`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from nncli.engine.layers import Linear
from nncli.errors import NncliError
from nncli.gradcheck import check_case
from nncli.gradcheck.config_case import run_case
from nncli.training.build import build_run

MAX_PARAMETERS = 200_000  # finite differences of a larger model take too long for a worked example
BATCH = 8
# one line where a layer kind differs from the notes
NOTES_DIFFER = {
    "LayerNorm": "the notes divide by var + ε; nncli, like PyTorch, divides by √(var + ε)",
    "BatchNorm1d": "the notes divide by var + ε; nncli, like PyTorch, divides by √(var + ε)",
    "MSELoss": "the notes' ∂E/∂y = −(y* − y) drops the mean's 2/n; nncli keeps it",
}


@dataclass(frozen=True)
class ParamRow:
    name: str
    shape: tuple[int, ...]
    grad_norm: float
    max_rel_error: float


@dataclass(frozen=True)
class LayerRow:
    """One child module of the model, in forward order: the gradient its backward received."""

    name: str
    kind: str
    grad_shape: tuple[int, ...] | None
    grad_norm: float | None
    params: list[ParamRow]


@dataclass
class LayerTable:
    name: str
    batch: int
    samples: int  # entries of each parameter checked by finite differences
    layers: list[LayerRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where the notes' forms differ, one line each

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel_error for r in self.layers for p in r.params), default=0.0)

    def to_dict(self) -> dict:
        return {**asdict(self), "max_rel_error": self.max_rel_error}


def check_size(run, source: str) -> None:
    if run.params.size > MAX_PARAMETERS:
        raise NncliError(
            f"{source}: the model has {run.params.size:,} parameters; explain takes models up to "
            f"{MAX_PARAMETERS:,} (make model.hidden_sizes or d_model smaller)"
        )


def children(model) -> list[tuple[str, object]]:
    """The model's modules one level down, in the order they were assigned (forward order)."""
    return list(model.named_children())


def layer_table(config, *, samples: int = 6, seed: int = 0) -> LayerTable:
    """Backward through `config`'s model on its first examples, in float64: a row per child module."""
    run = build_run(config.model_copy(update={"dtype": "float64"}))
    check_size(run, config.name or "config")
    case = run_case(run, BATCH)
    received: dict[str, np.ndarray] = {}
    mods = children(run.model)
    for name, module in mods:
        module.backward = _recording(module, name, received)
    try:
        result = check_case(case, samples=samples, rng=np.random.default_rng(seed), threshold=1e-6, name="")
    finally:
        for _, module in mods:
            del module.backward  # back to the class's method
    errors = {t.name: t.max_rel_error for t in result.tensors}
    table = LayerTable(config.name or "model", min(BATCH, len(run.trainer.X)), samples)
    for name, module in mods:
        params = [
            ParamRow(f"{name}.{pname}", p.shape, float(np.linalg.norm(p.grad)), errors[f"{name}.{pname}"])
            for pname, p in module.named_parameters()
        ]
        g = received.get(name)
        table.layers.append(
            LayerRow(
                name,
                type(module).__name__,
                tuple(g.shape) if g is not None else None,
                float(np.linalg.norm(g)) if g is not None else None,
                params,
            )
        )
    kinds = {type(m).__name__ for m in run.model.modules()} | {type(run.trainer.loss).__name__}
    table.notes = sorted({NOTES_DIFFER[k] for k in kinds if k in NOTES_DIFFER})
    return table


def _recording(module, name: str, received: dict):
    method = type(module).backward

    def backward(grad_out, *args, **kwargs):
        received[name] = np.array(grad_out, copy=True)
        return method(module, grad_out, *args, **kwargs)

    return backward


@dataclass
class Collapse:
    """A model of Linear layers with identity activations is one map x ↦ W_eff x + b_eff."""

    name: str
    in_features: int
    out_features: int
    samples: int
    weight_product: str
    W_eff: list
    b_eff: list
    linear_gap: float  # max |model(x) − (W_eff x + b_eff)| over the training inputs: rounding
    tanh_gap: float  # the same for the same layers with tanh between them: the model is not a line

    def to_dict(self) -> dict:
        return asdict(self)


def is_linear(config) -> bool:
    m = config.model
    if m.kind == "neuron":
        return False  # one layer is a line by definition; nothing to multiply out
    return (
        m.kind == "mlp"
        and m.activation in ("identity", "linear")
        and m.output_activation in ("identity", "linear")
        and m.norm == "none"
    )


def multiplied_out(model) -> tuple[np.ndarray, np.ndarray]:
    """W_eff = W_L ⋯ W_1 and b_eff = W_L(⋯(W_2 b_1 + b_2)⋯) + b_L from the model's Linear layers."""
    linears = [m for m in model.layers if isinstance(m, Linear)]
    W = np.eye(linears[0].in_features)
    b = np.zeros(linears[0].in_features)
    for lin in linears:
        W = lin.weight.data @ W
        b = lin.weight.data @ b + (lin.bias.data if lin.bias is not None else 0.0)
    return W, b


def gap(run) -> float:
    X = run.trainer.X
    W, b = multiplied_out(run.model)
    run.model.eval()
    return float(np.max(np.abs(run.model.forward(X) - (X @ W.T + b))))


def collapse(config) -> Collapse:
    """Multiply the layers out, measure the deep model against that one map, and do the same with tanh
    (the same seed gives the same initial weights, whatever the activation)."""
    config = config.model_copy(update={"dtype": "float64"})
    run = build_run(config)
    check_size(run, config.name or "config")
    tanh = build_run(
        config.model_copy(update={"model": config.model.model_copy(update={"activation": "tanh"})})
    )
    W, b = multiplied_out(run.model)
    n = sum(isinstance(m, Linear) for m in run.model.layers)
    product = "·".join(f"W{i}" for i in range(n, 0, -1))
    return Collapse(
        config.name or "model",
        W.shape[1],
        W.shape[0],
        len(run.trainer.X),
        product,
        W.tolist(),
        b.tolist(),
        gap(run),
        gap(tanh),
    )
