"""Optimizers and schedules against torch.optim on the same small MLP, data and MSE loss.

nncli trains with its own forward and backward, torch with autograd; after 50 steps every parameter must
agree to 1e-10 relative, and every schedule's lr sequence to 1e-12.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nncli.engine.losses import MSELoss
from nncli.engine.models import mlp
from nncli.engine.optimizers import OPTIMIZERS
from nncli.engine.parameters import ParameterBuffer
from nncli.engine.schedules import SCHEDULES

torch = pytest.importorskip("torch", reason="the parity tests compare against PyTorch")

TORCH_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def grid(**options) -> list[dict]:
    """Every combination of the given option values."""
    return [dict(zip(options, values, strict=True)) for values in itertools.product(*options.values())]


CASES = (
    [
        ("sgd", {"lr": 0.1, **kw})
        for kw in grid(
            momentum=[0.0, 0.9], dampening=[0.0, 0.1], nesterov=[False, True], weight_decay=[0.0, 0.01]
        )
        if not kw["nesterov"] or (kw["momentum"] > 0 and kw["dampening"] == 0)
    ]
    + [
        ("rmsprop", kw)
        for kw in grid(
            alpha=[0.99, 0.9], centered=[False, True], momentum=[0.0, 0.5], weight_decay=[0.0, 0.1]
        )
    ]
    + [("rmsprop", {"lr": 0.003, "eps": 1e-4})]
    + [
        ("adagrad", {"lr": 0.1, **kw})
        for kw in grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.1])
    ]
    + [("adagrad", {"eps": 1e-4})]
    + [
        (name, {"lr": 0.01, **kw})
        for name in ("adam", "adamw")
        for kw in grid(betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.1], amsgrad=[False, True])
    ]
    + [
        ("adam", {"eps": 1e-3}),
        ("adamw", {"lr": 0.01}),
        ("adam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ]
)


def case_id(case) -> str:
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def torch_twin(buf: ParameterBuffer):
    """Linear(3, 8) → tanh → Linear(8, 8) → tanh → Linear(8, 2) holding the buffer's values."""
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    ).double()
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name, p in buf.params.items():
            params[name.removeprefix("layers.")].copy_(torch.from_numpy(p.data))
    return net, params


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_optimizer_matches_torch_over_50_steps(case):
    name, kwargs = case
    model = mlp(
        in_features=3,
        out_features=2,
        hidden_sizes=[8, 8],
        activation="tanh",
        rng=np.random.default_rng(0),
        dtype=np.float64,
    )
    buf = ParameterBuffer(model.named_parameters())
    start = buf.data.copy()
    net, torch_params = torch_twin(buf)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    opt = OPTIMIZERS.get(name)(buf, **kwargs)
    torch_opt = TORCH_OPTIMIZERS[name](net.parameters(), foreach=False, **kwargs)
    loss = MSELoss()
    for _ in range(50):
        opt.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()

        torch_opt.zero_grad()
        torch.nn.functional.mse_loss(net(xt), yt).backward()
        torch_opt.step()

    for pname, p in buf.params.items():
        expected = torch_params[pname.removeprefix("layers.")].detach().numpy()
        np.testing.assert_allclose(p.data, expected, rtol=1e-10, atol=1e-13, err_msg=pname)
    assert np.abs(buf.data - start).max() > 1e-3  # training moved the parameters


SCHEDULE_CASES = [
    ("step", torch.optim.lr_scheduler.StepLR, {"step_size": 4}),
    ("step", torch.optim.lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.5}),
    ("exponential", torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.9}),
    ("cosine", torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 10}),
    ("cosine", torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 7, "eta_min": 0.01}),
    ("cosine", torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 100, "eta_min": 0.001}),
    ("warmup", torch.optim.lr_scheduler.LinearLR, {}),
    (
        "warmup",
        torch.optim.lr_scheduler.LinearLR,
        {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 12},
    ),
    ("warmup", torch.optim.lr_scheduler.LinearLR, {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 7}),
]


@pytest.mark.parametrize(
    "name, torch_cls, kwargs", SCHEDULE_CASES, ids=[case_id((n, kw)) for n, _, kw in SCHEDULE_CASES]
)
def test_schedule_matches_torch_over_30_steps(name, torch_cls, kwargs):
    base_lr = 0.1
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    torch_schedule = torch_cls(torch_opt, **kwargs)
    expected = []
    for _ in range(30):
        expected.append(torch_opt.param_groups[0]["lr"])
        torch_opt.step()
        torch_schedule.step()
    schedule = SCHEDULES.get(name)(base_lr, **kwargs)
    np.testing.assert_allclose([schedule.lr_at(t) for t in range(30)], expected, rtol=1e-12, atol=1e-300)
