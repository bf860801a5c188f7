"""The exact solver for small open-hand 6 nimmt! deals (envs/sixnimmt/solver.py).

Hand-checked deals, game-theoretic invariants (zero-sum symmetry, the equilibrium is a best response to
itself, restricting one's own row choices cannot help), a differential test against a brute force over the
plain-Python reference rules (tests/sixnimmt_reference.py), and cross-checks against the batched engine.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tests.sixnimmt_reference import ReferenceGame
from zeroleague.envs.sixnimmt.engine import SixNimmtGame
from zeroleague.envs.sixnimmt.solver import (
    MAX_HAND,
    Deal,
    auto_row,
    best_response_value,
    deal_from_state,
    exploitability,
    resolve_trick,
    solve,
)
from zeroleague.leagues.nash import solve_matrix_game

TOL = 1e-7


def uniform(deal: Deal, seat: int) -> dict[int, float]:
    """A policy: every card in hand (or every row at a row choice) equally likely."""
    if deal.pending is not None:
        return {r: 0.25 for r in range(4)}
    hand = deal.hands[seat]
    return {c: 1 / len(hand) for c in hand}


# -------------------------------------------------------------------------------------- hand-checked deals
def test_one_card_forced_row_take():
    # Cards 1..6. player_0 holds 1, player_1 holds 2, rows 3 | 4 | 5 | 6 (bullheads 1, 1, 2, 1).
    # 1 is below every row: player_0 takes a row, the cheapest costs 1; then 2 joins the row now ending in 1.
    # player_0's margin: 0 - 1 = -1, under either row rule.
    for mode in ("player", "auto"):
        deal = Deal(((1,), (2,)), ((3,), (4,), (5,), (6,)), row_choice=mode)
        sol = solve(deal)
        assert sol.value == -1.0
        assert sol.nodes == 1
        assert sol.strategy(deal, 0) == {1: 1.0} and sol.strategy(deal, 1) == {2: 1.0}


# Rows: (2,3,4,6,7) full, 5 bullheads | (10) 3 bullheads | (12) 1 | (13) 1. player_0 holds 1, player_1 11.
# 11 would join row 1 (last card 10). 1 is below every row, so player_0 takes a row first:
#   row 0 -> pays 5, 11 joins row 1                                   margin -5
#   row 1 -> pays 3, 11's target is now row 0 (last 7), full: player_1 takes 5   margin +2
#   row 2 or 3 -> pays 1, 11 joins row 1                              margin -1
# Free choice: +2 (row 1). The automatic rule takes the cheapest row (2, the lower index of the tie): -1.
STRATEGIC = Deal(((1,), (11,)), ((2, 3, 4, 6, 7), (10,), (12,), (13,)), deck_size=13)


def test_strategic_row_choice_beats_the_automatic_rule():
    assert solve(STRATEGIC).value == 2.0
    auto = Deal(STRATEGIC.hands, STRATEGIC.rows, "auto", 13)
    assert solve(auto).value == -1.0
    assert auto_row(STRATEGIC.rows) == 2
    # per-seat rules: only player_0 ever chooses here
    assert solve(Deal(STRATEGIC.hands, STRATEGIC.rows, ("auto", "player"), 13)).value == -1.0
    assert solve(Deal(STRATEGIC.hands, STRATEGIC.rows, ("player", "auto"), 13)).value == 2.0
    # the row-choice position itself
    choice, pens = STRATEGIC.play(1, 11)
    assert choice.pending == (1, 11) and choice.chooser == 0 and pens == (0, 0)
    sol = solve(STRATEGIC)
    assert sol.strategy(choice, 0) == 1
    assert sol.value_of(choice) == 2.0
    after, pens = choice.choose_row(1)
    assert pens == (3, 5) and after.rows == ((11,), (1,), (12,), (13,)) and after.hands == ((), ())
    with pytest.raises(ValueError, match="player_0's"):
        sol.strategy(choice, 1)


# Cards 1..8; bullheads: 5 -> 2, all others 1. player_0 holds 1, 5; player_1 holds 2, 4; rows 8 | 6 | 7 | 3.
# Trick 1 (player_0's card x player_1's card), then the last trick is forced:
#   (1, 2): 1 is too low, player_0 takes a 1-bullhead row; 2 joins 1. Trick 2 (5, 4): 4 joins 3 (or 2),
#           5 joins 4.
#           margin -1
#   (1, 4): player_0 takes a row, 4 joins 3 (or 1). Best for player_0: take row 3, so 4 joins 1 and in trick 2
#           (5, 2) the 2 is below every row: player_1 takes a 1-bullhead row, 5 joins 4.         margin 0
#           (taking another row: 2 joins 1 in trick 2, nobody pays again: margin -1, worse)
#   (5, 2): 2 is too low, player_1 takes a 1-bullhead row; 5 joins 3 (or 2). Trick 2 (1, 4): 1 is too low,
#           player_0 takes a 1-bullhead row, 4 joins 1.                                       margin 0
#   (5, 4): 4 joins 3, 5 joins 4. Trick 2 (1, 2): player_0 takes a 1-bullhead row, 2 joins 1.    margin -1
# Matrix [[-1, 0], [0, -1]]: no saddle point; both mix 1/2-1/2 and the value is (1*1 - 0*0) / (-1-1) = -1/2.
MIXED = Deal(((1, 5), (2, 4)), ((8,), (6,), (7,), (3,)))


def test_two_card_deal_needs_a_mixed_strategy():
    sol = solve(MIXED)
    assert sol.value == pytest.approx(-0.5, abs=TOL)
    for seat, cards in ((0, (1, 5)), (1, (2, 4))):
        strat = sol.strategy(MIXED, seat)
        assert set(strat) == set(cards)
        assert all(p == pytest.approx(0.5, abs=TOL) for p in strat.values())
    # root + the distinct positions after trick 1: (1,2) and (1,4) and (5,2) each lead to 4 (one per row
    # taken), (5,4) to 1
    assert sol.nodes == 1 + 4 + 4 + 4 + 1
    # the subgame after (1, 4) with player_0 taking row 3 is worth 0 (see above)
    choice, _ = MIXED.play(1, 4)
    assert sol.strategy(choice, 0) == 3
    assert sol.value_of(choice) == 0.0


def test_sixth_card_takes_the_row():
    # 7 goes first; its target is row 0 (last card 6 > 1), which is full: player_1 takes 2+3+4+5+6
    # (1+1+1+2+1 = 6 bullheads) and 7 starts the row; 12 then joins 11 (row 3).
    rows, pens = resolve_trick(((2, 3, 4, 5, 6), (1,), (10,), (11,)), (12, 7))
    assert rows == ((7,), (1,), (10,), (11, 12)) and pens == (0, 6)


# ---------------------------------------------------------------------------------------------- invariants
def random_deals(n: int, hand_sizes: tuple[int, ...], seed: int, mode="player"):
    rng = np.random.default_rng(seed)
    return [Deal.random(h, rng, mode) for h in hand_sizes for _ in range(n)]


@pytest.mark.parametrize("mode", ["player", "auto", ("auto", "player")])
def test_swapping_seats_negates_the_value(mode):
    for deal in random_deals(6, (1, 2, 3, 4), seed=1, mode=mode):
        modes = deal.modes
        swapped = Deal(deal.hands[::-1], deal.rows, (modes[1], modes[0]))
        assert solve(swapped).value == pytest.approx(-solve(deal).value, abs=TOL)


@pytest.mark.parametrize("mode", ["player", "auto"])
def test_equilibrium_is_a_best_response_to_itself(mode):
    # MIXED's equilibrium is mixed at the root, so the LP path is covered as well as saddle points
    for deal in random_deals(5, (1, 2, 3, 4), seed=2, mode=mode) + [Deal(MIXED.hands, MIXED.rows, mode)]:
        sol = solve(deal)
        assert best_response_value(deal, sol.strategy, 0) == pytest.approx(sol.value, abs=TOL)
        assert best_response_value(deal, sol.strategy, 1) == pytest.approx(-sol.value, abs=TOL)
        assert abs(exploitability(deal, sol.strategy)) < TOL
        # a uniformly random opponent can be exploited at least as much as the equilibrium
        assert best_response_value(deal, uniform, 0) >= sol.value - TOL
        assert best_response_value(deal, uniform, 1) >= -sol.value - TOL
        assert exploitability(deal, (uniform, sol.strategy)) >= -TOL


def test_best_response_starting_at_a_row_choice():
    choice, _ = STRATEGIC.play(1, 11)
    sol = solve(STRATEGIC)
    assert best_response_value(choice, sol.strategy, 0) == 2.0
    # player_1 best responds to a player_0 who always takes row 0 (margin -5 for player_0)
    assert best_response_value(choice, lambda d, s: 0, 1) == 5.0
    assert best_response_value(choice, lambda d, s: {0: 0.5, 1: 0.5}, 1) == pytest.approx(1.5)


def test_restricting_own_row_choices_cannot_help():
    # Forcing a seat's own row choices to the automatic rule shrinks that seat's strategy set, so its game
    # value cannot rise: V(auto for player_0) <= V(free) <= V(auto for player_1), in player_0's margin.
    strict = 0
    for deal in random_deals(10, (2, 3, 4), seed=3) + [STRATEGIC]:
        free = solve(deal).value
        own_auto = solve(Deal(deal.hands, deal.rows, ("auto", "player"), deal.deck_size)).value
        opp_auto = solve(Deal(deal.hands, deal.rows, ("player", "auto"), deal.deck_size)).value
        assert own_auto <= free + TOL and free <= opp_auto + TOL
        strict += own_auto < free - TOL
    assert strict >= 1


# --------------------------------------------------------------------------------- brute force vs reference
def small_matrix_value(m: list[list[float]]) -> float:
    """Value of a zero-sum game of at most 2x2 (row player maximises): saddle point, else the 2x2 formula."""
    lower = max(min(row) for row in m)
    upper = min(max(row[j] for row in m) for j in range(len(m[0])))
    if lower == upper:
        return lower
    (a, b), (c, d) = m
    return (a * d - b * c) / (a + d - b - c)


def reference_value(game: ReferenceGame) -> float:
    """Player_0's margin under optimal play, by enumerating every pure continuation of the reference game."""
    if game.done:
        pen = game.penalties()
        return pen[1] - pen[0]

    def after(g: ReferenceGame, action: int) -> ReferenceGame:
        g = copy.deepcopy(g)
        g.step(action)
        return g

    if game.chooser is not None:
        vals = [reference_value(after(game, a)) for a in game.legal_actions()]
        return max(vals) if game.chooser == 0 else min(vals)
    matrix = []
    for a in game.legal_actions():
        g1 = after(game, a)
        matrix.append([reference_value(after(g1, b)) for b in g1.legal_actions()])
    return small_matrix_value(matrix)


