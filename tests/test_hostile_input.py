"""Input a careless or hostile user supplies: numbers without bounds, odd paths, odd .npz archives,
terminal escape sequences, rich markup in names, files that are not nncli's, very wide CSV headers, and
data that changed under a run. Each refusal exits 2 with a message naming what and where and writes
nothing; text from files and arguments is printed as plain, visible text."""

import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from clitools import ENTRY_POINT, SHORT, flat, invoke, snapshot

GOOD = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [8]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16, log_every: 5}
"""
ESC = "\x1b"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def train_on(tmp: Path, config: str) -> list:
    config += "" if "training:" in config else "training: {epochs: 1}\n"
    return ["train", write(tmp / "c.yaml", config), "--out", tmp / "out", "-q"]


def data_train(tmp: Path, name: str, content: str | bytes, extra: str = "") -> list:
    write(tmp / name, content)
    return train_on(tmp, f"data: {{path: {name}{extra}}}\ntraining: {{epochs: 1}}\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    write(root / "c.yaml", GOOD)
    assert invoke("train", root / "c.yaml", "--out", root / "run", "-q").exit_code == 0
    return root / "run"


# ---------------------------------------------------------------------------- .npz archives


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _bomb() -> bytes:
    """A small archive whose member claims to expand to 3.9 GB: its central directory says so."""
    data = bytearray(_zip({"X.npy": _npy(np.ones((4, 2))), "y.npy": _npy(np.array([0, 1, 0, 1]))}))
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 3_900_000_000)
    return bytes(data)


Y4 = np.array([0, 1, 0, 1])

# (id, setup(tmp) -> CLI arguments, fragments the message must contain)
REFUSED = [
    # ---- 7: numbers without bounds
    (
        "an integer of 5,000 digits",
        lambda t: train_on(t, GOOD.replace("[8]", "[" + "9" * 5000 + "]")),
        ["c.yaml (line 3)", "a number of 5,000 digits"],
    ),
    (
        "a hidden size of 1e20",
        lambda t: train_on(t, GOOD.replace("[8]", "[100000000000000000000]")),
        ["model.hidden_sizes.0", "less than or equal to 2147483647"],
    ),
    (
        "ff_mult of 1e11",
        lambda t: train_on(
            t, "data: {dataset: reverse}\nmodel: {kind: transformer, ff_mult: 100000000000}\n"
        ),
        ["model.ff_mult", "less than or equal to 2147483647"],
    ),
    (
        "samples of 1e20 in the file",
        lambda t: train_on(t, GOOD.replace("samples: 100", "samples: 100000000000000000000")),
        ["data.samples (line 2)", "less than or equal to 2147483647"],
    ),
    (
        "a dataset parameter of 1e19",
        lambda t: train_on(t, "data: {dataset: spirals, arms: 10000000000000000000}\n"),
        ["data.arms", "less than or equal to 2147483647"],
    ),
    (
        "hidden sizes of 1e20 via --set",
        lambda t: [*train_on(t, GOOD), "--set", "model.hidden_sizes=[100000000000000000000]"],
        ["model.hidden_sizes.0", "less than or equal to 2147483647"],
    ),
    (
        "datasets export --samples 1e20",
        lambda t: ["datasets", "export", "xor", "--samples", "100000000000000000000", "-o", t / "x.csv"],
        ["data.samples", "less than or equal to 2147483647"],
    ),
    (
        "a model too large for memory",
        lambda t: train_on(t, GOOD.replace("[8]", "[200000, 200000]")),
        ["model:", "parameters and their activations would need about", "use smaller model sizes"],
    ),
    (
        "noise of 1e308",
        lambda t: train_on(t, "data: {dataset: spirals, noise: 1.0e+308}\n"),
        ["generated spirals inputs hold infinite or NaN values", "noise: 1e+308"],
    ),
    (
        "a CSV column of ±1e300",
        lambda t: data_train(t, "d.csv", "a,b,y\n1e300,2,0\n-1e300,4,1\n5,6,0\n1,1,1\n"),
        ["d.csv: column 'a' holds values up to 1e+300", "too large to standardise"],
    ),
    (
        "a regression target of 1e300",
        lambda t: data_train(t, "d.csv", "a,y\n1,0.5\n2,1.5\n3,2.5\n4,1e300\n"),
        ["d.csv: targets reach 1e+300", "in float64 nncli trains on values below 1.3e+154"],
    ),
    (
        "unstandardised inputs of 1e300",
        lambda t: data_train(t, "d.csv", "a,b,y\n1e300,2,0\n-1,4,1\n5,6,0\n1,1,1\n", ", standardize: false"),
        ["d.csv: inputs reach 1e+300"],
    ),
    (
        "a dataset parameter out of range names file, field and line",
        lambda t: train_on(t, "data:\n  dataset: spirals\n  arms: 1\n"),
        ["c.yaml: data.arms (line 3): arms must be at least 2, got 1"],
    ),
    # ---- 8: odd paths
    ("a NUL byte in --out", lambda t: [*train_on(t, GOOD)[:2], "--out", "a\x00b"], ["--out", "null byte"]),
    (
        "a NUL byte in data.path",
        lambda t: train_on(t, 'data: {path: "d\\0.csv"}\n'),
        ["c.yaml", "data.path", "'d\\x00.csv' holds a NUL byte"],
    ),
    (
        "a name longer than the file system allows",
        lambda t: [*train_on(t, GOOD)[:2], "--out", t / ("n" * 300)],
        ["longer than the file system allows", "nnnnnnnn"],
    ),
    (
        "a symlink loop as data.path",
        lambda t: [_loop(t), *train_on(t, "data: {path: loop.csv}\n")][1:],
        ["c.yaml", "data.path", "'loop.csv' is a loop of symbolic links"],
    ),
    (
        "~nosuchuser in data.path",
        lambda t: train_on(t, "data: {path: ~nosuchuser-nncli/d.csv}\n"),
        ["c.yaml", "'~nosuchuser-nncli/d.csv' names an unknown user's home"],
    ),
    (
        "a NUL byte in predict -o",
        lambda t: ["predict", t / "run", write(t / "in.csv", "x1,x2\n0,1\n"), "-o", "p\x00.csv"],
        ["-o", "null byte"],
    ),
    # ---- 9: .npz edge cases
    (
        "npz: zero features",
        lambda t: data_train(t, "d.npz", _npz(X=np.ones((4, 0)), y=Y4)),
        ["d.npz", "0 features"],
    ),
    (
        "npz: zero-length sequences",
        lambda t: data_train(
            t, "d.npz", _npz(X=np.ones((4, 0), dtype=np.int64), y=Y4, vocab_size=np.array(5))
        ),
        ["d.npz", "sequences of length 0"],
    ),
    (
        "npz: a member that is raw pickle bytes",
        lambda t: data_train(t, "d.npz", _zip({"X.npy": pickle.dumps([1, 2]), "y.npy": _npy(Y4)})),
        ["d.npz: array 'X' is raw pickle bytes"],
    ),
    (
        "npz: a truncated member",
        lambda t: data_train(t, "d.npz", _zip({"X.npy": _npy(np.ones((4, 2)))[:-10], "y.npy": _npy(Y4)})),
        ["d.npz: array 'X' is truncated", "promises 64 bytes", "holds 54"],
    ),
    (
        "npz: a zip bomb",
        lambda t: data_train(t, "d.npz", _bomb()),
        ["d.npz: array 'X' would expand", "zip bomb"],
    ),
    # ---- 13: contents of files that are not nncli's
    (
        "a shadow-like file as config",
        lambda t: ["train", write(t / "shadow", "root:$6$saltsalt$" + "H" * 80 + ":19000:0:99999:7:::\n")],
        ["shadow", "unknown key", "root:$6$saltsalt$HHHH"],
    ),
    (
        "a CSV symlinked to a foreign file",
        lambda t: [
            _symlink(t / "d.csv", write(t / "secret.csv", "user:" + "S" * 100 + ",x\n1,2\n3,4\n")),
            *train_on(t, "data: {path: d.csv, target: label}\n"),
        ][1:],
        ["secret.csv", "no column 'label'", "user:SSSS"],
    ),
    # ---- 14: a very wide header
    (
        "a CSV header of 200,000 columns",
        lambda t: data_train(
            t, "d.csv", ",".join(f"c{i}" for i in range(200_000)) + "\n" + "1," * 199_999 + "0\n"
        ),
        ["d.csv", "the header has 200,000 columns", "at most 100,000"],
    ),
    (
        "a duplicate at the end of 50,000 columns",
        lambda t: data_train(
            t, "d.csv", ",".join([f"c{i}" for i in range(50_000)] + ["c7"]) + "\n" + "1," * 50_000 + "0\n"
        ),
        ["d.csv", "'c7' appears twice"],
    ),
]


def _loop(tmp: Path) -> None:
    (tmp / "loop.csv").symlink_to("loop2.csv")
    (tmp / "loop2.csv").symlink_to("loop.csv")


def _symlink(link: Path, target: Path) -> None:
    link.symlink_to(target)


@pytest.mark.parametrize("label, setup, fragments", REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_input_exits_2_naming_what_and_where(tmp_path, trained, label, setup, fragments):
    shutil.copytree(trained, tmp_path / "run")
    args = setup(tmp_path)
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in flat(result.output), f"{fragment!r} not in:\n{result.output}"
    assert snapshot(tmp_path) == before
    assert ESC not in result.output


def test_messages_quote_a_short_excerpt_of_a_foreign_file_never_its_lines(tmp_path):
    secret = "root:$6$saltsalt$" + "H" * 80 + ":19000:0:99999:7:::"
    lines = [f"user{i}:{'p' * 60}:19000:0:99999:7:::" for i in range(30)]
    result = invoke("train", write(tmp_path / "shadow", "\n".join([secret, *lines]) + "\n"))
    assert result.exit_code == 2
    assert secret not in result.output and "H" * 40 not in result.output
    assert "more problems" in result.output and result.output.count("unknown key") <= 10


# ---------------------------------------------------------------------------- 11: escape sequences


@pytest.mark.parametrize(
    "args",
    [
        lambda t: train_on(t, GOOD + '"\\e]0;owned\\a\\e[2J": 1\n'),  # a key that retitles
        lambda t: data_train(t, "d.csv", f"a{ESC}[2J,b,y\n1,2,0\n3,4,1\n", ", target: zz"),  # a CSV header
        lambda t: ["train", write(t / f"c{ESC}[2J.yaml", "data: {dataset: nope}\n")],  # a path
        lambda t: ["evaluate", t / f"r{ESC}]0;x{chr(7)}"],  # an argument
    ],
    ids=["yaml key", "csv header", "config path", "run directory argument"],
)
def test_control_characters_from_files_and_arguments_are_printed_visibly(tmp_path, args):
    result = invoke(*args(tmp_path))
    assert result.exit_code == 2, result.output
    assert ESC not in result.output and chr(7) not in result.output
    assert "\\x1b" in result.output


def test_a_run_name_and_directory_with_escapes_print_visibly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path / "c.yaml", GOOD + 'name: "x\\e]0;t\\a"\n')
    result = invoke("train", config, "--out", f"run{ESC}[2J")
    assert result.exit_code == 0, result.output
    assert ESC not in result.output and chr(7) not in result.output
    assert "x\\x1b]0;t\\x07" in result.output and "run\\x1b[2J" in result.output


# ---------------------------------------------------------------------------- 12: markup in names


def test_rich_markup_in_names_and_paths_is_plain_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path("R[/x]")
    result = invoke("train", write(tmp_path / "c.yaml", GOOD + "name: x[/][/]\n"), "--out", out)
    assert result.exit_code == 0, result.output
    assert "R[/x]" in result.output and "x[/][/]" in result.output
    result = invoke("evaluate", out)
    assert result.exit_code == 0, result.output
    assert "x[/][/]" in result.output
    (tmp_path / "o[").mkdir()
    inputs = write(tmp_path / "in.csv", "x1,x2\n0,1\n")
    result = invoke("predict", out, inputs, "-o", tmp_path / "o[/p].csv")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o[" / "p].csv").exists() and "o[/p].csv" in flat(result.output)
    result = invoke("evaluate", tmp_path / "[bold]nowhere[/]")
    assert result.exit_code == 2 and "[bold]nowhere[/]" in result.output


# ---------------------------------------------------------------------------- data changed under a run


def test_resuming_on_changed_data_is_refused(tmp_path):
    data = write(tmp_path / "d.csv", "a,b,y\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(40)))
    config = write(tmp_path / "c.yaml", "data: {path: d.csv}\ntraining: {epochs: 2, batch_size: 8}\n")
    out = tmp_path / "run"
    assert invoke("train", config, "--out", out, "-q").exit_code == 0
    (out / "config.yaml").write_text((out / "config.yaml").read_text().replace("epochs: 2", "epochs: 4"))
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    data.write_text(data.read_text().replace("\n3,0,1\n", "\n3,2,1\n"))
    before = snapshot(out)
    result = invoke("train", "--resume", out)
    assert result.exit_code == 2, result.output
    assert "d.csv is not the data this run was trained on" in flat(result.output)
    assert snapshot(out) == before


def test_json_output_escapes_every_control_character(tmp_path):
    config = write(tmp_path / "c.yaml", GOOD + 'name: "x\\x9b2J\\e]0;t"\n')  # C1 CSI and an OSC
    result = invoke("train", config, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert "\x9b" not in result.output and ESC not in result.output
    assert json.loads(result.output)["name"] == "x\x9b2J\x1b]0;t"
    data = write(tmp_path / "d\x9b.csv", "x1,x2,y\n0,0,0\n1,1,0\n0,1,1\n")
    result = invoke("evaluate", tmp_path / "run", "--data", data, "--json")
    assert result.exit_code == 0, result.output
    assert "\x9b" not in result.output and json.loads(result.output)["data"] == str(data)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_show_a_character_gets_a_stand_in_not_a_crash(tmp_path, encoding):
    """The tables' box lines and dashes, a Greek letter from the config, the help's ᵀ and √, on an
    encoding without them."""
    config = tmp_path / "c.yaml"
    config.write_text("name: \u03b1-run\n" + SHORT)
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    commands = (["--help"], ["train", config, "-o", tmp_path / "run", "--no-plot"], ["runs", tmp_path])
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-c", ENTRY_POINT, *map(str, command)], capture_output=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode(encoding, "replace")
        assert b"Traceback" not in done.stdout + done.stderr and b"a bug" not in done.stderr
        (done.stdout + done.stderr).decode(encoding)  # all of it shown as the terminal can
