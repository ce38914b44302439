"""The benchmark's workloads: the same model, data, loss and optimizer built in nncli and in PyTorch.

A workload makes a fixed batch once (`data`), then builds an nncli training step (`nncli`) and a PyTorch
eager one (`torch`) that starts from nncli's initial parameters, copied across by name, so that both do
the same arithmetic. Calling a step runs forward, loss, backward and the optimizer update and returns
the loss (a float for nncli, a 0-d tensor for torch); the first call of each is compared to check that
the two really compute the same thing. `phases()` runs a step and times its four parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nncli.engine.losses import LOSSES
from nncli.engine.models import mlp
from nncli.engine.module import Module
from nncli.engine.optimizers import OPTIMIZERS
from nncli.engine.parameters import ParameterBuffer
from nncli.registry import Registry

Data = tuple[np.ndarray, np.ndarray]

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
TORCH_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
TORCH_LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


class NncliStep:
    """forward → loss → backward → update over one flat parameter buffer (`params`). Every layer writes
    its gradients with `out=`, so the buffer needs no zeroing between steps."""

    def __init__(self, model: Module, loss: str, optimizer: str, lr: float, data: Data) -> None:
        self.model, (self.x, self.y) = model, data
        self.params = ParameterBuffer(model.named_parameters())
        self.optimizer = OPTIMIZERS.get(optimizer)(self.params, lr=lr)
        self.loss = LOSSES.get(loss)()

    def __call__(self) -> float:
        value = self.loss.forward(self.model.forward(self.x), self.y)
        self.model.backward(self.loss.backward())
        self.optimizer.step()
        return value

    def phases(self) -> tuple[float, float, float, float]:
        """One step, timed: seconds in forward, loss (value and gradient), backward and update."""
        clock = time.perf_counter
        t0 = clock()
        out = self.model.forward(self.x)
        t1 = clock()
        self.loss.forward(out, self.y)
        grad = self.loss.backward()
        t2 = clock()
        self.model.backward(grad)
        t3 = clock()
        self.optimizer.step()
        return t1 - t0, t2 - t1, t3 - t2, clock() - t3


class TorchStep:
    """PyTorch's usual eager step, zero_grad(set_to_none=True), forward, loss, backward, step, from
    nncli's initial parameters (nncli's `name` is torch's `rename(name)`). With `input_grad` the input
    requires a gradient too, as the output of a layer below would."""

    def __init__(
        self,
        module: nn.Module,
        params: ParameterBuffer,
        rename: Callable[[str], str],
        loss: str,
        optimizer: str,
        lr: float,
        data: Data,
        *,
        input_grad: bool = False,
    ) -> None:
        self.module = module.to(TORCH_DTYPES[params.dtype])
        state = {rename(name): torch.from_numpy(params.params[name].data) for name in params.names}
        self.module.load_state_dict(state, strict=True)  # copies, so the two models stay independent
        self.optimizer = TORCH_OPTIMIZERS[optimizer](self.module.parameters(), lr=lr)
        self.loss = TORCH_LOSSES[loss]
        self.x, self.y = (torch.from_numpy(a) for a in data)
        self.x.requires_grad_(input_grad)

    def __call__(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        self.x.grad = None
        value = self.loss(self.module(self.x), self.y)
        value.backward()
        self.optimizer.step()
        return value

    def phases(self) -> tuple[float, float, float, float]:
        """As NncliStep.phases; backward includes the loss's, update includes zero_grad."""
        clock = time.perf_counter
        t0 = clock()
        out = self.module(self.x)
        t1 = clock()
        value = self.loss(out, self.y)
        t2 = clock()
        value.backward()
        t3 = clock()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.x.grad = None
        return t1 - t0, t2 - t1, t3 - t2, clock() - t3


@dataclass(frozen=True)
class Workload:
    """One benchmark case. `flop` is the matmul work of one step: 2·m·n·k summed over the matmuls
    that forward and backward need. `target` is the ratio nncli/PyTorch per step asked for."""

    name: str
    description: str
    target: float
    flop: int
    data: Callable[[np.dtype, np.random.Generator], Data]
    nncli: Callable[[np.dtype, np.random.Generator, Data], NncliStep]
    torch: Callable[[ParameterBuffer, Data], TorchStep]
    peak_fraction_target: float | None = None  # least share of the float32 matmul peak asked for
    spec: dict = field(default_factory=dict)  # the architecture's numbers, for the peers (benchmarks.peers)


WORKLOADS: Registry[Workload] = Registry("workload")


def add(workload: Workload) -> None:
    WORKLOADS.register(workload.name)(workload)


# ---------------------------------------------------------------------------------------------- MLPs


def _mlp_renamed(name: str) -> str:
    """nncli's mlp numbers its layers as nn.Sequential does, under `layers.`."""
    return name.removeprefix("layers.")


