"""What several config sections share: the strict base model, bounded number types, the name that picks
a component (with its PyTorch twin), and the optimizers' lr, weight decay and eps."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# BLAS (OpenBLAS as NumPy ships it) indexes matrices with 32-bit integers: no width or count beyond this
MAX_SIZE = 2**31 - 1
Size = Annotated[int, Field(ge=1, le=MAX_SIZE)]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def named(name: str, what: str, torch: str) -> Any:
    """The field that names a loss, optimizer or schedule: what it is and its PyTorch twin."""
    return Field(name, description=f"{what} (PyTorch: {torch}).")


def lr_field(default: float) -> Any:
    return Field(default, gt=0.0, description="Learning rate; > 0 (PyTorch: lr).")


def weight_decay_field(default: float = 0.0) -> Any:
    return Field(
        default, ge=0.0, description="L2 penalty added to the gradient, g + wd·p; ≥ 0 (weight_decay)."
    )


def eps_field(default: float) -> Any:
    return Field(default, gt=0.0, description="Added to the denominator for numerical stability; > 0 (eps).")