@pytest.mark.parametrize("mode", ["player", "auto"])
@pytest.mark.parametrize("hand_size", [1, 2])
def test_matches_brute_force_on_reference_rules(hand_size, mode):
    deals = random_deals(60, (hand_size,), seed=10 + hand_size, mode=mode)
    for deal in deals + ([Deal(MIXED.hands, MIXED.rows, mode)] if hand_size == 2 else []):
        ref = ReferenceGame(
            ([list(h) for h in deal.hands], [r[0] for r in deal.rows]), 2 * hand_size + 4, row_choice=mode
        )
        assert solve(deal).value == pytest.approx(reference_value(ref), abs=TOL), deal


# -------------------------------------------------------------------------------------------------- engine
def engine_for(deal: Deal, hand_size: int) -> tuple[SixNimmtGame, object]:
    game = SixNimmtGame(2, deal.deck_size, hand_size, row_choice=deal.row_choice)
    return game, game.deal_state([list(h) for h in deal.hands], [list(r) for r in deal.rows])


def tactical_endgame(rng: np.random.Generator, cards_left: int, mode: str = "player"):
    """A 24-card tactical game played at random until each hand holds ``cards_left`` cards (a trick start):
    long rows and high cards, unlike fresh small deals."""
    game = SixNimmtGame(2, 24, 10, row_choice=mode, env_id="sixnimmt_tactical_v0")
    state = game.init(1, int(rng.integers(1 << 30)))
    while state.hand_count[0, 0] > cards_left or state.phase[0] != 0 or state.pending[0].any():
        game.step(state, np.array([rng.choice(np.flatnonzero(game.legal_mask(state)[0]))]))
    return game, state


