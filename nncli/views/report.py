"""One self-contained HTML file about a run: the resolved config, the summary, the metrics table and every
figure of `nncli plot`, inlined as base64 PNGs, so it can be mailed or attached and opened offline.

Its Content-Security-Policy allows only inline styles, inline scripts and data: images, so a browser
never reaches the network for it. A small inline script records on <body> how many images loaded
(`data-images`, `data-images-loaded`) and how many errors occurred (`data-errors`), which a headless
browser's --dump-dom shows: that is how the tests check that it renders.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from nncli.fileio import atomic_write_text
from nncli.rundir.directory import load_run
from nncli.rundir.outputs import check_output, check_output_folder
from nncli.rundir.predict import evaluation_report
from nncli.rundir.records import read_metrics, read_summary, require_run_directory
from nncli.views import plots, runplots
from nncli.views.reporter import summary_rows

MAX_ROWS = 400  # metrics rows shown; longer runs are thinned evenly, keeping the first and last
COLUMNS = (
    "step",
    "epoch",
    "train_loss",
    "data_loss",
    "data_loss_mean",
    "penalty",
    "val_loss",
    "val_metric",
    "val_step",
    "lr",
    "grad_norm",
    "time_s",
)
CAPTIONS = {
    "curves.png": "Loss and validation metric against step.",
    "decision_boundary.png": "The input plane coloured by the predicted class, with the data.",
    "fitted_curve.png": "The model's curve over the data.",
    "neurons.png": "Each first-layer neuron's activation over the input plane.",
    "regularization.png": "The notes' circle and square: only proximal L1 ends with a weight exactly 0.",
    "weights.png": "Histogram of each weight matrix; exact zeros in red.",
    "attention.png": "Attention weights of one validation sample, one panel per head.",
    "landscape.png": "Each optimizer's path over the loss surface.",
}
COMPARISON_FILES = ("curves.png", "landscape.png")  # what compare-optimizers draws, in report order

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f4f4f4; } .kv td:first-child { text-align: left; font-weight: 600; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; } .note { color: #a60; }
.scroll { max-height: 30em; overflow-y: auto; display: inline-block; }
"""

# Runs first, so it sees every error; on load it writes what it found onto <body>.
CHECK_SCRIPT = """
window.nncliErrors = 0;
window.addEventListener("error", function () { window.nncliErrors += 1; }, true);
document.addEventListener("securitypolicyviolation", function () { window.nncliErrors += 1; });
(function () {
  var original = console.error;
  console.error = function () { window.nncliErrors += 1; return original.apply(console, arguments); };
})();
window.addEventListener("load", function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { loaded += 1; }
  }
  document.body.setAttribute("data-images", String(images.length));
  document.body.setAttribute("data-images-loaded", String(loaded));
  document.body.setAttribute("data-errors", String(window.nncliErrors));
});
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return format(value, ".6g")
    return html.escape(str(value))


def key_value_table(rows: dict) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{cell(v)}</td></tr>" for k, v in rows.items())
    return f'<table class="kv">{body}</table>'


def confusion_section(run_dir: Path) -> str:
    """A classification run's confusion matrix on its validation (else training) set, final weights,
    with per-class precision, recall and F1; '' for regression or a run with no weights."""
    run = load_run(run_dir)
    if run is None or run.data.class_names is None:
        return ""
    trainer = run.trainer
    if trainer.X_val is not None:
        X, y, source = trainer.X_val, trainer.y_val, "validation set"
    else:
        X, y, source = trainer.X, trainer.y, "training set"
    report = evaluation_report(run, X, y)
    names = [html.escape(str(c)) for c in report["classes"]]
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    body = "".join(
        f"<tr><th>{n}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
        for n, row in zip(names, report["confusion_matrix"], strict=True)
    )
    scores = "".join(
        f"<tr><td>{name}</td>"
        + "".join(f"<td>{cell(e[k])}</td>" for k in ("precision", "recall", "f1", "support"))
        + "</tr>"
        for name, e in zip(names, report["per_class"], strict=True)
    )
    score_head = "<tr><th>class</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"
    return (
        f"<h2>Confusion matrix</h2><p>{html.escape(source)}, final weights, {report['samples']} samples; "
        "rows are the true class, columns the predicted one.</p>"
        f'<table class="confusion">{head}{body}</table><table>{score_head}{scores}</table>'
    )


def flatten(summary: dict) -> dict:
    """Nested summary entries (sparsity) as dotted keys."""
    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def thin(rows: list[dict], limit: int = MAX_ROWS) -> list[dict]:
    """At most `limit` rows, evenly spaced, always keeping the first and the last."""
    if len(rows) <= limit:
        return rows
    keep = sorted({round(i * (len(rows) - 1) / (limit - 1)) for i in range(limit)})
    return [rows[i] for i in keep]


def metrics_table(rows: list[dict], metric_name: str) -> str:
    columns = [c for c in COLUMNS if any(c in r for r in rows)]
    names = {"val_metric": f"val_{metric_name}"}
    head = "".join(f"<th>{html.escape(names.get(c, c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in thin(rows)
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = CAPTIONS.get(path.name, path.stem.replace("_", " "))
    return (
        f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def page(title: str, parts: list[str]) -> str:
    """The HTML document: `title`, the time it was written, then `parts`."""
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{html.escape(title)}</title>"
        f"<script>{CHECK_SCRIPT}</script><style>{STYLE}</style></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1><p>Report written {written}.</p>"
        f"{''.join(parts)}\n</body></html>\n"
    )


def _ended(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<p>Ended {stamp}.</p>"


def render(run_dir: Path, figures: list[Path], note: str = "") -> str:
    """The report's HTML for a run directory and the PNG files to inline."""
    summary = read_summary(run_dir)
    rows = read_metrics(run_dir)
    name = summary.get("name") or run_dir.name
    config = (run_dir / "config.yaml").read_text(encoding="utf-8")
    parts = [
        f"<p>Run directory <code>{html.escape(str(run_dir))}</code></p>",
        _ended(run_dir / "summary.json") if summary else "",
        "<h2>Summary</h2>",
        key_value_table(dict(summary_rows(summary)))
        if summary
        else '<p class="note">No summary.json: the run has not ended.</p>',
        confusion_section(run_dir),
        "<h2>Figures</h2>",
        f'<p class="note">{html.escape(note)}</p>' if note else "",
        *(figure(p) for p in figures),
        "<h2>Metrics</h2>",
        f"<p>{len(rows)} logged steps"
        + (f", {MAX_ROWS} shown, evenly spaced" if len(rows) > MAX_ROWS else "")
        + ".</p>",
        metrics_table(rows, summary.get("metric", "metric")) if rows else "<p>No steps were logged.</p>",
        "<h2>Config (resolved)</h2>",
        f"<pre>{html.escape(config)}</pre>",
    ]
    return page(f"nncli run: {name}", parts)


