"""The batched Go engine on hand-made positions with known outcomes, bad input, and invariants under random
play.

Positions are built with ``position``: it plays the stones of an ASCII diagram alternately (inserting single
passes where one colour has more stones, never two in a row) and checks the result equals the diagram.
"""

from __future__ import annotations

import numpy as np
import pytest

import zeroleague.envs as envs
from tests.go_reference import ReferenceGo
from zeroleague.envs.core import BatchedGame, IllegalActionError
from zeroleague.envs.go.engine import GoGame, GoState, action_name

PASS = -100  # placeholder in move lists, replaced by the board's pass action


def parse(diagram: str) -> tuple[int, np.ndarray]:
    rows = [line.split() for line in diagram.strip().splitlines()]
    n = len(rows)
    assert all(len(r) == n for r in rows), diagram
    return n, np.array([".XO".index(v) for r in rows for v in r], dtype=np.int8)


def play(game: GoGame, moves: list[int], state: GoState | None = None) -> GoState:
    state = game.init(1) if state is None else state
    for a in moves:
        game.step(state, np.array([game.pass_action if a == PASS else a]))
    return state


def position(
    diagram: str, to_play: str = "black", komi: float = 7.5, max_moves: int | None = None
) -> tuple[GoGame, GoState]:
    """A one-game state showing ``diagram`` (X black, O white, . empty; top row = row 0); ``to_play`` next."""
    n, target = parse(diagram)
    game = GoGame(n, komi=komi, max_moves=max_moves)
    black = [int(p) for p in np.flatnonzero(target == 1)]
    white = [int(p) for p in np.flatnonzero(target == 2)]
    moves = []
    while black or white:
        moves.append(black.pop(0) if black else PASS)
        if black or white:
            moves.append(white.pop(0) if white else PASS)
    if (len(moves) % 2 == 0) != (to_play == "black"):
        moves.append(PASS)
    state = play(game, moves)
    assert state.board[0].tolist() == target.tolist(), "diagram not reachable without captures"
    return game, state


def rc(n: int, row: int, col: int) -> int:
    return row * n + col


def check_unchanged_after_illegal(game: GoGame, state: GoState, actions: np.ndarray, reason: str) -> None:
    before = state.copy()
    with pytest.raises(IllegalActionError, match=reason):
        game.step(state, actions)
    for name in vars(before):
        np.testing.assert_array_equal(getattr(state, name), getattr(before, name), err_msg=name)


# --- captures -----------------------------------------------------------------------------------------------


def test_corner_capture():
    game, s = position("""
        O X .
        . . .
        . . .""")
    assert game.legal_mask(s)[0, rc(3, 1, 0)]
    play(game, [rc(3, 1, 0)], s)
    assert s.board[0].tolist() == [0, 1, 0, 1, 0, 0, 0, 0, 0]


def test_edge_capture():
    game, s = position("""
        . X O X .
        . . . . .
        . . . . .
        . . . . .
        . . . . .""")
    play(game, [rc(5, 1, 2)], s)
    assert s.board[0, rc(5, 0, 2)] == 0 and s.board[0].tolist().count(1) == 3


def test_multi_stone_capture():
    game, s = position("""
        X O O . .
        . X X . .
        . . . . .
        . . . . .
        . . . . .""")
    play(game, [rc(5, 0, 3)], s)
    _, expected = parse("""
        X . . X .
        . X X . .
        . . . . .
        . . . . .
        . . . . .""")
    assert s.board[0].tolist() == expected.tolist()
    assert game.area(s)[0].tolist() == [25, 0]


def test_capture_of_four_groups_comes_before_self_clearing():
    # Black's move at (1,2) has no liberty of its own but takes the last liberty of four white stones.
    game, s = position("""
        . X O X .
        X O . O X
        . X O X .
        . . X . .
        . . . . .""")
    assert game.legal_mask(s)[0, rc(5, 1, 2)]
    play(game, [rc(5, 1, 2)], s)
    assert (s.board[0] == 2).sum() == 0
    assert s.board[0, rc(5, 1, 2)] == 1


# --- suicide and superko ------------------------------------------------------------------------------------


def test_multi_stone_suicide_is_legal_and_removes_the_group():
    game, s = position("""
        . O O . .
        O X X O .
        . O . O .
        . . O . .
        . . . . .""")
    p = rc(5, 2, 2)
    assert game.legal_mask(s)[0, p]
    white_before = s.board[0] == 2
    play(game, [p], s)
    assert s.board[0, p] == 0 and (s.board[0] == 1).sum() == 0  # the mover's three stones are gone
    np.testing.assert_array_equal(s.board[0] == 2, white_before)  # white untouched
    assert s.to_play[0] == 1


