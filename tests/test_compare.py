"""`nncli compare-optimizers` and the library under it: same start and batches for every optimizer,
identical results whatever the number of worker processes, files that hold what the table shows, seed
statistics by hand, landscapes, and bad input."""

import csv
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nncli.cli import app, common
from nncli.cli.compare import fmt_stat, ranked_cells
from nncli.compare import executors, landscapes
from nncli.compare import plan as cmp
from nncli.compare.results import RunResult, Stat, summarize
from nncli.config.loading import validate
from nncli.config.schema import RunConfig
from nncli.engine.optimizers import OPTIMIZERS
from nncli.training.build import build_run

runner = CliRunner()

SMALL = {
    "name": "small",
    "seed": 3,
    "data": {"dataset": "spirals", "samples": 200, "arms": 2, "noise": 0.05},
    "model": {"kind": "mlp", "hidden_sizes": [8], "activation": "tanh"},
    "training": {"steps": 60, "batch_size": 16},
}


def small() -> RunConfig:
    return validate(SMALL)


def invoke(*args):
    return runner.invoke(app, ["compare-optimizers", *map(str, args)])


def without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "time_s"} for row in rows]


@pytest.fixture
def wide_console(monkeypatch):
    monkeypatch.setattr(common.console, "_width", 200)  # undone to None: the width is read again


# ---------------------------------------------------------------------------------------------- presets


def test_every_registered_optimizer_has_a_preset_that_validates():
    names = {cmp.PRESETS.get(label)["name"] for label in cmp.PRESETS}
    assert names == set(OPTIMIZERS.names())
    for label in cmp.PRESETS:
        section = cmp.validate_optimizer(cmp.PRESETS.get(label), label)
        assert cmp.preset_label(section) == label


def test_the_configs_own_optimizer_keeps_its_settings_under_its_label():
    own = {"name": "sgd", "lr": 0.07, "momentum": 0.9}
    sections = cmp.optimizer_sections(["sgd", "momentum", "adam"], {"adam": 0.003}, own)
    assert sections["momentum"]["lr"] == 0.07 and sections["momentum"]["momentum"] == 0.9
    assert sections["sgd"]["lr"] == cmp.PRESETS.get("sgd")["lr"] and sections["sgd"]["momentum"] == 0.0
    assert sections["adam"]["lr"] == 0.003 and sections["adam"]["betas"] == [0.9, 0.999]


def test_parse_lrs():
    labels = ["sgd", "adam"]
    assert cmp.parse_lrs("adam=0.01, sgd=0.1", labels) == {"adam": 0.01, "sgd": 0.1}
    assert cmp.parse_lrs("0.02", labels) == {"sgd": 0.02, "adam": 0.02}
    assert cmp.parse_lrs("0.02,adam=1e-3", labels) == {"sgd": 0.02, "adam": 0.001}
    assert cmp.parse_lrs(None, labels) == {}


def test_lr_grid_is_log_spaced_around_the_base():
    assert cmp.lr_grid(0.01) == [0.001, 0.00316, 0.01, 0.0316, 0.1]


# ---------------------------------------------------------------------------------------------- same start


def test_every_optimizer_starts_from_the_same_parameters_and_sees_the_same_batches():
    plan = cmp.plan_training(small(), ["sgd", "momentum", "rmsprop", "adagrad", "adam", "adamw"])
    configs = [spec.config for spec in plan.specs]
    for config in configs:  # the specs differ in the optimizer section only
        assert {k: v for k, v in config.items() if k != "optimizer"} == {
            k: v for k, v in configs[0].items() if k != "optimizer"
        }
    assert len({json.dumps(c["optimizer"], sort_keys=True) for c in configs}) == len(configs)
    runs = [build_run(validate(c)) for c in configs]
    per_epoch = runs[0].trainer.steps_per_epoch
    steps = range(3 * per_epoch)  # three epochs, so reshuffles are covered
    first = [np.array(runs[0].trainer.batch_indices(s)) for s in steps]
    assert not np.array_equal(first[0], first[per_epoch])  # shuffling is on: epochs differ
    for spec, run in zip(plan.specs, runs):
        assert run.config.optimizer.name == cmp.PRESETS.get(spec.label)["name"]
        np.testing.assert_array_equal(run.params.data, runs[0].params.data)
        for s, expected in zip(steps, first):
            np.testing.assert_array_equal(run.trainer.batch_indices(s), expected)


