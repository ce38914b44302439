"""Executors: run independent jobs in this process or in worker processes, results in input order.

The one interface other backends plug into: `map(fn, items, on_result)`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from nncli.runtime import pin_threads


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
        workers = max(1, min(self.jobs, len(items)))
        # one BLAS thread per worker: J workers already share the cores (nncli.runtime.pin_threads)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=pin_threads, initargs=(1,)) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        return results


def make_executor(jobs: int) -> Executor:
    return SerialExecutor() if jobs <= 1 else ProcessExecutor(jobs)