def test_single_stone_suicide_is_illegal():
    game, s = position("""
        . O .
        O . .
        . . .""")
    assert not game.legal_mask(s)[0, 0]
    check_unchanged_after_illegal(game, s, np.array([0]), "suicide")


def test_ko_recapture_is_illegal_until_the_board_changes_elsewhere():
    game, s = position("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .""")
    play(game, [rc(5, 1, 2)], s)  # Black takes the ko
    assert s.board[0, rc(5, 1, 1)] == 0
    assert not game.legal_mask(s)[0, rc(5, 1, 1)]
    check_unchanged_after_illegal(game, s, np.array([rc(5, 1, 1)]), "superko")
    play(game, [rc(5, 4, 4), rc(5, 4, 0)], s)  # exchange elsewhere: the ko may be retaken
    assert game.legal_mask(s)[0, rc(5, 1, 1)]
    play(game, [rc(5, 1, 1)], s)
    assert s.board[0, rc(5, 1, 2)] == 0


def test_three_turn_cycle_sending_two_returning_one_is_stopped_by_superko():
    # 3x3: after B(1,2) W(1,1) B(0,1) W(1,0), Black throws in at (0,0), White captures the two stones with
    # (0,2), and Black's recapture of that one stone at (0,1) would recreate the colouring of 3 turns earlier
    # (with the other side to move): not a simple ko (the colouring of the previous turn differs), yet
    # illegal.
    game = GoGame(3)
    s = play(game, [5, 4, 1, 3])
    colouring = s.board[0].copy()
    play(game, [0, 2], s)
    assert s.board[0].tolist() == [0, 0, 2, 2, 2, 1, 0, 0, 0]
    assert not game.legal_mask(s)[0, 1]
    check_unchanged_after_illegal(
        game, s, np.array([1]), r"action 1 \(row 0, col 1, B3\) is illegal: positional superko"
    )
    # What the move would produce (by the reference's rule 4): exactly the colouring of 3 turns earlier, and
    # not the colouring of the previous turn, so a simple-ko rule would allow it.
    ref = ReferenceGo(3)
    for a in [5, 4, 1, 3, 0, 2]:
        ref.play(a)
    assert ref.result_of(1) == colouring.tolist() != list(ref.colourings[-2])


def test_last_eye_capture_and_self_fill_and_pass():
    game, s = position(
        """
        X X X
        X . X
        X X X""",
        to_play="white",
    )
    # White in the eye captures all eight black stones (capture before self-clearing).
    assert game.legal_mask(s)[0].tolist() == [False] * 4 + [True] + [False] * 4 + [True]
    play(game, [PASS], s)
    # Black filling its own last eye is a 9-stone suicide that empties the board: the empty start repeats.
    assert game.legal_mask(s)[0].tolist() == [False] * 9 + [True]
    check_unchanged_after_illegal(game, s, np.array([4]), "superko")
    play(game, [PASS], s)  # pass is legal; the second consecutive pass ends the game
    assert game.terminal(s)[0] and not game.truncated(s)[0]
    assert game.area(s)[0].tolist() == [9, 0]


# --- scoring and the end of the game ------------------------------------------------------------------------


def test_territory_reaching_both_colours_counts_for_nobody():
    game, s = position(
        """
        X . O . .
        X . O . .
        X . O . .
        X . O . .
        X . O . .""",
        komi=0.5,
    )
    # column 1 reaches black and white: nobody's; columns 3-4 reach only white.
    assert game.area(s)[0].tolist() == [5, 15]
    assert game.score(s)[0] == pytest.approx(5 - 15 - 0.5)


def test_komi_decides_and_integer_komi_can_draw():
    diagram = """
        X . O
        X . O
        X . O"""
    for komi, expected in ((0, [0.0, 0.0]), (7.5, [-1.0, 1.0]), (-1, [1.0, -1.0])):
        game, s = position(diagram, komi=komi)
        assert game.area(s)[0].tolist() == [3, 3]
        assert game.returns(s)[0].tolist() == [0.0, 0.0]  # nothing until the game ends
        play(game, [PASS, PASS], s)
        assert game.terminal(s)[0] and not game.truncated(s)[0]
        assert game.score(s)[0] == -komi
        assert game.returns(s)[0].tolist() == expected


