"""erf and erfc against the C library's (math.erf, math.erfc): accuracy in both dtypes over the whole
real line, special values, symmetry, monotonicity, dtypes and shapes."""

import math
import warnings

import numpy as np
import pytest

from nncli.engine import special
from nncli.engine.special import erf, erfc
from tools import fit_special

F64_ERF_RTOL = 6e-16  # measured 4.6e-16 (≈ 2 ulp); math.erf itself is within 1 ulp
F64_ERFC_RTOL = 1.5e-15  # measured 1.1e-15, down to the smallest normal result
F32_ERF_RTOL = 3e-7  # measured 2.6e-7 (≈ 2 float32 eps)
TINY = 2.2250738585072014e-308  # smallest normal float64

_math_erf = np.vectorize(math.erf, otypes=[np.float64])
_math_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _points(rng: np.random.Generator) -> np.ndarray:
    """≥ 1e5 points over [−7, 7], dense around the joins of the pieces, plus far tails and tiny values."""
    joins = np.concatenate([np.linspace(j - 0.01, j + 0.01, 501) for j in (0.5, 2.0, 4.0, 6.0)])
    tiny = np.geomspace(1e-300, 1.0, 2000)
    far = np.geomspace(6.0, 1e300, 500)
    both = np.concatenate([joins, tiny, far])
    return np.concatenate([np.linspace(-7, 7, 70001), rng.uniform(-7, 7, 40000), both, -both])


def _max_rel(got: np.ndarray, want: np.ndarray) -> float:
    nonzero = want != 0
    assert np.all(got[~nonzero] == 0)
    return float(np.max(np.abs(got[nonzero] - want[nonzero]) / np.abs(want[nonzero])))


def test_float64_erf_matches_libm_everywhere():
    x = _points(np.random.default_rng(0))
    got = erf(x)
    assert got.dtype == np.float64
    assert _max_rel(got, _math_erf(x)) <= F64_ERF_RTOL


def test_float64_erfc_matches_libm_down_to_underflow():
    rng = np.random.default_rng(1)
    x = np.concatenate([_points(rng), np.linspace(-7, 27, 100001), rng.uniform(6, 26.5, 20000)])
    want = _math_erfc(x)
    normal = want >= TINY
    assert _max_rel(erfc(x[normal]), want[normal]) <= F64_ERFC_RTOL
    # erfc underflows past x ≈ 26.5: the subnormal results agree to their last few bits
    np.testing.assert_allclose(erfc(x[~normal]), want[~normal], rtol=0, atol=1e-322)


def test_float32_erf_within_a_few_ulp():
    x = _points(np.random.default_rng(2))
    x = x[np.abs(x) < 1e38].astype(np.float32)
    got = erf(x)
    assert got.dtype == np.float32
    want = _math_erf(x.astype(np.float64))
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    assert _max_rel(got[normal].astype(np.float64), want[normal]) <= F32_ERF_RTOL
    # subnormal results (|x| < 1e-38) keep only absolute accuracy, as any float32 product does
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=3e-45)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30], dtype=dtype)
    y = erf(x)
    np.testing.assert_array_equal(y, np.array([0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0], dtype=dtype))
    assert np.signbit(y[1]) and not np.signbit(y[0])
    np.testing.assert_array_equal(erfc(x), np.array([1.0, 1.0, 0.0, 2.0, np.nan, 0.0, 2.0], dtype=dtype))


def test_tiny_and_subnormal_inputs():
    """erf(x) ≈ 2x/√π below 1e-8; in the subnormal range the products round like libm's."""
    x = np.array([1e-300, -1e-300, 1e-310, -1e-310, 5e-324, -5e-324, TINY])
    np.testing.assert_allclose(erf(x), _math_erf(x), rtol=F64_ERF_RTOL, atol=1e-323)
    np.testing.assert_array_equal(erfc(x), np.ones_like(x))


def test_no_floating_point_warnings():
    x = np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-320, 0.0, 3.0])
    x32 = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-45, 0.0, 3.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        erf(x), erfc(x), erf(x32), erfc(x32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_odd_symmetry_is_exact(dtype):
    x = np.random.default_rng(3).standard_normal(50000).astype(dtype) * dtype(3)
    np.testing.assert_array_equal(erf(-x), -erf(x))
    atol = 1e-15 if dtype == np.float64 else 5e-7
    np.testing.assert_allclose(erfc(-x) + erfc(x), 2.0, rtol=0, atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_monotone_on_a_fine_grid(dtype):
    x = np.linspace(-7, 7, 140001).astype(dtype)
    assert np.all(np.diff(erf(x)) >= 0)
    assert np.all(np.diff(erfc(x)) <= 0)


def test_erfc_is_one_minus_erf_in_the_middle():
    x = np.linspace(-3, 3, 6001)
    np.testing.assert_allclose(erf(x) + erfc(x), 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float64, np.float64), (np.float32, np.float32), (np.float16, np.float16), (np.int64, np.float64)],
)
def test_result_dtype(dtype, expected):
    x = np.arange(-3, 4).astype(dtype)
    assert erf(x).dtype == expected
    assert erfc(x).dtype == expected
    np.testing.assert_allclose(
        erf(x), _math_erf(x.astype(np.float64)), rtol=1e-3 if dtype == np.float16 else 3e-7
    )


