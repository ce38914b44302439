"""`nncli sweep --backend ray`: an in-process Ray instance and a real two-node cluster give exactly the
serial sweep's results.

Each test runs its Ray inside a network namespace of its own with only the loopback interface
(`unshare -n`, as root), so no packet leaves the machine, and stops every Ray process it started. Ray's
token authentication stays on (RAY_AUTH_MODE=token, the token in the test's own HOME): the cluster test
also checks that a client without the token is refused.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
import yaml
from conftest import ROOT
from sweeps import fingerprint

from nncli.compare.sweep import plan_sweep
from nncli.compare.sweep_run import run_sweep
from nncli.config.loading import load_config
from nncli.config.sweep import spec_from_options, validate_spec

GRID = ["optimizer.lr=0.01,0.1", "model.hidden_sizes=[4],[8]"]
CONFIG = {
    "name": "tiny",
    "data": {"dataset": "xor", "samples": 120},
    "model": {"kind": "mlp", "hidden_sizes": [4], "activation": "tanh"},
    "optimizer": {"name": "adam", "lr": 0.05},
    "training": {"steps": 30, "batch_size": 16, "log_every": 10},
}
PORT = 6399  # the namespace has its own ports: nothing else can hold this one
PYTHON = shlex.quote(sys.executable)  # this interpreter, and the Ray command line of its environment
RAY = f"{PYTHON} -m ray.scripts.scripts"


@pytest.fixture
def setup(tmp_path):
    """The config, the serial sweep's folder and a short Ray temp dir (Ray's socket paths are long)."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    _, raw = load_config(config)
    spec = validate_spec(spec_from_options(GRID, [], seeds=2), "options")
    run_sweep(plan_sweep(raw, spec), tmp_path / "serial")
    ray_tmp = tempfile.mkdtemp(prefix="nr", dir="/tmp")
    yield config, tmp_path, ray_tmp
    shutil.rmtree(ray_tmp, ignore_errors=True)


def in_namespace(script: str, tmp_path, ray_tmp, timeout: float = 400) -> str:
    """Run a shell script in a new network namespace holding only `lo`; returns its output. The script's
    process group is killed if it overstays its time."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "RAY_TMPDIR": ray_tmp,
        "RAY_AUTH_MODE": "token",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", f"set -e; ip link set lo up; {script}"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"the Ray test overstayed {timeout} s:\n{out}") from None
    assert proc.returncode == 0, out
    return out


def sweep_command(config, out, *extra) -> str:
    grid = " ".join(f"--grid '{g}'" for g in GRID)
    return (
        f"{PYTHON} -m nncli sweep {config} {grid} --seeds 2 --backend ray {' '.join(extra)} -o {out} --json"
    )


@pytest.mark.slow
def test_an_in_process_ray_instance_gives_the_serial_results(setup):
    config, tmp_path, ray_tmp = setup
    out = in_namespace(sweep_command(config, tmp_path / "ray", "--jobs", "2"), tmp_path, ray_tmp)
    shown = json.loads(out[out.index("{") :])
    assert len(shown["trials"]) == 8 and all(t["status"] == "completed" for t in shown["trials"])
    assert fingerprint(tmp_path / "ray") == fingerprint(tmp_path / "serial")


@pytest.mark.slow
def test_a_two_node_cluster_gives_the_serial_results_and_refuses_a_client_without_the_token(setup):
    config, tmp_path, ray_tmp = setup
    node = "--node-ip-address=127.0.0.1 --num-cpus=1 --disable-usage-stats"
    no_token = (
        "import ray\n"
        "try:\n"
        f"    ray.init(address='127.0.0.1:{PORT}', logging_level='error')\n"
        "    print('CONNECTED WITHOUT TOKEN')\n"
        "except Exception as exc:\n"
        "    print('refused:', type(exc).__name__)\n"
    )
    script = (
        f"trap '{RAY} stop --force >/dev/null 2>&1' EXIT INT TERM; "
        f"{RAY} get-auth-token --generate >/dev/null; "
        f"{RAY} start --head --port={PORT} --include-dashboard=false {node} >/dev/null; "
        f"{RAY} start --address=127.0.0.1:{PORT} {node} >/dev/null; "
        f"{sweep_command(config, tmp_path / 'cluster', '--address', f'127.0.0.1:{PORT}')} > sweep.json; "
        f'RAY_AUTH_MODE=disabled {PYTHON} -c "{no_token}"'
    )
    out = in_namespace(script, tmp_path, ray_tmp)
    assert "refused:" in out and "CONNECTED WITHOUT TOKEN" not in out
    shown = json.loads((tmp_path / "sweep.json").read_text())
    assert len({t["worker"] for t in shown["trials"]}) >= 2  # one worker process per node at least
    assert fingerprint(tmp_path / "cluster") == fingerprint(tmp_path / "serial")
    ps = subprocess.run(["pgrep", "-f", ray_tmp], capture_output=True, text=True)
    assert ps.stdout == "", "a Ray process outlived the test"
