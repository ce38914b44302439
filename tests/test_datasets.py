"""Generators, sequence tasks, the bundled snapshots, save/load round trips and train_val_split."""

from __future__ import annotations

import errno
import inspect
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nncli.datasets import (
    DATASETS,
    Dataset,
    generate,
    load_file,
    register_dataset,
    save_file,
    train_val_split,
)
from nncli.datasets.snapshots import SNAPSHOTS, snapshot
from nncli.engine.losses import CrossEntropyLoss
from nncli.engine.models import mlp
from nncli.engine.parameters import ParameterBuffer
from nncli.errors import DataError, FileSystemError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]
ALL = DATASETS.names()
TABULAR = [n for n in ALL if DATASETS.get(n).kind == "tabular"]


# ---- every registered dataset ----


@pytest.mark.parametrize("name", ALL)
def test_shapes_dtypes_and_task(name):
    spec = DATASETS.get(name)
    data = generate(name, samples=37, noise=0.1, seed=3)
    assert data.name == name and data.task == spec.task and data.n_samples == 37
    assert data.is_sequence == (spec.kind == "sequence")
    if data.vocab_size is not None:
        assert data.X.dtype == np.int64 and data.X.ndim == 2
        assert 0 <= data.X.min() and data.X.max() < data.vocab_size
    else:
        assert data.X.dtype == np.float64 and data.X.ndim == (3 if data.is_sequence else 2)
        assert np.all(np.isfinite(data.X))
    if spec.kind == "tabular":
        assert data.feature_names == tuple(f"x{i + 1}" for i in range(data.X.shape[1]))
    if data.task == "classification":
        assert data.y.dtype == np.int64 and data.y.ndim in (1, 2)
        assert 0 <= data.y.min() and data.y.max() < data.n_classes
    else:
        assert data.n_classes is None and data.y.dtype == np.float64 and data.y.shape == (37,)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_bits_other_seed_other_data(name):
    a, b = generate(name, samples=40, noise=0.1, seed=7), generate(name, samples=40, noise=0.1, seed=7)
    assert a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()
    c = generate(name, samples=40, noise=0.1, seed=8)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("name", ALL)
def test_generators_ignore_global_random_state(name):
    np.random.seed(1)
    a = generate(name, samples=20, seed=0)
    np.random.seed(2)
    b = generate(name, samples=20, seed=0)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)


@pytest.mark.parametrize("name", ALL)
def test_own_parameters_are_keyword_only_typed_and_defaulted(name):
    spec = DATASETS.get(name)
    signature = inspect.signature(spec.fn)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in signature.parameters.values())
    assert {"samples", "noise", "rng"} <= set(signature.parameters)
    for param, (annotation, default) in spec.params().items():
        assert annotation in (int, float, bool), (param, annotation)
        assert signature.parameters[param].annotation is annotation  # a real type, not a string
        assert type(default) is annotation, (param, default)
    assert spec.description and "\n" not in spec.description


def test_register_refuses_untyped_or_positional_parameters():
    with pytest.raises(TypeError, match="'width' needs a type annotation and a default"):

        @register_dataset("bad_one", task="regression", kind="tabular")
        def bad_one(*, samples, noise, rng, width=3): ...

    with pytest.raises(TypeError, match="'samples' must be keyword-only"):

        @register_dataset("bad_two", task="regression", kind="tabular")
        def bad_two(samples, *, noise, rng): ...

    assert "bad_one" not in DATASETS and "bad_two" not in DATASETS


def test_generate_refuses_bad_requests():
    with pytest.raises(UnknownNameError, match="did you mean 'spirals'"):
        generate("spiral", samples=10)
    with pytest.raises(DataError, match="no parameter arm; its parameters: arms, turns"):
        generate("spirals", samples=10, arm=4)
    with pytest.raises(DataError, match="samples must be at least 1"):
        generate("xor", samples=0)
    with pytest.raises(DataError, match="noise must be non-negative"):
        generate("xor", samples=10, noise=-0.1)
    with pytest.raises(DataError, match="dataset 'spirals': arms must be at least 2"):
        generate("spirals", samples=10, arms=1)
    with pytest.raises(DataError, match="dataset 'parity': noise is a label-flip probability"):
        generate("parity", samples=10, noise=1.5)


# ---- tabular: properties checkable by hand ----


def test_xor_labels_are_opposite_signs_with_margin():
    data = generate("xor", samples=500, seed=1, margin=0.2)
    x1, x2 = data.X.T
    assert np.array_equal(data.y, (x1 * x2 < 0).astype(np.int64))
    assert np.abs(data.X).min() >= 0.2 and np.abs(data.X).max() <= 1.0
    assert 200 < data.y.sum() < 300  # both classes, roughly balanced


