"""The BLAS thread policy: one thread for a model whose matrix products are all small, every core for one
with a large product, and each override (training.threads, --threads, NNCLI_THREADS, a worker's pin) in
its order."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nncli import runtime
from nncli.cli import app
from nncli.compare.executors import ProcessExecutor
from nncli.config.loading import load_config
from nncli.engine.models import mlp
from nncli.engine.transformer import Transformer, TransformerBlock
from nncli.errors import ConfigError
from nncli.training.build import build_run
from nncli.training.events import StepEnd
from nncli.training.work import largest_matmul

RNG = np.random.default_rng(0)
TINY = ["training.epochs=null", "training.steps=4", "training.log_every=1"]
# 2 → 1024 → 1024 → 2 on 240 training samples: its middle product is 240 × 1024 × 1024 ≈ 2.5e8
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


def test_the_policy_gives_one_thread_below_the_threshold_and_every_core_from_it():
    assert runtime.auto_threads(runtime.SECOND_THREAD_MATMUL - 1, cores=8) == 1
    assert runtime.auto_threads(runtime.SECOND_THREAD_MATMUL, cores=8) == 8
    assert runtime.auto_threads(1e12, cores=1) == 1


def test_the_threshold_lies_above_what_openblas_runs_on_one_thread():
    """OpenBLAS gives a product of m·n·k ≤ 65536 × 4 one thread and two only from twice that: below, a
    second thread has nothing to share."""
    assert runtime.SECOND_THREAD_MATMUL > 2 * 65536 * 4


def test_a_tiny_model_gets_one_thread_and_a_large_one_every_core(configs):
    tiny, large = trainer_for(configs, TINY), trainer_for(configs, LARGE)
    assert tiny.largest_matmul() == 32 * 16 * 2  # batch × the 16 × 2 weights of either layer
    assert (tiny.threads, tiny.threads_source) == (1, "auto")
    assert large.largest_matmul() == 240 * 1024 * 1024  # the 240 training samples make one batch
    assert (large.threads, large.threads_source) == (runtime.available_cores(), "auto")


def _mlp(widths):
    return mlp(in_features=widths[0], out_features=widths[-1], hidden_sizes=widths[1:-1], rng=RNG)


@pytest.mark.parametrize(
    ("model", "batch", "positions", "expected"),
    [
        # the benchmark's rows: tiny 256 × 16 × 16, medium 128 × 256 × 256, large 256 × 1024 × 1024
        (_mlp([2, 16, 16, 1]), 256, 1, 256 * 16 * 16),
        (_mlp([64, 256, 256, 10]), 128, 1, 128 * 256 * 256),
        (_mlp([784, 1024, 1024, 10]), 256, 1, 256 * 1024 * 1024),
        # a block on 32 sequences of 32: its feed-forward, 1024 rows × 64 × 256
        (TransformerBlock(64, 4, rng=RNG), 32, 32, 32 * 32 * 64 * 256),
        # attention's scores win over the projections for long sequences of narrow embeddings
        (TransformerBlock(8, 1, ff_mult=1, rng=RNG), 1, 512, 512 * 512 * 8),
    ],
)
def test_the_largest_product_is_read_from_the_layer_shapes(model, batch, positions, expected):
    assert largest_matmul(model, batch, positions) == expected


def test_lookup_tables_are_no_product():
    """A transformer on tokens: the 1000 × 16 embedding is read by index, not multiplied."""
    model = Transformer(
        vocab_size=1000, out_features=2, seq_len=8, d_model=16, n_heads=2, n_layers=1, rng=RNG
    )
    assert largest_matmul(model, 4, 8) == 4 * 8 * 16 * 64  # the feed-forward's 16 × 64


@pytest.mark.parametrize(
    ("model", "batch", "threads"),
    [
        (_mlp([2, 16, 16, 1]), 256, 1),  # 6.6e4: below OpenBLAS's own threshold
        (_mlp([64, 64, 64, 10]), 128, 1),  # 5.2e5: OpenBLAS's first product on two threads, break-even
        (_mlp([64, 256, 256, 10]), 16, 1),  # 1.0e6
        (_mlp([64, 256, 256, 10]), 64, 2),  # 4.2e6
        (_mlp([64, 256, 256, 10]), 128, 2),  # 8.4e6: the medium MLP
    ],
)
def test_the_boundary_cases(model, batch, threads):
    assert runtime.auto_threads(largest_matmul(model, batch), cores=2) == threads


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
