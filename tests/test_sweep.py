"""nncli sweep: specs validated at the edge, trials expanded deterministically, the same results on every
local backend, failures recorded, interrupted sweeps resumed. Ray is in test_sweep_ray.py."""

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml
from sweeps import fingerprint
from typer.testing import CliRunner

from nncli.cli import app
from nncli.compare import sweep_run
from nncli.compare.executors import ProcessExecutor, SerialExecutor
from nncli.compare.sweep import plan_sweep
from nncli.compare.trial import run_trial
from nncli.config.loading import apply_overrides, load_config, validate
from nncli.config.sweep import parse_distribution, spec_from_options, validate_spec
from nncli.errors import NncliError
from nncli.training.build import build_run

runner = CliRunner()

SMALL = {
    "name": "tiny",
    "seed": 3,
    "data": {"dataset": "xor", "samples": 120},
    "model": {"kind": "mlp", "hidden_sizes": [4], "activation": "tanh"},
    "optimizer": {"name": "adam", "lr": 0.05},
    "training": {"steps": 30, "batch_size": 16, "log_every": 10},
}


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def plan(config, grid=(), random=(), **scalars):
    _, raw = load_config(config)
    return plan_sweep(raw, validate_spec(spec_from_options(list(grid), list(random), **scalars), "options"))


def invoke(*args):
    return runner.invoke(app, ["sweep", *map(str, args)])


# ---------------------------------------------------------------------------------------------- specs


def test_distributions_parse_and_refuse_what_they_cannot_draw():
    assert parse_distribution("loguniform(1e-4, 1e-1)").args == (1e-4, 0.1)
    assert parse_distribution("choice([16], [32, 32], 8)").args == ([16], [32, 32], 8)
    assert parse_distribution("int(1, 3)").args == (1, 3)
    for bad, words in [
        ("lognormal(0, 1)", "unknown distribution 'lognormal'"),
        ("uniform(1)", "takes two numbers"),
        ("uniform(2, 1)", "a < b"),
        ("loguniform(0, 1)", "0 < a"),
        ("int(1.5, 3)", "integers"),
        ("choice()", "at least one value"),
        ("0.1", "is not a distribution"),
    ]:
        with pytest.raises(ValueError, match=words.replace("(", r"\(")):
            parse_distribution(bad)