@pytest.mark.parametrize("mode", ["player", "auto"])
def test_trick_resolution_matches_engine_on_random_playouts(mode):
    # The solver's Deal.play / choose_row in lockstep with the engine, from fresh small deals and from the
    # end of 24-card games (rows fill up, the 6th card takes them); deal_from_state round-trips each step.
    rng = np.random.default_rng(4)
    sixth_card_takes = 0
    for k in range(60):
        h = int(rng.integers(1, MAX_HAND + 1))
        if k % 2:
            deal = Deal.random(h, rng, mode)
            game, state = engine_for(deal, h)
        else:
            game, state = tactical_endgame(rng, h, mode)
            deal = deal_from_state(game, state, 0)
        total = np.array(game.penalties(state)[0], dtype=int)
        while not game.terminal(state)[0]:
            assert deal_from_state(game, state, 0) == deal
            a, b = int(rng.choice(deal.hands[0])), int(rng.choice(deal.hands[1]))
            game.step(state, np.array([a - 1]))
            with pytest.raises(ValueError, match="between the two selections"):
                deal_from_state(game, state, 0)
            game.step(state, np.array([b - 1]))
            full = [len(r) == 5 for r in deal.rows]
            deal, pens = deal.play(a, b)
            sixth_card_takes += any(f and len(r) == 1 for f, r in zip(full, deal.rows, strict=True))
            total += pens
            if deal.pending is not None:
                assert deal_from_state(game, state, 0) == deal
                r = int(rng.integers(4))
                game.step(state, np.array([game.max_card + r]))
                deal, pens = deal.choose_row(r)
                total += pens
            assert list(game.penalties(state)[0]) == list(total)
        assert deal.hands == ((), ())
    assert sixth_card_takes >= 1  # the 6th-card rule was exercised


