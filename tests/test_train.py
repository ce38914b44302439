"""Training from configs: the example configs learn, resume is bit-identical, the run directory holds
what the README promises."""

import errno
import json

import numpy as np
import pytest
from conftest import train_config

from nncli.config.loading import load_config
from nncli.errors import FileSystemError
from nncli.fileio import load_npz
from nncli.rundir.directory import new_run, resumed_run
from nncli.training.build import build_run
from nncli.training.events import Evaluation
from nncli.views.plots import validation_column

train = train_config


def test_xor_reaches_full_validation_accuracy(configs, tmp_path):
    _, summary = train(configs / "xor.yaml", tmp_path / "run")
    assert summary["status"] == "completed"
    assert summary["final_val_metric"] == 1.0


def test_spirals_three_arms_reach_95_percent(configs, tmp_path):
    _, summary = train(configs / "spirals.yaml", tmp_path / "run", ["training.epochs=100"])
    assert summary["final_val_metric"] >= 0.95


def test_sine_regression_reaches_r2_098(configs, tmp_path):
    _, summary = train(configs / "sine.yaml", tmp_path / "run", ["training.epochs=60"])
    assert summary["metric"] == "r2"
    assert summary["final_val_metric"] >= 0.98


def test_linear_activation_cannot_separate_circles_but_tanh_can(configs, tmp_path):
    _, linear = train(configs / "circles-linear.yaml", tmp_path / "a")
    _, tanh = train(configs / "circles-tanh.yaml", tmp_path / "b")
    assert linear["final_val_metric"] < 0.7
    assert tanh["final_val_metric"] >= 0.98


def test_proximal_l1_gives_exact_zeros_and_l2_does_not(configs, tmp_path):
    _, l1 = train(configs / "l1.yaml", tmp_path / "a")
    _, l2 = train(configs / "l2.yaml", tmp_path / "b")
    assert l1["sparsity"]["exact_zero"] > l1["sparsity"]["weights"] // 2
    assert l2["sparsity"]["exact_zero"] == 0
    final = load_npz(tmp_path / "a" / "final.npz")
    assert (
        sum(int(np.sum(v == 0)) for k, v in final.items() if k.endswith("weight"))
        == l1["sparsity"]["exact_zero"]
    )


def test_run_directory_files_and_metrics(configs, tmp_path):
    out = tmp_path / "run"
    run, summary = train(configs / "xor.yaml", out, ["training.epochs=5", "training.log_every=10"])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "config.yaml",
            "data.json",
            "metrics.jsonl",
            "init.npz",
            "best.npz",
            "final.npz",
            "checkpoint.npz",
            "summary.json",
        ]
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    total = run.trainer.settings.total_steps
    assert [r["step"] for r in rows] == list(range(10, total + 1, 10)) + ([total] if total % 10 else [])
    keys = {
        "step",
        "epoch",
        "train_loss",
        "data_loss",
        "val_loss",
        "val_metric",
        "val_step",
        "lr",
        "grad_norm",
    }
    assert all(set(r) == keys | {"data_loss_mean", "penalty", "time_s"} for r in rows)
    assert all(r["train_loss"] == r["data_loss"] and r["penalty"] == 0 for r in rows)  # no regularisation
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    init = load_npz(out / "init.npz")
    assert init["layers.0.weight"].shape == (16, 2)  # (out_features, in_features)
    assert json.loads((out / "summary.json").read_text())["steps"] == total
    reloaded, _ = load_config(out / "config.yaml")
    assert reloaded == run.config


def test_train_loss_is_data_loss_plus_penalty(configs, tmp_path):
    run, _ = train(configs / "l2.yaml", tmp_path / "run", ["training.epochs=1", "training.log_every=1"])
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    init = load_npz(tmp_path / "run" / "init.npz")
    penalty = 0.01 * sum(float(np.sum(v**2)) for k, v in init.items() if k.endswith("weight"))
    assert row["train_loss"] == pytest.approx(row["data_loss"] + penalty, rel=1e-12)


