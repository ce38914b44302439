"""ONNX graph building: a small builder over `onnx.helper`, and the ONNX form of every engine layer.

An emitter takes the builder, an engine module and the name of its input tensor, writes the module's
eval-mode forward pass as ONNX nodes and returns the name of its output. Parameters and buffers become
initializers under their engine names, which are PyTorch's (`layers.0.weight`). `EMITTERS` maps each
engine class to its emitter; a test keeps it covering every registered layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nncli.engine import special
from nncli.engine.activations import GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from nncli.engine.layers import Dropout, Linear
from nncli.engine.module import Module, Sequential
from nncli.engine.norm import BatchNorm1d, LayerNorm
from nncli.engine.parameters import Parameter
from nncli.export.source import needs_extra

OPSET = 17  # LayerNormalization is opset 17; everything else is older


class Graph:
    """Nodes and initializers of one ONNX graph whose floating-point tensors have `dtype`."""

    def __init__(self, model: Module, dtype: np.dtype) -> None:
        with needs_extra():
            import onnx
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self.seq_len: int | None = None  # set by the transformer for the layers inside it
        self._names = {id(p): name for name, p in model.named_parameters()}
        self._names.update((id(b), name) for name, b in model.named_buffers())
        self._added: dict[str, str] = {}
        self._count = 0

    def _fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def tensor(self, value: Parameter | np.ndarray, name: str | None = None) -> str:
        """An initializer: a parameter or buffer under its engine name, else a constant, under `name` if
        given (a named constant is added once: every block shares one causal mask)."""
        key = self._names.get(id(value)) or name
        if key in self._added:
            return self._added[key]
        array = value.data if isinstance(value, Parameter) else value
        name = key or self._fresh("const")
        self.initializers.append(self.numpy_helper.from_array(np.array(array, order="C"), name))
        if key:  # unnamed constants are not cached by id: a freed array's id may come back for another
            self._added[key] = name
        return name

    def scalar(self, value: float) -> str:
        return self.tensor(np.array(value, dtype=self.dtype))

    def ints(self, *values: int) -> str:
        return self.tensor(np.array(values, dtype=np.int64))

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        """Add one node; returns its (only) output's name."""
        out = out or self._fresh(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def reshape(self, x: str, *shape: int) -> str:
        return self.op("Reshape", x, self.ints(*shape))


EMITTERS: dict[type, Callable[[Graph, Module, str], str]] = {}


def emits(*classes: type) -> Callable:
    def add(fn):
        for cls in classes:
            EMITTERS[cls] = fn
        return fn

    return add


def emit(g: Graph, module: Module, x: str) -> str:
    """The ONNX form of `module` applied to tensor `x`."""
    try:
        fn = EMITTERS[type(module)]
    except KeyError:
        raise TypeError(f"export has no ONNX form for {type(module).__name__}: add one to EMITTERS") from None
    return fn(g, module, x)


@emits(Sequential)
def _sequential(g: Graph, m: Sequential, x: str) -> str:
    for layer in m.layers:
        x = emit(g, layer, x)
    return x


@emits(Linear)
def _linear(g: Graph, m: Linear, x: str) -> str:
    """Gemm(x, W, b, transB=1) = x Wᵀ + b on x (N, in_features): W keeps PyTorch's (out, in) layout."""
    bias = [g.tensor(m.bias)] if m.bias is not None else []
    return g.op("Gemm", x, g.tensor(m.weight), *bias, transB=1)


@emits(Dropout, Identity)
def _identity(g: Graph, m: Module, x: str) -> str:
    return x  # dropout is the identity in eval mode


def _affine(g: Graph, m: LayerNorm | BatchNorm1d, n: int) -> tuple[str, str]:
    if m.weight is None:
        return g.tensor(np.ones(n, g.dtype)), g.tensor(np.zeros(n, g.dtype))
    return g.tensor(m.weight), g.tensor(m.bias)


# ONNX's float attributes are float32 (LeakyRelu's alpha, the norms' epsilon) and LayerNormalization keeps
# its statistics in float32 (stash_type; ReferenceEvaluator has no other), so float64 graphs spell these
# layers out in elementary ops with float64 constants, as the engine computes them.


def _normalized(g: Graph, xc: str, var: str, eps: float, weight: str, bias: str) -> str:
    """(x − μ)·(1/√(σ² + ε))·γ + β from xc = x − μ and σ²."""
    rstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", var, g.scalar(eps))))
    return g.op("Add", g.op("Mul", g.op("Mul", xc, rstd), weight), bias)


@emits(LayerNorm)
def _layer_norm(g: Graph, m: LayerNorm, x: str) -> str:
    weight, bias = _affine(g, m, m.normalized_shape)
    if g.dtype != np.float64:
        return g.op("LayerNormalization", x, weight, bias, axis=-1, epsilon=m.eps)
    xc = g.op("Sub", x, g.op("ReduceMean", x, axes=[-1]))
    return _normalized(g, xc, g.op("ReduceMean", g.op("Mul", xc, xc), axes=[-1]), m.eps, weight, bias)


@emits(BatchNorm1d)
def _batch_norm(g: Graph, m: BatchNorm1d, x: str) -> str:
    """Eval mode: normalised with the running statistics, which become initializers."""
    weight, bias = _affine(g, m, m.num_features)
    mean, var = g.tensor(m.running_mean), g.tensor(m.running_var)
    if g.dtype != np.float64:
        return g.op("BatchNormalization", x, weight, bias, mean, var, epsilon=m.eps, momentum=m.momentum)
    return _normalized(g, g.op("Sub", x, mean), var, m.eps, weight, bias)


_PLAIN = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu"}


@emits(*_PLAIN)
def _plain(g: Graph, m: Module, x: str) -> str:
    return g.op(_PLAIN[type(m)], x)


@emits(LeakyReLU)
def _leaky_relu(g: Graph, m: LeakyReLU, x: str) -> str:
    if g.dtype != np.float64:
        return g.op("LeakyRelu", x, alpha=m.negative_slope)
    return g.op("Where", g.op("Greater", x, g.scalar(0.0)), x, g.op("Mul", x, g.scalar(m.negative_slope)))


@emits(Softmax)
def _softmax(g: Graph, m: Softmax, x: str) -> str:
    return g.op("Softmax", x, axis=-1)


@emits(Softplus)
def _softplus(g: Graph, m: Softplus, x: str) -> str:
    """The engine's form: (max(βx, 0) + log(1 + e^−|βx|))/β, and x itself where βx > threshold (ONNX's
    Softplus has neither β nor the threshold, and onnxruntime has it in float32 only)."""
    bx = g.op("Mul", x, g.scalar(m.beta))
    tail = g.op("Log", g.op("Add", g.scalar(1.0), g.op("Exp", g.op("Neg", g.op("Abs", bx)))))
    soft = g.op("Div", g.op("Add", g.op("Max", bx, g.scalar(0.0)), tail), g.scalar(m.beta))
    return g.op("Where", g.op("Greater", bx, g.scalar(m.threshold)), x, soft)


@emits(GELU)
def _gelu(g: Graph, m: GELU, x: str) -> str:
    """x·Φ(x). float32: Φ = (1 + Erf(x/√2))/2. float64 (onnxruntime has no float64 Erf, and
    ReferenceEvaluator's is only float32-accurate): the engine's own rational form of Φ, `_phi64`."""
    if m.approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", g.scalar(0.044715), cube))
        t = g.op("Tanh", g.op("Mul", g.scalar(np.sqrt(2.0 / np.pi)), inner))
        return g.op("Mul", g.op("Mul", g.scalar(0.5), x), g.op("Add", g.scalar(1.0), t))
    if g.dtype == np.float64:
        return g.op("Mul", x, _phi64(g, x))
    erf = g.op("Erf", g.op("Mul", x, g.scalar(special._INV_SQRT_2)))
    return g.op("Mul", g.op("Mul", g.scalar(0.5), x), g.op("Add", g.scalar(1.0), erf))


def _rational(g: Graph, t: str, p: tuple, q: tuple) -> str:
    """P(t)/Q(t) by Horner's rule with Q monic, coefficients lowest degree first (as in the engine)."""
    num = g.op("Add", g.op("Mul", t, g.scalar(p[-1])), g.scalar(p[-2]))
    for c in p[-3::-1]:
        num = g.op("Add", g.op("Mul", num, t), g.scalar(c))
    den = g.op("Add", t, g.scalar(q[-2]))
    for c in q[-3::-1]:
        den = g.op("Add", g.op("Mul", den, t), g.scalar(c))
    return g.op("Div", num, den)


def _phi64(g: Graph, x: str) -> str:
    """Φ(x) from elementary ops with the engine's float64 fits (nncli.engine.special): 0.5 + x·P′(x²)/Q′(x²)
    for x² ≤ 8, else (1 + sign(x)·(1 − e^(−y²)·erfcx(y)))/2 with y = min(|x|/√2, 6)."""
    s = g.op("Mul", x, x)
    core = g.op("Add", g.op("Mul", x, _rational(g, s, *special._GELU64)), g.scalar(0.5))
    y = g.op("Min", g.op("Mul", g.op("Abs", x), g.scalar(special._INV_SQRT_2)), g.scalar(special._MID_END))
    erfc = g.op("Mul", g.op("Exp", g.op("Neg", g.op("Mul", y, y))), _rational(g, y, *special._MID))
    erf = g.op("Mul", g.op("Sign", x), g.op("Sub", g.scalar(1.0), erfc))
    tail = g.op("Mul", g.scalar(0.5), g.op("Add", g.scalar(1.0), erf))
    return g.op("Where", g.op("LessOrEqual", s, g.scalar(special._GELU64_S)), core, tail)