def test_tabular_noise_is_gaussian_jitter_of_the_noiseless_points():
    clean = generate("moons", samples=4000, noise=0.0, seed=2)
    noisy = generate("moons", samples=4000, noise=0.1, seed=2)
    assert np.array_equal(clean.y, noisy.y)
    jitter = (noisy.X - clean.X) / 0.1
    assert abs(jitter.mean()) < 0.05 and abs(jitter.std() - 1.0) < 0.03


def test_circles_lie_on_their_radii():
    data = generate("circles", samples=301, seed=0, factor=0.3)
    radius = np.hypot(*data.X.T)
    np.testing.assert_allclose(radius, np.where(data.y == 0, 1.0, 0.3), rtol=1e-12)
    assert sorted(np.bincount(data.y)) == [150, 151]


def test_moons_follow_their_half_circles():
    data = generate("moons", samples=200, seed=0)
    upper, lower = data.X[data.y == 0], data.X[data.y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-12)
    assert np.all(upper[:, 1] >= 0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(lower[:, 1] <= 0.5)


def test_spiral_angle_grows_with_radius_on_each_arm():
    arms, turns = 4, 1.5
    data = generate("spirals", samples=400, seed=0, arms=arms, turns=turns)
    r = np.hypot(*data.X.T)
    theta = np.arctan2(data.X[:, 1], data.X[:, 0])
    offset = theta - 2 * np.pi * (data.y / arms + turns * r)  # a whole number of turns
    np.testing.assert_allclose(np.cos(offset), 1.0, atol=1e-9)
    assert np.array_equal(np.bincount(data.y), [100] * 4)


def test_checkerboard_label_is_tile_colour():
    data = generate("checkerboard", samples=300, seed=0, tiles=2)
    # with 2 tiles per side the colour is again the xor of the signs
    assert np.array_equal(data.y, (data.X[:, 0] * data.X[:, 1] < 0).astype(np.int64))


def test_gaussian_blobs_cluster_around_their_centres():
    data = generate("gaussian_blobs", samples=3000, seed=0, centers=3, features=4, std=0.5)
    assert data.X.shape == (3000, 4) and data.n_classes == 3
    for k in range(3):
        points = data.X[data.y == k]
        assert abs(points.std(axis=0).mean() - 0.5) < 0.03


def test_linear_is_exactly_affine_without_noise_and_has_the_noise_std():
    data = generate("linear", samples=200, seed=0, features=3)
    design = np.column_stack([data.X, np.ones(200)])
    _, residual, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    assert residual[0] < 1e-20
    noisy = generate("linear", samples=20000, seed=0, features=3, noise=0.2)
    assert abs(np.std(noisy.y - _fit(noisy)) - 0.2) < 0.01


def _fit(data: Dataset) -> np.ndarray:
    design = np.column_stack([data.X, np.ones(len(data.X))])
    coef, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    return design @ coef


def test_sine_and_polynomial_are_their_formulas():
    sine = generate("sine", samples=100, seed=0, periods=2.0)
    assert np.array_equal(sine.y, np.sin(sine.X[:, 0]))
    assert np.abs(sine.X).max() <= 2 * np.pi
    poly = generate("polynomial", samples=50, seed=0, degree=4)
    fit = np.polynomial.polynomial.polyfit(poly.X[:, 0], poly.y, 4)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(poly.X[:, 0], fit), poly.y, atol=1e-10)
    assert np.abs(np.polynomial.polynomial.polyfit(poly.X[:, 0], poly.y, 5)[5]) < 1e-8


def _train_tanh_mlp(data: Dataset, steps: int = 800, lr: float = 0.02) -> float:
    """Full-batch Adam on a 2→16→16→k tanh MLP; returns the validation accuracy."""
    train, val = train_val_split(data, 0.25, np.random.default_rng(1))
    model = mlp(
        in_features=2, out_features=data.n_classes, hidden_sizes=(16, 16), rng=np.random.default_rng(0)
    )
    params, loss = ParameterBuffer(model.named_parameters()), CrossEntropyLoss()
    m, v = np.zeros_like(params.data), np.zeros_like(params.data)
    for t in range(1, steps + 1):
        params.zero_grad()
        loss(model(train.X), train.y)
        model.backward(loss.backward())
        m += 0.1 * (params.grad - m)
        v += 0.001 * (params.grad**2 - v)
        params.data -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return float(np.mean(model(val.X).argmax(axis=1) == val.y))


