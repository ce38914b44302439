"""What the training loop costs on top of the bare step: `nncli train`'s work, piece by piece.

    python -m benchmarks.loop                  # medium MLP (64→256→256→10, Adam, batch 128), 2000 steps
    python -m benchmarks.loop --hidden 16 16 --features 2 --batch 32 --samples 400 --steps 2000  # tiny
    python -m benchmarks.loop --hidden 1024 1024 --features 784 --batch 256 --steps 100

The same model and optimizer are trained seven ways, interleaved round by round in one process; each
row is the median over rounds of its time per step and its ratio to the bare step in the same round.
On one BLAS thread (the default, `--threads 1`) the time is the process's CPU time, all its threads
(the live view's redraw thread included), which other processes on the machine do not disturb. With
more threads it has to be wall time: OpenBLAS's worker threads spin for a while after every product,
and that spinning counts as CPU time (nearly doubling a two-thread step's) without making the step
slower; measure those on an idle machine. The last column is the share of the CPU that other
processes used meanwhile (benchmarks.measure.Contention). What the loop adds does not depend on the
thread count; its share of a step does, as far as the step gets faster.

- bare step: forward, loss, backward, `optimizer.step()` (the benchmark's step), on the batches of the
  trainer's first epoch, gathered beforehand. Not on one fixed batch, as benchmarks.run times it: new
  data each step costs about 3 % more in NumPy's loops (measured interleaved on this model), and that
  is arithmetic, not the loop's overhead;
- train_step: the trainer's step (batch gathering, schedule, zero_grad, gradient norm);
- loop, no validation: `Trainer.run()` with no listener and no validation set (events built);
- loop: the same with the validation pass every `eval_every` steps;
- + run directory: metrics.jsonl rows, the checkpoint and final files, summary.json;
- + live view off: the reporter printing plain lines (a pipe, CI);
- + live view on: the rich progress bar and loss table redrawn in a terminal (to a buffer here).

The validation pass is a forward pass over the whole validation set: n_val rows every `eval_every`
steps (by default once per epoch, or every `log_every` steps where an epoch is shorter) against a
step's forward and backward over `batch` rows, about n_val / (3 · batch · eval_every) of a step; the
line under the table gives that estimate. Data is a fixed random classification set saved as .npz;
`log_every` and `eval_every` are the config's defaults unless given. The thread count is the run's own
(nncli.runtime's policy) for every row.
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

from benchmarks.measure import Contention
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
    training = {"steps": args.steps, "batch_size": args.batch, "threads": args.threads}
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
    clock = time.process_time if config.training.threads == 1 else time.perf_counter
    if way in ("bare step", "train_step"):
        run = build_run(config)
        trainer = run.trainer
        batches = [trainer.batch_indices(i) for i in range(trainer.steps_per_epoch)]
        batches = [(trainer.X[i], trainer.y[i]) for i in batches]
        with blas_threads(trainer.threads):
            t0 = clock()
            for step in range(steps):
                if way == "bare step":
                    x, y = batches[step % len(batches)]
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
    t0 = clock()
    if reporter is not None:
        with reporter:
            run.trainer.run()
    else:
        run.trainer.run()
    return (clock() - t0) / steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop", description=__doc__.split("\n")[0])
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument(
        "--validation", type=float, default=0.2, help="held-out fraction (the config's default)"
    )
    parser.add_argument("--log-every", type=int, default=None, help="default: the config's")
    parser.add_argument("--eval-every", type=int, default=None, help="default: once per epoch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (default 1: CPU time; more: wall time)"
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "data.npz"
        X = rng.standard_normal((args.samples, args.features))
        np.savez(data_path, X=X, y=rng.integers(0, args.classes, args.samples))
        config = _config(args, data_path)
        trainer = build_run(config).trainer
        threads, eval_every = trainer.threads, trainer.eval_interval
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        ratios: dict[str, list[float]] = {way: [] for way in WAYS}
        others: dict[str, list[float]] = {way: [] for way in WAYS}
        for r in range(args.rounds):
            row = {}
            for way in WAYS if r % 2 == 0 else WAYS[::-1]:
                with Contention() as other:
                    row[way] = _time_way(way, config, Path(tmp) / "run")
                others[way].append(other.share or 0.0)
            for way in WAYS:
                times[way].append(row[way])
                ratios[way].append(row[way] / row["bare step"])
    t = config.training
    arch = "→".join(map(str, [args.features, *args.hidden, args.classes]))
    n_val = int(args.validation * args.samples)
    print(
        f"MLP {arch}, {args.dtype}, batch {args.batch}, {args.steps} steps, log_every {t.log_every}, "
        f"eval_every {eval_every} (validation {n_val} samples), threads {threads}, "
        f"median of {args.rounds} rounds"
    )
    print("| way | ms per step | × bare step | other CPU |\n|---|---|---|---|")
    result = {}
    for way in WAYS:
        ms, ratio = statistics.median(times[way]) * 1e3, statistics.median(ratios[way])
        other = max(others[way])
        result[way] = {"ms": ms, "ratio": ratio, "other_cpu_share": other}
        print(f"| {way} | {ms:.3f} | {ratio:.2f} | {other:.0%} |")
    estimate = n_val / (3 * args.batch * eval_every)
    print(f"validation pass, estimated: n_val / (3 · batch · eval_every) = {estimate:.2f} of a step")
    return result


if __name__ == "__main__":
    main()
