"""ONNX export: one graph from the raw inputs the user's data has to what `nncli predict` returns.

Input `input`: float64 features (tabular (N, F) or sequences (N, T, F)), as nncli reads data files, or
int64 tokens (N, T). The run's standardisation is part of the graph (in float64, as in nncli, then a
cast to the model's dtype). Outputs, named as `nncli.rundir.predict.predictions` names them: `label`,
`probabilities` and `logits` for a cross_entropy model, else `prediction`. The config, the feature and
class names and the rest of `Source.metadata` are the model's metadata_props.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nncli.export import onnx_transformer  # noqa: F401  (registers the transformer's emitters)
from nncli.export.onnx_graph import OPSET, Graph, emit
from nncli.export.source import Source, needs_extra
from nncli.fileio import atomic_write


def build_onnx(source: Source):
    """The `onnx.ModelProto` of a trained run, checked with `onnx.checker.check_model(full_check=True)`."""
    with needs_extra():
        import onnx
    helper, TensorProto = onnx.helper, onnx.TensorProto
    run, dtype = source.run, source.dtype
    g = Graph(run.model, dtype)
    x = "input"
    if source.tokens:
        in_type = TensorProto.INT64
    else:
        in_type = TensorProto.DOUBLE
        s = run.data.standardizer
        if s is not None:
            mean = g.tensor(np.asarray(s.mean, np.float64), name="input.mean")
            x = g.op("Div", g.op("Sub", x, mean), g.tensor(np.asarray(s.std, np.float64), name="input.std"))
        if dtype != np.float64:
            x = g.op("Cast", x, to=helper.np_dtype_to_tensor_dtype(dtype))
    out = emit(g, run.model, x)

    batch = ["batch"]
    out_shape = [*batch, *source.output_shape()]
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    if run.loss_name == "cross_entropy":
        g.op("Identity", out, out="logits")
        g.op("Softmax", out, axis=-1, out="probabilities")
        g.op("ArgMax", out, axis=-1, keepdims=0, out="label")
        outputs = [
            helper.make_tensor_value_info("label", TensorProto.INT64, out_shape[:-1]),
            helper.make_tensor_value_info("probabilities", elem, out_shape),
            helper.make_tensor_value_info("logits", elem, out_shape),
        ]
    else:
        g.op("Identity", out, out="prediction")
        outputs = [helper.make_tensor_value_info("prediction", elem, out_shape)]
    inputs = [helper.make_tensor_value_info("input", in_type, [*batch, *source.input_shape])]
    name = run.config.name or source.run_dir.name
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.initializers)
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="nncli",
        doc_string=f"{name}: an nncli model ({run.config.model.kind}) exported from {source.run_dir}",
        ir_version=helper.find_min_ir_version_for(opsets),  # the oldest runtime that has the opset
    )
    helper.set_model_props(model, source.metadata())
    onnx.checker.check_model(model, full_check=True)
    return model


def write_onnx(source: Source, path: Path) -> list[Path]:
    data = build_onnx(source).SerializeToString()
    atomic_write(path, lambda f: f.write(data))
    return [path]
