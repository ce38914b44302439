"""nncli: train small neural networks from YAML configs on an engine written in NumPy alone.

The public face: `load_config`, `build_run`, `train` and the engine's main classes, importable from
`nncli` directly. Nothing inside the package imports this face; each module imports the modules it needs.
"""

from nncli import runtime as _runtime

# Before anything imports NumPy: see nncli.runtime for why, and how to opt out.
_runtime.single_blas_thread()
_runtime.keep_freed_memory()

__version__ = "0.1.0"

from nncli.api import train  # noqa: E402  (after the runtime settings above: these import NumPy)
from nncli.config.loading import load_config  # noqa: E402
from nncli.config.schema import RunConfig  # noqa: E402
from nncli.datasets import DATASETS  # noqa: E402
from nncli.engine.activations import ACTIVATIONS  # noqa: E402
from nncli.engine.attention import MultiHeadAttention  # noqa: E402
from nncli.engine.layers import LAYERS, Dropout, Linear  # noqa: E402
from nncli.engine.losses import LOSSES  # noqa: E402
from nncli.engine.models import MODELS  # noqa: E402
from nncli.engine.module import Module, Sequential  # noqa: E402
from nncli.engine.norm import BatchNorm1d, LayerNorm  # noqa: E402
from nncli.engine.optimizers import OPTIMIZERS  # noqa: E402
from nncli.engine.parameters import Parameter, ParameterBuffer  # noqa: E402
from nncli.engine.schedules import SCHEDULES  # noqa: E402
from nncli.engine.transformer import Transformer  # noqa: E402
from nncli.errors import NncliError  # noqa: E402
from nncli.rundir.directory import load_trained  # noqa: E402
from nncli.training.build import Run, build_run  # noqa: E402
from nncli.training.trainer import Trainer  # noqa: E402

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
