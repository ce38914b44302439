"""Property-based tests: whatever config, YAML or CSV a user writes, `nncli train` either trains (exit 0),
reports divergence (3) or refuses the input with a message (2); it never fails with an internal error (1)
or a traceback."""

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncli.cli import app
from nncli.datasets import DATASETS
from nncli.engine.activations import ACTIVATIONS

runner = CliRunner()
FAST = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure here is a bug, not bad luck
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OUTCOMES = {0: "trained", 2: "refused", 3: "diverged"}

TABULAR = [n for n in DATASETS.names() if DATASETS.get(n).kind == "tabular"]
SEQUENCES = [n for n in DATASETS.names() if DATASETS.get(n).kind == "sequence"]
ACTIVATIONS = ACTIVATIONS.names()
# settings that validate, from timid to wild (a learning rate of 1e6 is valid and diverges)
LR = st.sampled_from([1e-3, 0.01, 0.1, 1.0, 1e6])
FRACTION = st.sampled_from([0.0, 0.5, 0.9, 0.999])
SMALL = st.sampled_from([0.0, 1e-3, 0.1, 1.0])
EPS = st.sampled_from([1e-10, 1e-8, 1.0])
# what a user might put anywhere by mistake
WRONG = st.sampled_from([-1, 0, 1e300, "abc", "", None, True, [], {}, [1, "x"], {"name": "x"}])


