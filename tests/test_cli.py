"""The command line through typer's CliRunner: each command, and bad input of every kind (exit 2)."""

import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from nncli.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [8]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16}
"""


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "evaluate", "predict", "gradcheck", "config", "datasets", "compare-optimizers"):
        assert command in result.output


def test_train_writes_a_run_and_prints_a_summary(tmp_path):
    result = invoke("train", write(tmp_path, GOOD), "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "completed" in result.output and "run directory" in result.output
    assert "step 10 epoch" in result.output  # plain lines when not a terminal
    assert (tmp_path / "run" / "summary.json").exists()


def test_train_json_summary_and_set_override(tmp_path):
    result = invoke(
        "train", write(tmp_path, GOOD), "--out", tmp_path / "run", "--json", "--set", "training.epochs=1"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["steps"] == summary["total_steps"] == 5  # 80 training samples / 16
    assert "epochs: 1" in (tmp_path / "run" / "config.yaml").read_text()


def test_train_refuses_to_clobber_an_existing_run(tmp_path):
    config = write(tmp_path, GOOD)
    assert invoke("train", config, "--out", tmp_path / "run", "-q").exit_code == 0
    before = (tmp_path / "run" / "final.npz").read_bytes()
    result = invoke("train", config, "--out", tmp_path / "run", "-q")
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (tmp_path / "run" / "final.npz").read_bytes() == before
    assert invoke("train", config, "--out", tmp_path / "run", "-q", "--overwrite").exit_code == 0


def test_resume_refuses_a_finished_run_and_keeps_its_files(tmp_path):
    config = write(tmp_path, GOOD)
    invoke("train", config, "--out", tmp_path / "run", "-q")
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    result = invoke("train", "--resume", tmp_path / "run", "--json")
    assert result.exit_code == 2, result.output
    assert "the run is finished (completed at step" in result.output and "training.epochs" in result.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before


def test_evaluate_and_predict(tmp_path):
    invoke("train", write(tmp_path, GOOD), "--out", tmp_path / "run", "-q")
    result = invoke("evaluate", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["data"] == "validation set" and 0.0 <= report["accuracy"] <= 1.0
    inputs = write(tmp_path, "x2,x1\n0.5,0.25\n-0.5,0.5\n", "inputs.csv")
    result = invoke("predict", tmp_path / "run", inputs, "-o", tmp_path / "pred.csv")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "x2,x1,prediction,p_0,p_1" and len(lines) == 3
    assert lines[1].startswith("0.5,0.25,")


def test_gradcheck_all_components_pass_and_json():
    result = invoke("gradcheck", "--json", "--samples", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["passed"] and len(data["results"]) >= 25


def test_gradcheck_of_a_config(tmp_path):
    config = write(tmp_path, GOOD.replace("hidden_sizes: [8]", "hidden_sizes: [4], norm: layer_norm"))
    result = invoke("gradcheck", config)
    assert result.exit_code == 0, result.output
    assert "1 of 1 components pass" in result.output


def test_gradcheck_fails_with_exit_1_when_the_threshold_is_impossible():
    result = invoke("gradcheck", "--only", "layer:linear", "--threshold", "1e-20")
    assert result.exit_code == 1 and "FAIL" in result.output


def test_config_schema_is_json_schema():
    result = invoke("config", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "data" in schema["properties"] and "optimizer" in schema["properties"]


def test_config_validate(tmp_path):
    result = invoke("config", "validate", write(tmp_path, GOOD), "--show")
    assert result.exit_code == 0 and "valid" in result.output and "betas" in result.output


def test_datasets_list_and_export(tmp_path):
    result = invoke("datasets", "list", "--json")
    assert result.exit_code == 0
    names = {d["name"] for d in json.loads(result.output)}
    assert {"xor", "circles", "moons", "spirals", "sine", "reverse"} <= names
    out = tmp_path / "spirals.npz"
    result = invoke("datasets", "export", "spirals", "--samples", "60", "-p", "arms=4", "-o", out)
    assert result.exit_code == 0, result.output
    with np.load(out) as z:
        assert z["X"].shape == (60, 2) and set(z["y"]) == {0, 1, 2, 3}


BAD_CONFIGS = [
    (
        "typo in a key",
        "data: {dataset: xor}\ntraining: {epochs: 1, bach_size: 4}\n",
        "training.bach_size (line 2)",
    ),
    (
        "unknown top-level key",
        "data: {dataset: xor}\ntraining: {epochs: 1}\noptimiser: {}\n",
        "optimiser (line 3)",
    ),
    ("wrong type", "data: {dataset: xor}\ntraining: {epochs: many}\n", "training.epochs (line 2)"),
    (
        "negative learning rate",
        "data: {dataset: xor}\noptimizer: {name: sgd, lr: -0.1}\ntraining: {epochs: 1}\n",
        "optimizer.lr (line 2)",
    ),
    (
        "zero hidden size",
        "data: {dataset: xor}\nmodel: {kind: mlp, hidden_sizes: [8, 0]}\ntraining: {epochs: 1}\n",
        "model.hidden_sizes.1",
    ),
    (
        "unknown optimizer",
        "data: {dataset: xor}\noptimizer: {name: adamm}\ntraining: {epochs: 1}\n",
        "optimizer",
    ),
    ("unknown model kind", "data: {dataset: xor}\nmodel: {kind: cnn}\ntraining: {epochs: 1}\n", "model"),
    (
        "field of another optimizer",
        "data: {dataset: xor}\noptimizer: {name: sgd, betas: [0.9, 0.99]}\ntraining: {epochs: 1}\n",
        "optimizer.betas",
    ),
    ("unknown dataset", "data: {dataset: xorr}\ntraining: {epochs: 1}\n", "data"),
    (
        "unknown activation",
        "data: {dataset: xor}\nmodel: {kind: mlp, activation: relu6}\ntraining: {epochs: 1}\n",
        "model.activation",
    ),
    ("no training budget", "data: {dataset: xor}\ntraining: {}\n", "training"),
    ("both epochs and steps", "data: {dataset: xor}\ntraining: {epochs: 1, steps: 3}\n", "not both"),
    (
        "heads do not divide",
        "data: {dataset: reverse}\nmodel: {kind: transformer, d_model: 10, n_heads: 3}\n"
        "training: {epochs: 1}\n",
        "divisible",
    ),
    (
        "cross-entropy on regression",
        "data: {dataset: sine}\nloss: cross_entropy\ntraining: {epochs: 1}\n",
        "loss.name",
    ),
    ("not YAML", "data: {dataset: xor\ntraining: [\n", "not valid YAML"),
    ("not a mapping", "- just\n- a list\n", "YAML mapping"),
    (
        "python tag",
        "data: !!python/object/apply:os.system ['echo pwned']\ntraining: {epochs: 1}\n",
        "not allowed",
    ),
    (
        "validation fraction 1",
        "data: {dataset: xor, validation: 1.0}\ntraining: {epochs: 1}\n",
        "data.validation",
    ),
    ("bad dtype", "dtype: float16\ndata: {dataset: xor}\ntraining: {epochs: 1}\n", "dtype"),
    ("missing data file", "data: {path: nowhere.csv}\ntraining: {epochs: 1}\n", "nowhere.csv"),
    ("data file of the wrong kind", "data: {path: data.txt}\ntraining: {epochs: 1}\n", "data.path"),
    (
        "neuron on 3 classes",
        "data: {dataset: spirals}\nmodel: {kind: neuron}\ntraining: {epochs: 1}\n",
        "model.kind",
    ),
    (
        "mlp on sequences",
        "data: {dataset: reverse}\nmodel: {kind: mlp}\ntraining: {epochs: 1}\n",
        "model.kind",
    ),
]


@pytest.mark.parametrize("label, text, fragment", BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_config_exits_2_with_the_field_path(tmp_path, label, text, fragment):
    result = invoke("train", write(tmp_path, text), "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_missing_config_file_exits_2(tmp_path):
    result = invoke("train", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "no such config file" in result.output


def test_bad_set_override_exits_2(tmp_path):
    result = invoke("train", write(tmp_path, GOOD), "--set", "optimizer.lr")
    assert result.exit_code == 2 and "key.path=value" in result.output
    result = invoke("train", write(tmp_path, GOOD), "--set", "optimizer.lr=-1")
    assert result.exit_code == 2 and "optimizer.lr" in result.output


def test_resume_of_a_folder_that_is_not_a_run_exits_2(tmp_path):
    result = invoke("train", "--resume", tmp_path)
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_internal_error_exits_1_without_traceback(monkeypatch, tmp_path):
    import nncli.rundir.directory

    def boom(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(nncli.rundir.directory, "new_run", boom)
    result = invoke("train", write(tmp_path, GOOD))
    assert result.exit_code == 1 and "internal error" in result.output and "--debug" in result.output


def test_attention_draws_each_head_of_a_transformer_run(tmp_path, configs):
    out = tmp_path / "run"
    overrides = [
        "data.samples=200",
        "training.epochs=1",
        "model.n_layers=1",
        "model.d_model=16",
        "model.n_heads=2",
    ]
    assert (
        invoke(
            "train",
            configs / "transformer-reverse.yaml",
            "--out",
            out,
            "-q",
            *[a for o in overrides for a in ("--set", o)],
        ).exit_code
        == 0
    )
    result = invoke("attention", out, "--sample", 3)
    assert result.exit_code == 0, result.output
    assert "layer 0, head 0" in result.output and "layer 0, head 1" in result.output
    assert "queries" in result.output
    bad = invoke("attention", out, "--head", 5)
    assert bad.exit_code == 2 and "--head: the model has 2 heads" in bad.output


def test_attention_of_an_mlp_run_exits_2(tmp_path):
    invoke("train", write(tmp_path, GOOD), "--out", tmp_path / "run", "-q")
    result = invoke("attention", tmp_path / "run")
    assert result.exit_code == 2 and "need a transformer" in result.output
