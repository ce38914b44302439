"""The benchmark tools that need no PyTorch: the loop's timing runs every way, and the report's command
line answers --help and refuses a file that is not a benchmark result."""

import json

import pytest

from benchmarks import loop, report


def test_the_loop_benchmark_times_every_way_against_the_bare_step(capsys):
    args = ["--hidden", "8", "--features", "2", "--classes", "2", "--batch", "16", "--samples", "100"]
    result = loop.main([*args, "--steps", "20", "--rounds", "1"])
    assert list(result) == list(loop.WAYS)
    assert result["bare step"]["ratio"] == 1.0
    assert all(row["ms"] > 0 for row in result.values())
    assert "validation pass, estimated" in capsys.readouterr().out


def test_the_report_answers_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m benchmarks.report" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "not json", json.dumps({"rows": []})])
def test_the_report_refuses_what_is_not_a_result(tmp_path, capsys, content):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(path)])
    assert exit_info.value.code == 2
    assert str(path) in capsys.readouterr().err
