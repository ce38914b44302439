"""Pictures stay readable without colour (NO_COLOR, a pipe): glyphs per class, a character ramp for
heatmaps, a marker per curve and a number per path, each explained by the legend."""

import io

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from nncli.cli import app
from nncli.views import mono, termviz


def render(renderable, **console) -> list[str]:
    out = Console(file=io.StringIO(), width=160, record=True, **console)
    out.print(renderable)
    return out.export_text().splitlines()


def canvas_rows(lines: list[str], width: int) -> list[str]:
    """The picture's rows: the text between the panel's borders, cut to the canvas width."""
    return [line[2 : 2 + width] for line in lines[1:] if line.startswith("│")]


def test_without_colour_the_boundary_is_a_glyph_per_class_and_points_are_digits():
    X = np.array([[-0.8, 0.5], [0.8, -0.5]])
    picture = termviz.decision_boundary(
        lambda p: (p[:, 0] > 0).astype(int), X, np.array([0, 1]), width=20, height=6
    )
    for console in ({"no_color": True, "force_terminal": True}, {}):  # NO_COLOR, and a pipe
        lines = render(picture, **console)
        rows = canvas_rows(lines, 20)[:6]
        assert all(r[0] in "·0" and r[-1] in "░1" for r in rows), rows
        assert sum(r.count("0") for r in rows) == 1 and sum(r.count("1") for r in rows) == 1
        assert "class 0: region ·, points 0" in "\n".join(lines)
    coloured = render(picture, force_terminal=True, color_system="truecolor")
    assert "▀" in "\n".join(coloured) and "region" not in "\n".join(coloured)


def test_without_colour_a_heatmap_is_a_character_ramp():
    lines = render(termviz.heatmap(np.eye(3), row_labels=list("abc"), col_labels=list("abc")), no_color=True)
    rows = [line for line in lines if line[2:4] in ("a ", "b ", "c ")]
    assert [r[2:13] for r in rows] == ["a @@       ", "b    @@    ", "c       @@ "]
    assert "weight 0 ' .:-=+*#%@' 1" in "\n".join(lines)


def test_without_colour_each_curve_has_its_own_marker():
    x = np.arange(10.0)
    lines = render(termviz.line_chart({"adam": (x, 10 - x), "sgd": (x, x)}, width=30, height=8))
    text = "\n".join(lines)
    assert "• adam 1" in text and "o sgd 9" in text
    rows = canvas_rows([line.replace("┤", "│") for line in lines], 40)
    assert any("•" in r for r in rows) and any("o" in r for r in rows)


def test_without_colour_landscape_paths_are_numbered():
    grid = np.add.outer(np.linspace(-1, 1, 20) ** 2, np.linspace(-1, 1, 20) ** 2)
    paths = {"adam": np.array([[-0.9, -0.9], [0.0, 0.0]]), "sgd": np.array([[0.9, -0.9], [0.0, 0.0]])}
    text = "\n".join(render(termviz.contour_map(grid, (-1, 1, -1, 1), paths, width=30, height=12)))
    assert "1 adam  2 sgd  (○ start, ● end)" in text and text.count("1") > 3 and text.count("2") > 3


def test_colour_or_not_follows_the_console():
    choice = mono.ColourOrNot("in colour", lambda: "plain")
    assert render(choice, force_terminal=True, color_system="truecolor") == ["in colour"]
    assert render(choice, force_terminal=True, no_color=True) == ["plain"]
    assert render(choice) == ["plain"]


def test_compare_optimizers_piped_tells_its_curves_apart(tmp_path):
    args = ["compare-optimizers", "--optimizers", "sgd,adam", "--steps", "20", "-o", str(tmp_path / "c")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "• adam" in result.output and "o sgd" in result.output
