"""The training loop. It announces what happens as events and leaves printing and writing to listeners.

One step: forward on a batch, data loss plus regularisation, backward, gradient clipping, optimizer
update (then L1's proximal step, if asked). Batches come from a per-epoch permutation drawn from a
generator seeded by (seed, epoch), so the order depends only on the step number: a resumed run sees
exactly the batches the uninterrupted one would have.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nncli.engine.losses import Loss
from nncli.engine.module import Module
from nncli.engine.parameters import ParameterBuffer
from nncli.engine.regularizers import L1, Regularizer
from nncli.runtime import blas_threads, choose_threads
from nncli.training.events import CheckpointDue, Evaluation, Event, StepEnd, TrainingEnd
from nncli.training.work import largest_matmul, rows_per_sample

Listener = Callable[[Event], None]


@dataclass(frozen=True)
class LoopSettings:
    """Plain settings of the loop (from the config's `training` section)."""

    total_steps: int
    batch_size: int  # already resolved: 1 ≤ batch_size ≤ n
    fold_single: bool = False  # a last batch of one joins the batch before it (batch norm needs two)
    shuffle: bool = True
    shuffle_seed: int = 0
    clip_grad_norm: float | None = None
    patience: int | None = None
    min_delta: float = 0.0
    log_every: int = 10
    eval_every: int | None = None  # None: default_eval_interval
    checkpoint_every: int | None = None
    threads: int | None = None  # BLAS threads; None: NNCLI_THREADS or the policy (nncli.runtime)
    restore_best: bool = False  # early stopping ends on the weights of the best val_loss


def steps_per_epoch(n: int, batch_size: int, fold_single: bool = False) -> int:
    """Batches in one pass over n samples: every sample is trained on, the last batch taking the rest,
    even a single sample (as PyTorch's DataLoader does), unless `fold_single` adds it to the batch before."""
    full, rest = divmod(n, batch_size)
    return full + (rest > 1 or (rest == 1 and not fold_single))


def default_eval_interval(steps_per_epoch: int, log_every: int) -> int:
    """Steps between validations when `eval_every` is not set: once per epoch (as Keras and Lightning
    do), which costs about n_val / (3 · n_train) of the training time whatever the batch (8 % at
    validation 0.2), or every `log_every` steps where an epoch is shorter, so that every evaluation
    reaches a metrics row (the first row after it holds it, `val_step` saying when it was made)."""
    return max(steps_per_epoch, log_every)


@dataclass
class TrainState:
    """What changes during training besides parameters and optimizer state; saved in checkpoints."""

    step: int = 0
    best_val_loss: float = math.inf
    best_step: int = 0  # the step of the lowest val_loss, whose weights are `Trainer.best`
    val_metric_at_best_loss: float | None = None
    best_val_metric: float | None = None  # the highest val metric reached (accuracy, r2), at any step
    best_metric_step: int = 0
    evals_without_improvement: int = 0
    last_val_loss: float | None = None
    last_val_metric: float | None = None
    last_val_step: int | None = None  # the step of the latest evaluation
    last_train_loss: float | None = None
    interval_data_loss: float = 0.0  # sum of the data loss over the steps since the last logged one
    interval_steps: int = 0
    elapsed_s: float = 0.0
    history: list[dict] = field(default_factory=list)


class Trainer:
    """Runs the loop for a built model; see `nncli.training.build.build_run` for making one from a config."""

    def __init__(
        self,
        *,
        model: Module,
        params: ParameterBuffer,
        loss: Loss,
        optimizer,
        schedule,
        settings: LoopSettings,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        metric: Callable[[np.ndarray, np.ndarray], float],
        metric_name: str,
        regularizers: list[Regularizer] = (),
        proximal_l1: L1 | None = None,
        reg_slice: slice = slice(None),
    ) -> None:
        self.model, self.params, self.loss = model, params, loss
        self.optimizer, self.schedule, self.settings = optimizer, schedule, settings
        self.X, self.y, self.X_val, self.y_val = X, y, X_val, y_val
        self.metric, self.metric_name = metric, metric_name
        self.regularizers, self.proximal_l1, self.reg_slice = list(regularizers), proximal_l1, reg_slice
        self.state = TrainState()
        # parameters and running statistics at the lowest val_loss so far (None before a validation)
        self.best: dict[str, np.ndarray] | None = None
        self.best_buffers: dict[str, np.ndarray] = {}
        self.listeners: list[Listener] = []
        self.stop_requested: str | None = None  # set to "interrupted" by a signal handler
        self.finishing = False  # the loop is over; the final checkpoint and summary are being written
        n = X.shape[0]
        self.steps_per_epoch = steps_per_epoch(n, settings.batch_size, settings.fold_single)
        self.eval_interval = settings.eval_every or default_eval_interval(
            self.steps_per_epoch, settings.log_every
        )
        self._perm_epoch = -1
        self._perm = np.arange(n)
        self.use_threads(settings.threads)

    # ------------------------------------------------------------------ events
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def largest_matmul(self) -> int:
        """Multiply-adds of the step's largest matrix product (nncli.training.work): what decides
        whether a second BLAS thread pays."""
        return largest_matmul(self.model, self.settings.batch_size, rows_per_sample(self.X))

    def use_threads(self, requested: int | None, source: str = "training.threads") -> None:
        """Fix the run's BLAS thread count: `requested`, or what nncli.runtime.choose_threads picks."""
        self.threads, self.threads_source = choose_threads(self.largest_matmul(), requested, source)

    # ------------------------------------------------------------------ one step
    def batch_indices(self, step: int) -> np.ndarray | slice:
        epoch, i = divmod(step, self.steps_per_epoch)
        bs, n = self.settings.batch_size, self.X.shape[0]
        end = n if i == self.steps_per_epoch - 1 else (i + 1) * bs  # the last batch takes the rest
        if not self.settings.shuffle:
            return slice(i * bs, end)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.settings.shuffle_seed, epoch]).permutation(n)
            self._perm_epoch = epoch
        return self._perm[i * bs : end]

    def penalty(self) -> float:
        w = self.params.data[self.reg_slice]
        total = sum(r.penalty(w) for r in self.regularizers)
        if self.proximal_l1 is not None:
            total += self.proximal_l1.penalty(w)
        return total

    def train_step(self, step: int) -> tuple[float, float, float]:
        """One update; returns (objective, data loss, gradient norm before clipping)."""
        idx = self.batch_indices(step)
        xb, yb = self.X[idx], self.y[idx]
        lr = self.schedule.lr_at(step)
        self.optimizer.lr = lr
        if not self.model.training:  # evaluate() and predict() hand it back in training mode; walking the
            self.model.train()  # modules each step would cost a tiny model a quarter of its step
        self.params.zero_grad()
        data_loss = self.loss.forward(self.model.forward(xb), yb)
        self.model.backward(self.loss.backward())
        w = self.params.data[self.reg_slice]
        g = self.params.grad[self.reg_slice]
        for reg in self.regularizers:
            reg.add_grad(w, g)
        objective = data_loss + self.penalty()
        grad_norm = self.params.grad_norm()
        if not (math.isfinite(objective) and math.isfinite(grad_norm)):
            return objective, data_loss, grad_norm
        if self.settings.clip_grad_norm is not None:
            self.params.clip_grad_norm(self.settings.clip_grad_norm)
        self.optimizer.step()
        if self.proximal_l1 is not None:
            self.proximal_l1.prox(w, lr)
        return objective, data_loss, grad_norm

    def evaluate(self, X: np.ndarray | None = None, y: np.ndarray | None = None) -> tuple[float, float]:
        """(loss, metric) in eval mode, on the validation set unless data is given."""
        X = self.X_val if X is None else X
        y = self.y_val if y is None else y
        self.model.eval()
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's loss is inf, not a warning
            pred = self.model.forward(X)
            value = self.loss.forward(pred, y)
            metric = self.metric(pred, y)
        self.loss._cache = None
        self.model.train()
        return value, metric

    def predict(self, X: np.ndarray) -> np.ndarray:
        self.model.eval()
        out = self.model.forward(X)
        self.model.train()
        return out

    # ------------------------------------------------------------------ the loop
    def run(self) -> TrainState:
        st = self.state
        start_time = time.perf_counter() - st.elapsed_s
        # divergence is detected and reported below
        with blas_threads(self.threads), np.errstate(over="ignore", invalid="ignore"):
            status, message = self._loop(start_time)
        self.finishing = True
        if status == "early_stopped" and self.settings.restore_best and self.best is not None:
            self.params.load_state_dict(self.best)
            self.model.load_buffers(self.best_buffers)
            st.last_val_loss, st.last_val_metric = st.best_val_loss, st.val_metric_at_best_loss
            st.last_val_step = st.best_step
            message += f"; restored the weights of step {st.best_step}"
        # a diverged step changed nothing (its update is skipped), so the parameters and optimizer state
        # are those of the last good step: kept as the checkpoint while they are finite, to inspect or to
        # resume with a lower learning rate
        if status != "diverged" or self._state_is_finite():
            self.emit(CheckpointDue(st.step))
        self.emit(TrainingEnd(st.step, status, message))
        self.status = status
        return st

    def _loop(self, start_time: float) -> tuple[str, str]:
        s, st = self.settings, self.state
        status, message = "completed", ""
        while st.step < s.total_steps:
            step = st.step
            objective, data_loss, grad_norm = self.train_step(step)
            if not (math.isfinite(objective) and math.isfinite(grad_norm)):
                what = "loss" if not math.isfinite(objective) else "gradient"
                status = "diverged"
                message = (
                    f"the {what} became {objective if what == 'loss' else grad_norm} at step {step + 1}; "
                    "try a lower learning rate or gradient clipping (training.clip_grad_norm)"
                )
                break
            st.step = step + 1
            st.last_train_loss = objective
            st.interval_data_loss += data_loss
            st.interval_steps += 1
            st.elapsed_s = time.perf_counter() - start_time
            done = st.step == s.total_steps
            stop = False
            if self.X_val is not None and (st.step % self.eval_interval == 0 or done):
                stop = self._evaluate_and_track()
            # a row at the last step however the run ends, so that it holds the latest evaluation
            if st.step % s.log_every == 0 or done or stop or self.stop_requested:
                event = StepEnd(
                    step=st.step,
                    epoch=step // self.steps_per_epoch + 1,
                    train_loss=objective,
                    data_loss=data_loss,
                    data_loss_mean=st.interval_data_loss / st.interval_steps,
                    penalty=objective - data_loss,
                    lr=self.optimizer.lr,
                    grad_norm=grad_norm,
                    time_s=st.elapsed_s,
                    val_loss=st.last_val_loss,
                    val_metric=st.last_val_metric,
                    val_step=st.last_val_step,
                )
                st.interval_data_loss, st.interval_steps = 0.0, 0
                st.history.append(event.to_dict())
                self.emit(event)
            if stop:
                status = "early_stopped"
                message = f"val_loss did not improve for {s.patience} evaluations"
                break
            if self.stop_requested:
                status, message = self.stop_requested, f"stopped at step {st.step}"
                break
            if s.checkpoint_every and st.step % s.checkpoint_every == 0 and not done:
                self.emit(CheckpointDue(st.step))
        return status, message

    def _state_is_finite(self) -> bool:
        arrays = [self.params.data, *self.optimizer.state_dict().values()]
        arrays += [v for _, v in self.model.named_buffers()]
        return all(np.all(np.isfinite(a)) for a in map(np.asarray, arrays) if a.dtype.kind == "f")

    def _evaluate_and_track(self) -> bool:
        """Evaluate, track the best val_loss; True when early stopping says stop."""
        st, s = self.state, self.settings
        val_loss, val_metric = self.evaluate()
        st.last_val_loss, st.last_val_metric, st.last_val_step = val_loss, val_metric, st.step
        self.emit(Evaluation(st.step, val_loss, val_metric, self.metric_name))
        if st.best_val_metric is None or val_metric > st.best_val_metric:
            st.best_val_metric, st.best_metric_step = val_metric, st.step
        if val_loss < st.best_val_loss - s.min_delta:
            st.best_val_loss, st.val_metric_at_best_loss, st.best_step = val_loss, val_metric, st.step
            st.evals_without_improvement = 0
            self.best = self.params.state_dict()
            self.best_buffers = {k: v.copy() for k, v in self.model.named_buffers()}
        else:
            st.evals_without_improvement += 1
        return s.patience is not None and st.evals_without_improvement >= s.patience
