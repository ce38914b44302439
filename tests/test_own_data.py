"""A person's own data through the CLI: text labels, an id column, semicolons, the task and its notice,
columns by name, a separate validation file, predictions with label names, evaluation from another
format, and prediction files whose header fits their rows for every model kind."""

from __future__ import annotations

import csv
import json
import textwrap

import numpy as np
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.loading import load_config, validate
from nncli.datasets import load_file
from nncli.errors import DataError
from nncli.rundir.predict import prediction_table, predictions
from nncli.training.build import build_run

runner = CliRunner()
FRUITS = ("apple", "orange", "grapefruit")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def fruit_csv(path, n=60, sep=";", seed=0):
    """Fruit by weight and diameter: an id column first, text labels last, `sep` between cells."""
    rng = np.random.default_rng(seed)
    lines = [sep.join(["id", "weight_g", "diameter_cm", "fruit"])]
    for i in range(n):
        k = i % 3
        weight = (150, 170, 400)[k] + rng.normal(0, 10)
        diameter = (7.0, 8.5, 12.0)[k] + rng.normal(0, 0.3)
        lines.append(sep.join([f"id{i}", f"{weight:.1f}", f"{diameter:.2f}", FRUITS[k]]))
    path.write_text("\n".join(lines) + "\n")
    return path


def config(tmp_path, data, extra=""):
    path = tmp_path / "fruit.yaml"
    path.write_text(
        textwrap.dedent(f"""
        data: {data}
        model: {{kind: mlp, hidden_sizes: [8]}}
        optimizer: {{name: adam, lr: 0.05}}
        training: {{epochs: 30, batch_size: 16}}
        """)
        + extra
    )
    return path


@pytest.fixture(scope="module")
def fruit_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fruit")
    fruit_csv(tmp / "fruit.csv")
    result = invoke("train", config(tmp, "{path: fruit.csv, drop: [id]}"), "--out", tmp / "run", "-q")
    assert result.exit_code == 0, result.output
    return tmp, result


def test_text_labels_an_id_column_and_semicolons_train(fruit_run):
    tmp, result = fruit_run
    assert "target 'fruit': 3 distinct text values → classification" in result.output
    info = json.loads((tmp / "run" / "data.json").read_text())
    assert info == {
        "task": "classification",
        "task_reason": "target 'fruit': 3 distinct text values → classification",
        "target": "fruit",
        "features": ["weight_g", "diameter_cm"],
        "classes": ["apple", "grapefruit", "orange"],  # sorted
        "delimiter": ";",
    }
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    assert summary["best_val_metric"] >= 0.9  # three well-separated clusters


