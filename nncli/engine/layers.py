"""Linear and Dropout layers, and the registry of every layer kind."""

from __future__ import annotations

import numpy as np

from nncli.engine.module import Module, sum_rows
from nncli.engine.parameters import Parameter
from nncli.registry import Registry

LAYERS: Registry[type[Module]] = Registry("layer")

INITS = ("default", "xavier", "he")


@LAYERS.register("linear")
class Linear(Module):
    """y = x Wᵀ + b for inputs of shape (..., in_features); W has shape (out_features, in_features).

    Init `default` is PyTorch's: W and b ~ U(-1/√fan_in, 1/√fan_in). `xavier` draws
    W ~ U(±√(6/(fan_in+fan_out))) and `he` draws W ~ N(0, 2/fan_in), both with b = 0.

    Set `needs_input_grad = False` on a layer whose input is data (the first layer of a model): backward
    then skips dx = g W, as PyTorch does for inputs that do not require grad, and returns None.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        init: str = "default",
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        self.in_features, self.out_features = in_features, out_features
        shape = (out_features, in_features)
        bound = 1.0 / np.sqrt(in_features)
        if init == "default":
            w = rng.uniform(-bound, bound, shape)
        elif init == "xavier":
            limit = np.sqrt(6.0 / (in_features + out_features))
            w = rng.uniform(-limit, limit, shape)
        elif init == "he":
            w = rng.normal(0.0, np.sqrt(2.0 / in_features), shape)
        else:
            raise ValueError(f"unknown init '{init}'; choose from {', '.join(INITS)}")
        self.weight = Parameter(w.astype(dtype), decay=True)
        if bias:
            b = rng.uniform(-bound, bound, out_features) if init == "default" else np.zeros(out_features)
            self.bias: Parameter | None = Parameter(b.astype(dtype))
        else:
            self.bias = None
        self.needs_input_grad = True
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        w = self.weight.data
        # a product over one input feature is an outer product: broadcasting is 2× faster than BLAS's
        # gemm with k = 1, and gives the same numbers (each element is one multiplication)
        y = np.multiply(x, w[:, 0]) if self.in_features == 1 else np.matmul(x, w.T)
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """dW = gᵀx and db = Σg over every leading axis; dx = g W."""
        x = self._cached(self._x)
        self._x = None
        if grad_out.ndim == 2:  # (N, features): no reshapes
            g2, x2 = grad_out, x
        else:
            g2, x2 = grad_out.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        np.matmul(g2.T, x2, out=self.weight.grad)
        del x, x2  # the input may be freed before dx is allocated: a lower peak
        if self.bias is not None:
            sum_rows(g2, out=self.bias.grad)
        if not self.needs_input_grad:
            return None
        w = self.weight.data
        return np.multiply(grad_out, w[0]) if self.out_features == 1 else np.matmul(grad_out, w)


@LAYERS.register("dropout")
class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1-p);
    the identity in eval mode."""

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng
        self._scale: np.ndarray | None = None

    def sample_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Boolean keep-mask; override (or assign) to impose a mask, as the PyTorch parity test does."""
        return self.rng.random(shape) >= self.p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        self._scale = self.sample_mask(x.shape) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self._scale

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            return grad_out
        scale = self._cached(self._scale)
        self._scale = None
        return grad_out * scale