@pytest.mark.parametrize(("name", "accuracy"), [("xor", 0.98), ("circles", 0.98), ("spirals", 0.95)])
def test_defaults_are_learnable_by_a_small_tanh_mlp(name, accuracy):
    assert _train_tanh_mlp(generate(name, samples=600, seed=0)) >= accuracy


# ---- sequence tasks ----


@pytest.mark.parametrize(
    ("name", "target"),
    [("copy", lambda X: X), ("reverse", lambda X: X[:, ::-1]), ("sort", lambda X: np.sort(X, axis=1))],
)
def test_per_position_targets(name, target):
    data = generate(name, samples=64, seed=0, seq_len=5, vocab=7)
    assert data.X.shape == data.y.shape == (64, 5) and data.per_position
    assert data.vocab_size == data.n_classes == 7
    assert np.array_equal(data.y, target(data.X))


def test_reverse_and_sort_by_hand():
    data = generate("reverse", samples=3, seed=0, seq_len=4, vocab=10)
    assert data.y[0].tolist() == list(reversed(data.X[0].tolist()))
    data = generate("sort", samples=3, seed=0, seq_len=6, vocab=3)
    assert data.y[1].tolist() == sorted(data.X[1].tolist())


def test_modular_addition():
    data = generate("modular_addition", samples=500, seed=0, p=7)
    a, b, eq = data.X.T
    assert np.array_equal(data.y, (a + b) % 7) and np.all(eq == 7)
    assert data.vocab_size == 8 and data.n_classes == 7 and not data.per_position
    short = generate("modular_addition", samples=10, seed=0, p=7, equals=False)
    assert short.X.shape == (10, 2) and short.vocab_size == 7


def test_parity_and_majority_by_counting():
    parity = generate("parity", samples=100, seed=0, seq_len=6)
    assert [row.tolist().count(1) % 2 for row in parity.X] == parity.y.tolist()
    majority = generate("majority", samples=200, seed=0, seq_len=4, vocab=3)
    for row, label in zip(majority.X.tolist(), majority.y.tolist(), strict=True):
        counts = Counter(row)
        top = max(counts.values())
        assert label == min(t for t, c in counts.items() if c == top)  # ties go to the smallest token


def test_sum_is_a_real_valued_sequence_regression():
    data = generate("sum", samples=50, seed=0, seq_len=6)
    assert data.X.shape == (50, 6, 1) and data.in_features == 1 and data.seq_len == 6
    np.testing.assert_allclose(data.y, data.X.sum(axis=(1, 2)), rtol=1e-15)
    noisy = generate("sum", samples=5000, seed=0, seq_len=6, noise=0.5)
    assert abs(np.std(noisy.y - noisy.X.sum(axis=(1, 2))) - 0.5) < 0.02


def test_label_noise_flips_to_a_different_class_at_the_given_rate():
    data = generate("copy", samples=20000, seed=0, noise=0.3)
    flipped = data.y != data.X
    assert abs(flipped.mean() - 0.3) < 0.01
    assert generate("parity", samples=300, seed=0, noise=1.0).y.tolist() == [
        1 - row.sum() % 2 for row in generate("parity", samples=300, seed=0).X
    ]


def test_dataset_widths():
    tab = generate("gaussian_blobs", samples=10, features=5, centers=4)
    assert (tab.in_features, tab.out_features, tab.seq_len, tab.per_position) == (5, 4, None, False)
    tokens = generate("copy", samples=10, seq_len=6, vocab=9)
    assert (tokens.in_features, tokens.out_features, tokens.seq_len) == (9, 9, 6)
    assert generate("linear", samples=10).out_features == 1


# ---- the bundled snapshots ----


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_snapshot_file_matches_its_generator(name, tmp_path):
    path = ROOT / "datasets" / f"{name}.csv"
    fresh = tmp_path / path.name
    save_file(snapshot(name), fresh)
    assert fresh.read_bytes() == path.read_bytes(), "regenerate with: python -m nncli.datasets.snapshots"
    loaded, expected = load_file(path), snapshot(name)
    assert np.array_equal(loaded.X, expected.X) and np.array_equal(loaded.y, expected.y)
    assert (loaded.task, loaded.n_classes) == (expected.task, expected.n_classes)
    assert 100 <= loaded.n_samples <= 500


def test_readme_names_every_snapshot():
    readme = (ROOT / "datasets" / "README.md").read_text()
    csvs = {p.stem for p in (ROOT / "datasets").glob("*.csv")}
    assert csvs == set(SNAPSHOTS)
    for name, (samples, noise) in SNAPSHOTS.items():
        assert f"`{name}.csv`" in readme and f"| {samples} | {noise} |" in readme


