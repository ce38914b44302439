"""The error function and its complement, vectorised in NumPy (which has neither), for exact GELU.

erf(x) = 2/√π ∫₀ˣ e^(−u²) du and erfc(x) = 1 − erf(x), elementwise, in the dtype of `x`.

Method. On |x| ≤ 2 (where nearly all activations fall) erf(x) = x·P(x²)/Q(x²), a rational minimax
fit; all its coefficients are positive, so Horner's rule loses nothing to cancellation. The few
elements beyond are patched by index in float64 through the scaled complement erfcx(y) = e^(y²)·erfc(y):
erf(x) = sign(x)·(1 − e^(−y²)·erfcx(y)) with y = |x|, from a rational in y on [0.5, 6] and one in 1/y²
beyond 6. erfc uses the same pieces and splits y² so that e^(−y²) keeps full relative accuracy.
The core runs over cache-sized blocks: NumPy makes one pass over memory per operation, and a block
that stays in L2 makes the ~30 passes about three times cheaper than passes over the whole array.

Accuracy, measured against math.erf / math.erfc in tests/test_special.py (which allows a margin):
    float64 erf   ≤ 4.7e-16 relative (≈ 2 ulp) on the whole line, tails included
    float64 erfc  ≤ 1.1e-15 relative down to the smallest normal result (x ≈ 26.5)
    float32 erf   ≤ 2.6e-7 relative (≈ 2 float32 eps), from a cheaper degree-(4, 4) core
float32 erfc goes through float64: it is on no hot path.

`gelu` evaluates exact GELU x·Φ(x) and its derivative together, block by block, for the GELU
activation. float64 takes Φ from the erf core above. float32 takes 2Φ = 1 + tanh(g) = 2/(1 + e^(−2g))
with g = atanh(erf(x/√2)) fitted as x times a degree-(3, 3) rational in x²/2: NumPy's float32 exp
is about twice as fast as its float32 tanh without AVX-512, and the fit covers |x| ≤ 8 without tail
patches (Φ reaches 0 or 1 near |x| ≈ 5.9, where float32 erf is ±1 too). Its error, measured
|y − x·Φ| ≤ 1.5e-7·max(|x|, 1) and 1.8e-7 for the derivative, is below torch's float32 GELU's with
its AVX2 kernel (1.6e-7; tests/test_torch_parity.py). An error relative to 1 as torch's 1 + erf is
where Φ is near 1, it keeps Φ's relative accuracy where Φ is tiny (x ≲ −2).

How the constants were made: `python -m tools.fit_special` (needs mpmath) reruns the Remez exchange on
relative (for GELU's tanh form: weighted) error and prints them; tests/test_special.py reruns the
float32 fits and compares.
"""

from __future__ import annotations

import numpy as np

# erf(x)/x = P(t)/Q(t), t = x², on 0 ≤ t ≤ 4; coefficients lowest degree first, Q monic.
# Degree (7, 7), minimax relative error 1.3e-18.
_CORE64 = (
    (18200083.755092435, 2836474.1522558746, 872805.9600150661, 61383.846336425806,
     6959.154746021638, 229.54804326872173, 9.981766970073878, 0.03699713300897525),
    (16129404.269258255, 7890227.856832696, 1790639.667812674, 246290.55598168945,
     22389.675631079976, 1362.2920687825667, 52.25667987857378, 1.0),
)  # fmt: skip
# The same for float32: degree (4, 4), minimax relative error 6.7e-10.
_CORE32 = (
    (1355.7069853328626, 260.7283135302178, 59.77843757591637, 4.594099020957543, 0.10151354900065604),
    (1201.464034236083, 631.5524197596376, 143.3487098207283, 17.30407424874314, 1.0),
)  # fmt: skip
# erfcx(y) = e^(y²)·erfc(y) = P(y)/Q(y) on 0.5 ≤ y ≤ 6: degree (8, 9), minimax relative error 2.3e-19.
_MID = (
    (3163.4746826269884, 6131.316752704595, 5903.365760300748, 3572.6739966204727, 1468.9051587277247,
     418.3412687506116, 80.68508044630369, 9.69714442457787, 0.5641895861427572),
    (3163.474682608949, 9700.91568049474, 13686.202230958883, 11694.71642013927, 6694.580689751132,
     2674.569196110467, 750.0846518995536, 143.51057210795815, 17.18774127945212, 1.0),
)  # fmt: skip
# y·erfcx(y) = P(s)/Q(s), s = 1/y², on y ≥ 6: degree (4, 4), minimax relative error 1.2e-17.
_BIG = (
    (0.014409966187319177, 0.22740277540314105, 1.0058180272373989, 1.264250237418958, 0.21736599938110157),
    (0.02554100006013215, 0.41583142499996356, 1.971525998144128, 2.9626040063779704, 1.0),
)  # fmt: skip