@pytest.mark.parametrize("config", ["xor.yaml", "batchnorm.yaml", "optimizers/adam.yaml"])
def test_stopped_and_resumed_run_is_bit_identical(configs, tmp_path, config):
    overrides = ["training.epochs=6", "training.log_every=5"]
    full, _ = train(configs / config, tmp_path / "full", overrides)

    cfg, _ = load_config(configs / config, overrides)
    run, directory = new_run(cfg, tmp_path / "part")
    directory.start()
    run.trainer.subscribe(directory)
    stop_at = run.trainer.settings.total_steps // 2 + 3  # mid-epoch

    def stop(event):
        if getattr(event, "step", 0) >= stop_at and run.trainer.stop_requested is None:
            run.trainer.stop_requested = "interrupted"

    run.trainer.settings = type(run.trainer.settings)(**{**run.trainer.settings.__dict__, "log_every": 1})
    run.trainer.subscribe(stop)
    run.trainer.run()
    assert directory.summary["status"] == "interrupted"

    resumed, rdir = resumed_run(tmp_path / "part")
    assert resumed.trainer.state.step == stop_at
    resumed.trainer.subscribe(rdir)
    resumed.trainer.run()
    a = load_npz(tmp_path / "full" / "final.npz")
    b = load_npz(tmp_path / "part" / "final.npz")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    for (name, x), (_, y) in zip(full.model.named_buffers(), resumed.model.named_buffers()):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous file intact and no temporary file behind."""
    from nncli import fileio

    path = tmp_path / "checkpoint.npz"
    fileio.save_npz(path, {"a": np.arange(3)})

    def broken(f, **arrays):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(FileSystemError, match="no space left on device while writing .*checkpoint.npz"):
        fileio.save_npz(path, {"a": np.arange(5)})
    np.testing.assert_array_equal(load_npz(path)["a"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_early_stopping_stops_and_says_so(configs, tmp_path):
    _, summary = train(
        configs / "sine.yaml",
        tmp_path / "run",
        [
            "training.epochs=200",
            "training.early_stopping.patience=2",
            "training.eval_every=20",
            "optimizer.lr=0.05",
        ],
    )
    assert summary["status"] == "early_stopped"
    assert summary["steps"] < summary["total_steps"]


def test_divergence_stops_with_a_message_and_keeps_last_checkpoint(configs, tmp_path):
    out = tmp_path / "run"
    cfg, _ = load_config(
        configs / "sine.yaml", ["optimizer.name=sgd", "optimizer.lr=1e6", "training.checkpoint_every=1"]
    )
    run, directory = new_run(cfg, out)
    directory.start()
    run.trainer.subscribe(directory)
    run.trainer.run()
    summary = directory.summary
    assert summary["status"] == "diverged"
    assert "lower learning rate" in summary["message"] and "step" in summary["message"]
    ckpt = load_npz(out / "checkpoint.npz")
    assert all(np.all(np.isfinite(v)) for k, v in ckpt.items() if k.startswith("param/"))
    assert not (out / "final.npz").exists()


def test_float32_training_stays_finite_on_the_bundled_configs(configs, tmp_path):
    for name in ["xor.yaml", "spirals.yaml", "sine.yaml", "batchnorm.yaml", "l1.yaml"]:
        _, summary = train(configs / name, tmp_path / name, ["dtype=float32", "training.epochs=5"])
        assert summary["status"] == "completed", name
        assert np.isfinite(summary["final_train_loss"]), name


def test_shortened_transformer_reverse_learns_far_beyond_chance(configs, tmp_path):
    overrides = [
        "data.samples=1500",
        "training.epochs=8",
        "model.n_layers=1",
        "schedule.name=constant",
        "optimizer.lr=0.01",
    ]
    _, summary = train(configs / "transformer-reverse.yaml", tmp_path / "run", overrides)
    assert summary["final_val_metric"] > 0.9  # chance is 1/10 per token


class Counting:
    """Wraps a model's forward: how many rows each call got, in which mode."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.inner = model.forward
        model.forward = self

    def __call__(self, x, *args, **kwargs):
        self.calls.append((x.shape[0], self.model.training))
        return self.inner(x, *args, **kwargs)


def test_the_loop_runs_one_forward_a_step_and_validates_every_eval_every_steps(configs):
    """What the loop costs beyond the step: the validation set's forward pass every `eval_every` steps
    (and at the end), in eval mode, and nothing on the training set beyond each step's batch."""
    config, _ = load_config(
        configs / "xor.yaml",
        ["training.epochs=null", "training.steps=25", "training.log_every=5", "training.eval_every=10"],
    )
    trainer = build_run(config).trainer
    counting = Counting(trainer.model)
    trainer.run()
    n_val, batch = trainer.X_val.shape[0], trainer.settings.batch_size
    evals = [i for i, (rows, training) in enumerate(counting.calls) if not training]
    assert [counting.calls[i][0] for i in evals] == [n_val] * 3  # after steps 10, 20 and 25
    assert [i - k for k, i in enumerate(evals)] == [10, 20, 25]  # training forwards before each
    assert all(rows <= batch for rows, training in counting.calls if training)
    assert len(counting.calls) == 25 + 3