def _stat(stat: dict, spec: str) -> str:
    if stat.get("mean") is None:
        return "—"
    return format(stat["mean"], spec) + (f" ± {stat['std']:{spec}}" if stat.get("std") is not None else "")


def render_comparison(directory: Path, note: str = "") -> str:
    """The report's HTML for a compare-optimizers results directory: the problem, the ranking, the figures."""
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))
    problem, metric = results["problem"], results.get("metric")
    head = ["#", "optimizer", "lr", "final loss", *([f"best val {metric}"] if metric else [])]
    head += ["steps to target", "time (s)", "steps/s"]
    body = []
    for e in results["ranking"]:
        final = "diverged" if e["diverged"] else _stat(e["final_loss"], ".4g")
        cells = [e["rank"], e["optimizer"], format(e["lr"], ".3g"), final]
        cells += [_stat(e["best_val_metric"], ".4f")] if metric else []
        cells += [
            _stat(e["steps_to_target"], ".0f"),
            _stat(e["wall_time_s"], ".2f"),
            _stat(e["steps_per_s"], ",.0f"),
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    what = problem.get("description") or f"{problem.get('model')} on {problem.get('dataset')}"
    about = {"problem": what, "steps": problem.get("steps"), "seeds": ", ".join(map(str, results["seeds"]))}
    if results.get("target_loss") is not None:
        about["target loss"] = format(results["target_loss"], ".4g")
    parts = [
        f"<p>Results directory <code>{html.escape(str(directory))}</code></p>",
        _ended(directory / "results.json"),
        "<h2>Problem</h2>",
        key_value_table(about),
        "<h2>Ranked by final loss</h2>",
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join(body)
        + "</table>",
        "<h2>Figures</h2>",
        f'<p class="note">{html.escape(note)}</p>' if note else "",
        *(figure(directory / f) for f in COMPARISON_FILES if (directory / f).exists()),
        "<h2>Config</h2>" if problem.get("config") else "",
        f"<pre>{html.escape(json.dumps(problem['config'], indent=2))}</pre>" if problem.get("config") else "",
    ]
    return page(f"nncli comparison: {problem.get('name', directory.name)}", parts)


def build_report(
    run_dir: str | Path,
    output: str | Path | None = None,
    *,
    log_y: bool | None = None,
    overwrite: bool = False,
) -> tuple[Path, str]:
    """Write the report of a run or of a compare-optimizers results directory (default RUN_DIR/report.html);
    returns its path and a note ('' when all went in).

    Without matplotlib the report has no figures and the note says how to get them.
    """
    run_dir = Path(run_dir)
    comparison = (run_dir / "results.json").is_file() and not (run_dir / "config.yaml").exists()
    if not comparison:
        require_run_directory(run_dir)
    output = Path(output) if output is not None else run_dir / "report.html"
    if output.parent != run_dir:  # the default's folder is the run's own; any other may be created
        check_output_folder(output.parent, option="--out")
    check_output(output, overwrite=overwrite, option="--out")
    if comparison:  # a compare-optimizers results directory
        note = (
            ""
            if any((run_dir / f).exists() for f in COMPARISON_FILES)
            else f"No figures: {plots.INSTALL_HINT}"
        )
        atomic_write_text(output, render_comparison(run_dir, note))
        return output, note
    note = ""
    with tempfile.TemporaryDirectory() as tmp:
        if plots.has_matplotlib():
            figures = runplots.plot_run(run_dir, tmp, log_y=log_y)
        else:
            figures, note = [], f"No figures: {plots.INSTALL_HINT}"
        text = render(run_dir, figures, note)
    atomic_write_text(output, text)
    return output, note
