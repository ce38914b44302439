"""The engine: parameters, layers with their hand-written backward passes, losses, optimizers, schedules.

It imports only the standard library, NumPy, `nncli.errors` and `nncli.registry`. Importing the package
fills every registry (`MODELS` gets the transformer from its own module).
"""

from nncli.engine import models, transformer  # noqa: F401  (registers every model kind)