def test_shapes_views_and_block_boundaries():
    rng = np.random.default_rng(4)
    block = special._BLOCK_BYTES // 8
    assert erf(np.empty(0)).shape == (0,)
    for n in (1, block - 1, block, 2 * block + 3):
        x = rng.standard_normal(n) * 3
        assert _max_rel(erf(x), _math_erf(x)) <= F64_ERF_RTOL
    x = rng.standard_normal((6, 8, 5)) * 3
    view = x[:, ::2, 1:].T  # non-contiguous
    np.testing.assert_array_equal(erf(view), erf(view.copy()))
    assert erf(view).shape == view.shape
    scalar = erf(np.float64(0.5))
    assert scalar.shape == () and scalar == pytest.approx(math.erf(0.5), rel=1e-15)


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="real input"):
        erf(np.array([1 + 1j]))


def test_input_is_not_modified():
    x = np.linspace(-8, 8, 1001)
    before = x.copy()
    erf(x), erfc(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name, max_error", [("_CORE32", 1e-9), ("_GELU32", 3.3e-9)])
def test_float32_fits_reproduce_the_tabled_constants(name, max_error):
    """The constants come from `python -m tools.fit_special`; the float32 ones, the quickest to refit, are
    refitted here, at the table's degrees, and must come out the same."""
    f, lo, hi, _, _, weight = fit_special.fits()[name]
    m, n = (len(part) - 1 for part in getattr(special, name))
    p, q, max_err = fit_special.remez(f, lo, hi, m, n, weight=weight)
    np.testing.assert_allclose(p, getattr(special, name)[0], rtol=1e-12)
    np.testing.assert_allclose(q, getattr(special, name)[1], rtol=1e-12)
    assert max_err < max_error


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 3e-7)])
def test_fused_gelu_and_its_derivative_match_the_formula(dtype, rtol):
    """special.gelu gives y = x·Φ(x) and y′ = Φ(x) + x·φ(x), Φ from math.erfc, on the core and the tails."""
    x = np.concatenate([np.linspace(-9.0, 9.0, 20001), [-0.0, 0.0, 1e-30, -1e-30]]).astype(dtype)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x.astype(np.float64)])
    pdf = np.exp(-0.5 * x.astype(np.float64) ** 2) / math.sqrt(2.0 * math.pi)
    y, dy = special.gelu(x)
    assert y.dtype == dy.dtype == dtype
    scale = np.maximum(np.abs(x.astype(np.float64)), 1.0)  # relative to |x| where the result is tiny
    np.testing.assert_array_less(np.abs(y - x * cdf) / scale, rtol)
    np.testing.assert_array_less(np.abs(dy - (cdf + x * pdf)), rtol)
    assert np.isnan(special.gelu(np.array([np.nan], dtype))[0][0])
    y_only, none = special.gelu(x, derivative=False)
    assert none is None
    np.testing.assert_array_equal(y_only, y)


def test_float32_gelu_saturates_like_erf_and_patches_beyond_8():
    """Past |x| ≈ 5.9 float32 Φ is 0 or 1; beyond |x| = 8 values come from the float64 formula."""
    x = np.array([6.0, -6.0, 8.0, -8.0, 8.5, -8.5, 3e38, np.inf], dtype=np.float32)
    y, dy = special.gelu(x)
    np.testing.assert_array_equal(y[[0, 2, 4, 6, 7]], x[[0, 2, 4, 6, 7]])
    assert np.all(np.abs(y[[1, 3, 5]]) < 1e-7) and np.all(dy[[0, 2, 4, 6]] == 1.0)
    assert np.isnan(dy[7])  # 1 + inf·0, as torch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_patches_land_on_their_elements_in_every_block(dtype):
    """Far elements (|x| > 8 in float32, > 2√2 in float64) spread over several cache-sized blocks,
    in a non-contiguous input: each gets its own float64 value."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 2 * 300_001).astype(dtype)[::2]  # strided, several blocks in both dtypes
    far = rng.choice(x.size, 40, replace=False)
    x[far] = rng.choice([-1, 1], 40) * rng.uniform(8.5, 30, 40)
    y, dy = special.gelu(x)
    x64 = x.astype(np.float64)
    want_y, want_dy = special._gelu_outside(x64[far])
    np.testing.assert_allclose(y[far], want_y.astype(dtype), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(dy[far], want_dy.astype(dtype), rtol=1e-6, atol=1e-30)
    near = np.setdiff1d(np.arange(x.size), far)[::997]
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x64[near]])
    np.testing.assert_allclose(y[near], x64[near] * cdf, rtol=0, atol=3e-7 if dtype == np.float32 else 1e-15)
