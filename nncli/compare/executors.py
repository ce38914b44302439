"""Executors: run independent jobs in this process, in worker processes or as Ray tasks, results in
input order.

The one interface every backend plugs into: `map(fn, items, on_result)`. `fn` must be a module-level
function and the items plain data, so that they travel to another process or machine. Ctrl-C
(KeyboardInterrupt) cancels what has not finished and propagates; what `on_result` saw is kept.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from nncli.errors import NncliError


class Executor(Protocol):
    """Runs `fn` on every item and returns the results in input order, calling `on_result(index, result)`
    as each finishes. `in_process` says whether `fn` runs here, so that it may call back (live rows)."""

    in_process: bool

    def map(
        self, fn: Callable, items: Sequence, on_result: Callable[[int, Any], None] | None = None
    ) -> list: ...


class SerialExecutor:
    in_process = True

    def map(self, fn, items, on_result=None) -> list:
        results = []
        for i, item in enumerate(items):
            results.append(fn(item))
            if on_result is not None:
                on_result(i, results[-1])
        return results


class ProcessExecutor:
    """`jobs` worker processes from the standard library's pool. "spawn" starts each worker clean (no
    inherited threads or state), so a run's numbers cannot depend on what the parent was doing."""

    in_process = False

    def __init__(self, jobs: int, start_method: str = "spawn") -> None:
        self.jobs, self.start_method = jobs, start_method

    def map(self, fn, items, on_result=None) -> list:
        results: list = [None] * len(items)
        context = multiprocessing.get_context(self.start_method)
        if not items:
            return results
        pool = ProcessPoolExecutor(max_workers=max(1, min(self.jobs, len(items))), mp_context=context)
        try:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results


# One BLAS thread per task: a trial is one CPU's work, and threads would only fight over the cores.
TASK_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def import_ray():
    """Ray, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise NncliError("--backend ray needs Ray: pip install 'nncli[ray]'") from None
    return ray


class RayExecutor:
    """Ray tasks of one CPU each, collected as they finish. Connects to the cluster at `address` (or
    RAY_ADDRESS); with neither, starts a Ray instance inside this process (`num_cpus` CPUs, default all)
    and stops it afterwards. Workers get this process's PYTHONPATH, so a source checkout runs too."""

    in_process = False

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address, self.num_cpus = address, num_cpus

    def map(self, fn, items, on_result=None) -> list:
        ray = import_ray()
        env = dict(TASK_ENV)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        started = not ray.is_initialized()
        if started:
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            ray.init(
                address=address,
                num_cpus=None if address else self.num_cpus,
                runtime_env={"env_vars": env},
                include_dashboard=False,
                log_to_driver=False,
                logging_level="error",
            )
        try:
            return self._map(ray, fn, items, on_result)
        finally:
            if started:
                ray.shutdown()

    @staticmethod
    def _map(ray, fn, items, on_result) -> list:
        results: list = [None] * len(items)
        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        index = {task.remote(item): i for i, item in enumerate(items)}
        pending = list(index)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index[ref]
                    results[i] = ray.get(ref)
                    if on_result is not None:
                        on_result(i, results[i])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results


def make_executor(jobs: int, backend: str = "local", address: str | None = None) -> Executor:
    """`--jobs` and `--backend` made into an executor: serial, a process pool, or Ray."""
    if backend == "ray":
        return RayExecutor(address, num_cpus=jobs if jobs > 1 else None)
    return SerialExecutor() if jobs <= 1 else ProcessExecutor(jobs)
