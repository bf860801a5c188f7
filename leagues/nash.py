"""Meta-strategy solvers for leagues, chosen by name, and the one zero-sum matrix-game LP of the project.

``solve_matrix_game(a)`` solves the zero-sum matrix game ``a`` (row player maximises): value and equilibrium
strategies. The exact 6 nimmt! solver (``zeroleague.envs.sixnimmt.solver``) solves each trick's matrix game with it.

Meta-strategy solvers map a population's empirical payoff matrix ``m`` (``m[i, j]``: member i's expected
payoff against member j in the symmetrised game — each plays both seats equally often — so ``m = -m.T``) to a
probability vector over the members:

- ``"uniform"``: every member equally (the average of all best responses so far: fictitious play);
- ``"nash"``: the row player's equilibrium strategy of ``m`` by LP (PSRO with a Nash meta-solver / double
  oracle);
- ``"last"``: all weight on the newest member (iterated best response / naive self-play).
"""

from __future__ import annotations

from collections.abc import Callable

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


# ------------------------------------------------------------------------------------------ meta-solvers
def _check_meta(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0 or not np.isfinite(m).all():
        raise ValueError(
            f"a meta-game payoff matrix must be finite, square and non-empty, got shape {m.shape}"
        )
    return m


def uniform_meta(m: np.ndarray) -> np.ndarray:
    """Fictitious play: every member of the population with equal weight."""
    n = _check_meta(m).shape[0]
    return np.full(n, 1.0 / n)


def nash_meta(m: np.ndarray) -> np.ndarray:
    """The row player's equilibrium strategy of the zero-sum meta-game ``m`` (``solve_matrix_game``)."""
    return solve_matrix_game(_check_meta(m))[1]


def last_meta(m: np.ndarray) -> np.ndarray:
    """Iterated best response: all weight on the newest member."""
    w = np.zeros(_check_meta(m).shape[0])
    w[-1] = 1.0
    return w


META_SOLVERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "uniform": uniform_meta,
    "nash": nash_meta,
    "last": last_meta,
}


def meta_strategy(name: str, m: np.ndarray) -> np.ndarray:
    """The meta-strategy of solver ``name`` (one of ``META_SOLVERS``) for the payoff matrix ``m``."""
    if name not in META_SOLVERS:
        raise ValueError(f"unknown meta-strategy solver {name!r}; known: {', '.join(META_SOLVERS)}")
    return META_SOLVERS[name](m)