def engine_expected_margin(game: SixNimmtGame, state, sol) -> float:
    """Player_0's expected margin when both seats play ``sol``'s strategy in the engine (exact expectation
    over the mixed strategies' supports)."""
    if game.terminal(state)[0]:
        return float(game.returns(state)[0, 0])
    deal = deal_from_state(game, state, 0)

    def after(s, *actions: int):
        s = game.copy(s)
        for a in actions:
            game.step(s, np.array([a]))
        return s

    if deal.pending is not None:
        row = sol.strategy(deal, deal.chooser)
        return engine_expected_margin(game, after(state, game.max_card + row), sol)
    x, y = sol.strategy(deal, 0), sol.strategy(deal, 1)
    return sum(p * q * engine_expected_margin(game, after(state, a - 1, b - 1), sol)
               for a, p in x.items() for b, q in y.items())  # fmt: skip


@pytest.mark.parametrize("mode", ["player", "auto"])
def test_solver_strategy_played_in_engine_earns_the_value(mode):
    for deal in random_deals(5, (1, 2, 3, 4), seed=5, mode=mode) + ([MIXED] if mode == "player" else []):
        sol = solve(deal)
        game, state = engine_for(deal, len(deal.hands[0]))
        assert engine_expected_margin(game, state, sol) == pytest.approx(sol.value, abs=1e-6)


def test_deal_from_state_refuses_what_it_cannot_solve():
    game = SixNimmtGame(3, 34, 10, env_id="sixnimmt_v0")
    with pytest.raises(ValueError, match="2 players"):
        deal_from_state(game, game.init(1, 0), 0)
    game = SixNimmtGame(2, 24, 10, env_id="sixnimmt_tactical_v0")
    with pytest.raises(ValueError, match="too large to solve exactly"):
        deal_from_state(game, game.init(1, 0), 0)
    with pytest.raises(ValueError, match="game index 3"):
        deal_from_state(game, game.init(2, 0), 3)


@pytest.mark.parametrize("mode", ["player", "auto"])
def test_endgames_of_full_tactical_games(mode):
    # The last 1..4 tricks of 24-card games: long rows, cards up to 24; the margin earned in the engine from
    # here on (returns now minus returns so far) averages to the solver's value.
    rng = np.random.default_rng(7)
    for cards_left in (1, 2, 3, 4, 4):
        game, state = tactical_endgame(rng, cards_left, mode)
        deal = deal_from_state(game, state, 0)
        assert deal.deck_size == 24 and len(deal.hands[0]) == cards_left
        sol = solve(deal)
        so_far = float(game.returns(state)[0, 0])
        assert engine_expected_margin(game, state, sol) - so_far == pytest.approx(sol.value, abs=1e-6)