# ---- save / load round trips ----


@pytest.mark.parametrize("name", TABULAR)
def test_csv_round_trip_is_exact(name, tmp_path):
    data = generate(name, samples=30, noise=0.1, seed=4)
    save_file(data, tmp_path / "data.csv")
    back = load_file(tmp_path / "data.csv")
    assert np.array_equal(back.X, data.X) and np.array_equal(back.y, data.y)
    assert back.y.dtype == data.y.dtype and back.task == data.task and back.n_classes == data.n_classes
    assert back.feature_names == data.feature_names and back.name == "data"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]  # no temporary file left behind


@pytest.mark.parametrize("name", ALL)
def test_npz_round_trip_keeps_everything(name, tmp_path):
    data = generate(name, samples=25, noise=0.1, seed=4)
    save_file(data, tmp_path / f"{name}.npz")
    back = load_file(tmp_path / f"{name}.npz")
    for field in ("task", "name", "n_classes", "vocab_size", "feature_names", "target_name"):
        assert getattr(back, field) == getattr(data, field), field
    assert back.X.dtype == data.X.dtype and back.y.dtype == data.y.dtype
    assert np.array_equal(back.X, data.X) and np.array_equal(back.y, data.y)


def test_csv_target_column_can_be_named(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("price,rooms,area\n1.5,3,70.5\n2.25,4,90\n0.75,2,40\n")
    data = load_file(path, target="price")
    assert data.task == "regression" and data.target_name == "price"
    assert data.feature_names == ("rooms", "area")
    assert data.X.tolist() == [[3, 70.5], [4, 90], [2, 40]] and data.y.tolist() == [1.5, 2.25, 0.75]
    last = load_file(path)  # no `y` column: the last one is the target
    assert last.target_name == "area" and last.y.tolist() == [70.5, 90, 40]


def test_csv_with_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b,y\r\n0.5,1,1\r\n\r\n-1,2,0\r\n3,4,2\r\n\r\n")
    data = load_file(path)
    assert data.task == "classification" and data.n_classes == 3 and data.y.tolist() == [1, 0, 2]
    assert data.feature_names == ("a", "b")


def test_save_refuses_sequences_as_csv_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text("old")
    with pytest.raises(DataError, match="save copy as .npz"):
        save_file(generate("copy", samples=5), path)
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(full))
    target = tmp_path / "d.npz"
    target.write_text("old")
    with pytest.raises(FileSystemError, match="no space left on device while writing .*d.npz"):
        save_file(generate("xor", samples=5), target)
    assert path.read_text() == target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.npz"]
    with pytest.raises(DataError, match="does not exist"):
        save_file(generate("xor", samples=5), tmp_path / "missing" / "d.csv")


# ---- train_val_split ----


def _indexed(n: int) -> Dataset:
    return Dataset(
        X=np.arange(n, dtype=np.float64)[:, None], y=np.arange(n) * 0.5, task="regression", name="i"
    )


def test_split_sizes_disjoint_and_complete():
    train, val = train_val_split(_indexed(100), 0.2, np.random.default_rng(0))
    assert (train.n_samples, val.n_samples) == (80, 20)
    ids_train, ids_val = train.X[:, 0], val.X[:, 0]
    assert not set(ids_train) & set(ids_val) and set(ids_train) | set(ids_val) == set(range(100))
    assert np.array_equal(train.y, ids_train * 0.5)  # rows stay paired
    assert np.all(np.diff(ids_train) > 0) and np.all(np.diff(ids_val) > 0)  # original order kept


def test_split_is_seeded():
    a = train_val_split(_indexed(50), 0.3, np.random.default_rng(5))[1].X
    b = train_val_split(_indexed(50), 0.3, np.random.default_rng(5))[1].X
    c = train_val_split(_indexed(50), 0.3, np.random.default_rng(6))[1].X
    assert np.array_equal(a, b) and not np.array_equal(a, c) and len(a) == 15


def test_split_edge_cases():
    data = _indexed(10)
    assert train_val_split(data, 0.0, np.random.default_rng(0)) == (data, None)
    assert train_val_split(data, 0.01, np.random.default_rng(0))[1].n_samples == 1  # at least one
    with pytest.raises(DataError, match=r"validation fraction must be in \[0, 1\)"):
        train_val_split(data, 1.0, np.random.default_rng(0))
    with pytest.raises(DataError, match="too few"):
        train_val_split(_indexed(1), 0.5, np.random.default_rng(0))
