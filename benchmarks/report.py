"""The benchmark's output: progress while it runs, a rich table at the end, and the README's markdown
table (`python -m benchmarks.report [results.json]`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

COLUMNS = (
    "workload",
    "dtype",
    "nncli ms",
    "torch ms",
    "ratio",
    "target",
    "nncli GFLOP/s",
    "% of peak",
    "torch GFLOP/s",
    "nncli MB",
    "torch MB",
    "other CPU",
)


@contextmanager
def progress(total: int) -> Iterator[Callable[[str], None]]:
    """Yields `advance(label)`, which prints "[i/total] label" on stderr."""
    console = Console(stderr=True)
    done = 0

    def advance(label: str) -> None:
        nonlocal done
        done += 1
        console.print(f"[dim][{done}/{total}][/dim] {label}")

    yield advance


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("✓" if met else "✗")


def rows(summary: dict) -> list[list[str]]:
    """One row of text per result, in COLUMNS' order; ✓/✗ mark the targets."""
    out = []
    for r in summary["results"]:
        fraction = f"{100 * r['nncli_peak_fraction']:.0f}%"
        if r["peak_fraction_target"] is not None:
            fraction += f" (≥{100 * r['peak_fraction_target']:.0f}% {_verdict(r['peak_fraction_met'])})"
        torch_mb = "n/a" if r["torch_peak_mb"] is None else f"{r['torch_peak_mb']:.1f}"
        out.append(
            [
                r["workload"],
                r["dtype"],
                f"{r['nncli_ms']:.3f}",
                f"{r['torch_ms']:.3f}",
                f"{r['ratio']:.2f}",
                f"≤ {r['ratio_target']:.2f} {_verdict(r['ratio_met'])}",
                f"{r['nncli_gflops']:.1f}",
                fraction,
                f"{r['torch_gflops']:.1f}",
                f"{r['nncli_peak_mb']:.1f}",
                torch_mb,
                "n/a" if r["other_cpu_share"] is None else f"{100 * r['other_cpu_share']:.0f}%",
            ]
        )
    return out


def machine_line(summary: dict) -> str:
    m = summary["machine"]
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in summary["matmul_peak_gflops"].items())
    return (
        f"{summary['date']} · {m['cpu']}, {m['threads']} threads ({m['cores_available']} cores available) · "
        f"NumPy {m['numpy']} with {m['numpy_blas']} · torch {m['torch']} with {m['torch_blas']} · "
        f"np.matmul peak GFLOP/s: {peaks}"
    )


def print_summary(summary: dict, path: Path) -> None:
    table = Table(title="nncli vs PyTorch eager: one training step", caption=machine_line(summary))
    for i, name in enumerate(COLUMNS):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in rows(summary):
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: do not squeeze the table into 80 columns
        console = Console(width=160)
    console.print(table)
    results = summary["results"]
    missed = [f"{r['workload']} {r['dtype']}" for r in results if not r["ratio_met"]]
    missed += [
        f"{r['workload']} {r['dtype']} (% of peak)" for r in results if r["peak_fraction_met"] is False
    ]
    console.print(f"targets missed: {', '.join(missed)}" if missed else "every target met")
    busy = [f"{r['workload']} {r['dtype']}" for r in summary["results"] if (r["other_cpu_share"] or 0) > 0.05]
    retried = [f"{r['workload']} {r['dtype']}" for r in summary["results"] if r.get("attempts", 1) > 1]
    if retried:
        console.print(f"timed again because other processes were busy: {', '.join(retried)}")
    if busy:
        console.print(
            f"[yellow]warning: other processes used more than 5% of the CPU while timing {', '.join(busy)}: "
            "a thread that waits at a barrier for a descheduled partner can make a step many times slower, "
            "so those rows are not to be trusted. Measure on an idle machine.[/yellow]"
        )
    console.print(f"{summary['duration_s']:.0f} s; results in {path}")


def markdown(summary: dict) -> str:
    """The results as the README's markdown table, with the machine line under it."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(summary)]
    return "\n".join(lines) + "\n\n" + machine_line(summary) + "\n"


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/latest.json")
    print(markdown(json.loads(source.read_text())))
