"""Terminal pictures (nncli.views.termviz) and the live view during training (nncli.views.liveplot).

Pictures are rendered through a truecolor rich Console and read back cell by cell: braille characters
are decoded into their dots, half blocks into their two pixel colours, and compared with what the data
and the predictor say should be there.
"""

import io
import re

import numpy as np
import pytest
from rich.console import Console

from nncli.config.loading import load_config
from nncli.rundir.directory import new_run
from nncli.training import predictor
from nncli.training.events import Evaluation
from nncli.views import liveplot, termviz

BITS = termviz.BRAILLE_BITS


def cells(renderable, width: int = 200) -> list[list[tuple[str, object]]]:
    """The rendered lines as lists of (character, style)."""
    console = Console(file=io.StringIO(), width=width, color_system="truecolor", force_terminal=True)
    lines = console.render_lines(renderable, console.options, pad=False)
    return [[(ch, seg.style) for seg in line for ch in seg.text] for line in lines]


def text_lines(renderable) -> list[str]:
    return ["".join(ch for ch, _ in line) for line in cells(renderable)]


def braille_dots(renderable, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(dots, colour) of the canvas: dots[4·height, 2·width] bool, colour per character cell (RGB or None)."""
    rows = [line for line in cells(renderable) if sum(0x2800 <= ord(c) <= 0x28FF for c, _ in line) >= width]
    assert len(rows) == height
    dots = np.zeros((4 * height, 2 * width), bool)
    colours = []
    for r, line in enumerate(rows):
        canvas = [(c, s) for c, s in line if 0x2800 <= ord(c) <= 0x28FF][:width]
        colours.append([s.color.triplet if s and s.color and s.color.triplet else None for _, s in canvas])
        for c, (ch, _) in enumerate(canvas):
            bits = ord(ch) - 0x2800
            dots[4 * r : 4 * r + 4, 2 * c : 2 * c + 2] = (BITS & bits) > 0
    return dots, colours


def half_block_image(renderable) -> np.ndarray:
    """The (2·rows, cols, 3) RGB image that the ▀ cells of a picture encode."""
    rows = []
    for line in cells(renderable):
        blocks = [s for c, s in line if c == "▀"]
        if blocks:
            rows.append([tuple(s.color.triplet) for s in blocks])
            rows.append([tuple(s.bgcolor.triplet) for s in blocks])
    return np.array(rows)


# ---------------------------------------------------------------------------------------------- line chart


def test_line_chart_draws_a_connected_rising_line_with_ranges_and_legend():
    x = np.arange(10.0)
    chart = termviz.line_chart({"adam": (x, 2 * x + 1)}, width=20, height=6, title="loss")
    dots, colours = braille_dots(chart, 20, 6)
    rows_by_col = [np.flatnonzero(dots[:, c]) for c in range(40)]
    assert all(r.size for r in rows_by_col), "densified: every pixel column has a dot"
    means = np.array([r.mean() for r in rows_by_col])
    assert np.all(np.diff(means) <= 0) and means[0] > 20 and means[-1] < 3  # rising: rows count from the top
    assert {c for row in colours for c in row if c} == {termviz.colour(0)}
    text = "\n".join(text_lines(chart))
    assert "loss" in text and "adam 19" in text  # the legend gives the last value
    assert "┤" in text and " 0" in text and "9" in text  # y ticks and the x range 0 … 9


def test_line_chart_log_scale_turns_an_exponential_into_a_straight_line():
    x = np.linspace(0, 3, 50)
    chart = termviz.line_chart(
        {"loss": (x, 10.0**x), "bad": (x, np.zeros_like(x))}, width=30, height=8, log_y=True
    )
    dots, _ = braille_dots(chart, 30, 8)
    cols = np.flatnonzero(dots.any(axis=0))
    rows = np.array([np.flatnonzero(dots[:, c]).mean() for c in cols])
    fit = np.polyval(np.polyfit(cols, rows, 1), cols)
    assert np.max(np.abs(rows - fit)) < 1.5  # straight within a pixel or so
    lines = text_lines(chart)
    assert any("1e+03 ┤" in line for line in lines) and any("1 ┤" in line for line in lines)
    assert "(log y)" in "\n".join(lines)  # the all-zero series has no point on a log axis, and no crash


def test_line_chart_breaks_the_line_at_nan_instead_of_failing():
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    dots, _ = braille_dots(termviz.line_chart({"s": (np.arange(5.0), y)}, width=16, height=4), 16, 4)
    middle = dots[:, 13:19]  # around x = 2, where the NaN sits (pixel column 2/4·31 ≈ 15.5)
    assert not middle.any() and dots[:, :8].any() and dots[:, -8:].any()


# ---------------------------------------------------------------------------------------------- planes


def test_decision_boundary_asks_for_pixel_centres_and_colours_regions_and_points():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1])
    seen = []

    def predict(points):
        seen.append(points)
        return (points[:, 0] > 0.5).astype(np.int64)

    picture = termviz.decision_boundary(predict, X, y, width=4, height=2)
    (points,) = seen  # one call: one forward pass per picture
    # the box [0, 1]² widened by 10% of its span each side is [-0.1, 1.1]²; 4 × 4 pixel centres
    assert np.allclose(np.unique(points[:, 0]), [0.05, 0.35, 0.65, 0.95])
    assert np.allclose(points[:4, 1], 0.95) and np.allclose(points[-4:, 1], 0.05)  # top row first
    image = half_block_image(picture)
    region = [termviz.mix(termviz.BACKGROUND, termviz.colour(k), 0.45) for k in (0, 1)]
    point = [termviz.mix(termviz.colour(k), (255, 255, 255), 0.15) for k in (0, 1)]
    expected = np.array([[region[0]] * 2 + [region[1]] * 2] * 4)
    expected[3, 0] = point[0]  # (0, 0) falls in the bottom-left pixel
    expected[0, 3] = point[1]  # (1, 1) in the top-right one
    assert np.array_equal(image, expected)
    text = "\n".join(text_lines(picture))
    assert "class 0" in text and "class 1" in text and "x₀ -0.1 … 1.1" in text


def test_decision_boundary_shows_misclassified_points_in_their_own_colour():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = (X[:, 1] > 0).astype(np.int64)
    image = half_block_image(
        termviz.decision_boundary(lambda p: np.zeros(len(p), np.int64), X, y, width=24, height=12)
    )
    bright_1 = termviz.mix(termviz.colour(1), (255, 255, 255), 0.15)
    top, bottom = image[:12], image[12:]
    assert (top == bright_1).all(axis=-1).sum() > 10 and not (bottom == bright_1).all(axis=-1).any()


def test_contour_map_shades_log_levels_and_draws_paths_from_start_to_end():
    g = np.linspace(-1, 1, 41)
    gx, gy = np.meshgrid(g, g)
    grid = gx**2 + gy**2
    paths = {"sgd": np.array([[-0.9, -0.9], [0.0, 0.0]])}
    chart = termviz.contour_map(grid, (-1, 1, -1, 1), paths, width=21, height=11)
    rows = [line for line in cells(chart) if any(c in termviz.LEVEL_GLYPHS[1:] for c, _ in line)][:11]
    axis = [
        next(i for i, (c, _) in enumerate(line) if i > 0 and c in "┤│") for line in rows
    ]  # after the border
    canvas = [line[a + 1 : a + 22] for line, a in zip(rows, axis)]
    chars = np.array([[c for c, _ in row] for row in canvas])
    assert chars[0, 0] == chars[-1, -1] == "@"  # the corners are the highest level
    assert chars[5, 10] == "●"  # the path ends at the centre cell ...
    assert chars[10, 1] == "○"  # ... and starts near the bottom-left corner (-0.9, -0.9)
    assert canvas[5][10][1].color.triplet == termviz.colour(0)
    levels = np.array([termviz.LEVEL_GLYPHS.index(c) for c in chars[3]])  # a row the path does not cross
    assert np.array_equal(levels, levels[::-1]) and np.argmin(levels) == 10  # symmetric, lowest at x = 0
    assert levels[10] < levels[7] < levels[4] < levels[0]  # the bowl rises away from the minimum
    text = "\n".join(text_lines(chart))
    assert "loss (log levels) 0 " in text and "sgd" in text


def test_log_levels_are_log_spaced_after_the_shift():
    values = np.array([0.0, 1e-3, 1e-2, 1e-1, 1.0, np.nan])
    level, lo, hi = termviz.log_levels(values, values, 3)
    # δ = 1e-3: log((v + δ)/δ)/log((1 + δ)/δ) ≈ 0, 0.1, 0.35, 0.67, 1 → levels 0, 0, 1, 2, 2; NaN on top
    assert level.tolist() == [0, 0, 1, 2, 2, 2] and (lo, hi) == (0.0, 1.0)


def test_fitted_curve_draws_points_and_the_model_line():
    x = np.linspace(-1, 1, 30)[:, None]
    picture = termviz.fitted_curve(lambda p: p[:, 0], x, x[:, 0] + 0.5, width=20, height=8)
    dots, colours = braille_dots(picture, 20, 8)
    used = {c for row in colours for c in row if c}
    assert used == {termviz.colour(0), termviz.colour(1)}  # data and model
    assert "data" in "\n".join(text_lines(picture)) and "model" in "\n".join(text_lines(picture))
    assert all(dots[:, c].any() for c in range(40))  # the model curve spans the whole width


# ---------------------------------------------------------------------------------------------- live view


class FakeReporter:
    extra = None


def terminal(width: int, height: int) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True)


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (160, 50, (48, 24)),
        (120, 30, (30, 15)),
        (110, 18, (20, 10)),
        (80, 24, (22, 11)),
        (76, 24, None),
        (160, 17, None),
    ],
)
def test_picture_size_fits_beside_the_table_or_is_left_out(width, height, size):
    assert liveplot.picture_size(terminal(width, height)) == size


def test_no_picture_outside_a_terminal():
    assert liveplot.picture_size(Console(file=io.StringIO(), width=200, height=60)) is None


def build(name, *sets, tmp_path=None):
    cfg, _ = load_config(f"configs/{name}.yaml", list(sets))
    from nncli.training.build import build_run

    return build_run(cfg)


@pytest.mark.parametrize(
    ("name", "sets", "kind"),
    [
        ("xor", [], "boundary"),
        ("spirals", [], "boundary"),
        ("sine", [], "curve"),
        ("l1", [], None),  # 8 features: no plane to draw
    ],
)
def test_view_kind_follows_the_data(name, sets, kind):
    assert predictor.view_kind(build(name, *sets)) == kind


@pytest.mark.parametrize(
    ("name", "sets"),
    [
        ("xor", ["training.epochs=3"]),
        ("neuron", ["training.epochs=3"]),
        ("xor", ["loss=bce_with_logits", "training.epochs=3"]),
    ],
)
def test_predicted_labels_agree_with_the_accuracy_metric(name, sets):
    """cross_entropy (argmax), MSE on a sigmoid neuron (0.5) and BCE logits (0): the picture's labels are
    the ones the metric counts."""
    run = build(name, *sets)
    run.trainer.run()
    _, accuracy = run.trainer.evaluate()
    labels = predictor.predictor(run)(run.data.val.X)
    assert np.mean(labels == run.data.val.y) == pytest.approx(accuracy)


def test_attach_redraws_after_evaluations_without_changing_training(tmp_path):
    cfg, _ = load_config("configs/xor.yaml", ["training.epochs=4", "training.log_every=5"])
    plain, _ = new_run(cfg, tmp_path / "a")
    plain.trainer.run()

    run, _ = new_run(cfg, tmp_path / "b")
    reporter = FakeReporter()
    listener = liveplot.attach(run, reporter, terminal(160, 50))
    assert listener is not None and reporter.extra is not None  # drawn before the first step
    draws = []
    original = listener.redraw
    listener.redraw = lambda: (draws.append(run.trainer.state.step), original())
    run.trainer.subscribe(lambda e: isinstance(e, Evaluation) and draws.append(("eval", e.step)))
    liveplot.MIN_INTERVAL_S, saved = 0.0, liveplot.MIN_INTERVAL_S
    try:
        run.trainer.run()
    finally:
        liveplot.MIN_INTERVAL_S = saved
    evals = [s for s in draws if isinstance(s, tuple)]
    assert (
        len(evals) >= 3 and len([d for d in draws if not isinstance(d, tuple)]) == len(evals) + 1
    )  # + the end
    np.testing.assert_array_equal(run.params.data, plain.params.data)  # eval-mode forwards change nothing
    final = termviz.decision_boundary(
        predictor.predictor(run),
        run.data.train.X,
        run.data.train.y,
        width=48,
        height=24,
        names=("x1", "x2"),
    )
    assert text_lines(reporter.extra) == text_lines(final)
    assert "x1 " in text_lines(final)[-4] and "x2 " in text_lines(final)[-3]
    assert "■ class 0  ■ class 1" in text_lines(final)[-2]
    assert np.array_equal(half_block_image(reporter.extra), half_block_image(final))


def test_attach_does_nothing_where_there_is_no_picture():
    reporter = FakeReporter()
    assert liveplot.attach(build("l1"), reporter, terminal(160, 50)) is None
    assert liveplot.attach(build("xor"), reporter, terminal(70, 50)) is None
    assert reporter.hint == "the decision boundary needs a terminal of at least 110×18; this one is 70×50"
    assert liveplot.attach(build("xor"), reporter, Console(file=io.StringIO(), width=200)) is None
    assert reporter.extra is None


def test_without_a_validation_set_the_picture_follows_logged_steps():
    run = build("sine", "data.validation=0", "training.epochs=2", "training.log_every=4")
    reporter = FakeReporter()
    listener = liveplot.attach(run, reporter, terminal(160, 50))
    assert listener.on_steps
    first = reporter.extra
    run.trainer.run()
    assert reporter.extra is not first and "fitted curve" in "\n".join(text_lines(reporter.extra))


SIZES = [(80, 24), (110, 18), (120, 40), (200, 60)]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_live_view_fits_every_terminal_size(tmp_path, width, height):
    """The live region rendered by rich's recording console at each size: no line wider than the terminal
    or cut short, the headers on one line, the region no taller than the terminal, the picture beside the
    table in the same place from the first frame to the last."""
    from nncli.views.reporter import TrainingReporter

    cfg, _ = load_config("configs/xor.yaml", ["training.epochs=30", "training.log_every=5"])
    run, _ = new_run(cfg, tmp_path / "run")
    console = Console(file=io.StringIO(), width=width, height=height, force_terminal=True, record=True)
    reporter = TrainingReporter(console, run.trainer.settings.total_steps, run.trainer.metric_name)
    assert liveplot.attach(run, reporter, console) is not None
    run.trainer.subscribe(reporter)
    frames = []
    run.trainer.subscribe(
        lambda e: isinstance(e, Evaluation) and frames.append(render_text(console, reporter))
    )
    run.trainer.run()
    assert len(frames) > 10 and len(reporter.rows) == 60  # 300 steps, a row every 5
    for lines in frames:
        assert len(lines) <= height - 1
        assert all(len(line) <= width for line in lines)
        assert not any(re.search(r"[\w.]…", line) for line in lines)  # no number or header cut short
        header = next(line for line in lines if "train loss" in line)
        assert "val loss" in header and "val accuracy" in header
    picture_at = {lines[1].index("decision boundary") for lines in frames}
    assert len(picture_at) == 1  # the picture never moves sideways
    header = [name.strip() for name in frames[-1][2].split("┃")[1:-1] if name.strip()]
    essential = ["step", "train loss", "val loss", "val accuracy"]
    assert header == (essential if width < 110 else [*essential, "epoch", "lr", "grad norm"])


def render_text(console, reporter) -> list[str]:
    """One frame of the live region, as the terminal of `console`'s size shows it."""
    frame = Console(
        file=io.StringIO(), width=console.width, height=console.height, force_terminal=True, record=True
    )
    frame.print(reporter.render())
    return frame.export_text().rstrip("\n").split("\n")


def test_the_boundary_names_its_axes_and_classes():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1])
    picture = termviz.decision_boundary(
        lambda P: (P[:, 0] > 0.5).astype(int),
        X,
        y,
        width=8,
        height=4,
        names=("weight_g", "diameter_cm"),
        classes=("apple", "orange"),
    )
    lines = text_lines(picture)
    assert "weight_g" in lines[-4] and "diameter_cm" in lines[-3]  # above the legend and the border
    assert "■ apple  ■ orange" in lines[-2]
