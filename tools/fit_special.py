"""Regenerate the rational approximations of `nncli.engine.special` by the Remez exchange, in mpmath.

`python -m tools.fit_special` prints every table; tests/test_special.py refits the float32 ones and
compares. Kept out of the package: the runtime never fits anything and does not need mpmath.
"""

from __future__ import annotations

import mpmath as mp


def remez(f, lo, hi, m: int, n: int, ngrid: int = 2000, iters: int = 40, weight=None):
    """Degree-(m, n) rational P/Q (Q monic) of least max weighted error w·(P/Q − f) on [lo, hi], in
    mpmath; the weight `w` defaults to 1/f, the relative error.

    Each pass solves P(v) − f(v)·Q(v) = ±E·Q_old(v)/w(v) on m + n + 2 reference points (linear in the
    coefficients and E; repeated until Q settles), then moves the references to the error's extrema.
    """
    size = m + n + 2
    grid = [lo + (hi - lo) * (1 - mp.cos(mp.pi * k / (ngrid - 1))) / 2 for k in range(ngrid)]
    fg = [f(v) for v in grid]
    inv_w = fg if weight is None else [1 / weight(v) for v in grid]
    ref = [round((ngrid - 1) * (1 - mp.cos(mp.pi * k / (size - 1))) / 2) for k in range(size)]
    q = [mp.mpf(1)] + [mp.mpf(0)] * n
    for _ in range(iters):
        for _ in range(8):
            rows = [
                [grid[k] ** j for j in range(m + 1)]
                + [-fg[k] * grid[k] ** j for j in range(1, n + 1)]
                + [-((-1) ** i) * inv_w[k] * mp.polyval(q[::-1], grid[k])]
                for i, k in enumerate(ref)
            ]
            sol = mp.lu_solve(mp.matrix(rows), mp.matrix([fg[k] for k in ref]))
            p, q, e_ref = list(sol[: m + 1]), [mp.mpf(1)] + list(sol[m + 1 : m + n + 1]), sol[m + n + 1]
        err = [
            (mp.polyval(p[::-1], v) / mp.polyval(q[::-1], v) - fv) / iw for v, fv, iw in zip(grid, fg, inv_w)
        ]
        ext, start = [], 0  # the largest |error| in each run of one sign
        for k in range(1, ngrid + 1):
            if k == ngrid or mp.sign(err[k]) != mp.sign(err[start]):
                ext.append(max(range(start, k), key=lambda j: abs(err[j])))
                start = k
        while len(ext) > size:
            ext.pop(0 if abs(err[ext[0]]) < abs(err[ext[-1]]) else -1)
        ref, max_err = ext, max(abs(v) for v in err)
        if max_err <= abs(e_ref) * (1 + mp.mpf("1e-4")):
            break
    return [float(c / q[-1]) for c in p], [float(c / q[-1]) for c in q], float(max_err)


def fits() -> dict:
    """name → (function, interval, degrees, weight) of every table above, for `remez`; weight None
    asks for the least relative error."""
    mp.mp.dps = 40
    erf_over_x = lambda t: mp.erf(mp.sqrt(t)) / mp.sqrt(t) if t else 2 / mp.sqrt(mp.pi)  # noqa: E731
    erfcx = lambda y: mp.exp(y * y) * mp.erfc(y)  # noqa: E731
    y_erfcx = lambda s: mp.exp(1 / s) * mp.erfc(1 / mp.sqrt(s)) / mp.sqrt(s) if s else 1 / mp.sqrt(mp.pi)  # noqa: E731
    # atanh(erf(x/√2))/x in v = x²/2, weighted by how much an error moves tanh of it (times |x| past 1)
    atanh_erf = lambda v: mp.atanh(mp.erf(mp.sqrt(v))) / mp.sqrt(2 * v) if v else mp.sqrt(2 / mp.pi)  # noqa: E731
    tanh_weight = lambda v: (1 - mp.erf(mp.sqrt(v)) ** 2) * max(mp.sqrt(2 * v), 1)  # noqa: E731
    return {
        "_CORE64": (erf_over_x, mp.mpf(0), mp.mpf(4), 7, 7, None),
        "_CORE32": (erf_over_x, mp.mpf(0), mp.mpf(4), 4, 4, None),
        "_GELU32": (atanh_erf, mp.mpf(0), mp.mpf(18), 3, 3, tanh_weight),
        "_MID": (erfcx, mp.mpf("0.5"), mp.mpf(6), 8, 9, None),
        "_BIG": (y_erfcx, mp.mpf(0), 1 / mp.mpf(36), 4, 4, None),
    }


if __name__ == "__main__":
    for name, (f, lo, hi, m, n, weight) in fits().items():
        p, q, max_err = remez(f, lo, hi, m, n, weight=weight)
        kind = "relative" if weight is None else "weighted"
        print(f"{name} = (\n    {tuple(p)},\n    {tuple(q)},\n)  # max {kind} error {max_err:.2g}")
