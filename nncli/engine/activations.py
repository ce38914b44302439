"""Activation functions as layers. Each supplies f and its derivative; `Activation` does the caching.

The notes' point: without a non-linear f, any stack of layers is still one linear map, so `identity`
(also called `linear`) is here to demonstrate exactly that.
"""

from __future__ import annotations

import numpy as np

from nncli.engine.layers import LAYERS
from nncli.engine.module import Module, constant
from nncli.engine.special import gelu
from nncli.registry import Registry

ACTIVATIONS: Registry[type[Module]] = Registry("activation")

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def register(name: str):
    """Register under `name` both as an activation and as a layer."""

    def add(cls):
        ACTIVATIONS.register(name)(cls)
        LAYERS.register(name)(cls)
        return cls

    return add


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), computed without overflow for large |x|: e^x / (1 + e^x) where x < 0.

    With e = e^-|x| both forms share the denominator 1 + e, so one division serves both.
    """
    e = np.exp(-np.abs(x))
    out = np.where(x < 0, e, 1).astype(e.dtype, copy=False)  # the numerators: e where x < 0, else 1
    out /= 1 + e
    return out


class Activation(Module):
    """y = f(x) elementwise; backward multiplies by f'(x), given x and y from the forward cache."""

    def __init__(self) -> None:
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def f(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def df(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self.f(x)
        self._cache = (x, y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, y = self._cached(self._cache)
        self._cache = None
        d = self.df(x, y)
        d *= grad_out
        return d


@register("identity")
class Identity(Activation):
    """f(x) = x: stacked Linear layers with it stay one linear map."""

    def f(self, x):
        return x

    def df(self, x, y):
        return np.ones_like(x)

    def backward(self, grad_out):
        self._cached(self._cache)
        self._cache = None
        return grad_out


ACTIVATIONS.register("linear")(Identity)


@register("sigmoid")
class Sigmoid(Activation):
    """f(x) = 1/(1+e^-x); f'(x) = f(x)(1 - f(x)), the notes' ∂y/∂d."""

    def f(self, x):
        return sigmoid(x)

    def df(self, x, y):
        return y * (1 - y)


@register("tanh")
class Tanh(Activation):
    """f(x) = tanh x; f'(x) = 1 - tanh² x."""

    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        d = np.multiply(y, y)
        return np.subtract(constant(1.0, y.dtype), d, out=d)


@register("relu")
class ReLU(Activation):
    """f(x) = max(x, 0); f'(0) is taken as 0, as PyTorch does."""

    def f(self, x):
        return np.maximum(x, 0)

    def df(self, x, y):
        return (x > 0).astype(x.dtype)


@register("leaky_relu")
class LeakyReLU(Activation):
    """f(x) = x for x > 0, negative_slope·x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def f(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def df(self, x, y):
        return np.where(x > 0, 1, self.negative_slope).astype(x.dtype)


@register("gelu")
class GELU(Activation):
    """f(x) = x·Φ(x) with Φ the normal CDF (`approximate="none"`), or PyTorch's tanh approximation
    0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) with `approximate="tanh"`."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu approximate must be 'none' or 'tanh', got '{approximate}'")
        self.approximate = approximate

    def forward(self, x):
        if self.approximate == "none":  # y′ with y while x is in cache, when training
            y, dy = gelu(x, derivative=self.training)
            self._cache = (x if dy is None else None, dy)  # x only to recompute y′ (eval mode): memory
            return y
        inner = x.dtype.type(_SQRT_2_OVER_PI) * (x + 0.044715 * x * x * x)
        t = np.tanh(inner)
        self._cache = (x, t)
        return 0.5 * x * (1.0 + t)

    def df(self, x, cached):
        if self.approximate == "none":  # Φ(x) + x·φ(x), from forward (a fresh array we may overwrite)
            return gelu(x)[1] if cached is None else cached  # unless forward ran in eval mode
        t = cached
        dinner = x.dtype.type(_SQRT_2_OVER_PI) * (1.0 + 3 * 0.044715 * x * x)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner


@register("softplus")
class Softplus(Activation):
    """f(x) = log(1 + e^(βx))/β, linear above `threshold` as in PyTorch; f'(x) = sigmoid(βx)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def f(self, x):
        bx = x * x.dtype.type(self.beta)
        soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / x.dtype.type(self.beta)
        return np.where(bx > self.threshold, x, soft)

    def df(self, x, y):
        bx = x * x.dtype.type(self.beta)
        return np.where(bx > self.threshold, x.dtype.type(1), sigmoid(bx))


@register("softmax")
class Softmax(Activation):
    """softmax over the last axis, shifted by the row max for stability; backward y ⊙ (g − Σ g·y)."""

    def f(self, x):
        return softmax(x)

    def backward(self, grad_out):
        _, y = self._cached(self._cache)
        self._cache = None
        return y * (grad_out - np.sum(grad_out * y, axis=-1, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
