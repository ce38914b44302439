"""`nncli report`: one self-contained HTML file with the run's numbers and every figure, checked in
headless Chromium (images load, no errors) where Chromium is installed."""

import base64
import json
import re
import shutil
import struct
import subprocess
import sys

import pytest
from conftest import train_config
from typer.testing import CliRunner

from nncli.cli import app
from nncli.views import report as rp

runner = CliRunner()

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("runs") / "xor"
    train_config("configs/xor.yaml", directory, ["training.epochs=3", "training.log_every=5"])
    return directory


@pytest.fixture(scope="module")
def html_report(run_dir):
    pytest.importorskip("matplotlib", reason="the report's figures need the plot extra (matplotlib)")
    path, note = rp.build_report(run_dir)
    assert path == run_dir / "report.html" and note == ""
    return path


def images(text: str) -> list[str]:
    return re.findall(r'<img [^>]*src="([^"]*)"', text)


def test_report_holds_the_runs_numbers_config_and_metrics(run_dir, html_report):
    text = html_report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("final_val_loss", "final_train_loss"):
        assert f"<td>{format(summary[key], '.6g')}</td>" in text
    # the terminal's labels, not the file's keys; no empty message row; dates
    assert f"<td>best val loss</td><td>{format(summary['best_val_loss'], '.6g')} (step" in text
    assert f"<td>final val accuracy</td><td>{summary['final_val_metric']:.4f}</td>" in text
    assert "<td>status</td><td>completed</td>" in text
    for raw in ("wall_time_s", "sparsity.near_zero", "<td>message</td>"):
        assert raw not in text
    assert re.search(r"Report written \d{4}-\d\d-\d\d \d\d:\d\d UTC", text) and "Ended " in text
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) > 3 and f"<td>{format(rows[-2]['train_loss'], '.6g')}</td>" in text
    assert f"{len(rows)} logged steps" in text and "val_accuracy" in text
    assert "hidden_sizes:" in text  # the resolved config


def test_report_is_self_contained(html_report):
    text = html_report.read_text(encoding="utf-8")
    sources = images(text)
    assert len(sources) == 4  # curves, decision boundary, what each neuron draws, weights
    for src in sources:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        png = base64.b64decode(src[len(prefix) :])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:|//)', text)
    assert "default-src 'none'" in text  # the browser may fetch nothing


def test_report_without_matplotlib_still_has_the_numbers(run_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["report", str(run_dir), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (
        "warning" in result.output and "plotting needs matplotlib: pip install 'nncli[plot]'" in result.output
    )
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert images(text) == [] and "pip install &#x27;nncli[plot]&#x27;" in text
    assert "final val loss" in text


def test_report_renders_a_compare_optimizers_directory(tmp_path):
    args = [
        "compare-optimizers",
        "--optimizers",
        "sgd,adam",
        "--steps",
        "20",
        "-o",
        str(tmp_path / "c"),
        "-q",
    ]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, ["report", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert "<h1>nncli comparison: spirals</h1>" in text and "<th>best val accuracy</th>" in text
    ranking = json.loads((tmp_path / "c" / "results.json").read_text())["ranking"]
    for entry in ranking:
        assert f"<td>{entry['rank']}</td><td>{entry['optimizer']}</td>" in text
    assert len(images(text)) == (1 if (tmp_path / "c" / "curves.png").exists() else 0)


def test_report_command_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_long_runs_show_evenly_spaced_rows_with_the_first_and_last():
    rows = [{"step": i} for i in range(1000)]
    kept = [r["step"] for r in rp.thin(rows, 5)]
    assert kept == [0, 250, 500, 749, 999]  # round(i·999/4)
    assert rp.thin(rows[:7], 10) == rows[:7]


# ---------------------------------------------------------------------------------------------- browser


def chromium(*args, cwd) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={cwd / 'profile'}"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def body_marks(dom: str) -> dict[str, int]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return {k: int(v) for k, v in re.findall(r'data-([a-z-]+)="(\d+)"', body.group(1))}


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium package for a headless browser"
)
def test_report_renders_in_headless_chromium_with_every_image_and_no_errors(html_report, tmp_path):
    dom = chromium("--virtual-time-budget=3000", "--dump-dom", html_report.as_uri(), cwd=tmp_path).stdout
    assert body_marks(dom) == {"images": 4, "images-loaded": 4, "errors": 0}

    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,2000", html_report.as_uri(), cwd=tmp_path)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1200, 2000)


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium package for a headless browser"
)
def test_the_browser_check_sees_broken_images_and_script_errors(html_report, tmp_path):
    """The same check on a spoiled copy: a broken image, a remote image (refused by the CSP) and a throw."""
    broken = tmp_path / "broken.html"
    text = html_report.read_text(encoding="utf-8").replace(
        "</body>",
        '<img src="data:image/png;base64,AAAA"><img src="https://example.invalid/x.png">'
        "<script>throw new Error('boom')</script></body>",
    )
    broken.write_text(text, encoding="utf-8")
    marks = body_marks(
        chromium("--virtual-time-budget=3000", "--dump-dom", broken.as_uri(), cwd=tmp_path).stdout
    )
    assert marks["images"] == 6 and marks["images-loaded"] == 4 and marks["errors"] >= 2


def test_report_shows_the_confusion_matrix_of_a_classifier(run_dir):
    text = rp.render(run_dir, [])
    result = runner.invoke(app, ["evaluate", str(run_dir), "--json"])
    matrix = json.loads(result.output)["confusion_matrix"]
    assert "<h2>Confusion matrix</h2>" in text and "validation set, final weights" in text
    rows = re.findall(r'<table class="confusion">(.*?)</table>', text)[0].split("</tr>")[1:-1]
    cells = [[int(v) for v in re.findall(r"<td>(\d+)</td>", row)] for row in rows]
    assert cells == matrix


def test_report_of_a_regression_has_no_confusion_matrix(tmp_path):
    directory = tmp_path / "sine"
    train_config("configs/sine.yaml", directory, ["training.epochs=1"])
    assert "Confusion matrix" not in rp.render(directory, [])