def test_a_compared_run_is_exactly_a_plain_training_run():
    """Logging the whole-training-set loss does not disturb training (dropout and batch norm included)."""
    raw = {**SMALL, "model": {"kind": "mlp", "hidden_sizes": [8], "norm": "batch_norm", "dropout": 0.2}}
    plan = cmp.plan_training(validate(raw), ["adam"])
    result = plan.specs[0].run()
    plain = build_run(validate(plan.specs[0].config))
    plain.trainer.run()
    assert result.final_loss == plain.trainer.evaluate(plain.trainer.X, plain.trainer.y)[0]
    assert result.rows[-1]["val_loss"] == plain.trainer.state.last_val_loss
    assert [r["step"] for r in result.rows][:3] == [0, 1, 2] and result.rows[-1]["step"] == 60


def test_jobs_1_and_2_give_identical_results():
    plan = cmp.plan_training(small(), ["sgd", "adam"], seeds=2)
    serial = cmp.run_plan(plan, executors.SerialExecutor())
    parallel = cmp.run_plan(plan, executors.ProcessExecutor(2))
    assert [(r.label, r.seed) for r in parallel] == [(s.label, s.seed) for s in plan.specs]
    for a, b in zip(serial, parallel):
        assert without_times(a.rows) == without_times(b.rows)
        assert (a.final_loss, a.best_val_metric, a.status) == (b.final_loss, b.best_val_metric, b.status)
    ranks = [[e.label for e in summarize(plan, r).ranking] for r in (serial, parallel)]
    assert ranks[0] == ranks[1]


# ---------------------------------------------------------------------------------------------- ranking


def fake(label: str, lr: float, seed: int, losses: list[float], status: str = "completed", metric=None):
    rows = [{"step": 10 * i, "loss": v, "val_loss": v + 0.1, "val_metric": metric, "time_s": 0.1 * i}
            for i, v in enumerate(losses)]  # fmt: skip
    return RunResult(label, seed, lr, status, 10 * (len(losses) - 1), 1.0 + seed, rows)


def test_mean_and_std_over_two_seeds_by_hand():
    plan = cmp.plan_training(small(), ["sgd", "adam"], seeds=2)
    results = cmp.run_plan(plan)
    comparison = summarize(plan, results, target_loss=10.0)
    for entry in comparison.ranking:
        a, b = (r.final_loss for r in results if r.label == entry.label)
        assert entry.final_loss.mean == pytest.approx((a + b) / 2, rel=1e-15)
        assert entry.final_loss.std == pytest.approx(abs(a - b) / math.sqrt(2), rel=1e-12)  # ddof = 1
        assert entry.steps_to_target.mean == 0 and entry.steps_to_target.n == 2  # every start is below 10
        assert fmt_stat(entry.final_loss) == f"{(a + b) / 2:.4g} ± {abs(a - b) / math.sqrt(2):.2g}"


def test_steps_to_target_final_loss_and_divergence():
    labels = ["sgd", "adam", "rmsprop"]
    plan = cmp.Plan([], labels, [0, 1], {k: {"lr": 0.1} for k in labels}, False, "accuracy", {})
    results = [
        fake("sgd", 0.1, 0, [1.0, 0.8, 0.6], metric=0.5),
        fake("sgd", 0.1, 1, [1.0, 0.7, 0.5], metric=0.7),
        fake("adam", 0.1, 0, [1.0, 0.4, 0.2]),
        fake("adam", 0.1, 1, [1.0, 0.9, 0.8]),
        fake("rmsprop", 0.1, 0, [1.0, 0.3, math.nan], status="diverged"),
        fake("rmsprop", 0.1, 1, [1.0, 0.3, 0.1]),
    ]
    c = summarize(plan, results, target_loss=0.5)
    assert [e.label for e in c.ranking] == ["adam", "sgd", "rmsprop"]  # 0.5 < 0.55; a divergence is last
    adam, sgd, rmsprop = c.ranking
    assert (adam.steps_to_target.mean, adam.steps_to_target.n) == (10, 1)  # only seed 0 reaches 0.5
    assert ranked_cells(adam, 1, "accuracy")[5] == "10 (1/2)"
    assert (sgd.steps_to_target.mean, sgd.steps_to_target.n) == (20, 1)
    loose = summarize(plan, results, target_loss=0.85).ranking
    assert [(e.steps_to_target.mean, e.steps_to_target.std) for e in loose] == [
        (15, 5 * math.sqrt(2)),
        (10, 0),
        (10, 0),
    ]
    assert sgd.best_val_metric.mean == pytest.approx(0.6) and adam.best_val_metric.mean is None
    assert rmsprop.final_loss.mean is None and ranked_cells(rmsprop, 3, "accuracy")[3] == "diverged (1/2)"
    default = summarize(plan, results)
    assert default.target_loss == pytest.approx(0.525)  # median of adam 0.5 and sgd 0.55; rmsprop diverged


