"""`nncli export`: a trained run as an ONNX model, a safetensors file, or a PyTorch module.

    onnx         model.onnx: the whole prediction, standardisation included, for onnxruntime and others
    safetensors  model.safetensors: every parameter under its PyTorch name, the config as metadata
    pytorch      model.py (an nn.Module of torch.nn layers) and the model.safetensors it loads

Each format is a `Format` in `FORMATS`; `export_run` is the one entry point. The onnx and safetensors
packages are optional (the `export` extra) and imported when a format runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nncli.errors import NncliError
from nncli.export.onnx_format import write_onnx
from nncli.export.pytorch_format import weights_path, write_pytorch
from nncli.export.safetensors_format import holds_export, write_safetensors
from nncli.export.source import Source, check_run, load_source
from nncli.registry import Registry


@dataclass(frozen=True)
class Format:
    """An export format: its default file name in the run directory and its writer, which returns the
    paths it wrote. A format that also writes a file beside its output (pytorch: the weights) names it
    with `companion`; `holds` says whether an existing one already is what would be written (as after
    `--format safetensors`), which is no reason to refuse."""

    filename: str
    write: Callable[[Source, Path], list[Path]]
    companion: Callable[[Path], Path] | None = None
    holds: Callable[[Source, Path], bool] | None = None


FORMATS: Registry[Format] = Registry("export format")
FORMATS.register("onnx")(Format("model.onnx", write_onnx))
FORMATS.register("safetensors")(Format("model.safetensors", write_safetensors))
FORMATS.register("pytorch")(Format("model.py", write_pytorch, weights_path, holds_export))


def _refuse_existing(path: Path) -> None:
    raise NncliError(f"{path}: already exists; pass --overwrite to replace it")


def export_run(
    run_dir: Path,
    fmt: str,
    output: Path | None = None,
    *,
    weights: str = "final",
    overwrite: bool = False,
) -> list[Path]:
    """Export the trained run in `run_dir` as `fmt` to `output` (default: the format's file name in the
    run directory); returns the files written. Existing files are only replaced with `overwrite`."""
    spec = FORMATS.get(fmt)
    run_dir = check_run(run_dir, weights)
    output = Path(output) if output is not None else run_dir / spec.filename
    companion = spec.companion(output) if spec.companion is not None else None
    for path in (output, companion):
        if path is not None and path.is_dir():
            raise NncliError(f"{path}: is a folder; give a file name for --output")
    if output.exists() and not overwrite:
        _refuse_existing(output)
    if not output.parent.is_dir():
        raise NncliError(f"{output}: the folder {output.parent} does not exist")
    source = load_source(run_dir, weights)
    if companion is not None and companion.exists() and not overwrite:
        if not spec.holds(source, companion):
            _refuse_existing(companion)
    return spec.write(source, output)
