"""`nncli export`: for every model kind and variant, in both dtypes, the ONNX graph (onnxruntime and
onnx.reference), the generated PyTorch module and the safetensors file reproduce nncli's own eval-mode
predictions on the run's validation data; and every kind of bad input exits 2 with what and where.

Differences are measured relative to the largest output: max|ours − nncli| / max|nncli| ≤ 1e-10 in
float64 and ≤ 1e-5 in float32. Labels must agree exactly, in float32 except where nncli's top two logits
are within the tolerance (a near-tie may fall either way in rounding).
"""

import importlib.util
import json
import shutil
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import safetensors.numpy
import safetensors.torch
import torch
import yaml
from conftest import train_config
from onnx.reference import ReferenceEvaluator
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.loading import dump_config
from nncli.datasets import generate
from nncli.engine.activations import ACTIVATIONS
from nncli.engine.layers import LAYERS
from nncli.engine.transformer import POOLINGS
from nncli.export import FORMATS, export_run
from nncli.export.onnx_graph import EMITTERS
from nncli.export.pytorch_format import POOLING, TORCH_LAYERS
from nncli.export.source import load_source
from nncli.rundir.predict import predictions

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}
TABULAR = {"dataset": "spirals", "samples": 80}
TRAINING = {"steps": 6, "batch_size": 16, "log_every": 3}


def mlp(**model):
    return {"model": {"kind": "mlp", "hidden_sizes": [6, 5], **model}}


def transformer(data, **model):
    return {
        "data": data,
        "model": {"kind": "transformer", "d_model": 8, "n_heads": 2, "n_layers": 1, **model},
    }


# One config per model kind and variant the exporters must handle; each runs in float64 and float32.
CASES = {
    **{f"mlp-{name}": mlp(activation=name) for name in ACTIVATIONS},
    "mlp-layer_norm": mlp(activation="gelu", norm="layer_norm"),
    "mlp-batch_norm-dropout": mlp(activation="relu", norm="batch_norm", dropout=0.3),
    "mlp-regression-output_activation": {
        **mlp(output_activation="tanh"),
        "data": {"dataset": "sine", "samples": 80},
    },
    "mlp-bce-unstandardized": {
        **mlp(hidden_sizes=[4]),
        "data": {"dataset": "xor", "samples": 80, "standardize": False},
        "loss": "bce_with_logits",
    },
    "neuron": {
        "data": {"dataset": "gaussian_blobs", "samples": 80, "centers": 2},
        "model": {"kind": "neuron", "activation": "sigmoid"},
        "loss": "mse",
    },
    "transformer-tokens-causal-per_position": transformer(
        {"dataset": "reverse", "samples": 60, "seq_len": 5, "vocab": 6}, n_layers=2, causal=True
    ),
    "transformer-tokens-sinusoidal-post_norm-mean": transformer(
        {"dataset": "modular_addition", "samples": 60, "p": 5},
        norm_first=False,
        positional="sinusoidal",
        pooling="mean",
        activation="relu",
    ),
    "transformer-tokens-causal-post_norm-first": transformer(
        {"dataset": "parity", "samples": 60, "seq_len": 4},
        n_heads=4,
        norm_first=False,
        causal=True,
        pooling="first",
        dropout=0.1,
    ),
    "transformer-vectors-regression-sinusoidal": transformer(
        {"dataset": "sum", "samples": 60, "seq_len": 4}, positional="sinusoidal"
    ),
}
RUNS = [(name, dtype) for name in CASES for dtype in TOLERANCE]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{n}-{d}" for n, d in RUNS])
def exported(request, tmp_path_factory):
    """A few training steps of the case, exported in every format; (run_dir, dtype)."""
    name, dtype = request.param
    folder = tmp_path_factory.mktemp(f"{name}-{dtype}")
    config = {"seed": 0, "dtype": dtype, "data": TABULAR, "training": TRAINING, **CASES[name]}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    train_config(folder / "config.yaml", folder / "run")
    for fmt in FORMATS:
        export_run(folder / "run", fmt, overwrite=True)  # pytorch writes model.safetensors too
    return folder / "run", dtype


def expected(run_dir):
    source = load_source(run_dir)
    X = source.run.data.val.X
    return X, predictions(source.run, X)


def relative(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def assert_matches(got: dict, want: dict, dtype: str) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name].shape == value.shape, name
        if name == "label":
            logits = np.sort(want["logits"], axis=-1)
            near_tie = logits[..., -1] - logits[..., -2] <= TOLERANCE[dtype] * np.max(np.abs(logits))
            assert np.array_equal(got[name][~near_tie], value[~near_tie])
        else:
            assert got[name].dtype == value.dtype, name
            assert relative(got[name], value) <= TOLERANCE[dtype], name