def test_two_consecutive_passes_end_the_game_one_does_not():
    game = GoGame(5)
    s = play(game, [PASS, rc(5, 2, 2), PASS])
    assert not game.terminal(s)[0] and game.current_player(s)[0] == 1
    play(game, [PASS], s)
    assert game.terminal(s)[0] and not game.truncated(s)[0]
    assert game.current_player(s)[0] == -1 and not game.legal_mask(s)[0].any()
    assert game.returns(s)[0].tolist() == [-1.0, 1.0]  # the one stone is white: 0 - 25 - 7.5
    check_unchanged_after_illegal(game, s, np.array([game.pass_action]), "game is over")


def test_move_cap_truncates_and_scores_the_position_as_it_stands():
    game = GoGame(5, max_moves=3)
    s = play(game, [rc(5, 0, 0), PASS, rc(5, 4, 4)])
    assert game.terminal(s)[0] and game.truncated(s)[0]
    assert game.returns(s)[0].tolist() == [1.0, -1.0]
    # a second consecutive pass on the last allowed turn is an ordinary end, not a truncation
    s = play(game, [rc(5, 0, 0), PASS, PASS])
    assert game.terminal(s)[0] and not game.truncated(s)[0]
    assert GoGame(9).max_moves == 162 and GoGame(19).max_moves == 722


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, error",
    [
        (1, ValueError),
        (26, ValueError),
        (0, ValueError),
        ("9", TypeError),
        (9.0, TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_board_size_is_named(bad, error):
    with pytest.raises(error, match=f"board_size .*{bad!r}"):
        GoGame(bad)


def test_bad_configuration_is_named():
    with pytest.raises(TypeError, match="komi"):
        GoGame(9, komi="7.5")
    with pytest.raises(ValueError, match="max_moves .*0"):
        GoGame(9, max_moves=0)
    with pytest.raises(ValueError, match="history .*-1"):
        GoGame(9, history=-1)


def test_unknown_env_id_is_named():
    with pytest.raises(KeyError, match="nope_v0"):
        envs.make("nope_v0")


def test_illegal_action_in_a_batch_changes_no_game():
    game = GoGame(5)
    s = game.init(3)
    game.step(s, np.array([rc(5, 2, 2), 0, -1]))
    check_unchanged_after_illegal(
        game,
        s,
        np.array([1, 0, 3]),
        r"game 1: action 0 \(row 0, col 0, A5\) is illegal: the point is occupied",
    )
    for bad in (26, -2, 1000):
        check_unchanged_after_illegal(game, s, np.array([1, 2, bad]), f"game 2: action {bad} is illegal: not")
    check_unchanged_after_illegal(game, s, np.array([1, 2]), "shape")
    check_unchanged_after_illegal(game, s, np.array([1.0, 2.0, 3.0]), "int array")


def test_action_names():
    assert action_name(0, 19) == "0 (row 0, col 0, A19)"
    assert action_name(19 * 19 - 1, 19) == "360 (row 18, col 18, T1)"
    assert action_name(81, 9) == "81 (pass)"


# --- observations, copies, contract -------------------------------------------------------------------------


def test_observation_planes_are_player_relative():
    game = GoGame(3, history=2)
    s = play(game, [0, 8, PASS])  # black (0,0), white (2,2), black passes; white to play
    black_view = game.observe(s, 0)[0]
    white_view = game.observe(s, np.array([1]))[0]
    assert black_view.shape == white_view.shape == game.obs_shape == (6, 3, 3)
    assert black_view.dtype == np.float32
    assert (
        black_view[0, 0, 0] == 1
        and black_view[1, 2, 2] == 1
        and black_view[0].sum() == black_view[1].sum() == 1
    )
    np.testing.assert_array_equal(white_view[0], black_view[1])
    np.testing.assert_array_equal(white_view[1], black_view[0])
    assert black_view[2].sum() == 7
    assert black_view[3].min() == 1 and white_view[3].max() == 0
    assert black_view[4].sum() == 0  # last turn was a pass
    assert black_view[5, 2, 2] == 1 and black_view[5].sum() == 1  # the turn before: white (2,2)
    with pytest.raises(ValueError, match="player"):
        game.observe(s, 2)


def test_batched_game_contract_copy_and_take():
    game = GoGame(5)
    assert isinstance(game, BatchedGame)
    assert (game.env_id, game.num_players, game.num_actions, game.perfect_information) == (
        "go_v0",
        2,
        26,
        True,
    )
    s = game.init(4, seed=np.arange(4))
    game.random_playouts(s.take(np.array([0])), seed=0)  # take is a copy: s untouched
    assert s.num_moves.sum() == 0
    c = game.copy(s)
    game.step(c, np.array([0, 1, 2, 3]))
    assert s.board.sum() == 0 and c.board.sum() == 4
    t = game.take(c, np.array([3, 1]))
    assert t.board[0, 3] == 1 and t.board[1, 1] == 1 and len(t) == 2
    for view in (game.information_state(c, 0), game.sample_worlds(c, 1, np.random.default_rng(0))):
        np.testing.assert_array_equal(view.board, c.board)
        view.board[:] = 0
        assert c.board.sum() == 4
    np.testing.assert_array_equal(game.current_player(c), [1, 1, 1, 1])


# --- invariants under random play ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 5, 9, 19])
def test_random_playouts_are_legal_complete_and_reproducible(size):
    game = GoGame(size)
    n = 16 if size < 19 else 4
    s = game.init(n)
    turns = game.random_playouts(s, seed=7)
    assert game.terminal(s).all() and turns == s.num_moves.sum()
    parallel = game.init(n)
    assert game.random_playouts(parallel, seed=7, parallel=True) == turns
    for name in vars(s):
        np.testing.assert_array_equal(getattr(parallel, name), getattr(s, name), err_msg=name)
    # replaying the move record through the validating step gives the same game
    for i in range(n):
        r = play(game, [int(a) for a in s.moves[i, : s.num_moves[i]]])
        np.testing.assert_array_equal(r.board[0], s.board[i])
        assert r.truncated[0] == s.truncated[i]
    area = game.area(s)
    assert (area.sum(1) <= size * size).all()
    np.testing.assert_array_equal(game.returns(s).sum(1), 0)
    other = game.init(n)
    game.random_playouts(other, seed=8)
    assert not np.array_equal(other.moves, s.moves)


def test_games_of_different_sizes_interleaved_match_each_alone():
    rng = np.random.default_rng(0)
    small, big = GoGame(5), GoGame(9, komi=0.5)

    def random_game(game, seed):
        r = np.random.default_rng(seed)
        s = game.init(2)
        while not game.terminal(s).all():
            mask = game.legal_mask(s)
            game.step(s, np.array([r.choice(np.flatnonzero(m)) if m.any() else -1 for m in mask]))
        return s

    alone = [random_game(small, 1), random_game(big, 2)]
    r_small, r_big = np.random.default_rng(1), np.random.default_rng(2)
    states = [small.init(2), big.init(2)]
    while not all(g.terminal(s).all() for g, s in zip((small, big), states, strict=True)):
        k = int(rng.integers(2))
        g, s, r = ((small, states[0], r_small), (big, states[1], r_big))[k]
        if g.terminal(s).all():
            continue
        mask = g.legal_mask(s)
        g.step(s, np.array([r.choice(np.flatnonzero(m)) if m.any() else -1 for m in mask]))
    for a, b in zip(alone, states, strict=True):
        for name in vars(a):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_random_playouts_draw_uniformly_among_legal_actions():
    # Black to play: 10 empty points, 4 of them single-stone suicides, so 7 legal actions with the pass; over
    # 40,000 one-turn playouts each legal action comes up about 5,700 times and the illegal ones never.
    diagram = """
        . X O . O
        X O . O .
        . X O O O
        O O O . .
        . O . O ."""
    _, setup = position(diagram)
    game = GoGame(5, max_moves=int(setup.num_moves[0]) + 1)
    _, s = position(diagram, max_moves=game.max_moves)
    legal = np.flatnonzero(game.legal_mask(s)[0])
    assert len(legal) == 7 and (s.board[0] == 0).sum() == 10
    n = 40_000
    batch = s.take(np.zeros(n, dtype=np.int64))
    game.random_playouts(batch, seed=123)
    played = batch.moves[np.arange(n), batch.num_moves - 1]
    counts = np.bincount(played, minlength=game.num_actions)
    assert counts[np.setdiff1d(np.arange(game.num_actions), legal)].sum() == 0
    expected = n / len(legal)
    chi2 = (((counts[legal] - expected) ** 2) / expected).sum()
    assert chi2 < 20.0, (counts[legal], chi2)  # 6 degrees of freedom: P(chi2 > 20) < 0.003
