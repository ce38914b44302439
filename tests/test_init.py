"""`nncli init` writes a commented starter config that validates (schema and loader) and trains."""

import json

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.json_schema import config_schema

runner = CliRunner()


@pytest.mark.parametrize(
    ("model", "dataset"),
    [("neuron", None), ("mlp", None), ("transformer", None), ("mlp", "sine"), ("transformer", "parity")],
)
def test_each_starter_validates_and_trains(tmp_path, model, dataset):
    path = tmp_path / "start.yaml"
    args = ["init", "-o", str(path), "--model", model] + (["--dataset", dataset] if dataset else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=nncli.schema.json\n")
    assert "  lr: " in text and "# Learning rate; > 0 (PyTorch: lr)." in text  # comments from the schema
    jsonschema.validate(yaml.safe_load(text), config_schema())
    run = ["train", str(path), "--set", "training.steps=3", "-o", str(tmp_path / "run"), "--json"]
    result = runner.invoke(app, run)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "completed"


def test_init_refuses_to_overwrite_and_names_bad_choices(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("mine\n")
    result = runner.invoke(app, ["init", "-o", str(path)])
    assert result.exit_code == 2 and "already exists" in result.output and path.read_text() == "mine\n"
    assert runner.invoke(app, ["init", "-o", str(path), "--overwrite"]).exit_code == 0
    result = runner.invoke(
        app, ["init", "-o", str(tmp_path / "t.yaml"), "--model", "transformer", "--dataset", "xor"]
    )
    assert result.exit_code == 2 and "a transformer trains on sequence data" in result.output
    result = runner.invoke(app, ["init", "-o", str(tmp_path / "t.yaml"), "--dataset", "spiralz"])
    assert result.exit_code == 2 and "did you mean 'spirals'?" in result.output
    assert not (tmp_path / "t.yaml").exists()