def test_by_default_the_loop_validates_once_per_epoch_and_rows_say_which_evaluation_they_hold(configs):
    """The default eval cadence is an epoch (plus the last step), so that validation costs
    n_val / (3 · n_train) of the training whatever the batch; rows in between repeat the latest
    evaluation and name its step in `val_step`."""
    config, _ = load_config(
        configs / "xor.yaml", ["training.epochs=null", "training.steps=25", "training.log_every=3"]
    )
    trainer = build_run(config).trainer
    per_epoch = trainer.steps_per_epoch
    assert 2 <= per_epoch < 12 and trainer.eval_interval == per_epoch  # at least two epochs in 25 steps
    counting = Counting(trainer.model)
    trainer.run()
    evals = [i for i, (rows, training) in enumerate(counting.calls) if not training]
    expected = [*range(per_epoch, 26, per_epoch)] + ([] if 25 % per_epoch == 0 else [25])
    assert [i - k for k, i in enumerate(evals)] == expected  # training forwards before each evaluation
    rows = trainer.state.history
    assert [r["step"] for r in rows] == [*range(3, 25, 3), 25]
    for r in rows:
        made = [e for e in expected if e <= r["step"]]
        assert r["val_step"] == (made[-1] if made else None)
        assert (r["val_loss"] is None) == (not made)
    assert trainer.state.last_val_step == 25


@pytest.mark.parametrize("log_every", [1, 3, 7, 10, 25, 60])
def test_by_default_every_evaluation_reaches_a_metrics_row(configs, log_every):
    """Where an epoch is shorter than log_every the default validates every log_every steps, not every
    epoch: evaluations between two rows would be made and never written down."""
    overrides = ["training.epochs=null", "training.steps=60", f"training.log_every={log_every}"]
    trainer = build_run(load_config(configs / "xor.yaml", overrides)[0]).trainer
    made = []
    trainer.subscribe(lambda e: made.append(e.step) if isinstance(e, Evaluation) else None)
    trainer.run()
    assert trainer.eval_interval == max(trainer.steps_per_epoch, log_every)
    assert made == sorted({*range(trainer.eval_interval, 61, trainer.eval_interval), 60})
    assert {r["val_step"] for r in trainer.state.history} - {None} == set(made)


def test_a_run_stopped_between_rows_still_writes_its_last_evaluation(configs):
    overrides = [
        "training.epochs=null",
        "training.steps=133",
        "training.log_every=20",
        "training.batch_size=7",
    ]
    trainer = build_run(load_config(configs / "xor.yaml", overrides)[0]).trainer
    assert trainer.eval_interval % 20 != 0  # the first evaluation falls between two rows

    def interrupt(event):
        if isinstance(event, Evaluation):
            trainer.stop_requested = "interrupted"  # as the signal handler does

    trainer.subscribe(interrupt)
    trainer.run()
    last = trainer.state.history[-1]
    assert last["step"] == last["val_step"] == trainer.eval_interval == trainer.state.step


def test_the_curves_draw_each_evaluation_once_at_the_step_it_was_made():
    rows = [
        {"step": 3, "val_loss": None, "val_step": None},
        {"step": 6, "val_loss": 0.5, "val_step": 5},
        {"step": 9, "val_loss": 0.5, "val_step": 5},
        {"step": 12, "val_loss": 0.25, "val_step": 10},
        {"step": 13, "val_loss": 0.125, "val_step": 13},
    ]
    steps, values = validation_column(rows, "val_loss")
    assert steps.tolist() == [5, 10, 13] and values.tolist() == [0.5, 0.25, 0.125]
    # no val_step: each row at its own step, a repeated value being the same evaluation (eval_every 20)
    older = [{"step": 10, "val_loss": 0.5}, {"step": 20, "val_loss": 0.25}, {"step": 30, "val_loss": 0.25}]
    older.append({"step": 35, "val_loss": 0.25, "val_step": None})  # resumed from an older checkpoint
    older.append({"step": 40, "val_loss": 0.125, "val_step": 40})
    assert validation_column(older, "val_loss")[0].tolist() == [10, 20, 40]


def test_the_loop_sets_training_mode_once_not_every_step(configs, monkeypatch):
    """Walking every module to set its mode cost a small model a quarter of its step."""
    overrides = ["training.epochs=null", "training.steps=30", "training.log_every=10"]
    config, _ = load_config(configs / "xor.yaml", overrides)
    trainer = build_run(config).trainer
    modes = []
    train = type(trainer.model).train
    monkeypatch.setattr(
        type(trainer.model), "train", lambda self, mode=True: modes.append(mode) or train(self, mode)
    )
    trainer.run()
    assert modes == [False, True] * 3  # each of the 3 evaluations, then back to training mode
    trainer.model.eval()
    trainer.train_step(30)
    assert trainer.model.training  # a step after an outside eval() still trains in training mode
