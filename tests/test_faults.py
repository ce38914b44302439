"""Faults of the file system (disk full, read-only, permission denied) and damaged run files: each ends in
exit 2 and one message naming what and where, never "internal error", and what was written stays.

Disk-full and read-only cases mount a small tmpfs (CI runs as root); permission cases run nncli in a
subprocess without the root capabilities that ignore file modes (setpriv), so chmod takes effect.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clitools import ENTRY_POINT, SHORT, flat, invoke

from nncli.fileio import load_npz

ROOT = Path(__file__).resolve().parent.parent

# ~4,500 parameters: init.npz ~37 kB, checkpoint.npz (with Adam's two moments) ~110 kB
WIDE = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [64, 64]}
optimizer: {name: adam, lr: 0.01}
training: {steps: 40, batch_size: 16, log_every: 5, checkpoint_every: 5}
"""


def assert_refused(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in flat(result.output), f"{fragment!r} not in {result.output}"


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def remount_read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    (root / "c.yaml").write_text(SHORT)
    assert invoke("train", root / "c.yaml", "--out", root / "run", "-q").exit_code == 0
    return root / "run"


# ---------------------------------------------------------------------------- disk full


def test_disk_full_while_checkpointing_names_the_file_and_the_intact_checkpoint(tmp_path):
    config = tmp_path / "wide.yaml"
    config.write_text(WIDE)
    with (
        tmpfs(tmp_path / "mnt", "300k") as mnt
    ):  # init, the first checkpoint (with the best weights) and best.npz fit; a second checkpoint does not
        result = invoke("train", config, "--out", mnt / "run", "-q")
        assert_refused(result, "no space left on device while writing", "checkpoint.npz")
        assert "the checkpoint of step 5 is intact" in flat(result.output)
        assert json.loads(str(load_npz(mnt / "run" / "checkpoint.npz")["meta"]))["step"] == 5
        summary = json.loads((mnt / "run" / "summary.json").read_text())
        assert summary["status"] == "failed" and "no space left on device" in summary["message"]
        assert not [p.name for p in (mnt / "run").iterdir() if p.name.endswith(".tmp")]


def test_disk_full_before_the_first_checkpoint_says_none_was_written(tmp_path):
    config = tmp_path / "wide.yaml"
    config.write_text(WIDE)
    with tmpfs(tmp_path / "mnt", "40k") as mnt:
        result = invoke("train", config, "--out", mnt / "run", "-q")
        assert_refused(result, "no space left on device while writing", "no checkpoint had been written yet")


def fill(folder: Path) -> Path:
    """Write a file into `folder` until its file system is full."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()
    return filler


def test_disk_full_for_predict_report_and_export(tmp_path, trained):
    inputs = tmp_path / "in.csv"
    inputs.write_text("x1,x2\n0.5,0.25\n")
    with tmpfs(tmp_path / "mnt", "64k") as mnt:
        fill(mnt)
        for args in (
            ["predict", trained, inputs, "-o", mnt / "p.csv"],
            ["report", trained, "-o", mnt / "r.html"],
            ["datasets", "export", "xor", "-o", mnt / "s.csv"],
        ):
            assert_refused(invoke(*args), "no space left on device while writing", str(mnt))
        assert [p.name for p in mnt.iterdir()] == ["filler"]


# ---------------------------------------------------------------------------- read-only


def test_a_read_only_file_system_is_named_by_every_command_that_writes(tmp_path, trained):
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        run = Path(shutil.copytree(trained, mnt / "run"))
        (run / "summary.json").unlink()  # a stopped run, so --resume would continue it
        (mnt / "c.yaml").write_text(SHORT.replace("epochs: 2", "epochs: 4"))
        shutil.copy(mnt / "c.yaml", run / "config.yaml")
        (mnt / "in.csv").write_text("x1,x2\n0,1\n")
        remount_read_only(mnt)
        for args in (
            ["train", mnt / "c.yaml", "--out", mnt / "new"],
            ["train", "--resume", run],
            ["predict", run, mnt / "in.csv"],
            ["report", run],
            ["datasets", "export", "xor", "-o", mnt / "x.csv"],
        ):
            assert_refused(invoke(*args), "read-only file system")
        assert invoke("evaluate", run).exit_code == 0  # reading still works


# ---------------------------------------------------------------------------- permission denied


def without_root_file_access(*args, cwd: Path) -> subprocess.CompletedProcess:
    """nncli as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: file modes apply to it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", ENTRY_POINT]
        + [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def test_permission_denied_on_data_run_directory_and_metrics(tmp_path, trained):
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    data.chmod(0)
    (tmp_path / "c.yaml").write_text("data: {path: d.csv}\ntraining: {epochs: 1}\n")
    (tmp_path / "g.yaml").write_text(SHORT)
    (tmp_path / "in.csv").write_text("x1,x2\n0,1\n")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    (run / "summary.json").unlink()
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("epochs: 2", "epochs: 4"))
    (run / "metrics.jsonl").chmod(0)
    cases = [
        (["train", "c.yaml", "--out", "out"], ["permission denied", "d.csv"]),
        (["train", "g.yaml", "--out", locked / "run"], ["permission denied", "locked"]),
        (["train", "--resume", run], ["permission denied", "metrics.jsonl"]),
        (["predict", run, "in.csv", "-o", locked / "p.csv"], ["permission denied", "p.csv"]),
    ]
    for args, fragments in cases:
        result = without_root_file_access(*args, cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "internal error" not in output
        for fragment in fragments:
            assert fragment in flat(output), f"{args}: {fragment!r} not in {output}"


# ---------------------------------------------------------------------------- damaged run files


def _metrics(run: Path, text: bytes) -> Path:
    (run / "metrics.jsonl").write_bytes(text)
    return run


def _summary(run: Path, text: bytes) -> Path:
    (run / "summary.json").write_bytes(text)
    return run


def _replace_with_folder(run: Path, name: str) -> Path:
    (run / name).unlink()
    (run / name).mkdir()
    return run


def _complex_parameters(run: Path) -> Path:
    arrays = load_npz(run / "final.npz")
    arrays["layers.0.weight"] = arrays["layers.0.weight"] + 1j
    np.savez(run / "final.npz", **arrays)
    return run


GOOD_ROW = b'{"step": 5, "train_loss": 0.5}\n'
DAMAGED = [
    (
        "metrics: a line that is a list",
        lambda r: _metrics(r, GOOD_ROW + b"[1, 2]\n"),
        ["metrics.jsonl", "line 2"],
    ),
    (
        "metrics: a string for a number",
        lambda r: _metrics(r, b'{"step": 5, "train_loss": "low"}\n'),
        ["metrics.jsonl", "line 1", "'train_loss'", "expected a number"],
    ),
    (
        "metrics: not UTF-8",
        lambda r: _metrics(r, GOOD_ROW + b'{"step": 10, "x\xff": 1}\n'),
        ["metrics.jsonl", "line 2", "not UTF-8"],
    ),
    (
        "metrics: not JSON",
        lambda r: _metrics(r, b"step 5\n" + GOOD_ROW),
        ["metrics.jsonl", "line 1", "not JSON"],
    ),
    (
        "metrics: a folder",
        lambda r: _replace_with_folder(r, "metrics.jsonl"),
        ["metrics.jsonl", "is a folder"],
    ),
    ("summary: a list", lambda r: _summary(r, b"[]"), ["summary.json", "not the JSON object"]),
    ("summary: null", lambda r: _summary(r, b"null"), ["summary.json", "holds null"]),
    ("summary: not UTF-8", lambda r: _summary(r, b'{"name": "\xff"}'), ["summary.json", "not UTF-8"]),
    ("summary: a folder", lambda r: _replace_with_folder(r, "summary.json"), ["summary.json", "is a folder"]),
]


@pytest.mark.parametrize("label, damage, fragments", DAMAGED, ids=[d[0] for d in DAMAGED])
@pytest.mark.parametrize("command", ["resume", "plot", "report"])
def test_a_damaged_run_file_is_refused_by_every_command_that_reads_it(
    tmp_path, trained, label, damage, fragments, command
):
    run = damage(Path(shutil.copytree(trained, tmp_path / "run")))
    if command == "resume":
        if "summary" not in label:
            (run / "summary.json").unlink(missing_ok=True)
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("epochs: 2", "epochs: 4"))
    args = {"resume": ["train", "--resume", run], "plot": ["plot", run], "report": ["report", run]}[command]
    assert_refused(invoke(*args), *fragments)


def test_plots_being_a_file_is_refused(tmp_path, trained):
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    (run / "plots").write_text("mine")
    assert_refused(invoke("plot", run), "plots", "is a file, not a folder")
    assert (run / "plots").read_text() == "mine"


@pytest.mark.parametrize("command", ["evaluate", "predict", "plot"])
def test_a_complex_valued_parameter_is_refused(tmp_path, trained, command):
    run = _complex_parameters(Path(shutil.copytree(trained, tmp_path / "run")))
    (tmp_path / "in.csv").write_text("x1,x2\n0,1\n")
    args = {"evaluate": [run], "predict": [run, tmp_path / "in.csv"], "plot": [run]}[command]
    assert_refused(invoke(command, *args), "final.npz", "'layers.0.weight'", "complex")
