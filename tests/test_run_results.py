"""What a run reports, and what it keeps: the best metric and the metric at the best loss, the interval
mean of the training loss and the penalty, best and final weights, restore_best, continuing a finished
run, the confusion matrix, a closed standard output, and the list of runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.loading import load_config
from nncli.engine import metrics
from nncli.fileio import load_npz
from nncli.rundir.directory import new_run, resumed_run
from nncli.training.events import StepEnd
from nncli.views.reporter import summary_panel

runner = CliRunner()

SPIRALS = """
seed: 2
data: {dataset: spirals, samples: 240}
model: {kind: mlp, hidden_sizes: [16], dropout: 0.1}
optimizer: {name: adam, lr: 0.2}  # high enough that val_loss rises again before the end
training: {epochs: 12, batch_size: 32, log_every: 1, eval_every: 1}
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def train(tmp_path, name, text=SPIRALS, *extra):
    config = tmp_path / f"{name}.yaml"
    config.write_text(textwrap.dedent(text))
    result = invoke("train", config, "--out", tmp_path / name, "-q", *extra)
    assert result.exit_code == 0, result.output
    return tmp_path / name


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def spirals(tmp_path_factory):
    return train(tmp_path_factory.mktemp("spirals"), "run")


def test_the_best_metric_and_the_metric_at_the_best_loss_are_two_numbers(spirals):
    logged, s = rows(spirals), summary(spirals)
    at_best_loss = min(logged, key=lambda r: r["val_loss"])
    best_metric = max(logged, key=lambda r: r["val_metric"])
    assert s["best_val_loss"] == at_best_loss["val_loss"] and s["best_step"] == at_best_loss["step"]
    assert s["val_metric_at_best_loss"] == at_best_loss["val_metric"]
    assert s["best_val_metric"] == best_metric["val_metric"]
    assert s["best_metric_step"] == min(
        r["step"] for r in logged if r["val_metric"] == best_metric["val_metric"]
    )
    console = Console(file=io.StringIO(), width=120)
    console.print(summary_panel(s))
    panel = console.file.getvalue()
    assert "val accuracy at best loss" in panel and f"(step {s['best_metric_step']})" in panel


def test_the_interval_mean_is_the_mean_of_the_steps_logged_in_between(spirals, tmp_path):
    every = train(tmp_path, "every5", SPIRALS.replace("log_every: 1", "log_every: 5"))
    each = {r["step"]: r["data_loss"] for r in rows(spirals)}
    for r in rows(every):
        first = (r["step"] - 1) // 5 * 5 + 1
        expected = np.mean([each[s] for s in range(first, r["step"] + 1)])
        assert r["data_loss_mean"] == pytest.approx(expected, rel=1e-12)
        assert r["data_loss"] == each[r["step"]]
    assert all(r["penalty"] == 0 and r["data_loss_mean"] == r["data_loss"] for r in rows(spirals))


def test_the_penalty_is_the_regularisation_of_the_step(tmp_path):
    run = train(tmp_path, "l2", SPIRALS + "regularization: {l2: 0.01}\n")
    first = rows(run)[0]
    weights = load_npz(run / "init.npz")  # step 1's penalty is that of the initial weights
    by_hand = 0.01 * sum(float(np.sum(v**2)) for k, v in weights.items() if k.endswith("weight"))
    assert first["penalty"] == pytest.approx(by_hand, rel=1e-12)
    assert first["train_loss"] == pytest.approx(first["data_loss"] + by_hand, rel=1e-12)


def test_best_npz_holds_the_weights_at_the_lowest_val_loss(spirals, tmp_path):
    step = summary(spirals)["best_step"]
    assert step < summary(spirals)["steps"]  # otherwise best and final coincide and prove nothing
    shorter = train(tmp_path, "short", SPIRALS.replace("epochs: 12", f"epochs: null, steps: {step}"))
    best, final = load_npz(spirals / "best.npz"), load_npz(spirals / "final.npz")
    again = load_npz(shorter / "final.npz")
    assert all(np.array_equal(best[k], again[k]) for k in best)
    assert not all(np.array_equal(best[k], final[k]) for k in best)


