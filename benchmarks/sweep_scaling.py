"""How a sweep scales: the same trials at --jobs 1, --jobs 2, on an in-process Ray instance and on a
two-node local Ray cluster; trials per second, speedup over --jobs 1, and each backend's overhead per
trial.

Run it inside a network namespace that has only the loopback interface, so Ray's traffic stays on the
machine (as root):

    unshare -n sh -c 'ip link set lo up && python -m benchmarks.sweep_scaling'

Two workloads: `empty` trials (1 step: nothing but the backend's cost of a task) and `real` trials
(spirals, a 32-32 tanh MLP, 3000 steps, about 2 s each). Overhead per trial = wall time × workers ÷
trials − the mean time a trial spends training (what the trial itself measures).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from nncli.compare.executors import ProcessExecutor, RayExecutor, SerialExecutor
from nncli.compare.sweep import plan_sweep
from nncli.compare.sweep_run import run_sweep
from nncli.config.sweep import spec_from_options, validate_spec

WORKLOADS = {
    "empty": {"training": {"steps": 1, "batch_size": 32}},
    "real": {"training": {"steps": 3000, "batch_size": 32, "log_every": 300}},
}
BASE = {
    "name": "bench",
    "data": {"dataset": "spirals", "samples": 600, "arms": 3},
    "model": {"kind": "mlp", "hidden_sizes": [32, 32], "activation": "tanh"},
    "optimizer": {"name": "adam", "lr": 0.01},
}
PORT = 6399


def plan(workload: str, trials: int):
    raw = {**BASE, **WORKLOADS[workload]}
    lrs = ",".join(f"{0.001 * (i + 1):.3f}" for i in range(trials // 2))
    return plan_sweep(raw, validate_spec(spec_from_options([f"optimizer.lr={lrs}"], [], seeds=2), "bench"))


def measure(name: str, executor, workers: int, workload: str, trials: int, root: Path) -> dict:
    p = plan(workload, trials)
    start = time.perf_counter()
    outcome = run_sweep(p, root / f"{name}-{workload}", executor)
    wall = time.perf_counter() - start
    trial_s = sum(r["wall_time_s"] for r in outcome.rows) / len(outcome.rows)
    return {
        "backend": name,
        "workload": workload,
        "trials": len(outcome.rows),
        "workers": workers,
        "wall_s": wall,
        "trials_per_s": len(outcome.rows) / wall,
        "mean_trial_s": trial_s,
        "overhead_per_trial_s": wall * workers / len(outcome.rows) - trial_s,
    }


def ray_cluster(temp: str):
    """Start a head and a second node, one CPU each, on 127.0.0.1; returns a function that stops them."""
    node = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        ["ray", "start", "--head", f"--port={PORT}", "--include-dashboard=false", *node], check=True, **quiet
    )
    subprocess.run(["ray", "start", f"--address=127.0.0.1:{PORT}", *node], check=True, **quiet)
    return lambda: subprocess.run(["ray", "stop", "--force"], **quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sweep_scaling.json"))
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nsb"))
    os.environ.setdefault("RAY_TMPDIR", str(root))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "token")  # token authentication stays on
    if not (Path.home() / ".ray" / "auth_token").exists() and not args.no_ray:
        subprocess.run(["ray", "get-auth-token", "--generate"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    try:
        for workload in WORKLOADS:
            rows.append(measure("jobs1", SerialExecutor(), 1, workload, args.trials, root))
            rows.append(measure("jobs2", ProcessExecutor(2), 2, workload, args.trials, root))
            if not args.no_ray:
                rows.append(measure("ray-local", RayExecutor(num_cpus=2), 2, workload, args.trials, root))
        if not args.no_ray:
            stop = ray_cluster(str(root))
            try:
                for workload in WORKLOADS:
                    executor = RayExecutor(f"127.0.0.1:{PORT}")
                    rows.append(measure("ray-2-nodes", executor, 2, workload, args.trials, root))
            finally:
                stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    serial = {r["workload"]: r["wall_s"] for r in rows if r["backend"] == "jobs1"}
    print("| backend | workload | trials | workers | wall s | trials/s | speedup | overhead/trial s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["speedup"] = serial[r["workload"]] / r["wall_s"]
        print(
            f"| {r['backend']} | {r['workload']} | {r['trials']} | {r['workers']} | {r['wall_s']:.2f} | "
            f"{r['trials_per_s']:.2f} | {r['speedup']:.2f} | {r['overhead_per_trial_s']:.3f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]  # other processes' share of the CPUs skews every number
    print(f"load average when done: {load:.1f} on {os.cpu_count()} CPUs")
    meta = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "load_average": load}
    args.out.write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
