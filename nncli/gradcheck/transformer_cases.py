"""Gradient-check cases for attention, the transformer block, embeddings and the transformer model.

Shapes are small (B=2, T=4, d_model=8, 2 heads). Two adjustments keep the checks meaningful at a
1e-7 threshold:

- The key bias b_k is left out: it adds q·b_k to a whole row of scores, which softmax ignores, so its
  true gradient is 0 and both values are rounding noise (tests/test_transformer.py checks it stays ~0).
- Each case is checked through u = p/8 (a change of variables: the checker's step h moves p by 8h).
  These stacks evaluate their scalar to ~1e-15, which at h = 1e-4 is ~1e-11 of finite-difference noise,
  enough to fail the rare entry whose gradient is below ~1e-5; at 8h the noise is 8× smaller and the
  fourth-order truncation error, O((8h)⁴), is still far below it.
"""

from __future__ import annotations

import numpy as np

from nncli.engine.attention import MultiHeadAttention
from nncli.engine.models import MODELS
from nncli.engine.module import Module
from nncli.engine.norm import LayerNorm
from nncli.engine.transformer import Embedding, PositionalEncoding, TransformerBlock
from nncli.gradcheck.cases import module_case
from nncli.gradcheck.check import CASES, Case

F64 = np.float64
B, T, D, H = 2, 4, 8, 2


STEP = 8  # a power of two, so that p/STEP·STEP == p exactly


def _randomize(module: Module, rng: np.random.Generator) -> Module:
    """Random biases and norm gains in [0.7, 1.3]: zero biases and unit gains could hide mistakes, and
    gains near zero would make whole columns constant and their gradients vanish into the noise."""
    for m in module.modules():
        if isinstance(m, LayerNorm):
            m.weight.data[...] = rng.uniform(0.7, 1.3, m.weight.shape)
    for _, p in module.named_parameters():
        if p.data.ndim == 1:
            p.data += 0.3 * rng.standard_normal(p.shape)
    return module


def _coarse_steps(case: Case) -> Case:
    """The same check through u = p/STEP: each evaluation first writes p = STEP·u, and ∂f/∂u = STEP·∂f/∂p."""
    pairs = {name: (p, p / STEP) for name, p in case.tensors.items()}
    objective, gradients = case.objective, case.gradients

    def sync() -> None:
        for p, u in pairs.values():
            np.multiply(u, STEP, out=p)

    def scaled_objective() -> float:
        sync()
        return objective()

    def scaled_gradients() -> dict[str, np.ndarray]:
        sync()
        return {name: STEP * g for name, g in gradients().items() if name in pairs}

    return Case({name: u for name, (_, u) in pairs.items()}, scaled_objective, scaled_gradients, case.smooth)


def _without_key_bias(case: Case) -> Case:
    """Replace each `*.in_proj_bias` by views of its query and value thirds (see the module docstring)."""
    for name in [n for n in case.tensors if n.endswith("in_proj_bias")]:
        bias = case.tensors.pop(name)
        d = bias.size // 3
        case.tensors[f"{name}[q]"], case.tensors[f"{name}[v]"] = bias[:d], bias[2 * d :]
    gradients = case.gradients

    def split() -> dict[str, np.ndarray]:
        grads = gradients()
        for name in [n for n in grads if n.endswith("in_proj_bias")]:
            g = grads.pop(name)
            d = g.size // 3
            grads[f"{name}[q]"], grads[f"{name}[v]"] = g[:d], g[2 * d :]
        return grads

    case.gradients = split
    return case


class _Masked(Module):
    """Calls `inner.forward(x, key_padding_mask=mask)`, so that a fixed padding mask can be checked."""

    def __init__(self, inner: Module, mask: np.ndarray) -> None:
        self.inner, self.mask = inner, mask

    def forward(self, x):
        return self.inner.forward(x, key_padding_mask=self.mask)

    def backward(self, grad_out):
        return self.inner.backward(grad_out)


def _case(module: Module, x: np.ndarray, rng: np.random.Generator, *, integer_input: bool = False) -> Case:
    case = module_case(module, x, rng)
    if integer_input:  # tokens have no gradient
        del case.tensors["input"]
    return _coarse_steps(_without_key_bias(case))


def _attention(causal: bool = False, padded: bool = False, dropout: float = 0.0):
    def make(rng):
        attn = _randomize(MultiHeadAttention(D, H, causal=causal, dropout=dropout, rng=rng, dtype=F64), rng)
        module: Module = attn
        if padded:
            mask = np.zeros((B, T), dtype=bool)
            mask[0, 2:] = mask[1, 0] = True
            module = _Masked(attn, mask)
        if dropout:
            keep = rng.random((B, H, T, T)) >= dropout
            attn.dropout.sample_mask = lambda shape: keep  # the same mask for every evaluation
        return _case(module, rng.standard_normal((B, T, D)), rng)

    return make


CASES.register("layer:attention")(_attention())
CASES.register("layer:attention(causal)")(_attention(causal=True))
CASES.register("layer:attention(padding_mask)")(_attention(padded=True))
CASES.register("layer:attention(dropout)")(_attention(dropout=0.3))


def _block(norm_first: bool):
    def make(rng):
        block = TransformerBlock(D, H, ff_mult=2, norm_first=norm_first, rng=rng, dtype=F64)
        return _case(_randomize(block, rng), rng.standard_normal((B, T, D)), rng)

    return make


CASES.register("layer:transformer_block(pre_norm)")(_block(True))
CASES.register("layer:transformer_block(post_norm)")(_block(False))


@CASES.register("layer:embedding")
def _embedding(rng):
    return _case(Embedding(5, D, rng=rng, dtype=F64), rng.integers(0, 5, (B, T)), rng, integer_input=True)


@CASES.register("layer:positional(learned)")
def _positional(rng):
    pos = PositionalEncoding(T + 2, D, kind="learned", rng=rng, dtype=F64)  # rows past T get no gradient
    return _case(pos, rng.standard_normal((B, T, D)), rng)


def _model(tokens: bool, **kwargs):
    def make(rng):
        model = MODELS.get("transformer")(
            seq_len=T, d_model=D, n_heads=H, n_layers=2, ff_mult=2, rng=rng, dtype=F64, **kwargs
        )
        x = rng.integers(0, kwargs["vocab_size"], (B, T)) if tokens else rng.standard_normal((B, T, 3))
        return _case(_randomize(model, rng), x, rng, integer_input=tokens)

    return make


# Causal attention is checked on the layer: in a causal stack position 0 attends only to itself, so
# its query gradient is exactly 0, and the sums of the few that remain come too close to 0 too often.
# The real-valued model uses tanh, whose derivative, unlike gelu's far negative tail, is never tiny.
CASES.register("model:transformer(tokens)")(_model(True, vocab_size=5, out_features=5))
CASES.register("model:transformer(real, mean pooling)")(
    _model(
        False,
        in_features=3,
        out_features=2,
        pooling="mean",
        norm_first=False,
        positional="sinusoidal",
        activation="tanh",
    )
)
