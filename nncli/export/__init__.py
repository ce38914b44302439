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
from nncli.export.safetensors_format import write_safetensors
from nncli.export.source import Source, check_run, load_source
from nncli.registry import Registry


@dataclass(frozen=True)
class Format:
    """An export format: its default file name in the run directory, the other files it writes
    (derived from the output path) and the writer, which returns the paths it wrote."""

    filename: str
    write: Callable[[Source, Path], list[Path]]
    companions: Callable[[Path], list[Path]] = lambda path: []


FORMATS: Registry[Format] = Registry("export format")
FORMATS.register("onnx")(Format("model.onnx", write_onnx))
FORMATS.register("safetensors")(Format("model.safetensors", write_safetensors))
FORMATS.register("pytorch")(Format("model.py", write_pytorch, lambda path: [weights_path(path)]))


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
    for path in (output, *spec.companions(output)):
        if path.is_dir():
            raise NncliError(f"{path}: is a folder; give a file name for --output")
        if path.exists() and not overwrite:
            raise NncliError(f"{path}: already exists; pass --overwrite to replace it")
    if not output.parent.is_dir():
        raise NncliError(f"{output}: the folder {output.parent} does not exist")
    return spec.write(load_source(run_dir, weights), output)
