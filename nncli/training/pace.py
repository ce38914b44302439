"""Slowing a run down so that it can be watched: a class sees the decision boundary form step by step."""

from __future__ import annotations

import time
from collections.abc import Callable

from nncli.training.events import Event, StepEnd


class Pace:
    """A trainer listener that holds training to at most `steps_per_s` optimizer steps a second.

    At each logged step it sleeps until the run is no further ahead than that rate allows, so the rate
    holds on average whatever `log_every` is (the steps in between run at full speed).
    """

    def __init__(
        self,
        steps_per_s: float,
        start_step: int = 0,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not steps_per_s > 0:
            raise ValueError(f"steps_per_s must be positive, got {steps_per_s}")
        self.rate, self.start_step = steps_per_s, start_step
        self.clock, self.sleep = clock, sleep
        self.start = clock()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEnd):
            ahead = (event.step - self.start_step) / self.rate - (self.clock() - self.start)
            if ahead > 0:
                self.sleep(ahead)
