"""Gradient checking: every hand-written backward against central finite differences in float64.

`check` holds the machinery (`Case`, `check_case`, `run_all`, the `CASES` registry); `cases` and
`transformer_cases` register a case per component; `config_case` builds one from a config's model.
"""

from nncli.gradcheck import cases, transformer_cases  # noqa: F401  (register every component's case)
from nncli.gradcheck.check import (
    CASES,
    Case,
    ComponentResult,
    TensorResult,
    check_case,
    numeric_derivative,
    relative_error,
    run_all,
)

__all__ = [
    "CASES",
    "Case",
    "ComponentResult",
    "TensorResult",
    "check_case",
    "numeric_derivative",
    "relative_error",
    "run_all",
]
