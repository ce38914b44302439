"""Bad input of every kind other than a mistyped config (those are in test_cli.py's BAD_CONFIGS): data
files, run directories and checkpoints, evaluate/predict inputs, command-line values, malicious YAML and
.npz files, --out targets. Each is refused with exit code 2 and one message that says what and where,
without a traceback, without running anything and without touching a file that was there before."""

import json
import math
import os
import pickle
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncli.cli import app
from nncli.engine.activations import ACTIVATIONS
from nncli.fileio import load_npz

runner = CliRunner()

GOOD = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [8]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16, log_every: 5}
"""
MARKER = "PWNED"  # a file that a malicious input would create if nncli ever ran it


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


class Evil:
    """Unpickling this creates the marker file: proof that the loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished run directory of GOOD (final.npz and checkpoint.npz), copied by the rows that need one."""
    root = tmp_path_factory.mktemp("trained")
    (root / "good.yaml").write_text(GOOD)
    result = invoke("train", root / "good.yaml", "--out", root / "run", "-q")
    assert result.exit_code == 0, result.output
    return root / "run"


# ---------------------------------------------------------------------------- building inputs


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    return path


def config_for(tmp: Path, data: str, extra: str = "") -> Path:
    """A config in tmp/cfg/ whose data entry is `data`: data paths are relative to the config file."""
    return write(tmp / "cfg" / "config.yaml", f"data: {data}\n{extra}training: {{epochs: 1}}\n")


def data_file(tmp: Path, name: str, content: str | bytes, data: str = "", extra: str = "") -> list:
    """`train` on a config that reads tmp/cfg/<name> (its data entry `data`, default {path: <name>})."""
    write(tmp / "cfg" / name, content)
    return ["train", config_for(tmp, data or f"{{path: {name}}}", extra), "--out", tmp / "out"]


def npz_file(tmp: Path, name: str, **arrays) -> list:
    (tmp / "cfg").mkdir(exist_ok=True)
    np.savez(tmp / "cfg" / name, **arrays)
    return ["train", config_for(tmp, f"{{path: {name}}}"), "--out", tmp / "out"]


def clone(trained: Path, tmp: Path) -> Path:
    run = tmp / "run"
    shutil.copytree(trained, run)
    return run


def edit_checkpoint(trained: Path, tmp: Path, edit) -> Path:
    """A copy of the trained run whose checkpoint.npz holds edit(arrays)."""
    run = clone(trained, tmp)
    arrays = load_npz(run / "checkpoint.npz")
    np.savez(run / "checkpoint.npz", **edit(arrays))
    return run


def edit_meta(arrays: dict, **changes) -> dict:
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    return {**arrays, "meta": np.array(json.dumps(meta))}


def resume(run: Path) -> list:
    """`train --resume` of `run`, first made a stopped run (a finished one is refused as finished): its
    config asks for twice the steps and its summary says interrupted."""
    if (run / "summary.json").is_file():
        _edit_config(run, "epochs: 2", "epochs: 4")
        summary = json.loads((run / "summary.json").read_text())
        (run / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    return ["train", "--resume", run, "-q"]


XY = {"X": np.ones((4, 2)), "y": np.array([0, 1, 0, 1])}

# ---------------------------------------------------------------------------- the table
# (id, setup(tmp, trained) -> CLI arguments, fragments the message must contain)

BAD_INPUTS = [
    # ---- data files, referenced from a config relative to the config file
    (
        "csv: target column missing",
        lambda t, r: data_file(t, "d.csv", "a,b,c\n1,2,0\n3,4,1\n", "{path: d.csv, target: label}"),
        ["d.csv", "no column 'label'", "columns: a, b, c"],
    ),
    (
        "csv: a cell that is not a number",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,2,0\n3,abc,1\n"),
        ["d.csv", "row 3, column 'b'", "'abc' is not a number"],
    ),
    (
        "csv: NaN",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,2,0\nnan,4,1\n"),
        ["d.csv", "row 3, column 'a'", "not finite"],
    ),
    (
        "csv: infinity",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,-inf,0\n3,4,1\n"),
        ["d.csv", "row 2, column 'b'", "not finite"],
    ),
    (
        "csv: ragged row",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,2,0\n3,4\n5,6,1\n"),
        ["d.csv", "row 3 has 2 values, expected 3"],
    ),
    ("csv: empty file", lambda t, r: data_file(t, "d.csv", ""), ["d.csv", "empty"]),
    (
        "csv: header only",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n"),
        ["d.csv", "at least 2 data rows, found 0"],
    ),
    (
        "csv: no header row",
        lambda t, r: data_file(t, "d.csv", "1,2,0\n3,4,1\n"),
        ["d.csv", "no header row"],
    ),
    (
        "csv: a typo among numeric labels",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,2,1\n3,4,2\n5,6,one\n"),
        ["d.csv", "row 4, column 'y'", "'one' is not a number"],
    ),
    (
        "csv: not UTF-8",
        lambda t, r: data_file(t, "d.csv", b"a,b,y\n1,2,0\n3,4,1\n\xff\xfe,1,0\n"),
        ["d.csv", "not UTF-8"],
    ),
    (
        "csv: tabular data for a transformer",
        lambda t, r: data_file(
            t, "d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n", extra="model: {kind: transformer}\n"
        ),
        ["model.kind", "transformer needs sequence data", "tabular"],
    ),
    (
        "csv: three classes for bce_with_logits",
        lambda t, r: data_file(t, "d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,2\n", extra="loss: bce_with_logits\n"),
        ["loss.name", "needs two classes", "has 3", "cross_entropy"],
    ),
    (
        "npz: no array y",
        lambda t, r: npz_file(t, "d.npz", X=np.ones((4, 2))),
        ["d.npz", "no array 'y'"],
    ),
    (
        "npz: NaN in X",
        lambda t, r: npz_file(t, "d.npz", X=np.array([[1.0, 2], [3, np.nan], [1, 1]]), y=np.array([0, 1, 0])),
        ["d.npz", "array 'X'", "non-finite value nan at index (1, 1)"],
    ),
    (
        "npz: X and y of different lengths",
        lambda t, r: npz_file(t, "d.npz", X=np.ones((4, 2)), y=np.array([0, 1, 0])),
        ["d.npz", "X has 4 samples but y has 3"],
    ),
    (
        "npz: X of the wrong shape",
        lambda t, r: npz_file(t, "d.npz", X=np.ones(4), y=np.array([0, 1, 0, 1])),
        ["d.npz", "array 'X' must be 2-D", "got shape (4,)"],
    ),
    (
        "npz: object array holding a pickle",
        lambda t, r: npz_file(
            t, "d.npz", X=np.array([Evil(t / MARKER), 1.0], dtype=object), y=np.array([0, 1])
        ),
        ["d.npz", "Python objects"],
    ),
    (
        "npz: a bare pickle named .npz",
        lambda t, r: data_file(t, "d.npz", pickle.dumps(Evil(t / MARKER))),
        ["d.npz", "not an .npz"],
    ),
    (
        "npz: truncated",
        lambda t, r: data_file(t, "d.npz", _npz_bytes(XY)[:60]),
        ["d.npz", "not a readable .npz"],
    ),
    # ---- run directories and checkpoints
    ("resume: no such directory", lambda t, r: resume(t / "nowhere"), ["nowhere", "no such run directory"]),
    (
        "resume: a folder that is not a run",
        lambda t, r: resume(write(t / "empty" / "notes.txt", "x").parent),
        ["empty", "not a run directory (no config.yaml)"],
    ),
    ("resume: a file", lambda t, r: resume(write(t / "file.txt", "x")), ["file.txt", "is a file"]),
    (
        "resume: no checkpoint",
        lambda t, r: resume(_without(clone(r, t), "checkpoint.npz")),
        ["run", "no checkpoint.npz"],
    ),
    (
        "resume: truncated checkpoint",
        lambda t, r: resume(_truncate(clone(r, t) / "checkpoint.npz").parent),
        ["checkpoint.npz", "truncated", "left as it was"],
    ),
    (
        "resume: checkpoint with wrong keys",
        lambda t, r: resume(
            edit_checkpoint(r, t, lambda a: {k.replace("layers.2.", "head."): v for k, v in a.items()})
        ),
        ["checkpoint.npz", "parameters do not fit this model", "missing layers.2.weight", "head.weight"],
    ),
    (
        "resume: checkpoint with wrong shapes",
        lambda t, r: resume(edit_checkpoint(r, t, lambda a: {**a, "param/layers.0.weight": np.ones((3, 3))})),
        ["checkpoint.npz", "'layers.0.weight' has shape (3, 3)", "expects (8, 2)"],
    ),
    (
        "resume: checkpoint of another model",
        lambda t, r: resume(_edit_config(clone(r, t), "- 8", "- 5")),
        ["checkpoint.npz", "different model", "hidden_sizes: [8] in the checkpoint, [5] in the config"],
    ),
    (
        "resume: checkpoint holding an object array",
        lambda t, r: resume(
            edit_checkpoint(r, t, lambda a: {**a, "param/layers.0.bias": np.array([Evil(t / MARKER)] * 8)})
        ),
        ["checkpoint.npz", "Python objects"],
    ),
    (
        "resume: checkpoint with NaN parameters",
        lambda t, r: resume(
            edit_checkpoint(r, t, lambda a: {**a, "param/layers.0.bias": np.full(8, np.nan)})
        ),
        ["checkpoint.npz", "'layers.0.bias' holds NaN or infinite values"],
    ),
    (
        "resume: checkpoint without metadata",
        lambda t, r: resume(edit_checkpoint(r, t, lambda a: {k: v for k, v in a.items() if k != "meta"})),
        ["checkpoint.npz", "not an nncli checkpoint"],
    ),
    (
        "resume: damaged generator state",
        lambda t, r: resume(edit_checkpoint(r, t, lambda a: edit_meta(a, model_rng={"bit_generator": "MT"}))),
        ["checkpoint.npz", "random-generator state is damaged"],
    ),
    (
        "resume: step past the end",
        lambda t, r: resume(edit_checkpoint(r, t, lambda a: edit_meta(a, step=10**6))),
        ["checkpoint.npz", "step 1000000", "outside this run's 0..20 steps"],
    ),
    (
        "resume: optimizer state of another optimizer",
        lambda t, r: resume(
            edit_checkpoint(r, t, lambda a: {k: v for k, v in a.items() if k != "optim/exp_avg_sq"})
        ),
        ["checkpoint.npz", "optimizer state does not fit this Adam optimizer", "exp_avg_sq"],
    ),
    (
        "resume: with a config too",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--resume", clone(r, t)],
        ["--resume continues in the run directory with its own config"],
    ),
    (
        "resume: with --out too",
        lambda t, r: ["train", "--resume", clone(r, t), "--out", t / "elsewhere"],
        ["give no CONFIG or --out", "--set training.epochs=N continues a finished run"],
    ),
    # ---- evaluate and predict
    ("evaluate: no such directory", lambda t, r: ["evaluate", t / "nowhere"], ["no such run directory"]),
    (
        "evaluate: truncated final.npz",
        lambda t, r: ["evaluate", _truncate(clone(r, t) / "final.npz").parent],
        ["final.npz", "not a readable parameter file"],
    ),
    (
        "evaluate: no parameters at all",
        lambda t, r: ["evaluate", _without(clone(r, t), "final.npz", "checkpoint.npz")],
        ["has neither final.npz nor checkpoint.npz"],
    ),
    (
        "evaluate: --data with ragged rows",
        lambda t, r: ["evaluate", clone(r, t), "--data", write(t / "d.csv", "x1,x2,y\n1,2,0\n4,5\n")],
        ["d.csv", "row 3 has 2 values, expected 3"],
    ),
    (
        "predict: columns that do not fit",
        lambda t, r: ["predict", clone(r, t), write(t / "in.csv", "a,b,c\n1,2,3\n")],
        ["in.csv", "no column 'x1', 'x2'", "the model takes the columns x1, x2", "the file has a, b, c"],
    ),
    (
        "predict: a cell that is not a number",
        lambda t, r: ["predict", clone(r, t), write(t / "in.csv", "x1,x2\n1,2\n3,four\n")],
        ["in.csv", "row 3, column 'x2'", "'four' is not a number"],
    ),
    (
        "predict: npz inputs holding a pickle",
        lambda t, r: ["predict", clone(r, t), _save(t / "in.npz", X=np.array([Evil(t / MARKER)] * 2))],
        ["in.npz", "Python objects"],
    ),
    (
        "predict: npz inputs of the wrong shape",
        lambda t, r: ["predict", clone(r, t), _save(t / "in.npz", X=np.ones((3, 2, 2)))],
        ["in.npz", "inputs of shape (3, 2, 2)", "(samples, 2)"],
    ),
    (
        "predict: output folder missing",
        lambda t, r: ["predict", clone(r, t), write(t / "in.csv", "x1,x2\n1,2\n"), "-o", t / "no" / "p.csv"],
        ["p.csv", "does not exist"],
    ),
    (
        "predict: unsupported input file",
        lambda t, r: ["predict", clone(r, t), write(t / "in.json", "[1, 2]")],
        ["in.json", "unsupported file type"],
    ),
    # ---- command-line values
    (
        "--set with an empty key part",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--set", "optimizer..lr=0.1"],
        ["optimizer..lr=0.1", "key.path=value"],
    ),
    (
        "--set value not YAML",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--set", "model.hidden_sizes=[8"],
        ["--set model.hidden_sizes", "not valid YAML"],
    ),
    (
        "--set an infinite learning rate",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--set", "optimizer.lr=.inf"],
        ["c.yaml", "optimizer.lr", "not a finite number"],
    ),
    (
        "unknown option",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--learning-rate", "3"],
        ["No such option", "--learning-rate"],
    ),
    ("gradcheck: negative --eps", lambda t, r: ["gradcheck", "--eps", "-1"], ["--eps", "must be > 0"]),
    # ---- config files: where they are, what bytes they hold, and YAML that tries to run code
    (
        "config: python/object/apply",
        lambda t, r: [
            "train",
            write(t / "c.yaml", f"data: !!python/object/apply:builtins.open ['{t / MARKER}', w]\n"),
        ],
        ["c.yaml (line 1)", "!!python/object/apply:builtins.open", "not allowed"],
    ),
    (
        "config: python/name at the top",
        lambda t, r: ["train", write(t / "c.yaml", "!!python/name:os.system\n")],
        ["c.yaml (line 1)", "!!python/name:os.system", "not allowed"],
    ),
    (
        "config: an alias that contains itself",
        lambda t, r: ["train", write(t / "c.yaml", "data: {dataset: xor}\nmodel: &m {kind: mlp, x: *m}\n")],
        ["c.yaml (line 2)", "contains it"],
    ),
    (
        "config: a billion laughs",
        lambda t, r: ["train", write(t / "c.yaml", _laughs())],
        ["c.yaml", "expands to more than 100,000 values"],
    ),
    (
        "config: a key given twice",
        lambda t, r: [
            "train",
            write(t / "c.yaml", "data: {dataset: xor}\ntraining: {epochs: 1}\ntraining: {epochs: 50}\n"),
        ],
        ["c.yaml (line 3)", "'training' appears twice (lines 2 and 3)"],
    ),
    (
        "config: nested too deeply",
        lambda t, r: ["train", write(t / "c.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")],
        ["c.yaml", "nested too deeply"],
    ),
    (
        "config: a number beyond a double",
        lambda t, r: ["train", write(t / "c.yaml", GOOD.replace("lr: 0.05", "lr: 1e400"))],
        ["c.yaml", "optimizer.lr (line 3)", "inf is not a finite number"],
    ),
    (
        "config: not UTF-8",
        lambda t, r: ["train", write(t / "c.yaml", b"data: {dataset: xor}\n# caf\xe9\n")],
        ["c.yaml", "not UTF-8", "line 2"],
    ),
    (
        "config: a NUL byte",
        lambda t, r: ["train", write(t / "c.yaml", b"data: {dataset: xor}\x00\n")],
        ["c.yaml (line 1, column 21)", "U+0000"],
    ),
    (
        "config: a folder",
        lambda t, r: ["train", write(t / "c.yaml" / "x", "").parent],
        ["c.yaml", "is a folder"],
    ),
    (
        "config: two documents",
        lambda t, r: ["train", write(t / "c.yaml", GOOD + "---\nseed: 1\n")],
        ["c.yaml (line 5, column 1)", "not valid YAML", "another document"],
    ),
    # ---- --out
    (
        "--out: an existing file",
        lambda t, r: ["train", write(t / "c.yaml", GOOD), "--out", write(t / "taken", "mine")],
        ["taken", "not a folder"],
    ),
    (
        "--out: a folder holding files",
        lambda t, r: [
            "train",
            write(t / "c.yaml", GOOD),
            "--out",
            write(t / "taken" / "notes.txt", "x").parent,
        ],
        ["taken", "already holds files", "--overwrite"],
    ),
]


def _npz_bytes(arrays: dict) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _save(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _truncate(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:200])
    return path


def _without(run: Path, *names: str) -> Path:
    for name in names:
        (run / name).unlink()
    return run


def _edit_config(run: Path, old: str, new: str) -> Path:
    text = (run / "config.yaml").read_text()
    assert old in text
    (run / "config.yaml").write_text(text.replace(old, new))
    return run


def _laughs() -> str:
    """Ten levels of ten aliases each: 10¹⁰ values once expanded, a few hundred bytes as text."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


