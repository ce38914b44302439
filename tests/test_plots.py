"""PNG figures (nncli.views.plots) and `nncli plot`: files that are real PNGs showing what they should, and a
clear exit 2 without matplotlib."""

import struct
import sys

import numpy as np
import pytest
from conftest import train_config
from typer.testing import CliRunner

from nncli import fileio
from nncli.cli import app
from nncli.config.loading import load_config
from nncli.errors import NncliError
from nncli.rundir.directory import load_trained
from nncli.rundir.summary import step_zero
from nncli.training.build import build_run
from nncli.views import plots, runplots, termviz

pytest.importorskip("matplotlib", reason="the figures need the plot extra (matplotlib)")


runner = CliRunner()


def train(directory, name, *sets):
    train_config(f"configs/{name}.yaml", directory, sets)
    return directory


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "xor": train(root / "xor", "xor", "training.epochs=3"),
        "sine": train(root / "sine", "sine", "training.epochs=3"),
        "neuron": train(root / "neuron", "neuron", "training.epochs=2"),
        "l1": train(root / "l1", "l1", "training.epochs=3"),
    }


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def pixels(path) -> np.ndarray:
    import matplotlib.image

    return (matplotlib.image.imread(path)[..., :3] * 255).round().astype(int)


def has_colour(image: np.ndarray, rgb, tol: int = 2) -> bool:
    return bool((np.abs(image - np.array(rgb)).max(axis=-1) <= tol).any())


def test_without_matplotlib_the_message_says_how_to_install(monkeypatch, runs):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not plots.has_matplotlib()
    with pytest.raises(NncliError, match=r"plotting needs matplotlib: pip install 'nncli\[plot\]'"):
        plots.require_matplotlib()
    result = runner.invoke(app, ["plot", str(runs["xor"])])
    assert result.exit_code == 2 and "plotting needs matplotlib: pip install 'nncli[plot]'" in result.output


def test_importing_plots_needs_no_matplotlib():
    import subprocess

    code = "import sys; sys.modules['matplotlib'] = None"
    code += "; import nncli.views.plots, nncli.views.report, nncli.views.liveplot; print(1)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "1"


def test_loss_curves_png(tmp_path):
    steps = np.arange(1, 101)
    series = {"sgd": (steps, 1 / steps), "adam": (steps, np.exp(-steps / 10))}
    path = plots.save_loss_curves(series, tmp_path / "sub" / "loss.png", log_y=True, title="optimizers")
    width, height = png_size(path)
    assert width > 300 and height > 200
    image = pixels(path)
    assert has_colour(image, termviz.colour(0)) and has_colour(
        image, termviz.colour(1)
    )  # one colour per series


def test_landscape_png_shows_the_paths(tmp_path):
    g = np.linspace(-2, 2, 60)
    gx, gy = np.meshgrid(g, g)
    grid = (1 - gx) ** 2 + 10 * (gy - gx**2) ** 2
    paths = {
        "sgd": np.array([[-1.5, 1.5], [0.0, 0.5], [1.0, 1.0]]),
        "adam": np.array([[1.5, -1.5], [1.0, 1.0]]),
    }
    path = plots.save_landscape(grid, (-2, 2, -2, 2), paths, tmp_path / "landscape.png", title="rosenbrock")
    png_size(path)
    image = pixels(path)
    assert has_colour(image, termviz.colour(0)) and has_colour(image, termviz.colour(1))


def test_attention_maps_one_row_per_layer_one_panel_per_head(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((2, 1, 4, 6, 6))  # 2 layers of (B=1, H=4, T, T)
    maps = [np.exp(s) / np.exp(s).sum(-1, keepdims=True) for s in scores]  # rows sum to 1

    def size(layers, heads):
        chosen = [m[:, :heads] for m in maps[:layers]]
        return png_size(
            plots.save_attention_maps(chosen, tmp_path / f"{layers}{heads}.png", tokens=list("abcdef"))
        )

    (w24, h24), (w14, h14), (w22, h22) = size(2, 4), size(1, 4), size(2, 2)
    assert w24 > 1.5 * w22 and abs(h24 - h22) < 0.1 * h24  # more heads: wider
    assert h24 > 1.5 * h14 and abs(w24 - w14) < 0.1 * w24  # more layers: taller


def test_weight_histograms_mark_exact_zeros_in_red(tmp_path):
    rng = np.random.default_rng(0)
    dense = {"w": rng.standard_normal((20, 10)) * 1e-3}  # L2-like: small but not zero
    sparse = {"w": np.where(rng.random((20, 10)) < 0.7, 0.0, rng.standard_normal((20, 10)))}  # L1-like
    red = termviz.colour(3)
    assert not has_colour(pixels(plots.save_weight_histograms(dense, tmp_path / "dense.png")), red)
    assert has_colour(pixels(plots.save_weight_histograms(sparse, tmp_path / "sparse.png")), red)


def test_decision_boundary_png_is_coloured_by_the_predictor(tmp_path):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1, 0, 1])
    path = plots.save_decision_boundary(lambda p: (p[:, 0] > 0.5).astype(int), X, y, tmp_path / "b.png")
    image = pixels(path)
    h, w, _ = image.shape
    # the regions are the class colours at alpha 0.35 over white
    tint = [np.round(0.35 * np.array(termviz.colour(k)) + 0.65 * 255) for k in (0, 1)]
    left, right = image[h // 2, int(w * 0.3)], image[h // 2, int(w * 0.75)]
    assert np.abs(left - tint[0]).max() <= 3 and np.abs(right - tint[1]).max() <= 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("xor", ["curves.png", "decision_boundary.png", "neurons.png", "weights.png"]),  # mlp, 2-D
        ("sine", ["curves.png", "fitted_curve.png", "weights.png"]),  # 1-D regression
        ("neuron", ["curves.png", "decision_boundary.png", "weights.png"]),  # the neuron model kind
        ("l1", ["curves.png", "regularization.png", "weights.png"]),  # 8 features: no plane; L1
    ],
)
def test_plot_run_writes_the_figures_that_apply(runs, tmp_path, name, expected):
    paths = runplots.plot_run(runs[name], tmp_path / "out")
    assert [p.name for p in paths] == expected
    for p in paths:
        assert p.parent == tmp_path / "out"
        png_size(p)


