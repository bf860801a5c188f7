"""Meta-strategy solvers for leagues, chosen by name.

Meta-strategy solvers map a population's empirical payoff matrix ``m`` (``m[i, j]``: member i's expected
payoff against member j in the symmetrised game — each plays both seats equally often — so ``m = -m.T``) to a
probability vector over the members:

- ``"uniform"``: every member equally (the average of all best responses so far: fictitious play);
- ``"nash"``: the row player's equilibrium strategy of ``m`` by LP (``zeroleague.envs.matrix_game``, the project's
  one matrix-game LP; PSRO with a Nash meta-solver / double oracle);
- ``"last"``: all weight on the newest member (iterated best response / naive self-play).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zeroleague.envs.matrix_game import solve_matrix_game


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
