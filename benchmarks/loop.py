"""What the training loop costs on top of the bare step: `nncli train`'s work, piece by piece.

    python -m benchmarks.loop                  # medium MLP (64→256→256→10, Adam, batch 128), 400 steps
    python -m benchmarks.loop --hidden 16 16 --features 2 --batch 32 --samples 400 --steps 2000  # tiny
    python -m benchmarks.loop --hidden 1024 1024 --features 784 --batch 256 --steps 100

The same model and optimizer are trained seven ways, interleaved round by round in one process; each
row is the median over rounds of its CPU time per step (the process's, all its threads: the live view's
redraw thread included), and its ratio to the bare step in the same round. CPU time rather than wall
time, so that other processes on a busy machine, which take the core away, do not count:

- bare step: forward, loss, backward, `optimizer.step()` on one fixed batch (the benchmark's step);
- train_step: the trainer's step (batch gathering, schedule, zero_grad, gradient norm);
- loop, no validation: `Trainer.run()` with no listener and no validation set (events built);
- loop: the same with the validation pass every `eval_every` steps;
- + run directory: metrics.jsonl rows, the checkpoint and final files, summary.json;
- + live view off: the reporter printing plain lines (a pipe, CI);
- + live view on: the rich progress bar and loss table redrawn in a terminal (to a buffer here).

The validation pass is a forward pass over the whole validation set: n_val rows every `eval_every`
steps against a step's forward and backward over `batch` rows, about n_val / (3 · batch · eval_every)
of a step; the line under the table gives that estimate. Data is a fixed random classification set
saved as .npz; `log_every` and `eval_every` are the config's defaults unless given. The thread count
is the run's own (nncli.runtime's policy) for every row.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from nncli.config.schema import RunConfig
from nncli.rundir.directory import new_run
from nncli.runtime import blas_threads
from nncli.training.build import build_run
from nncli.views.reporter import TrainingReporter

WAYS = (
    "bare step",
    "train_step",
    "loop, no validation",
    "loop",
    "+ run directory",
    "+ live view off",
    "+ live view on",
)


def _config(args, data_path: Path) -> RunConfig:
    training = {"steps": args.steps, "batch_size": args.batch}
    if args.log_every:
        training["log_every"] = args.log_every
    if args.eval_every:
        training["eval_every"] = args.eval_every
    return RunConfig.model_validate(
        {
            "dtype": args.dtype,
            "data": {"path": str(data_path), "validation": args.validation},
            "model": {"kind": "mlp", "hidden_sizes": args.hidden, "activation": "relu"},
            "optimizer": {"name": "adam", "lr": 1e-3},
            "training": training,
        }
    )


def _time_way(way: str, config: RunConfig, out: Path) -> float:
    """Seconds per step of one way, from a fresh run (building it is not timed)."""
    steps = config.training.steps
    if way in ("bare step", "train_step"):
        run = build_run(config)
        trainer, clock = run.trainer, time.process_time
        x, y = trainer.X[: trainer.settings.batch_size], trainer.y[: trainer.settings.batch_size]
        with blas_threads(trainer.threads):
            t0 = clock()
            for step in range(steps):
                if way == "bare step":
                    trainer.loss.forward(trainer.model.forward(x), y)
                    trainer.model.backward(trainer.loss.backward())
                    trainer.optimizer.step()
                else:
                    trainer.train_step(step)
            return (clock() - t0) / steps
    if way.startswith("loop"):
        run = build_run(config)
        if way == "loop, no validation":
            run.trainer.X_val = run.trainer.y_val = None
    else:
        run, directory = new_run(config, out, overwrite=True)
        directory.start()
        run.trainer.subscribe(directory)
    reporter = None
    if way.startswith("+ live view"):
        console = Console(file=io.StringIO(), force_terminal=way.endswith("on"), width=120)
        reporter = TrainingReporter(console, steps, run.trainer.metric_name)
        run.trainer.subscribe(reporter)
    t0 = time.process_time()
    if reporter is not None:
        with reporter:
            run.trainer.run()
    else:
        run.trainer.run()
    return (time.process_time() - t0) / steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop", description=__doc__.split("\n")[0])
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument(
        "--validation", type=float, default=0.2, help="held-out fraction (the config's default)"
    )
    parser.add_argument("--log-every", type=int, default=None, help="default: the config's")
    parser.add_argument("--eval-every", type=int, default=None, help="default: log_every")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "data.npz"
        X = rng.standard_normal((args.samples, args.features))
        np.savez(data_path, X=X, y=rng.integers(0, args.classes, args.samples))
        config = _config(args, data_path)
        threads = build_run(config).trainer.threads
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        ratios: dict[str, list[float]] = {way: [] for way in WAYS}
        for r in range(args.rounds):
            row = {}
            for way in WAYS if r % 2 == 0 else WAYS[::-1]:
                row[way] = _time_way(way, config, Path(tmp) / "run")
            for way in WAYS:
                times[way].append(row[way])
                ratios[way].append(row[way] / row["bare step"])
    t = config.training
    arch = "→".join(map(str, [args.features, *args.hidden, args.classes]))
    n_val, eval_every = int(args.validation * args.samples), t.eval_every or t.log_every
    print(
        f"MLP {arch}, {args.dtype}, batch {args.batch}, {args.steps} steps, log_every {t.log_every}, "
        f"eval_every {eval_every} (validation {n_val} samples), threads {threads}, "
        f"median of {args.rounds} rounds"
    )
    print("| way | ms per step | × bare step |\n|---|---|---|")
    result = {}
    for way in WAYS:
        ms, ratio = statistics.median(times[way]) * 1e3, statistics.median(ratios[way])
        result[way] = {"ms": ms, "ratio": ratio}
        print(f"| {way} | {ms:.3f} | {ratio:.2f} |")
    estimate = n_val / (3 * args.batch * eval_every)
    print(f"validation pass, estimated: n_val / (3 · batch · eval_every) = {estimate:.2f} of a step")
    return result


if __name__ == "__main__":
    main()
