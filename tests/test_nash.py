"""The matrix-game LP and the meta-strategy solvers of leagues.nash on games with known answers."""

import numpy as np
import pytest
from scipy.optimize import linprog

from zeroleague.envs.matrix_game import solve_matrix_game
from zeroleague.leagues.nash import META_SOLVERS, meta_strategy

RPS = np.array([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]])


def test_rock_paper_scissors_is_uniform_with_value_zero():
    v, x, y = solve_matrix_game(RPS)
    assert v == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(x, [1 / 3] * 3, atol=1e-8)
    np.testing.assert_allclose(y, [1 / 3] * 3, atol=1e-8)
    np.testing.assert_allclose(meta_strategy("nash", RPS), [1 / 3] * 3, atol=1e-8)


def test_weighted_rps_has_the_known_unbalanced_equilibrium():
    # rock beats scissors by 2: x = (1/4, 1/2, 1/4) makes every column pay 0 (x_P = 2 x_S, x_R = x_S)
    a = np.array([[0.0, -1, 2], [1, 0, -1], [-2, 1, 0]])
    v, x, y = solve_matrix_game(a)
    assert v == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(x, [0.25, 0.5, 0.25], atol=1e-8)
    np.testing.assert_allclose(x @ a, [0, 0, 0], atol=1e-8)


def test_dominated_strategy_gets_no_weight():
    # row 2 is strictly dominated by row 0; column 2 is dominated for the (minimising) column player by col 1
    a = np.array([[3.0, -1, 4], [-2, 1, 3], [2, -2, 1]])
    v, x, y = solve_matrix_game(a)
    assert x[2] == pytest.approx(0.0, abs=1e-12) and y[2] == pytest.approx(0.0, abs=1e-12)
    # the remaining 2x2 [[3,-1],[-2,1]]: x = (3/7, 4/7), y = (2/7, 5/7), value 1/7
    np.testing.assert_allclose(x, [3 / 7, 4 / 7, 0], atol=1e-9)
    np.testing.assert_allclose(y, [2 / 7, 5 / 7, 0], atol=1e-9)
    assert v == pytest.approx(1 / 7, abs=1e-9)


def test_pure_saddle_point():
    v, x, y = solve_matrix_game(np.array([[3.0, 1], [2, 0]]))
    assert v == 1.0 and x.tolist() == [1, 0] and y.tolist() == [0, 1]


def _column_lp_value(a: np.ndarray) -> float:
    """The dual programme, solved independently: min w s.t. a y <= w, sum y = 1, y >= 0."""
    m, n = a.shape
    res = linprog(
        c=np.r_[np.zeros(n), 1.0],
        A_ub=np.c_[a, -np.ones(m)],
        b_ub=np.zeros(m),
        A_eq=np.r_[np.ones(n), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * n + [(None, None)],
        method="highs",
    )
    assert res.status == 0
    return float(res.x[-1])


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 7), (8, 8)])
def test_random_matrices_match_the_dual_and_admit_no_profitable_deviation(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(10):
        a = rng.normal(size=shape)
        v, x, y = solve_matrix_game(a)
        assert v == pytest.approx(_column_lp_value(a), abs=1e-7)  # strong duality, by the other LP
        assert x.sum() == pytest.approx(1) and y.sum() == pytest.approx(1) and x.min() >= 0 and y.min() >= 0
        assert (x @ a).min() >= v - 1e-7  # no column deviation gains against x
        assert (a @ y).max() <= v + 1e-7  # no row deviation gains against y


def test_meta_solvers_by_name_and_bad_input():
    m = np.array([[0.0, 1, -1], [-1, 0, 2], [1, -2, 0]])
    assert set(META_SOLVERS) == {"uniform", "nash", "last"}
    np.testing.assert_allclose(meta_strategy("uniform", m), [1 / 3] * 3)
    assert meta_strategy("last", m).tolist() == [0, 0, 1]
    w = meta_strategy("nash", m)
    assert (w @ m).min() >= -1e-8  # a symmetric zero-sum game has value 0: nash guarantees it
    with pytest.raises(ValueError, match="unknown meta-strategy solver 'best'"):
        meta_strategy("best", m)
    with pytest.raises(ValueError, match="square"):
        meta_strategy("nash", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        solve_matrix_game(np.array([[np.nan, 1.0]]))