def test_grid_values_split_outside_brackets():
    raw = spec_from_options(["model.hidden_sizes=[16],[32, 32]", "optimizer.name=adam,sgd"], [])
    assert raw["grid"] == {"model.hidden_sizes": [[16], [32, 32]], "optimizer.name": ["adam", "sgd"]}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--grid", "optimizer.lrr=0.1"],
            "sweep options: grid.optimizer.lrr = 0.1: optimizer.lrr: unknown key",
        ),
        (
            ["--grid", "optimizer.lr=-1"],
            "grid.optimizer.lr = -1: optimizer.lr: Input should be greater than 0",
        ),
        (["--grid", "optimizer.lr="], "grid.optimizer.lr: List should have at least 1 item"),
        (["--random", "optimizer.lr=lognormal(1,2)"], "unknown distribution 'lognormal'"),
        (["--random", "optimizer.lr=uniform(0.1,0.2)", "--samples", "0"], "samples: Input should be greater"),
        (
            ["--grid", "optimizer.lr=0.1", "--random", "optimizer.lr=uniform(0.1,0.2)"],
            "both in grid and in random",
        ),
        (["--samples", "3", "--grid", "optimizer.lr=0.1"], "need random keys"),
        (["--metric", "accuracy", "--seeds", "2"], "metric: Input should be"),
        ([], "nothing to sweep"),
        (["--grid", "optimizer.lr=0.1", "--address", "h:1"], "--address names a Ray cluster"),
    ],
)
def test_bad_sweep_options_exit_2_naming_what(config, tmp_path, args, message):
    result = invoke(config, *args, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_a_bad_sweep_file_names_the_field_and_line(config, tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text("grid:\n  optimizer.lr: [0.1]\n  model.hidden_size: [[4]]\nsamples: 1\ngird: {}\n")
    result = invoke(config, "--spec", spec)
    assert result.exit_code == 2
    assert f"{spec}: gird (line 5): unknown key" in result.output.replace("\n", " ")
    spec.write_text("grid:\n  optimizer.lr: [0.1]\n  model.hidden_size: [[4]]\n")
    result = invoke(config, "--spec", spec)
    assert result.exit_code == 2
    assert f"{spec}: grid.model.hidden_size (line 3)" in result.output.replace("\n", " ")
    assert "= [4]: model.hidden_size: unknown key" in result.output.replace("\n", " ")


# ---------------------------------------------------------------------------------------------- trials


def test_trials_are_grid_times_samples_times_seeds_drawn_from_the_sweep_seed(config):
    grid = ["optimizer.lr=0.01,0.1", "model.hidden_sizes=[4],[8,8]"]
    random = ["model.activation=choice(tanh,relu)", "regularization.l2=loguniform(1e-5,1e-2)"]
    p = plan(config, grid, random, samples=3, seeds=2)
    assert len(p.trials) == 2 * 2 * 3 * 2
    assert p.keys == ["optimizer.lr", "model.hidden_sizes", "model.activation", "regularization.l2", "seed"]
    assert [t.values["seed"] for t in p.trials[:2]] == [3, 4]  # the config's seed, then the next
    l2 = [t.values["regularization.l2"] for t in p.trials]
    assert all(1e-5 <= v <= 1e-2 for v in l2) and len(set(l2)) == 3  # three draws, shared by grid points
    again = plan(config, grid, random, samples=3, seeds=2)
    assert [t.overrides for t in again.trials] == [t.overrides for t in p.trials]
    assert again.digest == p.digest
    other = plan(config, grid, random, samples=3, seeds=2, sweep_seed=1)
    assert other.digest != p.digest


def test_a_trial_is_exactly_the_plain_training_run_of_its_overrides(config):
    trial = plan(config, ["optimizer.lr=0.02"], seeds=2).trials[1]
    result = run_trial(trial)
    _, raw = load_config(config)
    run = build_run(validate(apply_overrides(raw, ["optimizer.lr=0.02", "seed=4"])))
    run.trainer.run()
    assert result.status == "completed" and result.config["seed"] == 4
    for name, value in run.params.state_dict().items():
        np.testing.assert_array_equal(result.arrays["final"][name], value)
    assert [r["train_loss"] for r in result.metrics] == [r["train_loss"] for r in run.trainer.state.history]


def test_serial_and_two_processes_write_identical_sweeps(config, tmp_path):
    p = plan(config, ["optimizer.lr=0.01,0.1"], seeds=2)
    sweep_run.run_sweep(p, tmp_path / "serial", SerialExecutor())
    sweep_run.run_sweep(p, tmp_path / "pool", ProcessExecutor(2))
    serial = fingerprint(tmp_path / "serial")
    assert len(serial["rows"]) == 4 and all(r["status"] == "completed" for r in serial["rows"])
    assert fingerprint(tmp_path / "pool") == serial


def test_failed_and_diverged_trials_are_recorded_and_the_rest_run(config, tmp_path):
    # batch_norm with batches of 1 is refused at build time; a linear model under sgd at lr 1e6
    # diverges; the others train
    optimizers = '{"name": "adam", "lr": 0.05},{"name": "sgd", "lr": 1e6}'
    grid = ["model.norm=batch_norm,none", "training.batch_size=1,16", f"optimizer={optimizers}"]
    _, raw = load_config(config, ["model.activation=identity"])
    p = plan_sweep(raw, validate_spec(spec_from_options(grid, []), "options"))
    outcome = sweep_run.run_sweep(p, tmp_path / "out")
    statuses = {
        (*tuple(r["overrides"].values())[:2], r["overrides"]["optimizer"]["name"]): r["status"]
        for r in outcome.rows
    }
    assert statuses[("batch_norm", 1, "adam")] == "failed"
    assert statuses[("none", 16, "sgd")] == "diverged"
    assert statuses[("none", 16, "adam")] == "completed"
    failed = next(r for r in outcome.rows if r["status"] == "failed")
    assert "batch_norm needs at least 2 samples per batch" in failed["message"]
    assert failed["metric"] is None and failed["run_dir"] is None
    assert outcome.ranking[-1]["metric"] is None  # failed and diverged rank last
    assert outcome.best["status"] == "completed"


def test_an_interrupted_sweep_resumes_with_the_rest(config, tmp_path, monkeypatch):
    p = plan(config, ["optimizer.lr=0.01,0.03,0.1"], seeds=2)
    sweep_run.run_sweep(p, tmp_path / "whole")
    seen = []

    def stop_after_two(row):
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep_run.run_sweep(p, tmp_path / "cut", on_row=stop_after_two)
    assert len(sweep_run.read_rows(tmp_path / "cut")) == 2
    ran = []
    monkeypatch.setattr(sweep_run, "run_trial", lambda t: ran.append(t.index) or run_trial(t))
    outcome = sweep_run.run_sweep(p, tmp_path / "cut")
    assert outcome.skipped == 2 and ran == [2, 3, 4, 5]
    assert fingerprint(tmp_path / "cut") == fingerprint(tmp_path / "whole")
    with pytest.raises(NncliError, match="holds a different sweep"):
        sweep_run.run_sweep(plan(config, ["optimizer.lr=0.01,0.03"]), tmp_path / "cut")


# ---------------------------------------------------------------------------------------------- the CLI


def test_the_cli_writes_the_files_and_best_yaml_trains(config, tmp_path, configs):
    out = tmp_path / "sweep"
    result = invoke(
        config,
        "--grid",
        "optimizer.lr=0.01,0.1",
        "--grid",
        "model.hidden_sizes=[4],[8]",
        "--metric",
        "final_val_loss",
        "-o",
        out,
        "--json",
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert {"sweep.json", "results.jsonl", "results.csv", "best.yaml", "trials"} <= {
        p.name for p in out.iterdir()
    }
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and shown["best"]["metric"] == min(r["metric"] for r in rows)
    best = shown["best"]
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("rank,trial,optimizer.lr,model.hidden_sizes,status,metric")
    assert csv_lines[1].startswith(f"1,{best['trial']},")
    best_config, _ = load_config(out / "best.yaml")
    assert best_config.optimizer.lr == best["overrides"]["optimizer.lr"]
    assert best_config.model.hidden_sizes == best["overrides"]["model.hidden_sizes"]
    evaluated = runner.invoke(app, ["evaluate", str(out / best["run_dir"]), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["loss"] == pytest.approx(best["final_val_loss"], rel=1e-12)
    again = invoke(
        config,
        "--grid",
        "optimizer.lr=0.01,0.1",
        "--grid",
        "model.hidden_sizes=[4],[8]",
        "--metric",
        "final_val_loss",
        "-o",
        out,
    )
    assert again.exit_code == 0 and "4 trials already finished" in again.output


def test_ctrl_c_keeps_the_finished_trials_and_exits_130(config, tmp_path, monkeypatch):
    calls = []

    def interrupted(trial, on_step=None):
        calls.append(trial.index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run_trial(trial, on_step)

    monkeypatch.setattr(sweep_run, "run_trial", interrupted)
    out = tmp_path / "out"
    result = invoke(config, "--grid", "optimizer.lr=0.01,0.03,0.1", "-o", out)
    assert result.exit_code == 130
    assert "2 of 3 trials are written" in result.output.replace("\n", " ")
    assert len(sweep_run.read_rows(out)) == 2


def test_report_makes_one_page_of_a_sweep_and_of_each_trial(config, tmp_path):
    out = tmp_path / "sweep"
    assert invoke(config, "--grid", "optimizer.lr=0.01,0.1", "--seeds", "2", "-o", out).exit_code == 0
    assert (out / "metric.png").exists()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    best = min(rows, key=lambda r: r["metric"])
    assert "nncli sweep: tiny" in page and "4 of 4 finished" in page
    assert page.index(f"<td>{best['trial']}</td>") < min(
        page.index(f"<td>{r['trial']}</td>") for r in rows if r is not best
    )
    assert page.count("data:image/png;base64,") == 1 and (out / "best.yaml").read_text() in page
    trial = runner.invoke(app, ["report", str(out / best["run_dir"])])
    assert trial.exit_code == 0, trial.output
    assert "nncli run: tiny" in (out / best["run_dir"] / "report.html").read_text()


def test_compare_optimizers_is_a_sweep_over_the_optimizer_section(config):
    from nncli.compare import plan as cmp

    cfg, raw = load_config(config)
    plan_ = cmp.plan_training(cfg, ["sgd", "adam"], seeds=2)
    sections = [{**plan_.sections[label], "lr": plan_.sections[label]["lr"]} for label in ("sgd", "adam")]
    sweep = plan_sweep(raw, validate_spec({"grid": {"optimizer": sections}, "seeds": 2}, "test"))
    assert [s.trial.overrides for s in plan_.specs] == [t.overrides for t in sweep.trials]
    assert [(s.label, s.seed) for s in plan_.specs] == [("sgd", 3), ("sgd", 4), ("adam", 3), ("adam", 4)]
    spec = plan_.specs[3]
    with_curve, without = run_trial(spec.trial), run_trial(replace(spec.trial, train_set_curve=False))
    assert [r["step"] for r in with_curve.curve][:2] == [0, 1] and without.curve == []
    for name, value in without.arrays["final"].items():  # logging the curve does not disturb training
        np.testing.assert_array_equal(with_curve.arrays["final"][name], value)
    assert spec.run().final_loss == with_curve.curve[-1]["loss"]


def test_the_live_table_shows_each_trials_state_the_metric_so_far_and_the_best(config, tmp_path):
    from rich.console import Console

    from nncli.views.sweep import SweepBoard

    p = plan(config, ["optimizer.lr=0.01,0.03,0.1"])
    console = Console(force_terminal=True, width=160, record=True)
    board = SweepBoard(console, p, jobs=1)
    sweep_run.open_folder(p, tmp_path / "s")
    board.start(p.trials, 0)
    result = run_trial(p.trials[0], lambda row: board.step(0, row))
    board.row(sweep_run.write_trial(p, tmp_path / "s", result))
    board.step(1, {"step": 10, "val_loss": 0.5, "train_loss": 0.6})
    console.print(board.render())
    text = console.export_text()
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") >= 5}
    assert "finished" in lines["0000"] and "running" in lines["0001"] and "queued" in lines["0002"]
    assert "0.5" in lines["0001"]  # trial 1's metric so far
    assert "best so far: trial 0000" in text and "1/3" in text


def test_without_ray_the_ray_backend_says_how_to_install_it(config, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = invoke(config, "--grid", "optimizer.lr=0.01,0.1", "--backend", "ray")
    assert result.exit_code == 2
    assert result.output.strip() == "error: --backend ray needs Ray: pip install 'nncli[ray]'"
