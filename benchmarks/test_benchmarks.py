"""The benchmark measures what it claims: both frameworks train the same model the same way, and the
JSON keeps its format. Run with `python -m pytest benchmarks -q` (a few seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the benchmark compares against PyTorch")

from benchmarks import measure, report, run, threads  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402


@pytest.mark.parametrize("name", WORKLOADS.names())
def test_both_frameworks_take_the_same_steps_in_float64(name):
    """Same initial parameters and data, so the losses of the first steps agree to rounding."""
    workload = WORKLOADS.get(name)
    dtype = np.dtype(np.float64)
    data = workload.data(dtype, np.random.default_rng(0))
    nncli_step = workload.nncli(dtype, np.random.default_rng(0), data)
    torch_step = workload.torch(nncli_step.params, data)
    for _ in range(3):
        ours, theirs = nncli_step(), float(torch_step().detach())
        assert ours == pytest.approx(theirs, rel=1e-10)


def test_flop_count_of_the_large_mlp_is_worked_out_by_hand():
    # forward and dW for every layer, dx for all but the first: 2·256·(784·1024·2 + (1024² + 1024·10)·3)
    assert WORKLOADS.get("large_mlp").flop == 2 * 256 * (784 * 1024 * 2 + (1024 * 1024 + 1024 * 10) * 3)


def test_peak_memory_counts_parameters_gradients_and_adam_state():
    """Four parameter-sized vectors at least (values, gradients, two Adam moments) in both frameworks."""
    workload, dtype = WORKLOADS.get("medium_mlp"), np.dtype(np.float64)
    n_params = 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    floor = 4 * n_params * dtype.itemsize
    assert measure.nncli_peak_bytes(workload, dtype, 0) > floor
    torch_bytes = measure.torch_peak_bytes(workload, dtype, 0)
    assert torch_bytes is None or torch_bytes > floor


def test_a_run_writes_the_json_format_and_the_markdown_table(tmp_path, capsys):
    out = tmp_path / "r.json"
    args = ["--workloads", "tiny_mlp", "--dtypes", "float32", "--budget", "0.05", "--peers"]
    run.main([*args, "--out", str(out)])
    summary = json.loads(out.read_text())
    assert summary["schema_version"] == run.SCHEMA_VERSION
    assert {"date", "duration_s", "settings", "machine", "matmul_peak_gflops", "results"} <= summary.keys()
    (result,) = summary["results"]
    assert result["workload"] == "tiny_mlp" and result["dtype"] == "float32"
    assert result["ratio"] > 0 and result["nncli_ms"] > 0 and result["torch_ms"] > 0
    assert result["loss_nncli"] == pytest.approx(result["loss_torch"], rel=1e-5)
    table = report.markdown(summary)
    assert table.splitlines()[2].startswith("| tiny_mlp | float32 |")


def test_native_blas_drops_the_kernel_variables_and_only_then():
    """Checked on a dict: the benchmark's tests never change the kernel variables of a process."""
    env = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576", "HOME": "/root"}
    native = threads.environment(["--native-blas", "--threads", "3"], env)
    assert threads.forced_kernel(native) == {} and native["HOME"] == "/root"
    assert native["OPENBLAS_NUM_THREADS"] == native["OMP_NUM_THREADS"] == "3"
    assert threads.forced_kernel(threads.environment([], env)) == {
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": "1048576",
    }


def test_the_json_records_the_kernel_the_auto_column_and_the_guard(tmp_path):
    out = tmp_path / "r.json"
    run.main(["--workloads", "tiny_mlp", "--dtypes", "float64", "--budget", "0.05", "--peers",
              "--settle", "0.001", "--out", str(out)])  # fmt: skip
    summary = json.loads(out.read_text())
    machine = summary["machine"]
    assert machine["numpy_blas_kernel"] == measure.numpy_blas_kernel() and machine["numpy_blas_kernel"]
    assert machine["blas_kernel_forced_by"] == threads.forced_kernel()
    (result,) = summary["results"]
    assert result["auto_threads"] == 1  # 337 parameters × 256 rows: far below a second thread's worth
    assert result["auto_ms"] == result["nncli_1thread_ms"]
    assert result["auto_vs_best"] >= 1.0 and result["peers"] == {}
    assert set(result["after_self_ms"]) == {"nncli", "nncli_1thread", "torch"}
    assert None not in result["after_self_ms"].values()  # each contestant followed its own block
    assert None not in result["after_other_ms"].values()
