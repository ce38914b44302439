"""Stopping a training process from outside: Ctrl-C (SIGINT) and SIGTERM finish the step, write a
checkpoint and the summary and exit 130/143; kill -9 leaves only whole files. Either way `--resume`
reaches the very parameters of an uninterrupted run."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncli.cli import app
from nncli.fileio import load_npz

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# ~1.5 s of training: long enough to be stopped part-way, with dropout so the generator state matters
CONFIG = """
seed: 3
data: {dataset: spirals, samples: 400}
model: {kind: mlp, hidden_sizes: [32, 32], dropout: 0.1}
optimizer: {name: adam, lr: 0.01}
training: {steps: 3000, batch_size: 16, log_every: 10, checkpoint_every: 40}
"""
RNG = random.Random(20240611)  # the step at which each test stops the run: random, but reproducible
runner = CliRunner()
ENTRY_POINT = "from nncli.cli import app; app(prog_name='nncli')"  # what the `nncli` console script runs


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "long.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    """final.npz of the same config trained without a stop."""
    out = tmp_path_factory.mktemp("reference") / "run"
    result = runner.invoke(app, ["train", str(config), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return load_npz(out / "final.npz")


def start_training(config, out, *extra):
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY_POINT, "train", str(config), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=out.parent,
    )


def wait_for_lines(proc, metrics, lines: int, timeout: float = 15.0) -> None:
    """Poll metrics.jsonl until it has `lines` rows; the run must still be going."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.exists() and metrics.read_bytes().count(b"\n") >= lines:
            return
        assert proc.poll() is None, f"training ended before it could be stopped:\n{proc.stdout.read()}"
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"metrics.jsonl did not reach {lines} lines in {timeout} s")


def resume_to_the_end(out) -> dict:
    result = runner.invoke(app, ["train", "--resume", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_same_parameters(reference, final_npz) -> None:
    final = load_npz(final_npz)
    assert final.keys() == reference.keys()
    for name in reference:
        np.testing.assert_array_equal(final[name], reference[name], err_msg=name)


def assert_every_file_is_whole(out) -> None:
    """Every file under its own name reads completely: npz archives load, JSON parses, YAML parses,
    metrics.jsonl is whole lines of JSON with increasing steps."""
    for path in out.iterdir():
        if path.name.startswith("."):  # atomic_write's temporary: never a name nncli reads
            continue
        if path.suffix == ".npz":
            assert load_npz(path), path
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".yaml":
            assert yaml.safe_load(path.read_text())["training"]["steps"] == 3000
        elif path.suffix == ".jsonl":
            text = path.read_text()
            assert text == "" or text.endswith("\n"), "metrics.jsonl ends in a partial line"
            steps = [json.loads(line)["step"] for line in text.splitlines()]
            assert steps == sorted(steps)
        else:
            pytest.fail(f"unexpected file {path.name}")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_stops_after_the_step_and_resume_is_bit_identical(config, reference, tmp_path, signum, code):
    out = tmp_path / "run"
    proc = start_training(config, out, *(["-q"] if signum == signal.SIGINT else []))
    wait_for_lines(proc, out / "metrics.jsonl", RNG.randint(3, 60))
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == code, output
    assert "Traceback" not in output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["steps"] < 3000
    assert f"stopped at step {summary['steps']}" in summary["message"]
    meta = json.loads(str(load_npz(out / "checkpoint.npz")["meta"]))
    assert meta["step"] == summary["steps"]  # the checkpoint is of the very step it stopped at
    assert_every_file_is_whole(out)

    resumed = resume_to_the_end(out)
    assert resumed["status"] == "completed" and resumed["steps"] == 3000
    assert_same_parameters(reference, out / "final.npz")


def test_kill_9_leaves_whole_files_and_resume_from_the_last_checkpoint_is_bit_identical(
    config, reference, tmp_path
):
    out = tmp_path / "run"
    proc = start_training(config, out, "-q")
    wait_for_lines(proc, out / "metrics.jsonl", RNG.randint(8, 80))  # past the first checkpoint (step 40)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists() and not (out / "final.npz").exists()
    assert_every_file_is_whole(out)
    step = json.loads(str(load_npz(out / "checkpoint.npz")["meta"]))["step"]
    assert step > 0 and step % 40 == 0

    resumed = resume_to_the_end(out)
    assert resumed["status"] == "completed" and resumed["steps"] == 3000
    assert_same_parameters(reference, out / "final.npz")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(10, 3001, 10))  # trimmed to the checkpoint, then resumed


def test_a_second_ctrl_c_stops_at_once_without_a_traceback(config, tmp_path):
    out = tmp_path / "run"
    proc = start_training(config, out, "-q")
    wait_for_lines(proc, out / "metrics.jsonl", 3)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    assert_every_file_is_whole(out)
