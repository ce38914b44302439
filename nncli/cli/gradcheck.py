"""`nncli gradcheck`: every hand-written gradient against central finite differences."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nncli import gradcheck as gc
from nncli.cli.common import JsonOption, console, user_errors
from nncli.config.loading import load_config
from nncli.errors import NncliError
from nncli.gradcheck.config_case import config_case


@user_errors
def gradcheck(
    config: Annotated[
        Path | None, typer.Argument(help="Check the model, loss and regularizer of this config.")
    ] = None,
    eps: Annotated[float, typer.Option(help="Finite-difference step h.")] = 1e-4,
    threshold: Annotated[float, typer.Option(help="Largest relative error that passes.")] = 1e-6,
    samples: Annotated[int, typer.Option(help="Entries sampled per tensor.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed for inputs and sampled entries.")] = 0,
    only: Annotated[str | None, typer.Option(help="Comma-separated component names to check.")] = None,
    json_: JsonOption = False,
) -> None:
    """Check every hand-written gradient against central finite differences (float64)."""
    if not (0 < eps < math.inf and 0 < threshold < math.inf) or samples < 1:
        raise NncliError("--eps and --threshold must be > 0 and --samples ≥ 1")
    if config is not None:
        cfg, _ = load_config(config)
        rng = __import__("numpy").random.default_rng(seed)
        results = [
            gc.check_case(
                config_case(cfg), eps=eps, samples=samples, rng=rng, threshold=threshold, name=str(config)
            )
        ]
    else:
        names = [n.strip() for n in only.split(",")] if only else None
        results = gc.run_all(names, eps=eps, samples=samples, seed=seed, threshold=threshold)
    failed = [r for r in results if not r.passed]
    if json_:
        console.print_json(json.dumps({"passed": not failed, "results": [r.to_dict() for r in results]}))
    else:
        table = Table(title=f"gradient check (h={eps:g}, threshold {threshold:g})")
        table.add_column("component")
        table.add_column("checked tensors")
        table.add_column("max rel. error", justify="right")
        table.add_column("", justify="center")
        for r in results:
            names = [t.name for t in r.tensors]
            tensors = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
            tensors += f" ({sum(t.checked for t in r.tensors)} entries)"
            mark = "[green]pass[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(r.component, tensors, f"{r.max_rel_error:.2e}", mark)
        console.print(table)
        console.print(f"{len(results) - len(failed)} of {len(results)} components pass")
    if failed:
        raise typer.Exit(1)
