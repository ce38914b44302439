"""Sequence tasks for sequence models: token inputs X of shape (n, seq_len), int64 in 0..vocab_size-1.

copy, reverse and sort have one label per position (y of shape (n, seq_len)); modular_addition, parity and
majority one label per sequence (y of shape (n,)). `sum` is a regression over real-valued inputs of shape
(n, seq_len, 1). For the classification tasks `noise` is the probability that a label is replaced by a
different, uniformly chosen class; for `sum` it is the std of Gaussian noise added to the target.
"""

import numpy as np

from nncli.datasets.base import Dataset, register_dataset, require


def _flip(name: str, y: np.ndarray, noise: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Replace each label with probability `noise` by one of the n_classes − 1 others, uniformly."""
    require(noise <= 1.0, name, f"noise is a label-flip probability in [0, 1], got {noise}")
    flip = rng.random(y.shape) < noise
    shift = rng.integers(1, n_classes, y.shape)
    return np.where(flip, (y + shift) % n_classes, y)


def _tokens(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    noise: float,
    rng: np.random.Generator,
    vocab: int,
    n_classes: int,
) -> Dataset:
    return Dataset(
        X=X.astype(np.int64, copy=False),
        y=_flip(name, y, noise, n_classes, rng).astype(np.int64, copy=False),
        task="classification",
        name=name,
        n_classes=n_classes,
        vocab_size=vocab,
    )


def _random_tokens(name: str, samples: int, seq_len: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    require(seq_len >= 1, name, f"seq_len must be at least 1, got {seq_len}")
    require(vocab >= 2, name, f"vocab must be at least 2, got {vocab}")
    return rng.integers(0, vocab, (samples, seq_len))


@register_dataset(
    "copy",
    task="classification",
    kind="sequence",
    params={"seq_len": "Tokens per sequence; ≥ 1.", "vocab": "Number of distinct tokens; ≥ 2."},
)
def copy(
    *, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 8, vocab: int = 10
) -> Dataset:
    """Repeat the input: y[i, t] = X[i, t] for random tokens."""
    X = _random_tokens("copy", samples, seq_len, vocab, rng)
    return _tokens("copy", X, X.copy(), noise, rng, vocab, vocab)


@register_dataset(
    "reverse",
    task="classification",
    kind="sequence",
    params={"seq_len": "Tokens per sequence; ≥ 1.", "vocab": "Number of distinct tokens; ≥ 2."},
)
def reverse(
    *, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 8, vocab: int = 10
) -> Dataset:
    """Reverse the input: y[i, t] = X[i, seq_len − 1 − t]."""
    X = _random_tokens("reverse", samples, seq_len, vocab, rng)
    return _tokens("reverse", X, X[:, ::-1].copy(), noise, rng, vocab, vocab)


@register_dataset(
    "sort",
    task="classification",
    kind="sequence",
    params={"seq_len": "Tokens per sequence; ≥ 1.", "vocab": "Number of distinct tokens; ≥ 2."},
)
def sort(
    *, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 8, vocab: int = 10
) -> Dataset:
    """Sort the input: y[i] = the tokens of X[i] in ascending order."""
    X = _random_tokens("sort", samples, seq_len, vocab, rng)
    return _tokens("sort", X, np.sort(X, axis=1), noise, rng, vocab, vocab)


@register_dataset(
    "modular_addition",
    task="classification",
    kind="sequence",
    params={
        "p": "The modulus; tokens 0..p−1 are the numbers; ≥ 2.",
        "equals": "End each sequence with the '=' token (token p).",
    },
)
def modular_addition(
    *, samples: int, noise: float, rng: np.random.Generator, p: int = 11, equals: bool = True
) -> Dataset:
    """(a + b) mod p from the tokens [a, b, =] (or [a, b] with equals=False); '=' is token p.

    a and b are drawn uniformly from 0..p-1, so vocab_size is p + 1 with the '=' token and p without.
    """
    require(p >= 2, "modular_addition", f"p must be at least 2, got {p}")
    a, b = rng.integers(0, p, (2, samples))
    columns = [a, b, np.full(samples, p)] if equals else [a, b]
    X = np.stack(columns, axis=1)
    return _tokens("modular_addition", X, (a + b) % p, noise, rng, p + 1 if equals else p, p)


@register_dataset(
    "parity", task="classification", kind="sequence", params={"seq_len": "Bits per sequence; ≥ 1."}
)
def parity(*, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 8) -> Dataset:
    """Parity of a bit string: y = (Σₜ X[i, t]) mod 2."""
    X = _random_tokens("parity", samples, seq_len, 2, rng)
    return _tokens("parity", X, X.sum(axis=1) % 2, noise, rng, 2, 2)


@register_dataset(
    "majority",
    task="classification",
    kind="sequence",
    params={"seq_len": "Tokens per sequence; ≥ 1.", "vocab": "Number of distinct tokens; ≥ 2."},
)
def majority(
    *, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 9, vocab: int = 2
) -> Dataset:
    """The most frequent token of each sequence; a tie goes to the smallest tied token."""
    X = _random_tokens("majority", samples, seq_len, vocab, rng)
    counts = (X[:, :, None] == np.arange(vocab)).sum(axis=1)
    return _tokens("majority", X, counts.argmax(axis=1), noise, rng, vocab, vocab)


@register_dataset("sum", task="regression", kind="sequence", params={"seq_len": "Numbers per sequence; ≥ 1."})
def sum_(*, samples: int, noise: float, rng: np.random.Generator, seq_len: int = 8) -> Dataset:
    """y = Σₜ x_t + ε for x_t ~ U(0, 1) given as inputs of shape (n, seq_len, 1), ε ~ N(0, noise²)."""
    require(seq_len >= 1, "sum", f"seq_len must be at least 1, got {seq_len}")
    X = rng.uniform(0.0, 1.0, (samples, seq_len, 1))
    y = X[:, :, 0].sum(axis=1) + noise * rng.standard_normal(samples)
    return Dataset(X=X, y=y, task="regression", name="sum")
