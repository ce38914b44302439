"""A whole `nncli train` run (full batch, float64) against the same model trained in PyTorch from the
run's init.npz: the loss curves agree to 1e-10 relative."""

import json

import numpy as np
import pytest

from nncli.config.loading import load_config
from nncli.fileio import load_npz
from nncli.rundir.directory import new_run
from nncli.training.build import build_run

torch = pytest.importorskip(
    "torch", reason="the parity tests need the torch extra: pip install -e '.[torch]'"
)

TORCH_ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


def torch_mlp(init: dict, activation: str, n_linear: int) -> torch.nn.Sequential:
    layers = []
    for i in range(n_linear):
        w = torch.tensor(init[f"layers.{2 * i}.weight"])
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(torch.tensor(init[f"layers.{2 * i}.bias"]))
        layers.append(lin)
        if i < n_linear - 1:
            layers.append(TORCH_ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)


CASES = [
    ("sine.yaml", ["optimizer.name=adam", "optimizer.lr=0.01"], torch.optim.Adam, {"lr": 0.01}),
    (
        "sine.yaml",
        ["optimizer.name=sgd", "optimizer.lr=0.1", "optimizer.momentum=0.9"],
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9},
    ),
    (
        "spirals.yaml",
        ["schedule.name=constant", "optimizer.lr=0.01", "regularization.l2=0.001"],
        torch.optim.Adam,
        {"lr": 0.01},
    ),
]


@pytest.mark.parametrize("config, overrides, optim_cls, optim_args", CASES)
def test_full_batch_training_curve_matches_pytorch(
    configs, tmp_path, config, overrides, optim_cls, optim_args
):
    overrides = [
        *overrides,
        "training.batch_size=0",
        "training.epochs=null",
        "training.steps=60",
        "training.log_every=1",
        "dtype=float64",
    ]
    cfg, _ = load_config(configs / config, overrides)
    run, directory = new_run(cfg, tmp_path / "run")
    directory.start()
    run.trainer.subscribe(directory)
    run.trainer.run()
    ours = [
        json.loads(line)["train_loss"]
        for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]

    fresh = build_run(cfg)  # the same data, exactly as the trainer sees it
    X, y = torch.tensor(fresh.trainer.X), torch.tensor(fresh.trainer.y)
    init = load_npz(tmp_path / "run" / "init.npz")
    n_linear = len(cfg.model.hidden_sizes) + 1
    model = torch_mlp(init, cfg.model.activation, n_linear)
    opt = optim_cls(model.parameters(), **optim_args)
    l2 = cfg.regularization.l2
    theirs = []
    for _ in range(60):
        opt.zero_grad()
        out = model(X)
        if cfg.data.dataset == "spirals":
            loss = torch.nn.functional.cross_entropy(out, y)
        else:
            loss = torch.nn.functional.mse_loss(out, y.reshape(out.shape))
        loss = loss + l2 * sum(
            (p**2).sum() for name, p in model.named_parameters() if name.endswith("weight")
        )
        loss.backward()
        opt.step()
        theirs.append(loss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    final = load_npz(tmp_path / "run" / "final.npz")
    for name, p in model.named_parameters():
        layer = int(name.split(".")[0])
        np.testing.assert_allclose(
            final[f"layers.{layer}.{name.split('.')[1]}"], p.detach().numpy(), rtol=1e-9, atol=1e-12
        )