assert len(BAD_INPUTS) >= 30 and len({b[0] for b in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize("label, setup, fragments", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_a_message_and_changes_nothing(tmp_path, trained, label, setup, fragments):
    args = setup(tmp_path, trained)
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    flat = " ".join(result.output.split())  # rich wraps long messages
    for fragment in fragments:
        assert " ".join(str(fragment).split()) in flat, f"{fragment!r} not in:\n{result.output}"
    assert snapshot(tmp_path) == before, "a refused input changed or created files"
    assert not (tmp_path / MARKER).exists()


# ---------------------------------------------------------------------------- the payloads work


def test_the_malicious_payloads_would_run_if_loaded_unsafely(tmp_path):
    """The table's pickles and YAML do create the marker under an unsafe loader, so its 'marker absent'
    checks mean something."""
    marker = tmp_path / MARKER
    np.savez(tmp_path / "evil.npz", X=np.array([Evil(marker)], dtype=object))
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as z:
        z["X"]
    assert marker.exists()
    marker.unlink()
    yaml.unsafe_load(f"data: !!python/object/apply:builtins.open ['{marker}', w]\n")
    assert marker.exists()


# ---------------------------------------------------------------------------- behaviour around errors


def test_data_paths_are_relative_to_the_config_file_not_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")  # beside the shell, not the config
    config = config_for(tmp_path, "{path: d.csv, validation: 0.0}")
    monkeypatch.chdir(tmp_path)
    result = invoke("train", config, "--out", tmp_path / "out")
    assert result.exit_code == 2 and str(tmp_path / "cfg" / "d.csv") in " ".join(result.output.split())
    shutil.move(tmp_path / "d.csv", tmp_path / "cfg" / "d.csv")
    assert invoke("train", config, "--out", tmp_path / "out", "-q").exit_code == 0


def test_overwrite_removes_only_nncli_files(tmp_path):
    config = write(tmp_path / "c.yaml", GOOD)
    out = tmp_path / "run"
    assert invoke("train", config, "--out", out, "-q").exit_code == 0
    write(out / "notes.txt", "my notes")
    write(out / ".checkpoint.npz.abc123.tmp", b"half a checkpoint from a killed run")
    write(out / "predictions.csv", "prediction\n0\n")
    result = invoke("train", config, "--out", out, "-q", "--overwrite", "--set", "training.epochs=1")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "my notes"
    assert not (out / ".checkpoint.npz.abc123.tmp").exists() and not (out / "predictions.csv").exists()
    assert json.loads((out / "summary.json").read_text())["steps"] == 5


def test_a_config_name_cannot_place_the_run_outside_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("../escape", "/tmp/abs", "a/b c"):
        config = write(tmp_path / "c.yaml", f"name: '{name}'\n{GOOD}")
        result = invoke("train", config, "-q", "--json", "--set", "training.epochs=1")
        assert result.exit_code == 0, result.output
        run_dir = Path(json.loads(result.output)["run_dir"])
        assert run_dir.resolve().parent == (tmp_path / "runs").resolve(), run_dir


def test_divergence_exits_3_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    config = write(
        tmp_path / "c.yaml",
        """
        data: {dataset: sine, samples: 100}
        model: {kind: mlp, hidden_sizes: [8]}
        optimizer: {name: sgd, lr: 1.0e+6}
        training: {epochs: 5, batch_size: 16, checkpoint_every: 1}
        """,
    )
    out = tmp_path / "run"
    result = invoke("train", config, "--out", out, "-q")
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert "Traceback" not in flat
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    step = int(summary["message"].split(" at step ")[1].split(";")[0])
    assert f"at step {step}" in flat and "lower learning rate" in flat and "clip_grad_norm" in flat
    ckpt = load_npz(out / "checkpoint.npz")
    assert json.loads(str(ckpt["meta"]))["step"] == step - 1  # the last step that stayed finite
    assert all(np.all(np.isfinite(v)) for k, v in ckpt.items() if k.startswith(("param/", "optim/")))
    assert not (out / "final.npz").exists()


def test_a_refused_checkpoint_keeps_its_bytes_and_the_run_its_metrics(tmp_path, trained):
    run = edit_checkpoint(trained, tmp_path, lambda a: {**a, "param/layers.0.weight": np.ones((3, 3))})
    before = snapshot(run)
    for _ in range(2):  # refused every time, never "repaired" by a write
        assert invoke("train", "--resume", run).exit_code == 2
    assert snapshot(run) == before


# ---------------------------------------------------------------------------- needs changes elsewhere


def test_evaluate_refuses_labels_the_model_has_no_output_for(tmp_path, trained):
    data = write(tmp_path / "d.csv", "x1,x2,y\n1,2,0\n3,4,1\n5,6,2\n")
    result = invoke("evaluate", clone(trained, tmp_path), "--data", data)
    assert result.exit_code == 2 and "label 2 is not one of the model's classes (0, 1)" in result.output


def test_evaluate_refuses_data_with_another_number_of_features(tmp_path, trained):
    np.savez(tmp_path / "d.npz", X=np.ones((2, 3)), y=np.array([0, 1]))
    result = invoke("evaluate", clone(trained, tmp_path), "--data", tmp_path / "d.npz")
    assert result.exit_code == 2 and "(samples, 2)" in result.output


def test_evaluate_names_the_feature_columns_a_csv_lacks(tmp_path, trained):
    data = write(tmp_path / "d.csv", "a,b,y\n1,2,0\n4,5,1\n")
    result = invoke("evaluate", clone(trained, tmp_path), "--data", data)
    assert result.exit_code == 2 and "no column 'x1'; columns: a, b, y" in result.output


def test_gradcheck_refuses_a_nan_eps():
    result = invoke("gradcheck", "--eps", "nan", "--only", "layer:linear")
    assert result.exit_code == 2 and "--eps" in result.output


def test_a_negative_seed_is_a_config_error(tmp_path):
    result = invoke("train", write(tmp_path / "c.yaml", "seed: -1\n" + GOOD), "--out", tmp_path / "o")
    assert result.exit_code == 2 and "seed" in result.output


def test_a_dataset_too_large_for_memory_is_a_user_error(tmp_path):
    config = write(tmp_path / "c.yaml", GOOD.replace("samples: 100", "samples: 2000000000"))
    result = invoke("train", config, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "data.samples: 2,000,000,000 samples of xor" in result.output
    assert "of memory" in result.output and "use fewer samples" in result.output


def test_a_growing_schedule_diverges_instead_of_crashing(tmp_path):
    config = write(tmp_path / "c.yaml", GOOD + "schedule: {name: exponential, gamma: 1e300}\n")
    result = invoke("train", config, "--out", tmp_path / "o", "-q")
    assert result.exit_code == 3 and "diverged" in result.output


def test_every_bundled_config_is_refused_or_accepted_without_a_traceback(configs, tmp_path):
    """Sanity: the table's helpers do not make good input look bad."""
    for path in sorted(configs.rglob("*.yaml")):
        result = invoke("config", "validate", path)
        assert result.exit_code == 0, (path, result.output)
    assert os.listdir(tmp_path) == []


def test_batch_norm_with_batches_of_one_is_a_config_error(tmp_path):
    config = write(
        tmp_path / "c.yaml", GOOD.replace("hidden_sizes: [8]", "hidden_sizes: [8], norm: batch_norm")
    )
    result = invoke("train", config, "--out", tmp_path / "o", "--set", "training.batch_size=1")
    assert result.exit_code == 2 and "batch_size" in result.output


# ---------------------------------------------------------------------------- numerics at ±1e4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_softmax_and_log_softmax_are_exact_at_1e4(dtype):
    from nncli.engine.activations import log_softmax, sigmoid, softmax

    x = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(x)
        p = softmax(np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4]], dtype=dtype))
        logp = log_softmax(np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4]], dtype=dtype))
    # σ(x) = eˣ/(1 + eˣ) for x < 0, 1/(1 + e⁻ˣ) otherwise, in exact arithmetic then rounded
    expected = [math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v)) for v in x.tolist()]
    np.testing.assert_allclose(s, expected, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
    assert s.dtype == dtype and s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_array_equal(p, np.array([[1, 0, 0], [0.5, 0.5, 0]], dtype=dtype))
    np.testing.assert_allclose(
        logp, [[0, -1e4, -2e4], [-math.log(2), -math.log(2), -2e4 - math.log(2)]], rtol=1e-7
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_and_cross_entropy_are_finite_and_exact_at_1e4(dtype):
    from nncli.engine.losses import LOSSES

    bce = LOSSES.get("bce_with_logits")()
    z = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = bce.forward(z, np.array([1, 0, 0, 1], dtype=dtype))
        grad = bce.backward()
    assert loss == 5e3  # per sample 0, 0, 1e4, 1e4: the confidently wrong ones cost |z|
    np.testing.assert_array_equal(grad.ravel(), np.array([0, 0, 0.25, -0.25], dtype=dtype))

    ce = LOSSES.get("cross_entropy")()
    logits = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ce.forward(logits, np.array([1, 1]))
        grad = ce.backward()
    assert loss == 1e4  # (2e4 + 0) / 2
    np.testing.assert_array_equal(grad, np.array([[0.5, -0.5], [0, 0]], dtype=dtype))


def test_losses_at_large_logits_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    from nncli.engine.losses import LOSSES

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 5)) * 1e4
    labels = rng.integers(0, 5, size=64)
    ce = LOSSES.get("cross_entropy")()
    t = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    ref.backward()
    assert ce.forward(logits, labels) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(ce.backward(), t.grad.numpy(), rtol=1e-10, atol=1e-300)

    z, y = logits[:, :1], rng.integers(0, 2, size=(64, 1)).astype(float)
    bce = LOSSES.get("bce_with_logits")()
    t = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y))
    ref.backward()
    assert bce.forward(z, y) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(bce.backward(), t.grad.numpy(), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", ACTIVATIONS.names())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_activation_stays_finite_at_1e4(name, dtype):
    layer = ACTIVATIONS.get(name)()
    x = np.array([[-1e4, -30.0, 0.0, 30.0, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer.forward(x)
        g = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g)), (y, g)
    assert y.dtype == dtype and g.dtype == dtype


# ---------------------------------------------------------------------------- loading never runs code

BUILTINS_THAT_RUN_CODE = {"eval", "exec", "compile"}  # as bare names: model.eval() is another thing
UNSAFE_CALLS = {"unsafe_load", "full_load", "import_module"}


def test_the_package_never_evaluates_input_or_unpickles():
    """No eval/exec, no dynamic import of a computed name outside nncli, no unsafe YAML loader, no
    pickle, and every np.load says allow_pickle=False: a static check over nncli's source, so a new
    loader cannot slip in."""
    import ast

    import nncli

    problems = []
    for path in sorted(Path(nncli.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            where = f"{path.name}:{node.lineno}"
            constant_args = all(isinstance(a, ast.Constant) for a in node.args)
            # the lazy CLI table and the public face import nncli's own modules by a name built on a
            # constant "nncli." prefix (an f-string): nothing outside the package can be reached that way
            inside_nncli = bool(node.args) and (
                isinstance(first := node.args[0], ast.JoinedStr)
                and isinstance(first.values[0], ast.Constant)
                and str(first.values[0].value).startswith("nncli.")
            )
            if isinstance(func, ast.Name) and name in BUILTINS_THAT_RUN_CODE:
                problems.append(f"{where}: {name}()")
            elif name in UNSAFE_CALLS and not (name == "import_module" and (constant_args or inside_nncli)):
                problems.append(f"{where}: {name}()")
            elif name == "__import__" and not constant_args:
                problems.append(f"{where}: __import__ of a computed name")
            elif owner == "pickle" or (owner == "yaml" and name == "load"):
                problems.append(f"{where}: {owner}.{name}()")
            elif owner in ("np", "numpy") and name == "load":
                safe = any(
                    k.arg == "allow_pickle" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in node.keywords
                )
                if not safe:
                    problems.append(f"{where}: np.load without allow_pickle=False")
    assert not problems, problems
