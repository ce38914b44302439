"""`nncli train --pace`: training held to a rate a class can watch (a fake clock: no timed assertions)."""

import json

import pytest
from typer.testing import CliRunner

from nncli.cli import app
from nncli.training.events import StepEnd
from nncli.training.pace import Pace


def step(n: int) -> StepEnd:
    return StepEnd(
        step=n,
        epoch=1,
        train_loss=0.1,
        data_loss=0.1,
        data_loss_mean=0.1,
        penalty=0.0,
        lr=0.1,
        grad_norm=1.0,
        time_s=0.0,
    )


def test_pace_sleeps_until_the_rate_is_kept():
    now, slept = [0.0], []
    pace = Pace(10.0, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    now[0] = 0.2
    pace(step(5))  # 5 steps at 10/s take 0.5 s; 0.2 s have gone
    now[0] += 1.0
    pace(step(10))  # already behind: 1.0 s is due, 1.5 s have gone
    pace(step(30))  # 3.0 s due
    assert slept == pytest.approx([0.3, 1.5])


def test_pace_counts_from_the_step_it_resumes_at():
    slept = []
    pace = Pace(100.0, 500, clock=lambda: 0.0, sleep=slept.append)
    pace(step(600))
    assert slept == pytest.approx([1.0])
    with pytest.raises(ValueError, match="positive"):
        Pace(0.0)


def test_train_takes_pace(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("data: {dataset: xor, samples: 50}\ntraining: {steps: 4, log_every: 2}\n")
    result = CliRunner().invoke(
        app, ["train", str(config), "--pace", "1000", "-o", str(tmp_path / "r"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["steps"] == 4
    result = CliRunner().invoke(app, ["train", str(config), "--pace", "0", "-o", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--pace" in result.output