def test_evaluate_and_predict_take_weights_best_or_final(spirals, tmp_path):
    s = summary(spirals)
    best = json.loads(invoke("evaluate", spirals, "--weights", "best", "--json").output)
    final = json.loads(invoke("evaluate", spirals, "--json").output)
    assert best["loss"] == pytest.approx(s["best_val_loss"], rel=1e-12) and best["weights"] == "best"
    assert final["loss"] == pytest.approx(s["final_val_loss"], rel=1e-12)
    inputs = tmp_path / "in.csv"
    inputs.write_text("x1,x2\n0.3,0.1\n-0.2,0.4\n")
    for weights in ("best", "final"):
        out = tmp_path / f"{weights}.csv"
        assert invoke("predict", spirals, inputs, "--weights", weights, "-o", out).exit_code == 0
    assert (tmp_path / "best.csv").read_text() != (tmp_path / "final.csv").read_text()
    wrong = invoke("evaluate", spirals, "--weights", "last")
    assert wrong.exit_code == 2 and "--weights: 'last' is not one of final, best" in wrong.output


def test_weights_best_of_a_run_without_validation_is_refused(tmp_path):
    run = train(tmp_path, "noval", SPIRALS.replace("samples: 240}", "samples: 240, validation: 0}"))
    result = invoke("evaluate", run, "--weights", "best")
    assert result.exit_code == 2 and "has no best.npz" in result.output


def test_restore_best_ends_early_stopping_on_the_best_weights(tmp_path):
    plain = train(tmp_path, "plain", _early())
    restored = train(tmp_path, "restored", _early(restore_best=True))
    assert summary(plain)["status"] == summary(restored)["status"] == "early_stopped"
    assert "restored the weights of step" in summary(restored)["message"]
    best, final = load_npz(restored / "best.npz"), load_npz(restored / "final.npz")
    assert all(np.array_equal(best[k], final[k]) for k in best)
    plain_best, plain_final = load_npz(plain / "best.npz"), load_npz(plain / "final.npz")
    assert not all(np.array_equal(plain_best[k], plain_final[k]) for k in plain_best)
    assert all(np.array_equal(best[k], plain_best[k]) for k in best)  # the same run up to the stop
    final_eval = json.loads(invoke("evaluate", restored, "--json").output)
    assert final_eval["loss"] == pytest.approx(summary(restored)["best_val_loss"], rel=1e-12)


def _early(restore_best: bool = False) -> str:
    extra = ", restore_best: true" if restore_best else ""
    return SPIRALS.replace(
        "training: {epochs: 12, batch_size: 32, log_every: 1, eval_every: 1}",
        "training: {epochs: 200, batch_size: 32, log_every: 1, eval_every: 1, "
        f"early_stopping: {{patience: 3}}{extra}}}",
    )


