"""What the CLI fault and safety tests share: the app driven in-process, its entry point for child
processes, a small config, and the output read as one line."""

from pathlib import Path

from typer.testing import CliRunner

from nncli.cli import app

runner = CliRunner()
ENTRY_POINT = "from nncli.cli import app; app(prog_name='nncli')"  # `python -c` this: the command itself

SHORT = """
data: {dataset: xor, samples: 100}
model: {kind: mlp, hidden_sizes: [8]}
optimizer: {name: adam, lr: 0.05}
training: {epochs: 2, batch_size: 16, log_every: 5}
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def flat(output: str) -> str:
    """The output with its line breaks (rich wraps long messages) and repeated spaces folded."""
    return " ".join(output.split())


def snapshot(root: Path) -> dict:
    """Every file under `root` with its bytes: equal snapshots mean nothing was written or lost."""
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