def _typed(coeffs: tuple[tuple[float, ...], ...], dtype: type) -> tuple[tuple[np.ndarray, ...], ...]:
    """Coefficients as 0-d arrays of `dtype`: a ufunc takes those about 1 µs faster per call than Python
    floats, which it must convert every time; the values are the same (a float32 array rounds a Python
    float to float32 too)."""
    return tuple(tuple(np.array(c, dtype) for c in part) for part in coeffs)


_CORE = {np.dtype(np.float64): _typed(_CORE64, np.float64), np.dtype(np.float32): _typed(_CORE32, np.float32)}
_CORE_T = 4.0  # the core covers t = x² ≤ 4, i.e. |x| ≤ 2
_MID_END = 6.0  # beyond, erfc(y) < 2e-17: erf rounds to ±1 in float64
_BLOCK_BYTES = 1 << 18  # 256 KiB per temporary keeps a block's working set in L2


def _rational(t: np.ndarray, p, q, num: np.ndarray | None = None, den: np.ndarray | None = None):
    """P(t)/Q(t) by Horner's rule with Q monic, in place in `num` (scratch `den`); returns `num`."""
    num = np.multiply(t, p[-1], out=num)
    num += p[-2]
    for c in p[-3::-1]:
        num *= t
        num += c
    den = np.add(t, q[-2], out=den)
    for c in q[-3::-1]:
        den *= t
        den += c
    num /= den
    return num


