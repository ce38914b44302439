"""The command line's conventions: one name per option across commands, help with examples and exit codes,
--version and -h, old spellings kept as hidden aliases, and user text with [brackets] printed as written."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from nncli import __version__
from nncli.cli import app
from nncli.cli.common import EXIT_CODES
from nncli.views.scales import log_axis

runner = CliRunner()

GOOD = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [8]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16}
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def commands(group=None, prefix=()):
    """(words, click command) of every command, nested groups included."""
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = dict(commands())


def options(command):
    return [p for p in command.params if type(p).__name__.endswith("Option") and not p.hidden]


def test_version_and_short_help():
    assert invoke("--version").output.strip() == f"nncli {__version__}"
    assert invoke("-h").exit_code == 0 and "Usage" in invoke("-h").output
    for words in ALL:
        result = invoke(*words, "-h")
        assert result.exit_code == 0 and "Usage" in result.output, words


def test_top_level_help_offers_completion_and_lists_every_exit_code():
    output = invoke("--help").output
    assert "--install-completion" in output and "--show-completion" in output
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning.split()[0]}" in output


@pytest.mark.parametrize("words", list(ALL), ids=" ".join)
def test_every_command_ends_its_help_with_examples(words):
    output = invoke(*words, "--help").output
    examples = output[output.index("Examples:") :]
    assert f"nncli {' '.join(words)}" in examples


def test_the_output_location_is_o_out_everywhere():
    for words, command in ALL.items():
        names = {n for p in options(command) for n in p.opts}
        assert not names & {"--output", "--png", "--param"}, words
        if names & {"--out", "-o"}:
            out = next(p for p in options(command) if "--out" in p.opts)
            assert sorted(out.opts) == ["--out", "-o"], words


def test_one_spelling_for_each_flag_across_commands():
    """Every boolean option is a plain switch (`--json`) or the same pair everywhere (`--plot/--no-plot`)."""
    pairs: dict[str, set] = {}
    defaults: dict[str, set] = {}
    for command in ALL.values():
        for p in options(command):
            if p.is_flag and p.name != "help":
                pairs.setdefault(p.opts[0], set()).add(tuple(p.secondary_opts))
                defaults.setdefault(p.opts[0], set()).add(p.default)
                if p.default is False:
                    assert not p.secondary_opts, f"{p.opts[0]} is off by default: a plain switch"
                else:
                    assert p.secondary_opts, f"{p.opts[0]} is on by default: give the --no- form"
    assert all(len(v) == 1 for v in pairs.values()), pairs
    assert all(len(v) == 1 for v in defaults.values()), defaults
    assert pairs["--log-y"] == {("--linear-y",)} and defaults["--log-y"] == {None}


def test_json_and_quiet_where_expected():
    for words in [("train",), ("evaluate",), ("predict",), ("gradcheck",), ("compare-optimizers",)]:
        assert "--json" in {n for p in options(ALL[words]) for n in p.opts}, words
    for words in [("plot",), ("report",), ("attention",), ("datasets", "list"), ("datasets", "export")]:
        assert "--json" in {n for p in options(ALL[words]) for n in p.opts}, words
    for words in [("train",), ("compare-optimizers",)]:
        assert "--quiet" in {n for p in options(ALL[words]) for n in p.opts}, words


def test_old_spellings_still_work(tmp_path):
    result = invoke(
        "datasets", "export", "spirals", "--samples", "30", "-p", "arms=4", "--output", tmp_path / "a.npz"
    )
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "a.npz") as z:
        assert set(z["y"]) == {0, 1, 2, 3}
    assert invoke("train", write(tmp_path / "c.yaml", GOOD), "-o", tmp_path / "run", "-q").exit_code == 0
    inputs = write(tmp_path / "in.csv", "x1,x2\n0.5,0.5\n")
    result = invoke("predict", tmp_path / "run", inputs, "--output", tmp_path / "p.csv")
    assert result.exit_code == 0 and (tmp_path / "p.csv").exists()
    result = invoke(
        "predict", tmp_path / "run", inputs, "--output", tmp_path / "p.csv", "-o", tmp_path / "q.csv"
    )
    assert result.exit_code == 2 and "give --out once (--output is its old name)" in result.output


def test_datasets_export_takes_set_and_the_configs_sample_count(tmp_path):
    result = invoke("datasets", "export", "spirals", "--set", "arms=5", "-o", tmp_path / "s.npz", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["samples"] == 1000  # data.samples' default in a config
    with np.load(tmp_path / "s.npz") as z:
        assert set(z["y"]) == {0, 1, 2, 3, 4}
    result = invoke("datasets", "export", "spirals")
    assert result.exit_code == 2 and "-o/--out" in result.output


def test_config_schema_writes_a_file(tmp_path):
    result = invoke("config", "schema", "-o", tmp_path / "nncli.schema.json")
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "nncli.schema.json").read_text())
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["$id"]


# ------------------------------------------------------------------------------------- [brackets]


def test_bracketed_file_names_are_echoed_as_written(tmp_path):
    config = write(tmp_path / "my[red]cfg.yaml", GOOD)
    result = invoke("config", "validate", config)
    assert result.exit_code == 0 and "my[red]cfg.yaml" in result.output
    result = invoke("datasets", "export", "xor", "--samples", "10", "-o", tmp_path / "x[b]y.csv")
    assert result.exit_code == 0 and f"to {tmp_path / 'x[b]y.csv'}" in result.output
    assert (tmp_path / "x[b]y.csv").exists()


def test_bracketed_descriptions_run_names_and_errors_are_kept(tmp_path):
    result = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "300"})
    assert "[a, b, =]" in result.output
    config = write(tmp_path / "c.yaml", GOOD + "name: '[bold]run'\n")
    result = runner.invoke(
        app, ["train", str(config), "-o", str(tmp_path / "run[1]")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert "[bold]run" in result.output and "run[1]" in result.output
    result = invoke("config", "validate", tmp_path / "no[such].yaml")
    assert result.exit_code == 2 and "no[such].yaml: no such config file" in result.output


def test_an_interrupted_run_says_how_to_resume(tmp_path):
    """A real SIGINT to a real process: the summary separates status and message, and gives --resume."""
    config = write(tmp_path / "c.yaml", GOOD.replace("epochs: 2", "steps: 100000000"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "nncli", "train", str(config), "-o", str(tmp_path / "run"), "--no-plot"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()  # the first logged step: training is under way
    proc.send_signal(2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted — " in out
    assert f"continue with: nncli train --resume {tmp_path / 'run'}" in err


def test_attention_names_the_file_it_wrote_and_prints_json(tmp_path):
    pytest.importorskip("matplotlib", reason="the PNG needs the plot extra (matplotlib)")
    sets = [
        "data={dataset: reverse, samples: 64}",
        "model={kind: transformer, d_model: 8, n_heads: 2, n_layers: 1}",
    ]
    config = write(tmp_path / "t.yaml", "data: {dataset: reverse}\ntraining: {epochs: 1}\n")
    args = ["train", config, "-o", tmp_path / "run", "-q", *[a for s in sets for a in ("--set", s)]]
    assert invoke(*args).exit_code == 0
    result = invoke("attention", tmp_path / "run", "-o", tmp_path / "x")
    assert result.exit_code == 0 and f"wrote {tmp_path / 'x.png'}" in result.output.replace("\n", "")
    assert (tmp_path / "x.png").exists() and not (tmp_path / "x").exists()
    data = json.loads(invoke("attention", tmp_path / "run", "--head", "1", "--json").output)
    assert list(data["heads"]) == ["1"] and len(data["heads"]["1"]) == len(data["tokens"])
    assert all(abs(sum(row) - 1) < 1e-9 for row in data["heads"]["1"])  # each query's weights sum to 1


def test_log_y_by_default_where_the_loss_spans_decades():
    assert log_axis([np.array([1.0, 0.5, 0.01])]) is True
    assert log_axis([np.array([0.7, 0.3]), np.array([0.2])]) is False
    assert (
        log_axis([np.array([0.7, 0.3])], True) is True and log_axis([np.array([1.0, 1e-5])], False) is False
    )