def test_the_lr_grid_keeps_the_best_validation_loss():
    plan = cmp.Plan([], ["adam"], [0], {"adam": {"name": "adam", "lr": 0.01}}, True, None, {})
    results = [
        fake("adam", 0.001, 0, [1.0, 0.5]),
        fake("adam", 0.01, 0, [1.0, 0.2]),
        fake("adam", 0.1, 0, [1.0, math.inf], status="diverged"),
    ]
    (entry,) = summarize(plan, results).ranking
    assert entry.lr == 0.01 and entry.optimizer["lr"] == 0.01
    assert entry.grid == [{"lr": 0.001, "score": 0.6}, {"lr": 0.01, "score": pytest.approx(0.3)},
                          {"lr": 0.1, "score": None}]  # fmt: skip


# ---------------------------------------------------------------------------------------------- CLI


def write_config(tmp_path, raw=SMALL):
    import yaml

    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def table_rows(output: str) -> dict[str, list[str]]:
    """The body rows of the ranked table, by optimizer."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) >= 6 and cells[0].isdigit():
            rows[cells[1]] = cells
    return rows


def test_results_json_and_curves_csv_hold_what_the_table_shows(tmp_path, wide_console):
    out = tmp_path / "cmp"
    result = invoke(write_config(tmp_path), "--optimizers", "sgd,momentum,adam", "--seeds", "2", "--out", out)
    assert result.exit_code == 0, result.output
    shown = table_rows(result.output)
    saved = json.loads((out / "results.json").read_text())
    with open(out / "curves.csv") as f:
        curves = list(csv.DictReader(f))
    assert saved["seeds"] == [3, 4] and saved["metric"] == "accuracy" and len(saved["ranking"]) == 3
    for entry in saved["ranking"]:
        label = entry["optimizer"]
        stat = {k: Stat(**entry[k]) for k in ("final_loss", "best_val_metric", "steps_to_target")}
        assert shown[label][:6] == [
            str(entry["rank"]),
            label,
            f"{entry['lr']:.3g}",
            fmt_stat(stat["final_loss"]),
            fmt_stat(stat["best_val_metric"], ".4f", ".4f"),
            fmt_stat(stat["steps_to_target"], ".0f", ".0f")
            + (" (1/2)" if stat["steps_to_target"].n == 1 else ""),
        ]
        for run in entry["runs"]:
            rows = [r for r in curves if r["optimizer"] == label and int(r["seed"]) == run["seed"]]
            assert [int(r["step"]) for r in rows][0] == 0 and int(rows[-1]["step"]) == 60
            assert float(rows[-1]["loss"]) == run["final_loss"]
            assert max(float(r["val_metric"]) for r in rows) == run["best_val_metric"]
            at_best_loss = min(rows, key=lambda r: float(r["val_loss"]))
            assert float(at_best_loss["val_metric"]) == run["val_metric_at_best_loss"]
            reached = [int(r["step"]) for r in rows if float(r["loss"]) <= saved["target_loss"]]
            assert run["steps_to_target"] == (reached[0] if reached else None)
        finals = [r["final_loss"] for r in entry["runs"]]
        assert stat["final_loss"].mean == pytest.approx(np.mean(finals), rel=1e-15)
    ranked = [e["final_loss"]["mean"] for e in saved["ranking"]]
    assert ranked == sorted(ranked)
    assert "mean ± std over seeds 3, 4" in result.output


def test_json_output_and_no_clobbering(tmp_path):
    out = tmp_path / "cmp"
    config = write_config(tmp_path)
    result = invoke(config, "--optimizers", "sgd,adam", "--out", out, "--json", "--steps", "20")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed.pop("run_dir") == str(out)
    assert printed == json.loads((out / "results.json").read_text())
    assert printed["problem"]["steps"] == 20 and printed["problem"]["config"]["training"]["epochs"] is None
    again = invoke(config, "--optimizers", "sgd", "--out", out)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert invoke(config, "--optimizers", "sgd", "--out", out, "--overwrite", "--steps", "5").exit_code == 0
    assert [e["optimizer"] for e in json.loads((out / "results.json").read_text())["ranking"]] == ["sgd"]


def test_jobs_1_and_2_from_the_cli_write_the_same_results(tmp_path):
    config = write_config(tmp_path)
    saved = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        result = invoke(
            config, "--optimizers", "sgd,rmsprop,adam", "--jobs", jobs, "--steps", 30, "--out", out
        )
        assert result.exit_code == 0, result.output
        assert result.output.count("completed, final loss") == 3  # one plain line per finished run
        ranking = json.loads((out / "results.json").read_text())["ranking"]
        for entry in ranking:
            for key in ("wall_time_s", "steps_per_s", "runs"):
                entry.pop(key)
        curves = (out / "curves.csv").read_text().splitlines()
        saved.append((ranking, [line.rsplit(",", 1)[0] for line in curves]))  # time_s is the last column
    assert saved[0] == saved[1]


def test_lr_grid_from_the_cli(tmp_path):
    out = tmp_path / "grid"
    result = invoke(write_config(tmp_path), "--optimizers", "sgd", "--lr-grid", "--steps", 20, "--out", out)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((out / "results.json").read_text())["ranking"]
    grid = entry["lr_grid"]
    assert [g["lr"] for g in grid] == cmp.lr_grid(cmp.PRESETS.get("sgd")["lr"])
    best = min((g["score"], g["lr"]) for g in grid if g["score"] is not None)
    assert entry["lr"] == best[1] and entry["optimizer_config"]["lr"] == best[1]
    assert result.output.count("completed, final loss") + result.output.count("diverged, final") == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizers", "sgd,adma"], "unknown optimizer 'adma' (did you mean 'adam'?)"),
        (["--optimizers", "sgd,sgd"], "'sgd' is named twice"),
        (["--lr", "adam=-1"], "adam: optimizer.lr: Input should be greater than 0"),
        (["--lr", "adam=fast"], "'fast' is not a number"),
        (["--lr", "adma=0.1"], "'adma' is not among the compared optimizers (did you mean 'adam'?)"),
        (["--lr", "0"], "sgd: optimizer.lr: Input should be greater than 0"),
        (["--landscape", "rosenbrok"], "unknown landscape 'rosenbrok' (did you mean 'rosenbrock'?)"),
        (["--landscape", "neuron", "--lr", "sgd=-2"], "sgd: optimizer.lr: Input should be greater than 0"),
        (["--landscape", "neuron", "--seeds", "2"], "no seeds to repeat"),
        (["--set", "model.kind=mlpp"], "--set model.kind=mlpp: unknown kind 'mlpp' (did you mean 'mlp'?)"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, args, message):
    result = invoke(*args, "--out", tmp_path / "never")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "never").exists()


def test_the_default_problem_runs_from_the_cli(tmp_path, wide_console):
    result = invoke("--steps", "30", "--optimizers", "sgd,adam", "--lr", "adam=0.02", "--out", tmp_path / "d")
    assert result.exit_code == 0, result.output
    assert "spirals: mlp on spirals, 30 steps" in result.output
    assert set(table_rows(result.output)) == {"sgd", "adam"}
    assert "loss over the training set" in result.output  # the terminal chart
    saved = json.loads((tmp_path / "d" / "results.json").read_text())
    assert {e["optimizer"]: e["lr"] for e in saved["ranking"]} == {"sgd": 0.1, "adam": 0.02}


# ---------------------------------------------------------------------------------------------- landscapes


def test_rosenbrock_gradient_matches_finite_differences():
    surface = landscapes.Rosenbrock()
    for point in [(-0.5, 2.5), (0.3, -0.2), (1.0, 1.0)]:
        surface.params.data[:] = point
        loss = surface.loss_and_grad()
        h, p = 1e-6, np.array(point)
        numeric = [(surface.loss_at(p + h * e) - surface.loss_at(p - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(surface.params.grad, numeric, rtol=1e-7, atol=1e-6)
        assert loss == surface.loss_at(point)
    assert surface.loss_at((1.0, 1.0)) == 0.0


def test_the_neuron_surface_is_the_notes_neuron():
    surface = landscapes.NeuronSurface(seed=0)
    X, y = surface.trainer.X[:, 0], surface.trainer.y.ravel()
    w, b = 1.5, -0.7
    by_hand = np.mean((1 / (1 + np.exp(-(w * X + b))) - y) ** 2)
    assert surface.loss_at((w, b)) == pytest.approx(by_hand, rel=1e-12)
    h = 1e-6
    numeric = [(surface.loss_at((w + h, b)) - surface.loss_at((w - h, b))) / (2 * h),
               (surface.loss_at((w, b + h)) - surface.loss_at((w, b - h))) / (2 * h)]  # fmt: skip
    surface.params.data[:] = (w, b)
    loss = surface.loss_and_grad()
    assert loss == pytest.approx(by_hand, rel=1e-12)
    np.testing.assert_allclose(surface.params.grad, numeric, rtol=1e-6)


@pytest.mark.parametrize("name", ["rosenbrock", "neuron"])
def test_landscape_paths_share_their_start_and_have_one_point_per_step(name):
    plan = cmp.plan_landscape(name, ["sgd", "momentum", "adam"], steps=40)
    comparison = summarize(plan, cmp.run_plan(plan))
    paths = comparison.paths()
    start = landscapes.LANDSCAPES.get(name).start
    for path in paths.values():
        assert path.shape == (41, 2)
        np.testing.assert_array_equal(path[0], start)
    assert not np.array_equal(paths["sgd"][-1], paths["adam"][-1])
    sgd = next(e for e in comparison.ranking if e.label == "sgd").runs[0]
    grid_lr = landscapes.LANDSCAPES.get(name).lrs["sgd"]
    assert sgd.lr == grid_lr
    # plain SGD by hand: p ← p − lr·∇f(p)
    surface = landscapes.LANDSCAPES.get(name).surface(0)
    surface.params.data[:] = start
    for _ in range(3):
        surface.loss_and_grad()
        surface.params.data -= grid_lr * surface.params.grad
    np.testing.assert_allclose(paths["sgd"][3], surface.params.data, rtol=1e-12)


def test_landscape_from_the_cli(tmp_path, wide_console):
    out = tmp_path / "land"
    result = invoke("--landscape", "rosenbrock", "--steps", "50", "--optimizers", "sgd,adam", "--out", out)
    assert result.exit_code == 0, result.output
    assert "loss landscape" in result.output and "○" in result.output
    with open(out / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["optimizer", "seed", "lr", "step", "loss", "x", "y", "time_s"]
    assert len(rows) == 2 * 51 and (float(rows[0]["x"]), float(rows[0]["y"])) == (-0.5, 2.5)
    saved = json.loads((out / "results.json").read_text())
    assert saved["problem"]["kind"] == "landscape" and saved["metric"] is None
    from nncli.views.plots import has_matplotlib

    assert (out / "landscape.png").exists() == has_matplotlib()


def test_each_optimizer_shows_the_arguments_it_ran_with_and_where_they_came_from(tmp_path, wide_console):
    raw = {**SMALL, "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.9}}  # the config's own: momentum
    out = tmp_path / "cmp"
    args = ["--optimizers", "sgd,momentum,adam", "--lr", "adam=0.02", "--steps", "10", "--out", out]
    result = invoke(write_config(tmp_path, raw), *args)
    assert result.exit_code == 0, result.output
    sources = json.loads((out / "results.json").read_text())["optimizer_sources"]
    assert sources == {"sgd": "preset", "momentum": "the config", "adam": "preset, lr from --lr"}
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") == 4}
    assert "sgd(lr=0.1)" in lines["sgd"] and "preset" in lines["sgd"]
    assert "sgd(lr=0.5, momentum=0.9)" in lines["momentum"] and "the config" in lines["momentum"]
    assert "adam(lr=0.02)" in lines["adam"] and "lr from --lr" in lines["adam"]
    assert "3 optimizers on small: loss over the training set" in result.output


def test_a_landscape_footnote_speaks_of_the_surface_not_a_training_set(tmp_path, wide_console):
    result = invoke(
        "--landscape", "rosenbrock", "--steps", "20", "--optimizers", "sgd", "--out", tmp_path / "l"
    )
    assert result.exit_code == 0, result.output
    assert "final loss: the surface's value at the last step" in result.output
    assert "whole training set" not in result.output and "lr suited to the surface" in result.output
    assert "1 optimizer on rosenbrock: loss" in result.output