def test_onnx_runs_in_onnxruntime_and_the_reference_evaluator_as_nncli_predicts(exported):
    run_dir, dtype = exported
    path = run_dir / "model.onnx"
    onnx.checker.check_model(str(path), full_check=True)
    X, want = expected(run_dir)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert_matches(dict(zip(names, session.run(None, {"input": X}))), want, dtype)
    reference = ReferenceEvaluator(str(path))
    assert_matches(dict(zip(reference.output_names, reference.run(None, {"input": X}))), want, dtype)


def test_onnx_metadata_carries_the_config_and_the_data_names(exported):
    run_dir, _ = exported
    meta = {p.key: p.value for p in onnx.load(str(run_dir / "model.onnx")).metadata_props}
    source = load_source(run_dir)
    assert meta["nncli.config"] == dump_config(source.run.config)
    assert json.loads(meta["nncli.features"]) == list(source.features)
    train = source.run.data.train
    classes = None if train.n_classes is None else list(range(train.n_classes))
    assert json.loads(meta["nncli.classes"]) == classes


def test_safetensors_round_trips_bit_for_bit_in_numpy_and_torch(exported):
    run_dir, _ = exported
    path = run_dir / "model.safetensors"
    source = load_source(run_dir)
    want = {**source.run.params.state_dict(), **dict(source.run.model.named_buffers())}
    as_numpy, as_torch = safetensors.numpy.load_file(path), safetensors.torch.load_file(path)
    assert set(as_numpy) == set(as_torch) == set(want)
    for name, value in want.items():
        for got in (as_numpy[name], as_torch[name].numpy()):
            assert got.dtype == value.dtype and np.array_equal(got, value), name
    with safetensors.safe_open(path, "np") as f:
        assert f.metadata()["nncli.config"] == dump_config(source.run.config)


def test_the_generated_pytorch_module_reproduces_nncli(exported):
    run_dir, dtype = exported
    spec = importlib.util.spec_from_file_location(f"export_{run_dir.parent.name}", run_dir / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Model().load()  # the model.safetensors beside it
    assert not model.training
    X, want = expected(run_dir)
    with torch.no_grad():
        out = model(torch.from_numpy(X)).numpy()
    key = "logits" if "logits" in want else "prediction"
    assert out.dtype == want[key].dtype and out.shape == want[key].shape
    assert relative(out, want[key]) <= TOLERANCE[dtype]


@pytest.mark.parametrize("name, cls", LAYERS.items())
def test_every_registered_layer_has_an_onnx_and_a_pytorch_form(name, cls):
    assert cls in EMITTERS and cls in TORCH_LAYERS


@pytest.mark.parametrize("name, cls", POOLINGS.items())
def test_every_pooling_has_a_pytorch_form_and_an_export_case(name, cls):
    assert cls in POOLING
    assert name == "none" or any(c["model"].get("pooling") == name for c in CASES.values())


# ------------------------------------------------------------------------------------------ the CLI

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["export", *map(str, args)])


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xor")
    config = {"data": {"dataset": "xor", "samples": 40}, "model": {"kind": "mlp", "hidden_sizes": [4]}}
    (folder / "config.yaml").write_text(yaml.safe_dump({**config, "training": TRAINING}))
    train_config(folder / "config.yaml", folder / "run")
    return folder / "run"


def copy_run(xor_run, tmp_path):
    return shutil.copytree(xor_run, tmp_path / "run")


def test_cli_writes_each_format_and_replaces_only_with_overwrite(xor_run, tmp_path):
    out = tmp_path / "m.onnx"
    result = invoke(xor_run, "--format", "onnx", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and out.is_file()
    again = invoke(xor_run, "--format", "onnx", "-o", out)
    assert again.exit_code == 2 and f"{out}: already exists; pass --overwrite" in again.output
    assert invoke(xor_run, "--format", "onnx", "-o", out, "--overwrite").exit_code == 0
    result = invoke(xor_run, "-f", "pytorch", "-o", tmp_path / "net.py")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "net.py").is_file() and (tmp_path / "net.safetensors").is_file()