def test_plot_command_writes_into_the_run_directory(runs):
    result = runner.invoke(app, ["plot", str(runs["xor"]), "--log-y"])
    assert result.exit_code == 0, result.output
    assert result.output.count("wrote") == 4
    assert (runs["xor"] / "plots" / "decision_boundary.png").exists()


def test_plot_command_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_a_run_that_diverged_is_drawn_from_its_last_finite_parameters(tmp_path):
    directory = train(
        tmp_path / "run", "sine", "optimizer.lr=1e6", "optimizer.name=sgd", "training.log_every=1"
    )
    assert not (directory / "final.npz").exists() and (directory / "checkpoint.npz").exists()
    names = [p.name for p in runplots.plot_run(directory)]
    assert names == ["curves.png", "fitted_curve.png", "weights.png"]


def test_a_run_without_parameters_still_gets_its_curves(tmp_path):
    directory = train(tmp_path / "run", "sine", "training.log_every=1")
    for name in ("final.npz", "checkpoint.npz"):
        (directory / name).unlink()
    assert [p.name for p in runplots.plot_run(directory)] == ["curves.png"]


def test_transformer_runs_get_attention_maps(tmp_path):
    train(
        tmp_path / "run",
        "xor",
        "data={dataset: reverse, samples: 64}",
        "model={kind: transformer, d_model: 16, n_heads: 2, n_layers: 2}",
        "training.epochs=1",
    )
    paths = runplots.plot_run(tmp_path / "run")
    assert [p.name for p in paths] == ["curves.png", "weights.png", "attention.png"]
    width, height = png_size(paths[-1])
    assert height > 0.6 * width  # two layers of two heads: a square-ish grid of panels


def test_curves_start_at_step_zero_from_the_initial_parameters(runs, tmp_path, monkeypatch):
    directory = runs["xor"]
    run = load_trained(directory)
    row = step_zero(run, directory)
    fresh = build_run(load_config(directory / "config.yaml")[0])  # seeded: the initial parameters again
    assert row["step"] == 0
    assert row["train_loss"] == fresh.trainer.evaluate(fresh.trainer.X, fresh.trainer.y)[0]
    assert (row["val_loss"], row["val_metric"]) == fresh.trainer.evaluate()
    final = fileio.load_npz(directory / "final.npz", "parameters")
    assert all(np.array_equal(run.params.state_dict()[k], v) for k, v in final.items())  # put back
    drawn = []
    monkeypatch.setattr(plots, "save_training_curves", lambda rows, *a, **k: drawn.append(rows) or tmp_path)
    runplots.plot_run(directory, tmp_path / "p")
    assert drawn[0][0] == row and drawn[0][1]["step"] > 0


def test_the_boundary_and_curve_pngs_name_their_axes_and_classes(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figures.append(fig) or path)
    X, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1])
    plots.save_decision_boundary(
        lambda P: (P[:, 0] > 0.5).astype(int),
        X,
        y,
        tmp_path / "b.png",
        resolution=8,
        names=("weight_g", "diameter_cm"),
        classes=("apple", "orange"),
    )
    plots.save_fitted_curve(lambda x: x[:, 0], X[:, :1], y, tmp_path / "c.png", names=("dose", "response"))
    boundary, curve = (fig.axes[0] for fig in figures)
    assert (boundary.get_xlabel(), boundary.get_ylabel()) == ("weight_g", "diameter_cm")
    assert [t.get_text() for t in boundary.get_legend().get_texts()] == ["train apple", "train orange"]
    assert (curve.get_xlabel(), curve.get_ylabel()) == ("dose", "response")
    for fig in figures:
        plots.pyplot().close(fig)
