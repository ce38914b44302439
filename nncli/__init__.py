"""nncli: train small neural networks from YAML configs on an engine written in NumPy alone.

The public face: `load_config`, `build_run`, `train` and the engine's main classes, importable from
`nncli` directly and imported on first use. Nothing inside the package imports this face; each module
imports the modules it needs.
"""

import importlib
from typing import TYPE_CHECKING

from nncli import runtime as _runtime
from nncli.version import __version__

# Before anything allocates: see nncli.runtime (the BLAS thread count is chosen per run, not here).
_runtime.keep_freed_memory()

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from nncli.api import train
    from nncli.config.loading import load_config
    from nncli.config.schema import RunConfig
    from nncli.datasets import DATASETS
    from nncli.engine.activations import ACTIVATIONS
    from nncli.engine.attention import MultiHeadAttention
    from nncli.engine.layers import LAYERS, Dropout, Linear
    from nncli.engine.losses import LOSSES
    from nncli.engine.models import MODELS
    from nncli.engine.module import Module, Sequential
    from nncli.engine.norm import BatchNorm1d, LayerNorm
    from nncli.engine.optimizers import OPTIMIZERS
    from nncli.engine.parameters import Parameter, ParameterBuffer
    from nncli.engine.schedules import SCHEDULES
    from nncli.engine.transformer import Transformer
    from nncli.errors import NncliError
    from nncli.rundir.directory import load_trained
    from nncli.training.build import Run, build_run
    from nncli.training.trainer import Trainer

_EXPORTS: dict[str, str] = {  # name → the module of nncli that defines it, imported on first use
    "train": "api",
    "load_config": "config.loading",
    "RunConfig": "config.schema",
    "DATASETS": "datasets",
    "ACTIVATIONS": "engine.activations",
    "MultiHeadAttention": "engine.attention",
    "LAYERS": "engine.layers",
    "Dropout": "engine.layers",
    "Linear": "engine.layers",
    "LOSSES": "engine.losses",
    "MODELS": "engine.models",
    "Module": "engine.module",
    "Sequential": "engine.module",
    "BatchNorm1d": "engine.norm",
    "LayerNorm": "engine.norm",
    "OPTIMIZERS": "engine.optimizers",
    "Parameter": "engine.parameters",
    "ParameterBuffer": "engine.parameters",
    "SCHEDULES": "engine.schedules",
    "Transformer": "engine.transformer",
    "NncliError": "errors",
    "load_trained": "rundir.directory",
    "Run": "training.build",
    "build_run": "training.build",
    "Trainer": "training.trainer",
}


def __getattr__(name: str):
    """`nncli.train` and the rest, imported when first used (PEP 562), so that `import nncli.cli`
    does not import the trainer, the config schema and the datasets for a command that needs none."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nncli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nncli.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "LAYERS",
    "LOSSES",
    "MODELS",
    "OPTIMIZERS",
    "SCHEDULES",
    "BatchNorm1d",
    "Dropout",
    "LayerNorm",
    "Linear",
    "Module",
    "MultiHeadAttention",
    "NncliError",
    "Parameter",
    "ParameterBuffer",
    "Run",
    "RunConfig",
    "Sequential",
    "Trainer",
    "Transformer",
    "__version__",
    "build_run",
    "load_config",
    "load_trained",
    "train",
]
