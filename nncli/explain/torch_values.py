"""PyTorch autograd's values for the neuron's step, and a cache that spares `import torch` next time.

`import torch` takes one to three seconds, longer than everything else `nncli explain` does. The values
it gives are a pure function of the inputs (x, W, b, the target, the activation, the loss) and of torch's
version, so they are kept in a small JSON file per step under the user's cache folder
(`$XDG_CACHE_HOME/nncli/torch-values`, else `~/.cache/...`): the comparison with the engine is made anew
every run, only torch's side is read back. A missing, unreadable or corrupt entry is recomputed; a cache
folder that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from nncli.fileio import atomic_write_text

CACHE_FORMAT = 1


def torch_version() -> str | None:
    """The installed torch's version without importing it; None when it is not installed."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nncli" / "torch-values"


def neuron_values(
    x, W, b, target, activation, loss_name, names, version: str
) -> tuple[dict[str, float], bool]:
    """(torch's values of the step, whether they came from the cache); {} where torch has no twin."""
    inputs = [np.asarray(v, dtype=np.float64) for v in (x, W, b, target)]
    key = hashlib.sha256(
        json.dumps([CACHE_FORMAT, version, activation, loss_name, list(names)]).encode()
        + b"".join(v.tobytes() + str(v.shape).encode() for v in inputs)
    ).hexdigest()
    path = cache_dir() / f"{key}.json"
    cached = _read(path)
    if cached is not None:
        return cached, True
    values = _computed(*inputs, activation, loss_name, names)
    if values:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(values))
        except OSError:
            pass  # a read-only or full cache costs the next run its speed, never this run its result
    return values, False


def _read(path: Path) -> dict[str, float] | None:
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(values, dict) and all(
        isinstance(k, str) and isinstance(v, float) and math.isfinite(v) for k, v in values.items()
    )
    return values if ok and values else None


def _computed(x, W, b, target, activation, loss_name, names) -> dict[str, float]:
    """The same forward in PyTorch (float64) and autograd's derivatives; {} without torch or for an
    activation or loss it has no twin for."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return {}
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v}
    acts["linear"], acts["softplus"], acts["gelu"] = acts["identity"], F.softplus, F.gelu
    losses = {"mse": F.mse_loss, "bce_with_logits": F.binary_cross_entropy_with_logits, "huber": F.huber_loss}
    if activation not in acts or loss_name not in losses:
        return {}
    tx = torch.tensor(x, dtype=torch.float64)
    tW = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(target.reshape(1, 1), dtype=torch.float64)
    a = tx @ tW.T
    d = a + tb
    y = acts[activation](d)
    E = losses[loss_name](y, tt)
    dE_dy, dE_dd, dE_dW, dE_db = torch.autograd.grad(E, (y, d, tW, tb), retain_graph=True)
    (dy_dd,) = torch.autograd.grad(y.sum(), d, retain_graph=True)
    dd_dW, dd_db = torch.autograd.grad(d.sum(), (tW, tb))
    out = {"a": a.item(), "d": d.item(), "y": y.item(), "E": E.item()}
    out.update({"dE/dy": dE_dy.item(), "dy/dd": dy_dd.item(), "dE/dd": dE_dd.item()})
    out.update({"dd/db": dd_db.item(), "dE/db": dE_db.item()})
    for j, n in enumerate(names):
        out[f"dd/d{n}"], out[f"dE/d{n}"] = dd_dW[0, j].item(), dE_dW[0, j].item()
    return out
