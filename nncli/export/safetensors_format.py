"""safetensors export: every parameter and buffer under its PyTorch name, bit for bit, with the resolved
config, the data's names and the standardisation as string metadata.

Load with `safetensors.numpy.load_file` or `safetensors.torch.load_file`; the names are those of the
module `nncli export --format pytorch` generates, so `load_state_dict` takes the file as it is. The
sinusoidal positional table is a constant, not a parameter, and is not in the file.
"""

from __future__ import annotations

from pathlib import Path

from nncli.export.source import Source, require
from nncli.fileio import atomic_write


def write_safetensors(source: Source, path: Path) -> list[Path]:
    st = require("safetensors.numpy")
    data = st.save(source.tensors(), metadata={"format": "pt", **source.metadata()})
    atomic_write(path, lambda f: f.write(data))
    return [path]
