"""safetensors export: every parameter and buffer under its PyTorch name, bit for bit, with the resolved
config, the data's names and the standardisation as string metadata.

Load with `safetensors.numpy.load_file` or `safetensors.torch.load_file`; the names are those of the
module `nncli export --format pytorch` generates, so `load_state_dict` takes the file as it is. The
sinusoidal positional table is a constant, not a parameter, and is not in the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nncli.export.source import Source, needs_extra
from nncli.fileio import atomic_write


def _metadata(source: Source) -> dict[str, str]:
    return {"format": "pt", **source.metadata()}


def write_safetensors(source: Source, path: Path) -> list[Path]:
    with needs_extra():
        import safetensors.numpy
    data = safetensors.numpy.save(source.tensors(), metadata=_metadata(source))
    atomic_write(path, lambda f: f.write(data))
    return [path]


def holds_export(source: Source, path: Path) -> bool:
    """Whether the file at `path` is already this export: the same tensors bit for bit, the same
    metadata (the bytes may differ: the header's metadata order is not fixed)."""
    with needs_extra():
        import safetensors
    try:
        with safetensors.safe_open(path, "np") as f:
            if f.metadata() != _metadata(source):
                return False
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (OSError, safetensors.SafetensorError):
        return False
    want = source.tensors()
    return tensors.keys() == want.keys() and all(
        tensors[k].dtype == v.dtype and np.array_equal(tensors[k], v) for k, v in want.items()
    )
