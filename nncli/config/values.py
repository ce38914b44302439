"""Parameter values written in a config (`model.init_values`): numbers, or fractions as strings."""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def _number(value: Any, where: str) -> float:
    """A number, or a fraction written as a string ("1/2", "-3/4", "0.25")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f'{where}: expected a number or a fraction like "1/2", got {value!r}')
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{where}: '{value}' is not a number or a fraction like \"1/2\"") from None
    return float(value)


def read_values(value: Any, where: str) -> Any:
    """Nested lists of numbers (fractions read), checked to be rectangular."""
    if not isinstance(value, list):
        return _number(value, where)
    items = [read_values(v, f"{where}[{i}]") for i, v in enumerate(value)]
    shapes = {_shape(v) for v in items}
    if len(shapes) > 1:
        raise ValueError(f"{where}: rows of different lengths; a parameter is a rectangular array")
    return items


def _shape(value: Any) -> tuple[int, ...]:
    return (len(value), *_shape(value[0])) if isinstance(value, list) and value else ()
