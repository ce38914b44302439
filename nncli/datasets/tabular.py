"""Tabular generators: 2-D classification sets whose decision boundary can be drawn, and small regressions.

For every tabular set `noise` is the standard deviation of Gaussian jitter added to the inputs after the
labels are fixed (for regressions: to the target). The jitter is drawn even when noise is 0, so one seed
gives the same points at every noise level, only displaced more or less.
"""

import numpy as np

from nncli.datasets.base import Dataset, register_dataset, require


def _names(features: int) -> tuple[str, ...]:
    return tuple(f"x{i + 1}" for i in range(features))


def _classification(name: str, X: np.ndarray, y: np.ndarray, n_classes: int) -> Dataset:
    return Dataset(
        X=X.astype(np.float64, copy=False),
        y=y.astype(np.int64, copy=False),
        task="classification",
        name=name,
        n_classes=n_classes,
        feature_names=_names(X.shape[1]),
    )


def _regression(name: str, X: np.ndarray, y: np.ndarray) -> Dataset:
    return Dataset(X=X, y=y, task="regression", name=name, feature_names=_names(X.shape[1]))


def _balanced_labels(samples: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Labels 0..k-1 in random order whose counts differ by at most one."""
    return rng.permutation(np.arange(samples, dtype=np.int64) % n_classes)


def _jitter(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return X + noise * rng.standard_normal(X.shape)


@register_dataset(
    "xor",
    task="classification",
    kind="tabular",
    params={"margin": "Coordinates' magnitudes are U(margin, 1): a 2·margin gap between classes; in [0, 1)."},
)
def xor(*, samples: int, noise: float, rng: np.random.Generator, margin: float = 0.1) -> Dataset:
    """Points in the four quadrants of [-1, 1]²; label 1 where x1 and x2 have opposite signs (x1·x2 < 0).

    Each coordinate's magnitude is U(margin, 1), so the classes are 2·margin apart before the jitter.
    """
    require(0.0 <= margin < 1.0, "xor", f"margin must be in [0, 1), got {margin}")
    signs = rng.choice(np.array([-1.0, 1.0]), size=(samples, 2))
    X = signs * rng.uniform(margin, 1.0, (samples, 2))
    y = signs[:, 0] != signs[:, 1]
    return _classification("xor", _jitter(X, noise, rng), y, 2)


@register_dataset(
    "circles",
    task="classification",
    kind="tabular",
    params={"factor": "Radius of the inner ring (the outer one is 1); in (0, 1)."},
)
def circles(*, samples: int, noise: float, rng: np.random.Generator, factor: float = 0.5) -> Dataset:
    """Two concentric rings: label 0 on the unit circle, label 1 on the circle of radius `factor`."""
    require(0.0 < factor < 1.0, "circles", f"factor must be in (0, 1), got {factor}")
    y = _balanced_labels(samples, 2, rng)
    angle = rng.uniform(0.0, 2.0 * np.pi, samples)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _classification("circles", _jitter(X, noise, rng), y, 2)


@register_dataset("moons", task="classification", kind="tabular")
def moons(*, samples: int, noise: float, rng: np.random.Generator) -> Dataset:
    """Two interleaved half circles: 0 at (cos t, sin t), 1 at (1 − cos t, ½ − sin t), t ~ U(0, π)."""
    y = _balanced_labels(samples, 2, rng)
    t = rng.uniform(0.0, np.pi, samples)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where((y == 0)[:, None], upper, lower)
    return _classification("moons", _jitter(X, noise, rng), y, 2)


@register_dataset(
    "spirals",
    task="classification",
    kind="tabular",
    params={
        "arms": "Number of spiral arms, one class each; ≥ 2.",
        "turns": "Turns of each arm from the centre to radius 1; > 0.",
    },
)
def spirals(
    *, samples: int, noise: float, rng: np.random.Generator, arms: int = 3, turns: float = 0.75
) -> Dataset:
    """`arms` interleaved spiral arms, one class each: r ~ U(0, 1), θ = 2π(k/arms + turns·r)."""
    require(arms >= 2, "spirals", f"arms must be at least 2, got {arms}")
    require(turns > 0, "spirals", f"turns must be positive, got {turns}")
    y = _balanced_labels(samples, arms, rng)
    r = rng.uniform(0.0, 1.0, samples)
    theta = 2.0 * np.pi * (y / arms + turns * r)
    X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return _classification("spirals", _jitter(X, noise, rng), y, arms)


@register_dataset(
    "gaussian_blobs",
    task="classification",
    kind="tabular",
    params={
        "centers": "Number of clusters, one class each; ≥ 2.",
        "features": "Input dimensions; ≥ 1.",
        "std": "Standard deviation of each cluster; ≥ 0.",
        "center_box": "Cluster centres are drawn from U(−center_box, center_box) per dimension; > 0.",
    },
)
def gaussian_blobs(
    *,
    samples: int,
    noise: float,
    rng: np.random.Generator,
    centers: int = 3,
    features: int = 2,
    std: float = 0.5,
    center_box: float = 3.0,
) -> Dataset:
    """`centers` Gaussian clusters N(c_k, std²·I), their centres drawn from U(−center_box, center_box)."""
    require(centers >= 2, "gaussian_blobs", f"centers must be at least 2, got {centers}")
    require(features >= 1, "gaussian_blobs", f"features must be at least 1, got {features}")
    require(std >= 0 and center_box > 0, "gaussian_blobs", "std must be non-negative and center_box positive")
    middle = rng.uniform(-center_box, center_box, (centers, features))
    y = _balanced_labels(samples, centers, rng)
    X = middle[y] + std * rng.standard_normal((samples, features))
    return _classification("gaussian_blobs", _jitter(X, noise, rng), y, centers)


@register_dataset(
    "checkerboard",
    task="classification",
    kind="tabular",
    params={"tiles": "Tiles per side of the board; ≥ 2."},
)
def checkerboard(*, samples: int, noise: float, rng: np.random.Generator, tiles: int = 4) -> Dataset:
    """Uniform points in [-1, 1]² on a tiles × tiles board, labelled by their tile's colour (i + j) mod 2."""
    require(tiles >= 2, "checkerboard", f"tiles must be at least 2, got {tiles}")
    X = rng.uniform(-1.0, 1.0, (samples, 2))
    tile = np.minimum(np.floor((X + 1.0) / 2.0 * tiles), tiles - 1).astype(np.int64)
    y = tile.sum(axis=1) % 2
    return _classification("checkerboard", _jitter(X, noise, rng), y, 2)


@register_dataset("linear", task="regression", kind="tabular", params={"features": "Input dimensions; ≥ 1."})
def linear(*, samples: int, noise: float, rng: np.random.Generator, features: int = 2) -> Dataset:
    """y = X·w + b + ε with X ~ U(−1, 1), w and b ~ N(0, 1) drawn once, and ε ~ N(0, noise²)."""
    require(features >= 1, "linear", f"features must be at least 1, got {features}")
    weight = rng.standard_normal(features)
    bias = rng.standard_normal()
    X = rng.uniform(-1.0, 1.0, (samples, features))
    y = X @ weight + bias + noise * rng.standard_normal(samples)
    return _regression("linear", X, y)


@register_dataset(
    "sine",
    task="regression",
    kind="tabular",
    params={"periods": "Periods of the sine over the input range; > 0."},
)
def sine(*, samples: int, noise: float, rng: np.random.Generator, periods: float = 1.0) -> Dataset:
    """y = sin(x) + ε for x ~ U(−π·periods, π·periods) and ε ~ N(0, noise²)."""
    require(periods > 0, "sine", f"periods must be positive, got {periods}")
    x = rng.uniform(-np.pi * periods, np.pi * periods, samples)
    y = np.sin(x) + noise * rng.standard_normal(samples)
    return _regression("sine", x[:, None], y)


@register_dataset(
    "polynomial",
    task="regression",
    kind="tabular",
    params={"degree": "Degree of the random polynomial; ≥ 0."},
)
def polynomial(*, samples: int, noise: float, rng: np.random.Generator, degree: int = 3) -> Dataset:
    """y = Σₖ cₖ·xᵏ + ε for x ~ U(−1, 1), coefficients c₀…c_degree ~ N(0, 1) drawn once, ε ~ N(0, noise²)."""
    require(degree >= 0, "polynomial", f"degree must be non-negative, got {degree}")
    coef = rng.standard_normal(degree + 1)
    x = rng.uniform(-1.0, 1.0, samples)
    y = np.polynomial.polynomial.polyval(x, coef) + noise * rng.standard_normal(samples)
    return _regression("polynomial", x[:, None], y)
