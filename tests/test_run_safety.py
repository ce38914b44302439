"""Nothing a user does loses a run: one writer per run directory (a real lock, tested with real
concurrent processes), no command writes over a run's own files or its own inputs, an existing output is
replaced only with --overwrite, a finished run is not "resumed", and a diverged run keeps its last finite
parameters."""

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import ENTRY_POINT, SHORT, flat, invoke, snapshot

from nncli.cli import app
from nncli.fileio import load_npz
from nncli.rundir.lock import LOCK_NAME, RunLock

# long enough to be caught while it trains (stopped by the test long before its end)
LONG = """
data: {dataset: spirals, samples: 400}
model: {kind: mlp, hidden_sizes: [32, 32]}
optimizer: {name: adam, lr: 0.01}
training: {steps: 1000000, batch_size: 16, log_every: 10, checkpoint_every: 20}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    (root / "c.yaml").write_text(SHORT)
    assert invoke("train", root / "c.yaml", "--out", root / "run", "-q").exit_code == 0
    return root / "run"


def copy_run(trained: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(trained, tmp / "run"))


# ---------------------------------------------------------------------------- one writer per run


def _train_in_child(config: str, out: str, log: str) -> None:
    """A forked process running `nncli train CONFIG --out OUT -q` with its output in `log`."""
    from nncli.cli import common

    common.console.file = common.err_console.file = open(log, "w")  # noqa: SIM115 (the child's whole life)
    app(["train", config, "--out", out, "-q"], prog_name="nncli")


def test_two_writers_started_together_never_share_a_run_directory(tmp_path):
    """20 times, two processes train two different configs into the same --out at once: exactly one
    wins, the other exits 2 without writing, and the folder holds the winner's config and results only."""
    fork = multiprocessing.get_context("fork")
    for attempt in range(20):
        out = tmp_path / f"out{attempt}"
        configs = []
        for who in ("a", "b"):
            path = tmp_path / f"{who}.yaml"
            path.write_text(SHORT + f"name: writer-{who}\nseed: {ord(who)}\n")
            configs.append(path)
        procs = [
            fork.Process(target=_train_in_child, args=(str(c), str(out), str(tmp_path / f"{c.stem}.log")))
            for c in configs
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        codes = sorted(p.exitcode for p in procs)
        assert codes == [0, 2], (attempt, codes)
        winner = "a" if procs[0].exitcode == 0 else "b"
        loser_log = flat((tmp_path / f"{'b' if winner == 'a' else 'a'}.log").read_text())
        assert "is in use by nncli process" in loser_log or "already holds files" in loser_log, loser_log
        assert f"name: writer-{winner}" in (out / "config.yaml").read_text()
        assert json.loads((out / "summary.json").read_text())["name"] == f"writer-{winner}"
        assert not (out / LOCK_NAME).exists()


def start(config: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY_POINT, "train", str(config), "--out", str(out), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_checkpoint(proc: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.01)


def test_a_run_in_progress_refuses_writers_naming_its_pid_serves_readers_and_resumes_once_killed(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(LONG)
    out = tmp_path / "run"
    proc = start(config, out)
    try:
        wait_for_checkpoint(proc, out)
        for args in (
            ["train", config, "--out", out, "--overwrite", "-q"],
            ["train", tmp_path / "long.yaml", "--out", out, "-q"],
            ["train", "--resume", out, "-q"],
        ):
            result = invoke(*args)
            assert result.exit_code == 2, result.output
            assert f"is in use by nncli process {proc.pid}" in flat(result.output)
        for args in (["evaluate", out], ["report", out, "-o", tmp_path / "r.html"]):  # readers meanwhile
            result = invoke(*args)
            assert result.exit_code == 0, result.output
        assert (out / "config.yaml").exists() and (out / "metrics.jsonl").exists()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=20)
    assert (out / LOCK_NAME).exists()  # left by the killed process, no longer locked
    step = json.loads(str(load_npz(out / "checkpoint.npz")["meta"]))["step"]
    (out / "config.yaml").write_text((out / "config.yaml").read_text().replace("1000000", str(step + 40)))
    result = invoke("train", "--resume", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "completed"
    assert not (out / LOCK_NAME).exists()


def test_the_lock_is_exclusive_between_processes_and_released_on_exit(tmp_path):
    lock = RunLock.acquire(tmp_path)
    code = "import sys; from nncli.rundir.lock import RunLock; RunLock.acquire(sys.argv[1])"
    held = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert held.returncode == 1 and f"in use by nncli process {os.getpid()}" in held.stderr
    lock.release()
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert free.returncode == 0, free.stderr
    RunLock.acquire(tmp_path).release()  # the child's lock ended with the child


# ---------------------------------------------------------------------------- outputs


def _in_csv(tmp: Path) -> Path:
    path = tmp / "in.csv"
    path.write_text("x1,x2\n0,1\n1,1\n")
    return path


def _link(tmp: Path, target: Path) -> Path:
    link = tmp / "innocent.csv"
    link.symlink_to(target)
    return link


# (id, setup(tmp, run) -> CLI arguments, fragments the message must contain)
REFUSED = [
    (
        "predict over the run's checkpoint",
        lambda t, r: ["predict", r, _in_csv(t), "-o", r / "checkpoint.npz"],
        ["checkpoint.npz of the run directory", "never writes over a run's own files"],
    ),
    (
        "predict over the run's checkpoint with --overwrite",
        lambda t, r: ["predict", r, _in_csv(t), "-o", r / "checkpoint.npz", "--overwrite"],
        ["checkpoint.npz of the run directory", "--overwrite neither"],
    ),
    (
        "predict through a symlink to final.npz",
        lambda t, r: ["predict", r, _in_csv(t), "-o", _link(t, r / "final.npz"), "--overwrite"],
        ["innocent.csv", "final.npz of the run directory"],
    ),
    (
        "predict over its own input",
        lambda t, r: ["predict", r, _in_csv(t), "-o", t / "in.csv", "--overwrite"],
        ["in.csv", "is an input of this command"],
    ),
    (
        "predict over an existing file",
        lambda t, r: ["predict", r, _in_csv(t), "-o", _existing(t / "mine.csv")],
        ["mine.csv", "already exists", "--overwrite"],
    ),
    (
        "report over final.npz",
        lambda t, r: ["report", r, "-o", r / "final.npz", "--overwrite"],
        ["final.npz of the run directory"],
    ),
    (
        "report over metrics.jsonl",
        lambda t, r: ["report", r, "-o", r / "metrics.jsonl"],
        ["metrics.jsonl of the run directory"],
    ),
    (
        "report over an existing file",
        lambda t, r: ["report", r, "-o", _existing(t / "mine.html")],
        ["mine.html", "already exists", "--overwrite"],
    ),
    (
        "report into a file that is not a folder",
        lambda t, r: ["report", r, "-o", _existing(t / "file") / "r.html"],
        ["file", "is a file, not a folder"],
    ),
    (
        "plot into the run's summary",
        lambda t, r: ["plot", r, "-o", r / "summary.json"],
        ["summary.json", "is a file, not a folder"],
    ),
    (
        "plot over existing PNGs",
        lambda t, r: ["plot", r, "-o", _existing(t / "figs" / "curves.png").parent],
        ["curves.png", "already exists", "--overwrite"],
    ),
    (
        "datasets export over init.npz",
        lambda t, r: ["datasets", "export", "xor", "-o", r / "init.npz", "--overwrite"],
        ["init.npz of the run directory"],
    ),
    (
        "datasets export over an existing file",
        lambda t, r: ["datasets", "export", "xor", "-o", _existing(t / "xor.csv")],
        ["xor.csv", "already exists", "--overwrite"],
    ),
    (
        "train --overwrite over its own config",
        lambda t, r: ["train", r / "config.yaml", "--out", r, "--overwrite", "-q"],
        ["config.yaml", "is an input of this run", "--overwrite would replace it"],
    ),
    (
        "train --overwrite over its own data file",
        lambda t, r: ["train", _data_config(t, r), "--out", r, "--overwrite", "-q"],
        ["predictions.csv", "is an input of this run"],
    ),
]


def _existing(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mine\n")
    return path


def _data_config(tmp: Path, run: Path) -> Path:
    """A config whose data file is RUN/predictions.csv, a file --overwrite of RUN would remove."""
    (run / "predictions.csv").write_text("x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    config = tmp / "d.yaml"
    config.write_text(f"data: {{path: {run / 'predictions.csv'}}}\ntraining: {{epochs: 1}}\n")
    return config


@pytest.mark.parametrize("label, setup, fragments", REFUSED, ids=[r[0] for r in REFUSED])
def test_no_command_writes_over_a_run_file_its_input_or_without_overwrite(
    tmp_path, trained, label, setup, fragments
):
    run = copy_run(trained, tmp_path)
    args = setup(tmp_path, run)
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    for fragment in fragments:
        assert fragment in flat(result.output), f"{fragment!r} not in {result.output}"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "command",
    [
        lambda t, r: ["predict", r, _in_csv(t), "-o", t / "p.csv"],
        lambda t, r: ["datasets", "export", "xor", "-o", t / "p.csv"],
        lambda t, r: ["report", r, "-o", t / "p.csv"],
    ],
    ids=["predict", "datasets export", "report"],
)
def test_an_existing_output_is_replaced_with_overwrite_only(tmp_path, trained, command):
    run = copy_run(trained, tmp_path)
    args = command(tmp_path, run)
    assert invoke(*args).exit_code == 0
    (tmp_path / "p.csv").write_text("mine\n")
    assert invoke(*args).exit_code == 2
    assert (tmp_path / "p.csv").read_text() == "mine\n"
    result = invoke(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.csv").read_text() != "mine\n"


# ---------------------------------------------------------------------------- finished runs


def test_resume_refuses_an_early_stopped_run(tmp_path, configs):
    out = tmp_path / "run"
    args = ["--set", "training.epochs=200", "--set", "training.early_stopping.patience=2"]
    result = invoke(
        "train", configs / "sine.yaml", "--out", out, "-q", *args, "--set", "training.eval_every=20"
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["status"] == "early_stopped"
    before = snapshot(out)
    result = invoke("train", "--resume", out)
    assert result.exit_code == 2
    assert "the run is finished (early_stopped at step" in flat(result.output)
    assert snapshot(out) == before


def test_resume_refuses_a_completed_run_whose_summary_is_missing(tmp_path, trained):
    run = copy_run(trained, tmp_path)
    (run / "summary.json").unlink()  # killed after its last checkpoint, before the summary
    result = invoke("train", "--resume", run)
    assert result.exit_code == 2 and "the run is finished (completed at step 10 of 10)" in flat(result.output)


# ---------------------------------------------------------------------------- divergence


def test_a_diverged_run_without_checkpoint_every_keeps_its_last_finite_state(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {dataset: sine, samples: 100}\nmodel: {kind: mlp, hidden_sizes: [8]}\n"
        "optimizer: {name: sgd, lr: 1.0e+6}\ntraining: {epochs: 5, batch_size: 16, log_every: 1}\n"
    )
    out = tmp_path / "run"
    result = invoke("train", config, "--out", out, "-q")
    assert result.exit_code == 3, result.output
    summary = json.loads((out / "summary.json").read_text())
    step = int(summary["message"].split(" at step ")[1].split(";")[0])
    ckpt = load_npz(out / "checkpoint.npz")
    assert json.loads(str(ckpt["meta"]))["step"] == step - 1
    assert all(np.all(np.isfinite(v)) for k, v in ckpt.items() if k.startswith(("param/", "optim/")))
    assert invoke("evaluate", out).exit_code == 0  # inspectable
    result = invoke("train", "--resume", out, "-q")  # accepted: it continues from the kept step
    assert result.exit_code == 3, result.output
    assert json.loads((out / "summary.json").read_text())["steps"] == step - 1
    assert f"at step {step};" in flat(result.output)
