"""`nncli explain`: the notes' worked example number for number (by hand, finite differences, PyTorch),
the notes' optimizer updates against the engine's step, the layer table, the linear collapse, the L1/L2
paths and `model.init_values` with its errors."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.loading import load_config, validate
from nncli.explain import layers, neuron, regularization, torch_values
from nncli.explain.updates import NOTES_UPDATES
from nncli.training.build import build_run

runner = CliRunner()


def default_run(**changes):
    return build_run(validate({**neuron.DEFAULT_CONFIG, **changes}), neuron.default_dataset())


def rows(step) -> dict:
    return {q.symbol: q for q in (*step.forward, *step.backward)}


def test_the_default_step_equals_the_notes_formulas_by_hand():
    step = neuron.explain_neuron(default_run()).steps[0]
    q = rows(step)
    x, w, b, target = np.array([1.0, 2.0]), np.array([0.5, -1.0]), 0.1, 1.0
    a = 0.5 * 1.0 + (-1.0) * 2.0
    d = a + b
    y = 1 / (1 + math.exp(-d))
    E = (target - y) ** 2
    dE_dy = 2 * (y - target)  # n = 1: the mean's 2/n is 2
    dy_dd = y * (1 - y)
    dE_dd = dE_dy * dy_dd
    expected = {"a": a, "d": d, "y": y, "E": E, "∂E/∂y": dE_dy, "∂y/∂d": dy_dd, "∂E/∂d": dE_dd}
    expected |= {"∂d/∂w₀": x[0], "∂d/∂w₁": x[1], "∂d/∂b": 1.0}
    expected |= {"∂E/∂w₀": dE_dd * x[0], "∂E/∂w₁": dE_dd * x[1], "∂E/∂b": dE_dd}
    for symbol, value in expected.items():
        assert q[symbol].engine == pytest.approx(value, rel=1e-14, abs=1e-15), symbol
    assert q["∂E/∂y"].notes == pytest.approx(-(target - y), rel=1e-14)  # the notes' form, without 2/n
    assert "2/n" in q["∂E/∂y"].note
    lr = 0.5
    new = {u.name: u.terms[-1].engine for u in step.update}
    assert new == pytest.approx({"w₀": w[0] - lr * dE_dd, "w₁": w[1] - lr * 2 * dE_dd, "b": b - lr * dE_dd})


def test_engine_finite_differences_and_torch_agree():
    import torch  # CI installs the torch extra

    record = neuron.explain_neuron(default_run(), steps=3)
    assert record.torch_version == torch.__version__
    for step in record.steps:
        for q in step.forward:
            assert q.torch == pytest.approx(q.engine, rel=1e-13, abs=1e-15), q.symbol
        for q in step.backward:
            assert q.fd == pytest.approx(q.engine, rel=1e-8, abs=1e-10), q.symbol
            assert q.torch == pytest.approx(q.engine, rel=1e-12, abs=1e-15), q.symbol


@pytest.mark.parametrize("name", NOTES_UPDATES.names())
def test_every_printed_update_is_the_engines_step_and_the_notes_formula(name):
    run = default_run()
    record = neuron.explain_neuron(run, steps=3, optimizer=name)
    last = {u.name: u.terms[-1].engine for u in record.steps[-1].update}
    w = run.params.params["layers.0.weight"].data[0]
    assert last == {"w₀": w[0], "w₁": w[1], "b": run.params.params["layers.0.bias"].data[0]}
    for step in record.steps:
        for update in step.update:
            for term in update.terms:
                if name == "momentum" and step.step == 1:  # PyTorch's first step takes v = G, the notes'
                    v = {"v": update.grad}  # average (1 − β)G; the step after uses the engine's v
                    engine = v.get(term.name, update.before - 0.5 * update.grad)
                    notes = 0.1 * update.grad if term.name == "v" else update.before - 0.5 * 0.1 * update.grad
                    assert (term.engine, term.notes) == pytest.approx((engine, notes), rel=1e-12)
                else:
                    assert term.notes == pytest.approx(term.engine, rel=1e-12, abs=1e-15), (step.step, term)
    assert ("bias" in record.differs) == (name == "adam")


def test_the_cli_prints_the_worked_example_and_json():
    result = runner.invoke(app, ["explain", "--no-torch"])
    assert result.exit_code == 0, result.output
    for text in ("a + b", "f(d)(1 − f(d))", "∂E/∂w₁", "-0.2545889363", "2/n", "0.62729447"):
        assert text in result.output
    result = runner.invoke(app, ["explain", "--json", "--steps", "2", "--optimizer", "adam", "--sample", "1"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert [s["sample"] for s in record["steps"]] == [1, 1] and record["optimizer"] == "adam"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sample", "4"], "--sample: choose 0..3"),
        (["--optimizer", "adma"], "(did you mean 'adam'?)"),
        (["--steps", "0"], "--steps: give at least 1"),
        (["--set", "regularization.l2=0.1"], "the notes' unregularised step"),
        (["--set", "model.init_values={layers.0.weigth: [[1, 2]]}"], "did you mean 'layers.0.weight'"),
        (["--set", "model.init_values={layers.0.weight: [[1, 2, 3]]}"], "has shape (1, 3); the model's"),
        (["--set", "model.init_values={layers.0.bias: ['1/x']}"], "layers.0.bias[0]: '1/x' is not a number"),
        (["--set", "model.init_values={layers.0.weight: [[1], [2, 3]]}"], "rows of different lengths"),
    ],
)
def test_bad_input_exits_2_saying_what_and_where(args, message):
    result = runner.invoke(app, ["explain", "--no-torch", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_init_values_from_a_file_take_fractions_and_name_the_line(tmp_path):
    path = tmp_path / "exercise.yaml"
    path.write_text(
        "data: {dataset: gaussian_blobs, samples: 20, centers: 2}\nloss: mse\n"
        "model:\n  kind: neuron\n  activation: sigmoid\n"
        '  init_values: {layers.0.weight: [["1/2", "-3/4"]], layers.0.bias: ["1/10"]}\n'
        "training: {steps: 1}\n"
    )
    run = build_run(load_config(path)[0])
    assert run.params.state_dict()["layers.0.weight"].tolist() == [[0.5, -0.75]]
    assert run.params.state_dict()["layers.0.bias"].tolist() == [0.1]
    path.write_text(path.read_text().replace('"1/10"', '"1/0"'))
    result = runner.invoke(app, ["explain", str(path)])
    assert result.exit_code == 2
    assert "model.init_values (line 6)" in result.output and "'1/0' is not a number" in result.output


def test_a_layer_table_matches_finite_differences_and_the_loss_gradient():
    cfg, _ = load_config("configs/xor.yaml")
    table = layers.layer_table(cfg)
    assert [r.name for r in table.layers] == ["layers.0", "layers.1", "layers.2"]
    assert table.max_rel_error < 1e-6
    run = build_run(cfg)
    run.trainer.loss.forward(run.model.forward(run.trainer.X[:8]), run.trainer.y[:8])
    g = run.trainer.loss.backward()
    assert table.layers[-1].grad_shape == g.shape and table.layers[-1].grad_norm == pytest.approx(
        np.linalg.norm(g), rel=1e-12
    )


def test_a_config_too_large_to_explain_exits_2():
    result = runner.invoke(app, ["explain", "configs/xor.yaml", "--set", "model.hidden_sizes=[1000, 1000]"])
    assert result.exit_code == 2 and "explain takes models up to" in result.output


def test_identity_layers_collapse_to_one_map_at_rounding_level_and_tanh_does_not():
    cfg, _ = load_config("configs/circles-linear.yaml")
    assert layers.is_linear(cfg)
    record = layers.collapse(cfg)
    assert record.linear_gap < 1e-12
    assert record.tanh_gap > 1e-2
    assert np.shape(record.W_eff) == (2, 2) and record.weight_product == "W3·W2·W1"
    result = runner.invoke(app, ["explain", "configs/circles-linear.yaml"])
    assert result.exit_code == 0 and "W_eff" in result.output and "(rounding)" in result.output


def test_only_proximal_l1_lands_a_weight_on_exactly_zero():
    record = regularization.weight_paths()
    assert record.final("L1 (proximal)")[1] == 0.0 and record.final("L1 (proximal)")[0] != 0.0
    for name in ("no regularisation", "L2", "L1 (subgradient)"):
        assert 0.0 not in record.final(name), name
    assert np.linalg.norm(record.final("L2")) < np.linalg.norm(record.final("no regularisation"))
    result = runner.invoke(app, ["explain", "--regularization"])
    assert result.exit_code == 0 and "L1 square" in result.output and "yes" in result.output


def test_each_neuron_map_is_the_first_layers_activation_over_the_plane():
    from nncli.explain.neurons import first_layer_maps, has_neuron_maps

    cfg, _ = load_config("configs/xor.yaml")
    run = build_run(cfg)
    assert has_neuron_maps(run)
    maps = first_layer_maps(run, n=5)
    assert maps.values.shape == (16, 5, 5) and maps.layer == "layers.1"
    xmin, xmax, ymin, ymax = maps.extent
    raw = np.array([[xmax, ymin]])  # column 4, row 0 (row 0 at x₁ min)
    x = run.data.standardizer(raw)
    lin = run.model.layers[0]
    expected = np.tanh(x @ lin.weight.data.T + lin.bias.data)[0]
    assert maps.values[:, 0, 4] == pytest.approx(expected, rel=1e-12)


def test_the_numbers_are_the_engines_own_a_wrong_derivative_shows(monkeypatch):
    from nncli.engine.activations import Sigmoid

    monkeypatch.setattr(Sigmoid, "df", lambda self, x, y: 1.01 * y * (1 - y))
    q = rows(neuron.explain_neuron(default_run()).steps[0])
    assert q["∂y/∂d"].engine == pytest.approx(1.01 * q["∂y/∂d"].fd, rel=1e-8)
    assert q["∂E/∂w₁"].engine != pytest.approx(q["∂E/∂w₁"].fd, rel=1e-3)


def test_the_layer_table_and_collapse_as_json():
    result = runner.invoke(app, ["explain", "configs/circles-linear.yaml", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["layers"]["max_rel_error"] < 1e-6 and record["collapse"]["linear_gap"] < 1e-12
    assert [r["kind"] for r in record["layers"]["layers"]] == ["Linear", "Identity"] * 2 + ["Linear"]


def test_torch_values_are_kept_and_read_back_without_importing_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = neuron.explain_neuron(default_run(), steps=2)
    assert not first.torch_from_cache and len(list(torch_values.cache_dir().glob("*.json"))) == 2
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    second = neuron.explain_neuron(default_run(), steps=2)
    assert second.torch_from_cache
    assert [q.torch for s in second.steps for q in (*s.forward, *s.backward)] == [
        q.torch for s in first.steps for q in (*s.forward, *s.backward)
    ]
    other = neuron.explain_neuron(default_run(optimizer={"name": "sgd", "lr": 0.1}), steps=2)
    assert not other.torch_from_cache  # step 2 starts from other weights: another entry, and no torch
    assert all(q.torch is None for q in other.steps[1].forward)


@pytest.mark.parametrize("damage", ["garbage", "not-a-dict", "strings", "nan"])
def test_a_damaged_cache_entry_is_recomputed(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    good = neuron.explain_neuron(default_run())
    (entry,) = torch_values.cache_dir().glob("*.json")
    text = {"garbage": "{not json", "not-a-dict": "[1, 2]", "strings": '{"a": "x"}', "nan": '{"a": NaN}'}
    entry.write_text(text[damage])
    again = neuron.explain_neuron(default_run())
    assert not again.torch_from_cache
    assert [q.torch for q in again.steps[0].forward] == [q.torch for q in good.steps[0].forward]
    assert json.loads(entry.read_text()) == torch_values._read(entry)  # rewritten whole


def test_a_cache_folder_that_cannot_be_written_costs_nothing_but_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir under a file fails
    record = neuron.explain_neuron(default_run())
    assert not record.torch_from_cache and record.steps[0].forward[0].torch is not None


def test_explain_imports_only_what_it_shows(tmp_path):
    """`nncli explain` with its PyTorch values cached imports neither torch nor the other commands."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = (
        "import sys\nfrom nncli.cli import app\n"
        "try:\n    app(['explain'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('nncli.cli.', 'nncli.compare',"
        " 'nncli.export', 'nncli.rundir'))))"
    )
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)  # fills the cache
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))
    assert loaded == ["nncli.cli.common", "nncli.cli.explain", "nncli.cli.lazy"]
    assert "kept from an earlier run" in out.stdout
