"""Parameters and the flat buffers that hold all of a model's values and gradients.

Every layer creates its `Parameter`s as ordinary arrays. `ParameterBuffer(model)` then moves them into
one contiguous `data` vector and one `grad` vector and rebinds each parameter to views of them, so that
zeroing gradients, clipping, regularising and an optimizer update are a few in-place operations over the
whole model. Parameters that take weight regularisation (`decay=True`: the weight matrices) come first,
so that they are the single slice `data[:n_decay]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nncli.errors import CheckpointError


class Parameter:
    """A trainable array `data` and its gradient `grad` (same shape and dtype).

    `decay` marks the parameters that L1/L2 regularisation applies to by default: weight matrices, not
    biases or norm gains.
    """

    __slots__ = ("data", "grad", "decay")

    def __init__(self, data: np.ndarray, *, decay: bool = False) -> None:
        self.data = data
        self.grad = np.zeros_like(data)
        self.decay = decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}, decay={self.decay})"


class ParameterBuffer:
    """All parameters of a model in one flat `data` vector and one flat `grad` vector.

    Attributes:
        names: dotted parameter names (`layers.0.weight`) in buffer order.
        slices: name → slice of the flat vectors.
        n_decay: the first `n_decay` entries are the parameters with `decay=True`.
    """

    def __init__(self, named: Iterator[tuple[str, Parameter]] | list[tuple[str, Parameter]]) -> None:
        named = list(named)
        if not named:
            raise ValueError("a model needs at least one parameter")
        named.sort(key=lambda item: not item[1].decay)  # stable: decayed first, each group in model order
        dtype = named[0][1].data.dtype
        sizes = [p.data.size for _, p in named]
        self.data = np.empty(sum(sizes), dtype=dtype)
        self.grad = np.zeros(sum(sizes), dtype=dtype)
        self.names: list[str] = []
        self.slices: dict[str, slice] = {}
        self.params: dict[str, Parameter] = {}
        self.n_decay = 0
        offset = 0
        for (name, p), size in zip(named, sizes):
            if p.data.dtype != dtype:
                raise ValueError(f"parameter {name} has dtype {p.data.dtype}, the model {dtype}")
            sl = slice(offset, offset + size)
            self.data[sl] = p.data.ravel()
            p.data = self.data[sl].reshape(p.data.shape)
            p.grad = self.grad[sl].reshape(p.data.shape)
            self.names.append(name)
            self.slices[name] = sl
            self.params[name] = p
            if p.decay:
                self.n_decay = offset + size
            offset += size

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def grad_norm(self) -> float:
        """Global L2 norm of all gradients, as `torch.nn.utils.clip_grad_norm_` computes it."""
        return float(np.sqrt(np.dot(self.grad, self.grad)))

    def clip_grad_norm(self, max_norm: float) -> float:
        """Scale all gradients so their global norm is at most `max_norm`; returns the norm before."""
        norm = self.grad_norm()
        coef = max_norm / (norm + 1e-6)
        if coef < 1.0:
            self.grad *= self.dtype.type(coef)
        return norm

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter under its dotted name."""
        return {name: self.params[name].data.copy() for name in self.names}

    def load_state_dict(self, state: dict[str, np.ndarray], *, source: str = "parameters") -> None:
        """Copy values in by name; refuses missing, unexpected or mis-shaped entries, changing nothing."""
        missing = [n for n in self.names if n not in state]
        extra = [n for n in state if n not in self.slices]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected {', '.join(extra)}")
            raise CheckpointError(f"{source} do not fit this model: {'; '.join(parts)}")
        for name in self.names:
            value = np.asarray(state[name])
            if value.shape != self.params[name].shape:
                raise CheckpointError(
                    f"{source}: '{name}' has shape {value.shape}, the model expects {self.params[name].shape}"
                )
            if not np.issubdtype(value.dtype, np.number):
                raise CheckpointError(f"{source}: '{name}' is not numeric (dtype {value.dtype})")
        for name in self.names:
            self.params[name].data[...] = state[name]