def mlp_workload(
    name: str,
    *,
    sizes: list[int],
    activation: str,
    loss: str,
    optimizer: str,
    lr: float,
    batch: int,
    target: float,
    peak_fraction_target: float | None = None,
) -> Workload:
    """An MLP `sizes[0] → … → sizes[-1]` with `activation` between Linear layers, on one batch."""
    torch_activation = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    pairs = list(zip(sizes, sizes[1:]))
    # forward x Wᵀ and backward gᵀx for every Linear; backward g W for all but the first, whose input is
    # data: torch skips that matmul, and so does nncli (`Linear.needs_input_grad = False`)
    flop = sum((3 if i else 2) * 2 * batch * fan_in * fan_out for i, (fan_in, fan_out) in enumerate(pairs))

    def data(dtype: np.dtype, rng: np.random.Generator) -> Data:
        x = rng.standard_normal((batch, sizes[0])).astype(dtype)
        if loss == "mse":
            return x, rng.standard_normal((batch, sizes[-1])).astype(dtype)
        return x, rng.integers(0, sizes[-1], batch)

    def build_nncli(dtype: np.dtype, rng: np.random.Generator, batch_data: Data) -> NncliStep:
        model = mlp(
            in_features=sizes[0],
            out_features=sizes[-1],
            hidden_sizes=sizes[1:-1],
            activation=activation,
            rng=rng,
            dtype=dtype,
        )
        model.layers[0].needs_input_grad = False
        return NncliStep(model, loss, optimizer, lr, batch_data)

    def build_torch(params: ParameterBuffer, batch_data: Data) -> TorchStep:
        layers: list[nn.Module] = []
        for fan_in, fan_out in pairs:
            layers += [nn.Linear(fan_in, fan_out), torch_activation()]
        module = nn.Sequential(*layers[:-1])
        return TorchStep(module, params, _mlp_renamed, loss, optimizer, lr, batch_data)

    arch = "→".join(map(str, sizes))
    description = f"MLP {arch}, {activation}, {loss}, {optimizer}, batch {batch}"
    spec = dict(kind="mlp", sizes=sizes, activation=activation, loss=loss, optimizer=optimizer, lr=lr)
    return Workload(
        name, description, target, flop, data, build_nncli, build_torch, peak_fraction_target, spec
    )


add(mlp_workload("tiny_mlp", sizes=[2, 16, 16, 1], activation="tanh", loss="mse", optimizer="sgd", lr=0.1,
                 batch=256, target=0.35))  # fmt: skip
add(mlp_workload("medium_mlp", sizes=[64, 256, 256, 10], activation="relu", loss="cross_entropy",
                 optimizer="adam", lr=1e-3, batch=128, target=0.7))  # fmt: skip
add(mlp_workload("large_mlp", sizes=[784, 1024, 1024, 10], activation="relu", loss="cross_entropy",
                 optimizer="adam", lr=1e-3, batch=256, target=1.0, peak_fraction_target=0.55))  # fmt: skip


# ------------------------------------------------------------------------------------ transformer blocks


class TorchBlock(nn.Module):
    """torch.nn.TransformerEncoderLayer (pre-norm, gelu, no dropout, batch-first) run causally."""

    def __init__(self, d_model: int, n_heads: int, activation: str) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            4 * d_model,
            dropout=0.0,
            activation=activation,
            norm_first=True,
            batch_first=True,
        )
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if self.mask is None or self.mask.shape[0] != t or self.mask.dtype != x.dtype:
            self.mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=x.dtype)
        return self.layer(x, src_mask=self.mask, is_causal=True)


def _block_renamed(name: str) -> str:
    """nncli's TransformerBlock names its attention `attn`, torch's encoder layer `self_attn`."""
    return "layer." + ("self_" + name if name.startswith("attn.") else name)


def block_workload(
    name: str, *, d_model: int, n_heads: int, seq: int, batch: int, activation: str, target: float
) -> Workload:
    """One causal pre-norm TransformerBlock (feed-forward 4·d_model), MSE on its output, Adam. The
    input stands for the output of a block below, so its gradient is computed in both frameworks."""
    n = batch * seq
    linear = 2 * n * d_model * d_model * (3 + 1 + 4 + 4)  # in_proj (3d), out_proj, ff up (4d), ff down
    attention = 2 * 2 * batch * seq * seq * d_model  # QKᵀ and P V over all heads (no causal saving)
    flop = 3 * (linear + attention)  # forward, and two matmuls of the same size per matmul in backward

    def data(dtype: np.dtype, rng: np.random.Generator) -> Data:
        shape = (batch, seq, d_model)
        return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)

    def build_nncli(dtype: np.dtype, rng: np.random.Generator, batch_data: Data) -> NncliStep:
        from nncli.engine.transformer import TransformerBlock

        block = TransformerBlock(d_model, n_heads, activation=activation, causal=True, rng=rng, dtype=dtype)
        return NncliStep(block, "mse", "adam", 1e-3, batch_data)

    def build_torch(params: ParameterBuffer, batch_data: Data) -> TorchStep:
        module = TorchBlock(d_model, n_heads, activation)
        return TorchStep(module, params, _block_renamed, "mse", "adam", 1e-3, batch_data, input_grad=True)

    description = f"block d_model {d_model}, {n_heads} heads, seq {seq}, batch {batch}, causal, {activation}"
    spec = dict(kind="block", d_model=d_model, n_heads=n_heads, activation=activation, loss="mse")
    spec.update(optimizer="adam", lr=1e-3)
    return Workload(name, description, target, flop, data, build_nncli, build_torch, spec=spec)


add(block_workload("block_d64", d_model=64, n_heads=4, seq=32, batch=32, activation="gelu", target=1.0))
# the same block with relu, PyTorch's default: how much of block_d64's ratio is exact GELU
add(block_workload("block_d64_relu", d_model=64, n_heads=4, seq=32, batch=32, activation="relu", target=1.0))
add(block_workload("block_d256", d_model=256, n_heads=8, seq=64, batch=16, activation="gelu", target=1.05))