def test_pytorch_takes_the_weights_safetensors_wrote_but_no_other_file(xor_run, tmp_path):
    run_dir = copy_run(xor_run, tmp_path)
    assert invoke(run_dir, "-f", "safetensors").exit_code == 0
    result = invoke(run_dir, "-f", "pytorch")  # model.safetensors holds exactly these weights: kept
    assert result.exit_code == 0, result.output
    (run_dir / "model.py").unlink()
    shutil.copy(run_dir / "init.npz", run_dir / "best.npz")
    assert invoke(run_dir, "-f", "safetensors", "--weights", "best", "--overwrite").exit_code == 0
    result = invoke(run_dir, "-f", "pytorch")  # other weights now: refused, nothing written
    assert result.exit_code == 2
    assert "model.safetensors: already exists; pass --overwrite" in " ".join(result.output.split())
    assert not (run_dir / "model.py").exists()


RUN, EMPTY, MISSING, NO_BEST = "run", "empty", "missing", "no-best"


@pytest.mark.parametrize(
    "where, args, message",
    [
        (EMPTY, ["-f", "onnx"], "empty: not a run directory (no config.yaml)"),
        (MISSING, ["-f", "onnx"], "missing: no such run directory"),
        (RUN, ["-f", "onx"], "unknown export format 'onx' (did you mean 'onnx'?)"),
        (RUN, ["-f", "onnx", "--weights", "bset"], "unknown weights 'bset' (did you mean 'best'?)"),
        (NO_BEST, ["-f", "onnx", "--weights", "best"], "keeps no best weights (best.npz)"),
        (RUN, ["-f", "onnx", "-o", "/no/such/dir/m.onnx"], "the folder /no/such/dir does not exist"),
    ],
)
def test_cli_bad_input_exits_2_with_what_and_where(xor_run, tmp_path, where, args, message):
    (tmp_path / EMPTY).mkdir()
    shutil.copytree(xor_run, tmp_path / NO_BEST)
    (tmp_path / NO_BEST / "best.npz").unlink()  # as a run without validation data leaves it
    result = invoke(xor_run if where == RUN else tmp_path / where, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_a_run_without_weights_is_refused(xor_run, tmp_path):
    run_dir = copy_run(xor_run, tmp_path)
    for name in ("final.npz", "checkpoint.npz"):
        (run_dir / name).unlink()
    result = invoke(run_dir, "-f", "safetensors")
    assert result.exit_code == 2
    assert "has neither final.npz nor checkpoint.npz" in " ".join(result.output.split())


def test_best_weights_are_exported_when_the_run_keeps_them(xor_run, tmp_path):
    run_dir = copy_run(xor_run, tmp_path)
    shutil.copy(run_dir / "init.npz", run_dir / "best.npz")  # any parameter file of the run will do
    assert invoke(run_dir, "-f", "safetensors", "--weights", "best").exit_code == 0
    exported = safetensors.numpy.load_file(run_dir / "model.safetensors")
    with np.load(run_dir / "init.npz") as init:
        assert set(exported) == set(init.files)
        assert all(np.array_equal(exported[k], init[k]) for k in init.files)
    meta = safetensors.safe_open(run_dir / "model.safetensors", "np").metadata()
    assert meta["nncli.weights"] == "best"


def test_data_json_names_travel_with_the_export(tmp_path):
    data = generate("xor", samples=40, seed=0)  # trained from a CSV with named columns and text labels
    lines = [f"{a!r},{b!r},{('no', 'yes')[k]}" for (a, b), k in zip(data.X.tolist(), data.y.tolist())]
    (tmp_path / "d.csv").write_text("a,b,label\n" + "\n".join(lines) + "\n")
    config = {"data": {"path": "d.csv", "target": "label"}, "model": {"kind": "mlp", "hidden_sizes": [4]}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**config, "training": TRAINING}))
    run_dir = tmp_path / "run"
    trained = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--out", str(run_dir), "-q"])
    assert trained.exit_code == 0, trained.output
    assert invoke(run_dir, "-f", "onnx").exit_code == 0
    assert invoke(run_dir, "-f", "pytorch").exit_code == 0
    meta = {p.key: p.value for p in onnx.load(str(run_dir / "model.onnx")).metadata_props}
    assert json.loads(meta["nncli.features"]) == ["a", "b"]
    assert json.loads(meta["nncli.classes"]) == ["no", "yes"]
    assert meta["nncli.target"] == "label"
    text = (run_dir / "model.py").read_text()
    assert 'FEATURES = ["a", "b"]' in text and 'CLASSES = ["no", "yes"]' in text


def test_a_missing_extra_says_how_to_install_it(xor_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    result = invoke(xor_run, "-f", "onnx", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2
    assert "export needs onnx, which is not installed: pip install 'nncli[export]'" in result.output
    assert not (tmp_path / "m.onnx").exists()
