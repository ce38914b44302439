"""The benchmark's output: progress while it runs, a rich table at the end, and the README's markdown
table (`python -m benchmarks.report [results.json]`)."""

from __future__ import annotations

import argparse
import json
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
    "1 thread ms",
    "auto",
    "nncli GFLOP/s",
    "% of peak",
    "torch GFLOP/s",
    "nncli MB",
    "torch MB",
    "other CPU",
)
PEER_LABELS = {"jax": "jax", "torch_compile": "compile"}


def columns(summary: dict) -> list[str]:
    """COLUMNS and, for each peer that was run, its ms and nncli's ratio to it."""
    names = summary.get("settings", {}).get("peers", [])
    extra = [c for name in names for c in (f"{PEER_LABELS[name]} ms", f"nncli/{PEER_LABELS[name]}")]
    return [*COLUMNS, *extra]


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
        auto = f"{r['auto_threads']}t {r['auto_vs_best']:.2f} {_verdict(r['auto_met'])}"
        peer_cells = [
            cell
            for name in summary.get("settings", {}).get("peers", [])
            for cell in (f"{r['peers'][name]['ms']:.3f}", f"{r['peers'][name]['nncli_ratio']:.2f}")
        ]
        out.append(
            [
                r["workload"],
                r["dtype"],
                f"{r['nncli_ms']:.3f}",
                f"{r['torch_ms']:.3f}",
                f"{r['ratio']:.2f}",
                f"≤ {r['ratio_target']:.2f} {_verdict(r['ratio_met'])}",
                f"{r['nncli_1thread_ms']:.3f}",
                auto,
                f"{r['nncli_gflops']:.1f}",
                fraction,
                f"{r['torch_gflops']:.1f}",
                f"{r['nncli_peak_mb']:.1f}",
                torch_mb,
                "n/a" if r["other_cpu_share"] is None else f"{100 * r['other_cpu_share']:.0f}%",
                *peer_cells,
            ]
        )
    return out


def machine_line(summary: dict) -> str:
    m = summary["machine"]
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in summary["matmul_peak_gflops"].items())
    forced = " ".join(f"{k}={v}" for k, v in (m.get("blas_kernel_forced_by") or {}).items())
    forced = f" (forced by {forced})" if forced else ""
    return (
        f"{summary['date']} · {m['cpu']}, {m['threads']} threads ({m['cores_available']} cores available) · "
        f"NumPy {m['numpy']} with {m['numpy_blas']}, kernel {m.get('numpy_blas_kernel')}{forced} · "
        f"torch {m['torch']} with {m['torch_blas']} · "
        f"np.matmul peak GFLOP/s: {peaks}"
    )


def warn_forced_kernel(machine: dict) -> None:
    """Say so when OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE choose OpenBLAS's kernel instead of the CPU."""
    forced = machine.get("blas_kernel_forced_by") or {}
    if forced:
        settings = " ".join(f"{k}={v}" for k, v in forced.items())
        Console(stderr=True).print(
            f"[yellow]warning: {settings} forces OpenBLAS's kernel ({machine.get('numpy_blas_kernel')}), "
            "which may not be this CPU's own; --native-blas measures without it.[/yellow]"
        )


def print_summary(summary: dict, path: Path) -> None:
    table = Table(title="nncli vs PyTorch eager: one training step", caption=machine_line(summary))
    for i, name in enumerate(columns(summary)):
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
    missed += [f"{r['workload']} {r['dtype']} (auto threads)" for r in results if r.get("auto_met") is False]
    console.print(f"targets missed: {', '.join(missed)}" if missed else "every target met")
    warn_forced_kernel(summary["machine"])
    disagree = [
        f"{r['workload']} {r['dtype']} {name}"
        for r in results
        for name, peer in r.get("peers", {}).items()
        if abs(peer["loss"] - r["loss_nncli"]) > 1e-4 * abs(r["loss_nncli"])
    ]
    if disagree:  # a peer that does not compute the same step is no comparison
        console.print(f"[red]first losses differ from nncli's: {', '.join(disagree)}[/red]")
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
    names = columns(summary)
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(summary)]
    return "\n".join(lines) + "\n\n" + machine_line(summary) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description="Print a benchmark result as the README's markdown table.",
    )
    parser.add_argument(
        "results",
        nargs="?",
        type=Path,
        default=Path("benchmarks/results/latest.json"),
        help="the JSON that python -m benchmarks.run wrote (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        summary = json.loads(args.results.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"{args.results}: {exc}")
    try:
        table = markdown(summary)
    except (KeyError, TypeError, AttributeError):
        parser.error(f"{args.results}: not a result of python -m benchmarks.run")
    print(table)
    return table


if __name__ == "__main__":
    main()