def train(config_text: str, *extra: str):
    """Run `nncli train` on the text in a fresh folder; returns the CliRunner result."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_text, encoding="utf-8", errors="surrogateescape")
        return runner.invoke(app, ["train", str(path), "--out", str(Path(tmp) / "run"), "-q", *extra])


def assert_handled(result, config_text: str) -> None:
    assert result.exit_code in OUTCOMES, f"exit {result.exit_code} for:\n{config_text}\n{result.output}"
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if result.exit_code == 2:
        assert result.output.startswith("error: ") and result.output[7:].strip(), result.output


# ---------------------------------------------------------------------------------------------- configs


@st.composite
def optimizers(draw) -> dict:
    name = draw(st.sampled_from(["sgd", "rmsprop", "adagrad", "adam", "adamw"]))
    args = {"name": name, "lr": draw(LR)}
    extra = {
        "sgd": {"momentum": FRACTION, "dampening": SMALL, "nesterov": st.booleans(), "weight_decay": SMALL},
        "rmsprop": {"alpha": FRACTION, "momentum": FRACTION, "centered": st.booleans(), "eps": EPS},
        "adagrad": {"lr_decay": SMALL, "initial_accumulator_value": SMALL, "eps": EPS},
        "adam": {"betas": st.tuples(FRACTION, FRACTION).map(list), "amsgrad": st.booleans(), "eps": EPS},
        "adamw": {"weight_decay": SMALL, "bias_correction": st.booleans()},
    }[name]
    for key, values in extra.items():
        if draw(st.booleans()):
            args[key] = draw(values)
    return args


@st.composite
def models(draw, sequence: bool) -> dict:
    kind = draw(st.sampled_from(["transformer"] if sequence else ["neuron", "mlp", "mlp", "transformer"]))
    model: dict = {"kind": kind, "activation": draw(st.sampled_from(ACTIVATIONS))}
    if kind == "mlp":
        model["hidden_sizes"] = draw(st.lists(st.integers(1, 6), max_size=2))
        model["norm"] = draw(st.sampled_from(["none", "layer_norm", "batch_norm"]))
        model["dropout"] = draw(st.sampled_from([0.0, 0.5]))
    elif kind == "transformer":
        heads = draw(st.sampled_from([1, 2]))
        model.update(d_model=4 * heads, n_heads=heads, n_layers=1, causal=draw(st.booleans()))
        model["norm_first"] = draw(st.booleans())
    return model


@st.composite
def configs(draw) -> dict:
    """Mostly valid configs, from every part of the config space; now and then one value is wrong."""
    sequence = draw(st.integers(0, 3)) == 0
    data = {
        "dataset": draw(st.sampled_from(SEQUENCES if sequence else TABULAR)),
        "samples": draw(st.sampled_from([8, 24, 60])),
        "validation": draw(st.sampled_from([0.0, 0.2, 0.5])),
        "noise": draw(st.sampled_from([0.0, 0.05, 0.2])),
    }
    training = {draw(st.sampled_from(["steps", "epochs"])): draw(st.integers(1, 3))}
    training["batch_size"] = draw(st.sampled_from([0, 1, 8, 1000]))
    if draw(st.booleans()):
        training["clip_grad_norm"] = draw(st.sampled_from([1e-3, 1.0]))
    config = {
        "seed": draw(st.integers(0, 2**32)),
        "dtype": draw(st.sampled_from(["float32", "float64"])),
        "data": data,
        "model": draw(models(sequence)),
        "optimizer": draw(optimizers()),
        "training": training,
    }
    if draw(st.booleans()):
        config["loss"] = draw(st.sampled_from(["mse", "huber", "bce_with_logits", "cross_entropy"]))
    if draw(st.booleans()):
        config["regularization"] = {"l1": draw(SMALL), "l2": draw(SMALL)}
        config["regularization"]["l1_mode"] = draw(st.sampled_from(["subgradient", "proximal"]))
    if draw(st.booleans()):
        config["schedule"] = draw(
            st.sampled_from(
                [
                    {"name": "step", "step_size": 1, "gamma": 0.5},
                    {"name": "exponential", "gamma": 0.9},
                    {"name": "cosine"},
                    {"name": "warmup", "total_iters": 2},
                ]
            )
        )
    if draw(st.integers(0, 3)) == 0:  # one value of the wrong kind, somewhere
        section = draw(st.sampled_from(["data", "model", "optimizer", "training"]))
        config[section][draw(st.sampled_from(sorted(config[section])))] = draw(WRONG)
    return config


@FAST
@given(configs())
def test_random_configs_train_or_are_refused(config):
    text = yaml.safe_dump(config, sort_keys=False)
    assert_handled(train(text), text)


# ---------------------------------------------------------------------------------------------- YAML

GOOD = """\
data: {dataset: xor, samples: 40}
model: {kind: mlp, hidden_sizes: [4]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 1, batch_size: 8}
"""
YAML_SOUP = st.text(alphabet=":{}[]-,&*!|>'\"#%@`?\\ \n\tadtmxyz019.e+", max_size=80)


@st.composite
def mangled(draw) -> str:
    """The good config with a few characters inserted, deleted or replaced by YAML syntax."""
    text = GOOD
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 4)))
        text = text[:i] + draw(YAML_SOUP.filter(lambda s: len(s) <= 4)) + text[j:]
    return text


@FAST
@given(st.one_of(YAML_SOUP, mangled()))
def test_malformed_yaml_is_refused_with_a_message(text):
    assert_handled(train(text), text)


# ---------------------------------------------------------------------------------------------- CSV

CSV_SOUP = st.text(alphabet='0123456789.,-+eEnaifxy \n\r"', max_size=120)


NUMBER_CELLS = st.sampled_from(["0", "1", "2", "-1.5", "3.25", "1e3", " 7 "])
BAD_CELLS = st.sampled_from(["nan", "inf", "", "x", "1e400", "1,2", '"'])


@st.composite
def csv_files(draw) -> bytes:
    """Rows of numbers under a header with now and then a bad cell or a ragged row (often a usable file),
    or character soup, or bytes."""
    good = st.sampled_from(["a,b,y", "a,y", "a,b,c,y"])
    header = draw(st.one_of(good, good, good, st.sampled_from(["y", "a,a,y", "a,,y", "1,2,3", ""])))
    width = header.count(",") + 1
    clean = draw(st.booleans())  # half the files hold numbers only, in rows as wide as the header
    cell = NUMBER_CELLS if clean else st.one_of(NUMBER_CELLS, BAD_CELLS)
    row = st.just(width) if clean else st.integers(width - 1, width + 1)
    rows = draw(
        st.lists(row.flatmap(lambda n: st.lists(cell, min_size=n, max_size=n)), min_size=2, max_size=10)
    )
    kind = draw(st.integers(0, 7))
    if kind <= 5:
        return "\n".join([header, *map(",".join, rows)]).encode("utf-8")
    if kind == 6:
        return (header + "\n" + draw(CSV_SOUP)).encode("utf-8")
    return draw(st.binary(max_size=80))


@FAST
@given(csv_files())
def test_random_csv_trains_or_is_refused(content):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data.csv").write_bytes(content)
        config = Path(tmp) / "config.yaml"
        config.write_text("data: {path: data.csv, validation: 0.0}\ntraining: {steps: 2}\n")
        result = runner.invoke(app, ["train", str(config), "--out", str(Path(tmp) / "run"), "-q"])
    assert_handled(result, repr(content))
