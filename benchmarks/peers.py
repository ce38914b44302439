"""Optional peers of the benchmark: JAX with `jax.jit` of the whole step, and `torch.compile`.

Neither is a dependency of nncli: `pip install -e '.[bench]'` brings JAX (torch comes with the torch
extra; torch.compile needs a C++ compiler). Each builds the same step as the workload's nncli step, from
nncli's initial parameters (copied by name) and the same batch: exact-erf GELU, Adam/SGD with torch's
arguments, and the same loss, so that its first loss is compared with nncli's like torch's is.
`available()` says which of them this machine can run.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable

import numpy as np

from benchmarks.workloads import Data, Workload
from nncli.engine.parameters import ParameterBuffer

PEERS = ("jax", "torch_compile")


def available() -> list[str]:
    """The peers installed here: JAX if importable, torch.compile if a C++ compiler is on the PATH."""
    found = []
    if importlib.util.find_spec("jax") is not None:
        found.append("jax")
    if shutil.which("c++") or shutil.which("g++"):
        found.append("torch_compile")
    return found


def build(peer: str, workload: Workload, params: ParameterBuffer, data: Data) -> Callable[[], float]:
    """A step of `peer` on `workload`: a callable that trains one step and returns the loss."""
    if peer == "jax":
        return jax_step(workload, params, data)
    if peer == "torch_compile":
        return compiled_torch_step(workload, params, data)
    raise ValueError(f"unknown peer '{peer}'; choose from {', '.join(PEERS)}")


# ------------------------------------------------------------------------------------------------- JAX


def jax_step(workload: Workload, params: ParameterBuffer, data: Data) -> Callable[[], float]:
    """forward, loss, grad and the optimizer update as one `jax.jit` function, parameters donated."""
    import jax
    import jax.numpy as jnp

    if params.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    spec = workload.spec
    weights = {name: jnp.asarray(params.params[name].data) for name in params.names}
    x, y = jnp.asarray(data[0]), jnp.asarray(data[1])
    if params.dtype == np.float64 and not jax.config.jax_enable_x64:
        raise RuntimeError("float64 in JAX needs jax_enable_x64 before its first array")
    forward = _jax_mlp(spec) if spec["kind"] == "mlp" else _jax_block(spec)

    def loss_fn(w, x):
        out = forward(w, x)
        if spec["loss"] == "mse":
            return jnp.mean((out - y) ** 2)
        logp = jax.nn.log_softmax(out, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))

    lr = spec["lr"]
    if spec["optimizer"] == "sgd":

        def update(w, state, g):
            return jax.tree_util.tree_map(lambda p, gp: p - lr * gp, w, g), state

        state = ()
    else:  # torch's Adam: betas (0.9, 0.999), eps 1e-8 added after the bias-corrected root

        def update(w, state, g):
            t, m, v = state
            t = t + 1
            m = jax.tree_util.tree_map(lambda mp, gp: mp + 0.1 * (gp - mp), m, g)
            v = jax.tree_util.tree_map(lambda vp, gp: 0.999 * vp + 0.001 * gp * gp, v, g)
            step_size = lr / (1 - 0.9**t)
            c = jnp.sqrt(1 - 0.999**t)
            w = jax.tree_util.tree_map(
                lambda p, mp, vp: p - step_size * mp / (jnp.sqrt(vp) / c + 1e-8), w, m, v
            )
            return w, (t, m, v)

        def zeros():
            return jax.tree_util.tree_map(jnp.zeros_like, weights)

        state = (jnp.zeros((), dtype=params.dtype), zeros(), zeros())  # distinct buffers, all donated

    # a block's input stands for a block below it, so its gradient is computed (and returned, so that
    # XLA cannot drop it), as in the nncli and torch steps
    wrt = (0, 1) if spec["kind"] == "block" else 0

    def step(w, state, x):
        value, grads = jax.value_and_grad(loss_fn, argnums=wrt)(w, x)
        g, dx = grads if spec["kind"] == "block" else (grads, None)
        w, state = update(w, state, g)
        return w, state, value, dx

    step = jax.jit(step, donate_argnums=(0, 1))
    box = {"w": weights, "state": state}

    def run() -> float:
        box["w"], box["state"], value, _ = step(box["w"], box["state"], x)
        return value.block_until_ready()

    return run


def _jax_activation(name: str):
    import jax

    return {
        "tanh": jax.numpy.tanh,
        "relu": jax.nn.relu,
        "gelu": lambda h: jax.nn.gelu(h, approximate=False),
    }[name]


def _jax_mlp(spec: dict):
    act = _jax_activation(spec["activation"])
    n_layers = len(spec["sizes"]) - 1

    def forward(w, x):
        for i in range(n_layers):
            x = x @ w[f"layers.{2 * i}.weight"].T + w[f"layers.{2 * i}.bias"]
            if i < n_layers - 1:
                x = act(x)
        return x

    return forward


def _jax_block(spec: dict):
    import jax
    import jax.numpy as jnp

    act = _jax_activation(spec["activation"])
    d, heads = spec["d_model"], spec["n_heads"]

    def norm(x, w, b):
        mean = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean((x - mean) ** 2, axis=-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + 1e-5) * w + b

    def attention(w, x):
        n, t, _ = x.shape
        qkv = x @ w["attn.in_proj_weight"].T + w["attn.in_proj_bias"]
        q, k, v = (a.reshape(n, t, heads, d // heads).transpose(0, 2, 1, 3) for a in jnp.split(qkv, 3, -1))
        scores = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(d // heads).astype(x.dtype)
        causal = jnp.tril(jnp.ones((t, t), dtype=bool))
        probs = jax.nn.softmax(jnp.where(causal, scores, -jnp.inf), axis=-1)
        out = (probs @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
        return out @ w["attn.out_proj.weight"].T + w["attn.out_proj.bias"]

    def forward(w, x):
        h = x + attention(w, norm(x, w["norm1.weight"], w["norm1.bias"]))
        f = act(norm(h, w["norm2.weight"], w["norm2.bias"]) @ w["linear1.weight"].T + w["linear1.bias"])
        return h + f @ w["linear2.weight"].T + w["linear2.bias"]

    return forward


# ---------------------------------------------------------------------------------------- torch.compile


def compiled_torch_step(workload: Workload, params: ParameterBuffer, data: Data) -> Callable[[], float]:
    """The workload's torch step with the module and the optimizer update under `torch.compile`
    (inductor, the default backend); compiling happens on the first calls (the warm-up)."""
    import torch

    eager = workload.torch(params, data)
    # each case's new optimizer recompiles `step`; past dynamo's recompile limit (8) it would silently
    # fall back to eager, so every case starts from an empty cache
    torch._dynamo.reset()
    module = torch.compile(eager.module)
    optimizer_step = torch.compile(eager.optimizer.step)

    def run() -> float:
        eager.optimizer.zero_grad(set_to_none=True)
        eager.x.grad = None
        value = eager.loss(module(eager.x), eager.y)
        value.backward()
        optimizer_step()
        return value.detach()

    return run
