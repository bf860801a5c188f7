"""The one zero-sum matrix-game LP of the project, in the games layer so that game solvers (the exact 6 nimmt!
solver, ``zeroleague.envs.sixnimmt.solver``) and the leagues' meta-strategy solvers (``zeroleague.leagues.nash``)
share it without either reaching up.

``solve_matrix_game(a)`` solves the zero-sum matrix game ``a`` (row player maximises): value and equilibrium
strategies (checked: the row strategy guarantees and the column strategy concedes the same value up to 1e-8).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

_SADDLE_TOL = 1e-12  # continuation values carry LP rounding; closer than this counts as a saddle point
_LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def _undominated(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows and columns left after iterated removal of weakly dominated ones (the row player
    maximises). Any equilibrium of the reduced game is one of the full game."""
    rows, cols = np.arange(a.shape[0]), np.arange(a.shape[1])
    changed = True
    while changed:
        changed = False
        sub = a[np.ix_(rows, cols)]
        for i in range(len(rows)):
            if any(k != i and np.all(sub[k] >= sub[i]) for k in range(len(rows))):
                rows = np.delete(rows, i)
                changed = True
                break
        if changed:
            continue
        for j in range(len(cols)):
            if any(k != j and np.all(sub[:, k] <= sub[:, j]) for k in range(len(cols))):
                cols = np.delete(cols, j)
                changed = True
                break
    return rows, cols


def solve_matrix_game(a: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Value and equilibrium strategies (x for the maximising row player, y for the column player) of the
    zero-sum matrix game ``a``. Exact for pure saddle points; otherwise weakly dominated rows and columns are
    removed, a 2x2 remainder is solved in closed form and a larger one by one HiGHS LP (y from its duals); the
    value is the midpoint of the bounds min(x·a) and max(a·y), which differ by < 1e-8 (checked: a
    RuntimeError otherwise). A ValueError for a matrix that is not 2-D, empty, or not finite."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.size == 0 or not np.isfinite(a).all():
        raise ValueError(f"need a finite, non-empty 2-D payoff matrix, got shape {a.shape}: {a}")
    x, y = np.zeros(a.shape[0]), np.zeros(a.shape[1])
    i = int(np.argmax(a.min(axis=1)))
    j = int(np.argmin(a.max(axis=0)))
    if a[i].min() >= a[:, j].max() - _SADDLE_TOL:
        x[i] = y[j] = 1.0
        return float(a[i, j]), x, y
    ri, ci = _undominated(a)
    sub = a[np.ix_(ri, ci)]
    m, n = sub.shape
    if m == n == 2:  # no saddle point: both mix, each making the other indifferent
        (p, q), (r, t) = sub
        den = p + t - q - r
        xs, ys = np.array([t - r, p - q]) / den, np.array([t - q, p - r]) / den
        if xs.min() >= 0 and ys.min() >= 0:
            x[ri], y[ci] = xs, ys
            return _checked(a, x, y)
    # max v  s.t.  sub^T x >= v, sum x = 1, x >= 0   (variables x_1..x_m, v)
    res = linprog(
        c=np.r_[np.zeros(m), -1.0],
        A_ub=np.c_[-sub.T, np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
        options=_LP_OPTIONS,
    )
    if res.status != 0:
        raise RuntimeError(f"LP for matrix game failed: {res.message}\n{a}")
    xs = np.clip(res.x[:m], 0.0, None)
    ys = np.clip(-res.ineqlin.marginals, 0.0, None)
    x[ri], y[ci] = xs / xs.sum(), ys / ys.sum()
    return _checked(a, x, y)


def _checked(a: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(value, x, y) after checking that x guarantees and y concedes the same value up to 1e-8."""
    lo, hi = float((x @ a).min()), float((a @ y).max())
    if hi - lo > 1e-8 or x.min() < 0 or y.min() < 0:
        raise RuntimeError(f"matrix game solution not accurate (bounds {lo}, {hi}; x {x}, y {y})\n{a}")
    return (lo + hi) / 2, x, y
