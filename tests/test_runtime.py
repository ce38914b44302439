"""The BLAS thread policy: one thread for a small model, every core for a large one, and each override
(training.threads, --threads, NNCLI_THREADS, a worker's pin) in its order."""

import json

import pytest
from typer.testing import CliRunner

from nncli import runtime
from nncli.cli import app
from nncli.compare.executors import ProcessExecutor
from nncli.config.loading import load_config
from nncli.errors import ConfigError
from nncli.training.build import build_run
from nncli.training.events import StepEnd

TINY = ["training.epochs=null", "training.steps=4", "training.log_every=1"]
# 2 → 1024 → 1024 → 2 at batch 256: 1.05M parameters × 256 rows ≈ 2.7e8 multiply-adds a step
LARGE = [
    "model.hidden_sizes=[1024, 1024]",
    "training.batch_size=256",
    "data.samples=300",
    "training.epochs=null",
    "training.steps=1",
]


def trainer_for(configs, overrides):
    config, _ = load_config(configs / "xor.yaml", overrides)
    return build_run(config).trainer


@pytest.fixture(autouse=True)
def no_user_setting(monkeypatch):
    for name in (runtime.THREADS_VARIABLE, *runtime.BLAS_THREAD_VARS):
        monkeypatch.delenv(name, raising=False)


def test_the_policy_gives_one_thread_below_the_threshold_and_every_core_above():
    assert runtime.auto_threads(runtime.SECOND_THREAD_WORK / 2, cores=8) == 1
    assert runtime.auto_threads(runtime.SECOND_THREAD_WORK, cores=8) == 8
    assert runtime.auto_threads(1e12, cores=1) == 1


def test_a_tiny_model_gets_one_thread_and_a_large_one_every_core(configs):
    tiny, large = trainer_for(configs, TINY), trainer_for(configs, LARGE)
    assert tiny.work_per_step() == (2 * 16 + 16 + 16 * 2 + 2) * 32  # parameters × batch
    assert (tiny.threads, tiny.threads_source) == (1, "auto")
    assert large.work_per_step() > runtime.SECOND_THREAD_WORK
    assert (large.threads, large.threads_source) == (runtime.available_cores(), "auto")


def test_a_thread_count_given_to_openblas_caps_the_policy(configs, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert runtime.available_cores() == 1
    assert trainer_for(configs, LARGE).threads == 1


def test_the_run_uses_its_count_and_restores_the_previous_one_after(configs):
    before = runtime.current_blas_threads()
    trainer = trainer_for(configs, [*TINY, "training.threads=2"])
    assert (trainer.threads, trainer.threads_source) == (2, "training.threads")
    seen = []
    trainer.subscribe(lambda e: isinstance(e, StepEnd) and seen.append(runtime.current_blas_threads()))
    trainer.run()
    assert seen == [2] * 4
    assert runtime.current_blas_threads() == before


def test_nncli_threads_sets_the_default_and_the_config_beats_it(configs, monkeypatch):
    monkeypatch.setenv("NNCLI_THREADS", "3")
    assert trainer_for(configs, LARGE).threads_source == "NNCLI_THREADS"
    assert trainer_for(configs, TINY).threads == 3
    assert trainer_for(configs, [*TINY, "training.threads=1"]).threads == 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_nncli_threads_is_a_user_error(configs, monkeypatch, value):
    monkeypatch.setenv("NNCLI_THREADS", value)
    with pytest.raises(ConfigError, match="NNCLI_THREADS must be a positive integer"):
        trainer_for(configs, TINY)


def test_the_config_refuses_zero_threads(configs):
    with pytest.raises(ConfigError, match="training.threads"):
        load_config(configs / "xor.yaml", ["training.threads=0"])


def test_train_threads_beats_the_config_and_is_recorded(configs, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        str(configs / "xor.yaml"),
        "--set",
        "training.threads=1",
        "--set",
        "training.epochs=null",
        "--set",
        "training.steps=3",
    ]
    result = CliRunner().invoke(app, [*args, "--threads", "2", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["threads"], summary["threads_source"]) == (2, "--threads")


def test_worker_processes_get_one_thread_each_whatever_the_model():
    (chosen,) = ProcessExecutor(2).map(runtime.choose_threads, [1e12])
    assert chosen == (1, "worker")