def _core(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = x·P(x²)/Q(x²) for flat `x`, block by block; returns the mask of the elements the core does
    not cover (|x| > 2, i.e. x² > 4, and ±inf; NaN stays NaN and is not marked)."""
    p, q = _CORE[x.dtype]
    step = _BLOCK_BYTES // x.itemsize
    outside = np.empty(x.shape, dtype=bool)
    t, den = np.empty(min(step, x.size), x.dtype), np.empty(min(step, x.size), x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # t overflows for huge |x|: those are patched
        for start in range(0, x.size, step):
            xb, ob = x[start : start + step], out[start : start + step]
            tb, db = t[: xb.size], den[: xb.size]
            np.multiply(xb, xb, out=tb)
            np.greater(tb, _CORE_T, out=outside[start : start + step])
            _rational(tb, p, q, ob, db)
            ob *= xb
    return outside


def _patch(x: np.ndarray, out: np.ndarray, idx: np.ndarray, f) -> None:
    """out[idx] = f(x[idx] in float64), a block of indices at a time (all of them when few)."""
    step = _BLOCK_BYTES // 8
    for start in range(0, idx.size, step):
        i = idx[start : start + step]
        out[i] = f(x[i].astype(np.float64))


def _erfcx(y: np.ndarray) -> np.ndarray:
    """e^(y²)·erfc(y) for float64 y ≥ 0.5."""
    r = _rational(y, *_MID)
    big = np.flatnonzero(y > _MID_END)
    if big.size:
        yb = y[big]
        r[big] = _rational(1.0 / (yb * yb), *_BIG) / yb
    return r


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """float32 (also for float16) takes the float32 core; everything else is computed in float64."""
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def _result(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reshape to x's shape, in x's dtype when that is floating (integers give float64, as ufuncs do)."""
    out = out.reshape(x.shape)
    return out.astype(x.dtype, copy=False) if np.issubdtype(x.dtype, np.floating) else out


def _erf_outside(x: np.ndarray) -> np.ndarray:
    """erf(x) = sign(x)·(1 − e^(−y²)·erfcx(y)), y = |x|, for |x| > 2; beyond 6 erfc no longer counts."""
    y = np.minimum(np.abs(x), _MID_END)
    return np.copysign(1.0 - np.exp(-y * y) * _rational(y, *_MID), x)


def _erfc_outside(x: np.ndarray) -> np.ndarray:
    """erfc(x) = e^(−y²)·erfcx(y), y = |x|, for x ≥ 0.5, and 2 − erfc(−x) for x < −2, with y² split so
    that e^(−y²) keeps full relative accuracy."""
    y = np.minimum(np.abs(x), 40.0)  # erfc(40) is 0 in float64; keeps inf out of the arithmetic
    hi = np.trunc(16.0 * y) / 16.0  # y² = hi² + (y − hi)(y + hi) with hi² exact
    e = np.exp(-hi * hi) * np.exp((hi - y) * (hi + y)) * _erfcx(y)
    return np.where(x < 0, 2.0 - e, e)


def _flat(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.iscomplexobj(x):
        raise TypeError("erf and erfc take real input, got a complex array")
    return np.ascontiguousarray(x, dtype=dtype).reshape(-1)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in the dtype of `x`: erf(±inf) = ±1, erf(nan) = nan."""
    x = np.asarray(x)
    flat = _flat(x, _work_dtype(x.dtype))
    out = np.empty_like(flat)
    outside = _core(flat, out)
    _patch(flat, out, np.flatnonzero(outside), _erf_outside)
    return _result(out, x)


def _gelu_core(p, q) -> tuple[tuple, tuple]:
    """The erf core rewritten for Φ(x) = 0.5 + x·P′(s)/Q′(s) with s = x²: erf(z) = z·P(z²)/Q(z²) at
    z = x/√2 becomes a rational in s = 2z² (Q′ kept monic), with Φ's factor 1/(2√2) folded into P′."""
    n = len(q) - 1
    scale = [2.0 ** (n - k) for k in range(max(len(p), len(q)))]
    return (
        tuple(c * scale[k] / (2.0 * 2.0**0.5) for k, c in enumerate(p)),
        tuple(c * scale[k] for k, c in enumerate(q)),
    )


_GELU64 = _gelu_core(*_CORE64)
_GELU64_T = _typed(_GELU64, np.float64)
_GELU64_S = 2.0 * _CORE_T  # s = x² = 2z² ≤ 8, |x| ≤ 2√2
# float32 GELU: atanh(erf(x/√2)) = x·P(v)/Q(v), v = x²/2, on 0 ≤ v ≤ 18, degree (3, 3), fitted for the
# least max error of tanh of it, (1 − erf²)·max(|x|, 1)·|P/Q − f| ≤ 3.3e-9 (far below float32's
# rounding, which the exp form below needs: its 1 + e^(−2g) rounds where tanh's result would not);
# in float32 Φ reaches 0 or 1 near |x| ≈ 5.9 (float32 erf at ≈ 5.5) and stays there up to |x| = 8.
_GELU32 = (
    (2461.1044603343034, 610.2201792991578, 92.94921648150056, 4.743457315630858),
    (3084.5370010178717, 483.85873311842346, 72.99564768700681, 1.0),
)  # fmt: skip
_GELU32_V = 32.0  # v = x²/2 ≤ 32, |x| ≤ 8; beyond (and ±inf) patched in float64
_INV_SQRT_2 = 1.0 / 2.0**0.5
_INV_SQRT_2PI = 1.0 / (2.0 * np.pi) ** 0.5  # Python floats: float32 arrays stay float32
# −2·P for 2Φ = 1 + tanh(g) = 2/(1 + e^(−2g)): float32 exp is about twice as fast as float32 tanh
# without AVX-512, and −2·P/Q is exactly −2 times P/Q (a power of two scales every rounding alike)
_GELU32_T = _typed((tuple(-2.0 * c for c in _GELU32[0]), _GELU32[1]), np.float32)
# the blocks' scalars, typed as above: (½, −½, 1/√(2π)) in float64, (½, 1, 2, 4/√(2π)) in float32
_K64 = _typed(((0.5, -0.5, _INV_SQRT_2PI),), np.float64)[0]
_K32 = _typed(((0.5, 1.0, 2.0, 4.0 * _INV_SQRT_2PI),), np.float32)[0]


def _gelu_outside(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GELU and its derivative for float64 x beyond the core, with Φ = 0.5·(1 + erf(x/√2))."""
    with np.errstate(invalid="ignore"):  # ±inf: x·Φ and x·φ are 0·inf there, NaN as in the core's formula
        cdf = 0.5 * (1.0 + _erf_outside(x * _INV_SQRT_2))
        return x * cdf, cdf + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _far(v: np.ndarray, limit: float) -> np.ndarray | None:
    """Indices where v > limit, or None when there are none (one max is cheaper than a mask pass;
    a NaN makes the max NaN but is not marked: it stays NaN through the formulas)."""
    return None if v.max(initial=0) <= limit else np.flatnonzero(v > limit)


def _gelu64_block(x, y, dy, s, t):
    """y = x·Φ(x) (and dy = Φ + x·φ unless None) for float64 blocks, with Φ = 0.5 + x·P′(s)/Q′(s)."""
    half, minus_half, inv_sqrt_2pi = _K64
    np.multiply(x, x, out=s)
    far = _far(s, _GELU64_S)
    cdf = _rational(s, *_GELU64_T, t, y)  # y is scratch until the end
    cdf *= x
    cdf += half
    np.multiply(x, cdf, out=y)
    if dy is not None:  # x·φ(x) = x·e^(−s/2)/√(2π)
        np.multiply(s, minus_half, out=dy)
        np.exp(dy, out=dy)
        dy *= x
        dy *= inv_sqrt_2pi
        dy += cdf
    return far


def _gelu32_block(x, y, dy, h, v, g):
    """y = x·Φ(x) (and dy = Φ + x·φ unless None) for float32 blocks, with 2Φ = 1 + tanh(g) =
    2/(1 + e^(−2g)), g = x·P(v)/Q(v), v = x²/2: the fit needs no tail patches. e^(−2g) stays finite
    on |x| ≤ 8 and 2/(1 + e^(−2g)) keeps Φ's relative accuracy where it is tiny."""
    half, one, two, four_over_sqrt_2pi = _K32
    np.multiply(x, half, out=h)
    np.multiply(h, x, out=v)
    far = _far(v, _GELU32_V)
    _rational(v, *_GELU32_T, g, y)  # −2·P/Q; y is scratch until the end
    g *= x  # −2g
    np.exp(g, out=g)
    g += one
    np.divide(two, g, out=g)  # 2Φ
    np.multiply(h, g, out=y)
    if dy is not None:  # 2·(Φ + x·φ) = 2Φ + (x/2)·e^(−v)·4/√(2π)
        np.exp(v, out=v)
        np.divide(h, v, out=dy)
        dy *= four_over_sqrt_2pi
        dy += g
        dy *= half
    return far


def gelu(x: np.ndarray, derivative: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact GELU y = x·Φ(x) and its derivative Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π), in x's dtype;
    the derivative is None when not asked for.

    One cache-sized block at a time, so that the NumPy passes (25 per element in float32, 38 in
    float64) stay in L2. float64 takes Φ = 0.5 + x·P′(x²)/Q′(x²) from the erf core (see `_gelu_core`)
    and patches |x| > 2√2 from `erf`'s tails; float32 takes 2Φ = 2/(1 + e^(−2x·P(x²/2)/Q(x²/2))),
    accurate to ~1.5e-7 absolute in Φ on |x| ≤ 8 (past which both are patched in float64). GELU's
    backward then only multiplies y′ by the gradient.
    """
    x = np.asarray(x)
    flat = _flat(x, _work_dtype(x.dtype))
    y = np.empty_like(flat)
    dy = np.empty_like(flat) if derivative else None
    step = _BLOCK_BYTES // flat.itemsize
    block, n_scratch = (_gelu32_block, 3) if flat.dtype == np.float32 else (_gelu64_block, 2)
    scratch = [np.empty(min(step, flat.size), flat.dtype) for _ in range(n_scratch)]
    far = []
    with np.errstate(over="ignore", invalid="ignore"):  # overflow for huge |x|: those are patched
        for start in range(0, flat.size, step):
            sl = slice(start, start + step)
            xb = flat[sl]
            idx = block(xb, y[sl], None if dy is None else dy[sl], *(a[: xb.size] for a in scratch))
            if idx is not None:
                far.append(start + idx)
    if far:
        idx = np.concatenate(far)
        y_far, dy_far = _gelu_outside(flat[idx].astype(np.float64))
        y[idx] = y_far
        if dy is not None:
            dy[idx] = dy_far
    return _result(y, x), None if dy is None else _result(dy, x)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 − erf(x), elementwise, with full relative accuracy where
    it is tiny (x up to ≈ 26.5, beyond which it underflows to 0); computed in float64."""
    x = np.asarray(x)
    flat = _flat(x, np.dtype(np.float64))
    out = np.empty_like(flat)
    outside = _core(flat, out)
    np.subtract(1.0, out, out=out)  # 1 − erf is exact enough while erfc ≥ 0.48, i.e. x < 0.5
    outside |= flat >= 0.5
    _patch(flat, out, np.flatnonzero(outside), _erfc_outside)
    return _result(out, x)