# -------------------------------------------------------------------------------------------- matrix games
def test_matrix_games_with_known_solutions():
    v, x, y = solve_matrix_game(np.array([[1.0, -1.0], [-1.0, 1.0]]))  # matching pennies
    assert v == pytest.approx(0, abs=TOL) and np.allclose(x, 0.5) and np.allclose(y, 0.5)
    v, x, y = solve_matrix_game(np.array([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]]))  # rock-paper-scissors
    assert v == pytest.approx(0, abs=TOL) and np.allclose(x, 1 / 3) and np.allclose(y, 1 / 3)
    v, x, y = solve_matrix_game(np.array([[3.0, 1], [2, 0]]))  # saddle point at (0, 1)
    assert v == 1 and list(x) == [1, 0] and list(y) == [0, 1]
    rng = np.random.default_rng(6)
    for _ in range(30):
        a = rng.integers(-5, 6, size=rng.integers(1, 6, size=2)).astype(float)
        v, x, y = solve_matrix_game(a)
        assert x.min() >= 0 and y.min() >= 0 and x.sum() == pytest.approx(1) and y.sum() == pytest.approx(1)
        assert (x @ a).min() == pytest.approx(v, abs=TOL) and (a @ y).max() == pytest.approx(v, abs=TOL)


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("hands", "rows", "kwargs", "message"),
    [
        (((1, 2), (3, 3)), ((5,), (6,), (7,), (8,)), {}, r"\[3\] appear more than once"),
        (((1, 2), (3, 5)), ((5,), (6,), (7,), (8,)), {}, r"\[5\] appear more than once"),
        (((1, 2), (3,)), ((5,), (6,), (7,), (8,)), {}, "equal sizes, got 2 and 1"),
        ((tuple(range(1, 7)), tuple(range(7, 13))), ((13,), (14,), (15,), (16,)), {},
         "hand size 6 is too large"),
        (((1, 2), (3, 9)), ((5,), (6,), (7,), (8,)), {}, r"\[9\] outside the deck 1..8"),
        (((0, 2), (3, 4)), ((5,), (6,), (7,), (8,)), {}, r"\[0\] outside the deck"),
        (((1, 2), (3, 20)), ((5,), (6,), (7,), (8,)), {"deck_size": 19}, r"\[20\] outside the deck 1..19"),
        (((1, 2), (3, 4)), ((5,), (6,), (7,)), {}, "exactly 4 rows, got 3"),
        (((1, 2), (3, 4)), ((5,), (6,), (8, 7), (9,)), {"deck_size": 9}, r"\(8, 7\) is not in ascending"),
        (((1,), (2,)), ((3, 4, 5, 6, 7, 8), (9,), (10,), (11,)), {"deck_size": 11}, "must hold 1..5 cards"),
        (((1, 2), (3, 4)), ((5,), (6,), (7,), (8,)), {"row_choice": "free"}, "row_choice must be one of"),
        (((1,), (2,)), ((5,), (6,), (7,), (8,)), {"pending": (9, 10), "deck_size": 10},
         "needs no row choice"),
        (((1,), (2,)), ((5,), (6,), (7,), (8,)), {"pending": (3, 9), "row_choice": "auto", "deck_size": 9},
         "row is automatic"),
    ],
)  # fmt: skip
def test_bad_deals_are_refused_with_the_bad_value_named(hands, rows, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Deal(hands, rows, **kwargs)


def test_other_bad_input():
    with pytest.raises(ValueError, match="hand size 6 must be 1..5"):
        Deal.random(6, np.random.default_rng(0))
    with pytest.raises(ValueError, match="card 2 is not in player_0's hand"):
        MIXED.play(2, 4)
    with pytest.raises(ValueError, match="no row choice is pending"):
        MIXED.choose_row(0)
    with pytest.raises(ValueError, match="a row choice 0..3 is needed"):
        resolve_trick(MIXED.rows, (1, 2))
    with pytest.raises(ValueError, match="row choice 2 given"):
        resolve_trick(MIXED.rows, (4, 5), 2)
    with pytest.raises(ValueError, match="row choice 7 is not a row index"):
        resolve_trick(MIXED.rows, (1, 2), 7)
    with pytest.raises(ValueError, match="summing to 1"):
        best_response_value(MIXED, lambda d, s: {2: 0.5}, 0)
    with pytest.raises(ValueError, match="summing to 1"):
        best_response_value(MIXED, lambda d, s: {7: 1.0}, 0)
    with pytest.raises(ValueError, match="row_choice"):
        solve(MIXED).strategy(Deal(MIXED.hands, MIXED.rows, "auto"), 0)
