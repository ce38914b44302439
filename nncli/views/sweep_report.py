"""`nncli report SWEEP_DIR`: one self-contained HTML page of a sweep: what was swept, the best trial
and its config, every trial ranked, and the metric against each swept key (inlined PNG, plot extra).
The page follows nncli.views.report: the same style, Content-Security-Policy and load check."""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path

from nncli.compare.sweep_run import BEST, MANIFEST, read_rows
from nncli.errors import CheckpointError
from nncli.fileio import atomic_write_text
from nncli.views import plots
from nncli.views.report import CHECK_SCRIPT, CSP, STYLE, cell, figure, key_value_table
from nncli.views.sweep import value_text
from nncli.views.sweep_plots import save_sweep_metric


def is_sweep(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def ranked_rows(rows: list[dict], mode: str) -> list[dict]:
    sign = 1 if mode == "min" else -1
    scored = sorted((r for r in rows if r["metric"] is not None), key=lambda r: sign * r["metric"])
    return scored + [r for r in rows if r["metric"] is None]


def trials_table(rows: list[dict], keys: list[str], metric: str) -> str:
    columns = [
        "#",
        "trial",
        *keys,
        "status",
        metric,
        "final_val_loss",
        "steps",
        "time (s)",
        "worker",
        "message",
    ]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for rank, r in enumerate(rows, 1):
        cells = [
            rank,
            r["trial"],
            *(value_text(r["overrides"].get(k)) for k in keys),
            r["status"],
            r["metric"],
        ]
        cells += [r["final_val_loss"], r["steps"], r["wall_time_s"], r["worker"], (r["message"] or "")[:200]]
        body.append("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def render(directory: Path, manifest: dict, rows: list[dict], figures: list[Path], note: str = "") -> str:
    name = manifest["config"].get("name") or directory.name
    ranked = ranked_rows(rows, manifest["mode"])
    best = ranked[0] if ranked and ranked[0]["metric"] is not None else None
    failed = sum(r["status"] == "failed" for r in rows)
    about = {
        "trials": f"{len(rows)} of {len(manifest['trials'])} finished"
        + (f", {failed} failed" if failed else ""),
        "swept": ", ".join(manifest["keys"]),
        "ranked by": f"{manifest['metric']} ({manifest['mode']})",
        "sweep seed": manifest["spec"].get("sweep_seed"),
        "digest": manifest["digest"][:16],
    }
    best_yaml = directory / BEST
    parts = [
        f"<h1>nncli sweep: {html.escape(name)}</h1>",
        f"<p>Sweep folder <code>{html.escape(str(directory))}</code></p>",
        "<h2>Sweep</h2>",
        key_value_table(about),
        "<h2>Best trial</h2>",
        key_value_table(
            {
                "trial": best["trial"],
                manifest["metric"]: best["metric"],
                **{k: value_text(v) for k, v in best["overrides"].items()},
            }
        )
        if best
        else '<p class="note">No trial has a value of the metric yet.</p>',
        f"<pre>{html.escape(best_yaml.read_text(encoding='utf-8'))}</pre>"
        if best and best_yaml.exists()
        else "",
        "<h2>Figures</h2>",
        f'<p class="note">{html.escape(note)}</p>' if note else "",
        *(figure(p) for p in figures),
        "<h2>Trials, ranked</h2>",
        trials_table(ranked, manifest["keys"], manifest["metric"]),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>nncli sweep report: {html.escape(name)}</title>"
        f"<script>{CHECK_SCRIPT}</script><style>{STYLE}</style></head>\n"
        f"<body>\n{''.join(parts)}\n</body></html>\n"
    )


def build_sweep_report(directory: str | Path, output: str | Path | None = None) -> tuple[Path, str]:
    """Write the sweep's page (default SWEEP_DIR/report.html); returns its path and a note."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{directory / MANIFEST}: not a readable sweep manifest ({exc})") from None
    rows = [row for _, row in sorted(read_rows(directory).items())]
    output = Path(output) if output is not None else directory / "report.html"
    note = ""
    with tempfile.TemporaryDirectory() as tmp:
        figures = []
        if not plots.has_matplotlib():
            note = f"No figures: {plots.INSTALL_HINT}"
        elif rows:
            title = f"{manifest['metric']} of {len(rows)} trials"
            figures = [
                save_sweep_metric(rows, manifest["keys"], manifest["metric"], Path(tmp) / "metric.png", title)
            ]
        text = render(directory, manifest, rows, figures, note)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, text)
    return output, note
