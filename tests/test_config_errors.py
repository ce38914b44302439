"""Config errors name what the user wrote: the `--set` override at fault, or the file's line, with a
did-you-mean for misspelled keys, names and values; steps and epochs are alternatives."""

import json
import textwrap

import pytest
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.loading import apply_overrides, load_config

runner = CliRunner()

CONFIG = """
data: {dataset: spirals, samples: 90}
model: {kind: mlp, hidden_sizes: [8], activation: tanh}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16}
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.lrr=1", "--set optimizer.lrr=1: unknown key 'lrr' in optimizer (did you mean 'lr'?)"),
        (
            "model.hiden_sizes=[4]",
            "--set model.hiden_sizes=[4]: unknown key 'hiden_sizes' in model (did you mean 'hidden_sizes'?)",
        ),
        (
            "model.activation=tanhh",
            "--set model.activation=tanhh: unknown activation 'tanhh' (did you mean 'tanh'?); choose from: "
            "identity,",
        ),
        (
            "model.norm=layernorm",
            "--set model.norm=layernorm: unknown norm 'layernorm' (did you mean 'layer_norm'?)",
        ),
        ("optimizer.name=adma", "--set optimizer.name=adma: unknown name 'adma' (did you mean 'adam'?)"),
        (
            "data.dataset=spiral",
            "--set data.dataset=spiral: unknown dataset 'spiral' (did you mean 'spirals'?)",
        ),
        ("optimiser.lr=1", "--set optimiser.lr=1: unknown key 'optimiser' (did you mean 'optimizer'?)"),
        ("data.arms=x", "--set data.arms=x: Input should be a valid integer"),
        (
            "model={kind: mlp, hiden: 3}",
            "--set model={kind: mlp, hiden: 3}: model.hiden: unknown key 'hiden' in model",
        ),
    ],
)
def test_set_errors_name_the_override_not_a_line_of_the_file(config, override, message):
    result = runner.invoke(app, ["config", "validate", str(config), "--set", override])
    assert result.exit_code == 2
    assert message in result.output
    assert "(line" not in result.output


@pytest.mark.parametrize(
    ("yaml_line", "message"),
    [
        (
            "model: {kind: mlp, hiden_sizes: [3]}",
            "model.hiden_sizes (line 3): unknown key 'hiden_sizes' in model (did you mean 'hidden_sizes'?)",
        ),
        (
            "model: {kind: mlp, activation: tanhh}",
            "model.activation (line 3): unknown activation 'tanhh' (did you mean 'tanh'?)",
        ),
        (
            "model: {kind: mlp, norm: layernorm}",
            "model.norm (line 3): unknown norm 'layernorm' (did you mean 'layer_norm'?)",
        ),
        (
            "model: {kind: transformer, positional: learnt}",
            "unknown positional 'learnt' (did you mean 'learned'?)",
        ),
        (
            "model: {kind: mlp}\ntraining: {epochs: 1, early_stopping: {patiense: 3}}",
            "training.early_stopping.patiense (line 4): "
            "unknown key 'patiense' in training.early_stopping (did you mean 'patience'?)",
        ),
    ],
)
def test_file_errors_suggest_the_key_or_value_meant(tmp_path, yaml_line, message):
    path = tmp_path / "bad.yaml"
    training = "" if "training" in yaml_line else "\ntraining: {epochs: 1}"
    path.write_text(f"seed: 0\ndata: {{dataset: xor}}\n{yaml_line}{training}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}: " in result.output and message in result.output


def test_steps_on_an_epochs_config_just_works_and_the_last_one_wins(config, tmp_path):
    cfg, _ = load_config(config, ["training.steps=7"])
    assert cfg.training.steps == 7 and cfg.training.epochs is None
    cfg, _ = load_config(config, ["training.steps=7", "training.epochs=3"])
    assert cfg.training.epochs == 3 and cfg.training.steps is None
    result = runner.invoke(
        app, ["train", str(config), "--set", "training.steps=5", "-o", str(tmp_path / "run"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total_steps"] == 5


def test_both_in_one_file_is_still_an_error(tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("data: {dataset: xor}\ntraining: {epochs: 1, steps: 3}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "not both" in result.output


def test_overrides_leave_the_input_alone():
    raw = {"training": {"epochs": 2}}
    assert apply_overrides(raw, ["training.steps=9"]) == {"training": {"steps": 9}}
    assert raw == {"training": {"epochs": 2}}