def test_restore_best_without_early_stopping_is_a_config_error(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(SPIRALS.replace("eval_every: 1}", "eval_every: 1, restore_best: true}"))
    result = invoke("train", config, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "restore_best acts when early stopping ends a run" in result.output


def test_continuing_a_finished_run_equals_the_longer_run(tmp_path):
    text = SPIRALS.replace("log_every: 1", "log_every: 4")  # 12 epochs of 6 steps: 72, on the log grid
    short = train(tmp_path, "short", text)
    longer = train(tmp_path, "long", text.replace("epochs: 12", "epochs: 20"))
    result = invoke("train", "--resume", short, "--set", "training.epochs=20", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["steps"] == 120
    a, b = load_npz(short / "final.npz"), load_npz(longer / "final.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a)

    def strip(r):
        return {k: v for k, v in r.items() if k != "time_s"}

    assert [strip(r) for r in rows(short)] == [strip(r) for r in rows(longer)]
    assert "epochs: 20" in (short / "config.yaml").read_text()
    shorter = invoke("train", "--resume", short, "--set", "training.epochs=2")
    assert shorter.exit_code == 2 and "is at step 120, outside this run's 0..12 steps" in shorter.output


def test_continuing_is_refused_for_a_cosine_schedule_over_the_run_and_for_other_keys(tmp_path):
    run = train(tmp_path, "cos", SPIRALS + "schedule: {name: cosine}\n")
    before = (run / "final.npz").read_bytes()
    cosine = invoke("train", "--resume", run, "--set", "training.epochs=20")
    assert cosine.exit_code == 2 and "cosine anneals over the run's length" in cosine.output
    other = invoke("train", "--resume", run, "--set", "optimizer.lr=0.5")
    assert other.exit_code == 2 and "continuing a run changes only its length" in other.output
    assert (run / "final.npz").read_bytes() == before and "epochs: 12" in (run / "config.yaml").read_text()


def test_the_confusion_matrix_and_per_class_scores_by_hand():
    target = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    labels = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1])
    matrix = metrics.confusion_matrix(labels, target, 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 2, 0], [1, 1, 2]]  # counted by hand: rows true
    scores = metrics.per_class_scores(matrix)
    assert scores["precision"].tolist() == pytest.approx([2 / 3, 2 / 4, 2 / 2])
    assert scores["recall"].tolist() == pytest.approx([2 / 3, 2 / 2, 2 / 4])
    assert scores["f1"].tolist() == pytest.approx([2 / 3, 2 * 0.5 / 1.5, 2 * 0.5 / 1.5])
    assert scores["support"].tolist() == [3, 2, 4]
    never = metrics.per_class_scores(metrics.confusion_matrix(np.zeros(3, int), np.array([0, 0, 1]), 3))
    assert never["precision"].tolist() == [2 / 3, 0, 0] and never["f1"][2] == 0  # no division by zero


def test_evaluate_prints_the_confusion_matrix_of_its_predictions(spirals):
    report = json.loads(invoke("evaluate", spirals, "--json").output)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.sum() == report["samples"] and report["classes"] == [0, 1, 2]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(report["accuracy"], rel=1e-12)
    table = invoke("evaluate", spirals).output
    assert "confusion matrix" in table and "precision" in table and "recall" in table


def test_a_closed_standard_output_stops_the_run_with_a_checkpoint(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(SPIRALS.replace("epochs: 12", "epochs: 2000"))  # 12,000 lines: far over a pipe's buffer
    proc = subprocess.Popen(
        [sys.executable, "-m", "nncli", "train", config, "--out", tmp_path / "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("step 1 ")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait() == 141
    assert "standard output closed: stopped at step" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1
    s = summary(tmp_path / "run")
    assert s["status"] == "interrupted" and s["steps"] < 12000
    resumed = invoke("train", "--resume", tmp_path / "run", "--json")
    assert resumed.exit_code == 0 and json.loads(resumed.output)["steps"] == 12000


def test_runs_lists_run_directories_newest_first(spirals, tmp_path):
    first = train(tmp_path, "first")
    second = train(tmp_path, "second", SPIRALS.replace("epochs: 12", "epochs: 1"))
    (tmp_path / "unrelated").mkdir()
    listed = json.loads(invoke("runs", tmp_path, "--json").output)
    assert [e["path"] for e in listed] == [str(second), str(first)]
    assert listed[0]["status"] == "completed" and listed[0]["steps"] == 6
    assert listed[1]["best_val_metric"] == summary(first)["best_val_metric"]
    table = invoke("runs", tmp_path).output
    assert "first" in table and "second" in table and "accuracy" in table
    missing = invoke("runs", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "no such folder" in missing.output


def test_best_weights_survive_a_stop_and_resume(spirals, tmp_path):
    """The checkpoint carries the best weights: a run stopped part-way and resumed keeps the same best.npz
    (and restore_best would restore the same weights) as the run that was never stopped."""
    config = tmp_path / "c.yaml"
    config.write_text(SPIRALS.replace("eval_every: 1}", "eval_every: 1, checkpoint_every: 7}"))
    cfg, _ = load_config(config)
    run, directory = new_run(cfg, tmp_path / "stopped")
    directory.start()
    run.trainer.subscribe(directory)
    best_step = summary(spirals)["best_step"]

    def stop_after_the_best(event):
        if isinstance(event, StepEnd) and event.step == best_step + 1:
            run.trainer.stop_requested = "interrupted"

    run.trainer.subscribe(stop_after_the_best)
    run.trainer.run()
    directory.close()  # releases the run's lock, as the command does when it ends
    assert summary(tmp_path / "stopped")["status"] == "interrupted"
    reference = load_npz(spirals / "best.npz")
    back, held = resumed_run(tmp_path / "stopped")  # the best weights come back from the checkpoint
    held.close()
    assert back.trainer.state.best_step == best_step
    assert all(np.array_equal(back.trainer.best[k], reference[k]) for k in reference)
    resumed = invoke("train", "--resume", tmp_path / "stopped", "--json")
    assert resumed.exit_code == 0 and json.loads(resumed.output)["best_step"] == best_step
    again = load_npz(tmp_path / "stopped" / "best.npz")
    assert all(np.array_equal(again[k], reference[k]) for k in reference)