def test_predict_matches_columns_by_name_and_writes_label_names(fruit_run, tmp_path):
    tmp, _ = fruit_run
    inputs = tmp_path / "new.csv"
    inputs.write_text("diameter_cm,note,weight_g\n12.1,big,405\n7.0,small,148\n")  # another order
    result = invoke("predict", tmp / "run", inputs, "-o", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(rows[0]) == [
        "diameter_cm",
        "note",
        "weight_g",
        "prediction",
        *(f"p_{c}" for c in sorted(FRUITS)),
    ]
    assert [(r["note"], r["prediction"]) for r in rows] == [("big", "grapefruit"), ("small", "apple")]
    assert all(abs(sum(float(r[f"p_{c}"]) for c in FRUITS) - 1) < 1e-12 for r in rows)


def test_predict_refuses_inputs_without_the_feature_columns(fruit_run, tmp_path):
    tmp, _ = fruit_run
    inputs = tmp_path / "new.csv"
    inputs.write_text("a,b\n1,2\n")
    result = invoke("predict", tmp / "run", inputs, "-o", tmp_path / "p.csv")
    assert result.exit_code == 2
    assert (
        "no column 'weight_g', 'diameter_cm'; the model takes the columns weight_g, diameter_cm"
        in result.output
    )
    assert not (tmp_path / "p.csv").exists()


def test_predict_says_where_it_wrote_and_does_not_overwrite(fruit_run, tmp_path):
    tmp, _ = fruit_run
    inputs = tmp_path / "new.csv"
    inputs.write_text("weight_g,diameter_cm\n150,7\n")
    out = tmp / "run" / "predictions.csv"
    out.unlink(missing_ok=True)
    first = invoke("predict", tmp / "run", inputs)
    assert first.exit_code == 0 and f"predictions written to {out}" in first.output
    before = out.read_text()
    inputs.write_text("weight_g,diameter_cm\n400,12\n")
    again = invoke("predict", tmp / "run", inputs)
    assert again.exit_code == 2 and "already exists; pass --overwrite" in again.output
    assert out.read_text() == before
    assert invoke("predict", tmp / "run", inputs, "--overwrite").exit_code == 0
    assert out.read_text() != before


def test_evaluate_from_an_npz_of_a_run_trained_from_a_csv(fruit_run, tmp_path):
    tmp, _ = fruit_run
    data = load_file(tmp / "fruit.csv", drop=["id"])
    names = np.array(data.classes)[data.y]  # labels by name, as a person would save them
    np.savez(tmp_path / "fruit.npz", X=data.X, y=names)
    result = invoke("evaluate", tmp / "run", "--data", tmp_path / "fruit.npz", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples"] == 60 and report["classes"] == ["apple", "grapefruit", "orange"]
    assert sum(map(sum, report["confusion_matrix"])) == 60
    assert [row["support"] for row in report["per_class"]] == [20, 20, 20]


def test_evaluate_refuses_a_label_the_model_does_not_know(fruit_run, tmp_path):
    tmp, _ = fruit_run
    (tmp_path / "d.csv").write_text("weight_g;diameter_cm;fruit\n150;7;apple\n90;5;lemon\n")
    result = invoke("evaluate", tmp / "run", "--data", tmp_path / "d.csv")
    assert result.exit_code == 2
    assert "label lemon is not one of the model's classes (apple, grapefruit, orange)" in result.output


def test_integer_labels_from_one_with_gaps_are_mapped_and_written_back(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,grade\n0.1,1\n0.2,3\n0.3,7\n0.4,3\n")
    data = load_file(path)
    assert data.classes == (1, 3, 7) and data.y.tolist() == [0, 1, 2, 1] and data.n_classes == 3


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_the_delimiter_is_detected(tmp_path, sep):
    data = load_file(fruit_csv(tmp_path / "f.csv", n=6, sep=sep), drop=["id"])
    assert data.delimiter == sep and data.feature_names == ("weight_g", "diameter_cm")
    assert data.X.shape == (6, 2)


def test_a_decimal_comma_is_not_taken_for_a_delimiter(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a;y\n1,5;0\n2,5;1\n")
    with pytest.raises(DataError, match="row 2, column 'a': '1,5' is not a number"):
        load_file(path)


def test_a_given_delimiter_is_used(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x;1\tx;2\ty\n1\t2\t0\n3\t4\t1\n")  # the header holds as many ';' as tabs
    with pytest.raises(DataError, match="row 2 has 1 values, expected 3"):  # detected: ';'
        load_file(path)
    data = load_file(path, delimiter="\t")
    assert data.feature_names == ("x;1", "x;2") and data.X.tolist() == [[1, 2], [3, 4]]


def test_features_pick_and_order_the_input_columns(tmp_path):
    path = fruit_csv(tmp_path / "f.csv", n=6)
    data = load_file(path, features=["diameter_cm", "weight_g"])
    assert data.feature_names == ("diameter_cm", "weight_g") and data.X[0, 1] > 100
    with pytest.raises(DataError, match="no column 'colour'; columns: id, weight_g, diameter_cm, fruit"):
        load_file(path, features=["colour"])
    with pytest.raises(DataError, match="column 'fruit' is the target; it cannot be dropped"):
        load_file(path, target="fruit", drop=["id", "fruit"])


@pytest.mark.parametrize(
    ("text", "task", "expected"),
    [
        ("n,count\n" + "".join(f"{i},{i % 8}\n" for i in range(40)), "auto", "classification"),
        ("n,count\n" + "".join(f"{i},{i % 8}\n" for i in range(40)), "regression", "regression"),
        ("n,k\n" + "".join(f"{i},{i % 25}\n" for i in range(50)), "auto", "regression"),
        ("n,k\n" + "".join(f"{i},{i % 25}\n" for i in range(50)), "classification", "classification"),
        ("n,v\n" + "".join(f"{i},{i / 7}\n" for i in range(10)), "auto", "regression"),
    ],
    ids=["8-counts-auto", "8-counts-regression", "25-classes-auto", "25-classes-override", "real"],
)
def test_the_task_is_guessed_or_overridden(tmp_path, text, task, expected):
    path = tmp_path / "d.csv"
    path.write_text(text)
    data = load_file(path, task=task)
    assert data.task == expected
    if task == "auto":
        assert "→ " + expected in data.task_reason
    else:
        assert data.task_reason == f"data.task: {task}"
    if expected == "classification" and task != "auto":
        assert data.n_classes == 25


def test_the_task_notice_and_override_through_the_cli(tmp_path):
    (tmp_path / "counts.csv").write_text("n,count\n" + "".join(f"{i / 10},{i % 8}\n" for i in range(40)))
    auto = invoke("train", config(tmp_path, "{path: counts.csv}"), "--out", tmp_path / "a", "-q")
    assert auto.exit_code == 0, auto.output
    assert "target 'count': 8 distinct integer values → classification" in auto.output
    override = config(tmp_path, "{path: counts.csv, task: regression}")
    result = invoke("train", override, "--out", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.output
    assert "→" not in result.output and json.loads(result.output)["metric"] == "r2"
    assert json.loads((tmp_path / "b" / "data.json").read_text())["task_reason"] == "data.task: regression"


def test_a_csv_without_a_header_row_is_refused_through_the_cli(tmp_path):
    (tmp_path / "d.csv").write_text("150.0,7.5,apple\n400.0,12.0,grapefruit\n140,7,apple\n")
    result = invoke("train", config(tmp_path, "{path: d.csv}"), "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "d.csv: no header row; row 1 holds numbers (150.0, 7.5)" in result.output
    assert not (tmp_path / "o").exists()


def test_a_separate_validation_file(tmp_path):
    fruit_csv(tmp_path / "train.csv", n=30, seed=1)
    fruit_csv(tmp_path / "val.csv", n=12, seed=2)
    cfg = config(tmp_path, "{path: train.csv, drop: [id], validation_path: val.csv}")
    result = invoke("train", cfg, "--out", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    run = build_run(load_config(tmp_path / "run" / "config.yaml")[0])
    assert run.data.train.n_samples == 30 and run.data.val.n_samples == 12
    assert run.data.val.classes == run.data.train.classes
    evaluated = json.loads(invoke("evaluate", tmp_path / "run", "--json").output)
    assert evaluated["samples"] == 12 and evaluated["data"] == "validation set"


def test_a_changed_data_file_is_refused_when_the_run_is_used(tmp_path):
    fruit_csv(tmp_path / "fruit.csv", n=30)
    assert (
        invoke(
            "train", config(tmp_path, "{path: fruit.csv, drop: [id]}"), "--out", tmp_path / "r", "-q"
        ).exit_code
        == 0
    )
    text = (tmp_path / "fruit.csv").read_text().replace("orange", "lime")
    (tmp_path / "fruit.csv").write_text(text)
    result = invoke("evaluate", tmp_path / "r")
    assert result.exit_code == 2
    assert "the training data now gives another classes" in result.output


# ---- prediction files for every model kind: a header that fits the rows


def _kind_configs():
    tabular = {"data": {"dataset": "spirals", "samples": 30}, "training": {"steps": 2}}
    return {
        "neuron-regression": {
            **tabular,
            "data": {"dataset": "sine", "samples": 30},
            "model": {"kind": "neuron"},
        },
        "mlp-classes": {**tabular, "model": {"kind": "mlp", "hidden_sizes": [4]}},
        "mlp-bce": {
            **tabular,
            "data": {"dataset": "xor", "samples": 30},
            "model": {"kind": "mlp", "hidden_sizes": [4]},
            "loss": "bce_with_logits",
        },
        "transformer-per-position": {
            "data": {"dataset": "reverse", "samples": 30},
            "model": {"kind": "transformer", "d_model": 8, "n_heads": 2, "n_layers": 1},
            "training": {"steps": 2},
        },
        "transformer-pooled": {
            "data": {"dataset": "sum", "samples": 30},
            "model": {"kind": "transformer", "d_model": 8, "n_heads": 2, "n_layers": 1},
            "training": {"steps": 2},
        },
    }


@pytest.mark.parametrize("name", list(_kind_configs()))
def test_every_prediction_row_fits_its_header(name):
    run = build_run(validate(_kind_configs()[name]))
    X = run.data.val.X
    out = run.trainer.predict(run.trainer.X_val)
    header, rows = prediction_table(run, predictions(run, X))
    assert all(len(row) == len(header) for row in rows)
    per_position = out.ndim == 3
    assert len(rows) == (X.shape[0] * X.shape[1] if per_position else X.shape[0])
    assert (header[:2] == ["sample", "position"]) == per_position
    if per_position:  # one row per (sample, position), in order
        assert [(int(r[0]), int(r[1])) for r in rows[: X.shape[1] + 1]] == [
            *((0, p) for p in range(X.shape[1])),
            (1, 0),
        ]


def test_per_position_predictions_through_the_cli(tmp_path):
    cfg = tmp_path / "rev.yaml"
    cfg.write_text(
        "data: {dataset: reverse, samples: 40}\n"
        "model: {kind: transformer, d_model: 8, n_heads: 2, n_layers: 1}\n"
        "training: {steps: 2}\n"
    )
    assert invoke("train", cfg, "--out", tmp_path / "run", "-q").exit_code == 0
    assert invoke("datasets", "export", "reverse", "-o", tmp_path / "rev.npz").exit_code == 0
    result = invoke("predict", tmp_path / "run", tmp_path / "rev.npz", "-o", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    lines = list(csv.reader((tmp_path / "p.csv").open()))
    assert lines[0][:3] == ["sample", "position", "prediction"]
    assert len({len(line) for line in lines}) == 1


def test_the_readme_walk_through_of_a_real_csv(tmp_path):
    """README "Your own data": the commands it shows work on examples/fruit and give what it shows."""
    root = ROOT / "examples" / "fruit"
    readme = (ROOT / "README.md").read_text()
    for command in (
        "nncli train fruit.yaml --out runs/fruit",
        "nncli evaluate runs/fruit",
        "nncli predict runs/fruit new-fruit.csv",
    ):
        assert f"$ {command}" in readme
    run = tmp_path / "fruit"
    trained = invoke("train", root / "fruit.yaml", "--out", run, "-q")
    assert (
        trained.exit_code == 0 and "target 'fruit': 3 distinct text values → classification" in trained.output
    )
    evaluated = json.loads(invoke("evaluate", run, "--json").output)
    assert evaluated["accuracy"] >= 0.9 and evaluated["classes"] == ["apple", "grapefruit", "orange"]
    assert invoke("predict", run, root / "new-fruit.csv", "-o", tmp_path / "p.csv").exit_code == 0
    for row in list(csv.DictReader((tmp_path / "p.csv").open())):
        assert f"{row['id']},{row['weight_g']},{row['diameter_cm']},{row['prediction']}," in readme
