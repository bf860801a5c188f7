"""SGF export/import of Go games: coordinates, results, round trips of random games, and refused records."""

from __future__ import annotations

import numpy as np
import pytest
from sgfmill import sgf

from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.go.engine import GoGame
from zeroleague.envs.go.sgf import from_sgf, load_sgf, replay, result_string, state_to_sgf, to_sgf


def test_coordinates_follow_sgf_with_row_zero_at_the_top():
    data = to_sgf(9, 6.5, [0, 80, 81, 9 * 4 + 2], black_name="alpha", white_name="beta")
    text = data.decode()
    assert ";B[aa];W[ii];B[tt];W[ce])" in text  # sgfmill writes a pass as [tt] on boards up to 19x19
    parsed = sgf.Sgf_game.from_bytes(data)
    assert parsed.get_size() == 9 and parsed.get_komi() == 6.5
    assert parsed.get_player_name("b") == "alpha" and parsed.get_player_name("w") == "beta"
    assert [n.get_move() for n in parsed.get_main_sequence()[1:]] == [
        ("b", (8, 0)),
        ("w", (0, 8)),
        ("b", None),
        ("w", (4, 2)),
    ]
    assert from_sgf(data) == (9, 6.5, [0, 80, 81, 38])
    assert from_sgf(text) == from_sgf(data)


def test_result_strings():
    assert result_string(3.5) == "B+3.5" and result_string(-0.5) == "W+0.5" and result_string(0.0) == "0"
    assert result_string(12.0) == "B+12"


@pytest.mark.parametrize("size", [5, 9, 19])
def test_random_games_round_trip(size):
    game = GoGame(size, komi=5.5)
    state = game.init(6)
    game.random_playouts(state, seed=size)
    for i in range(6):
        data = state_to_sgf(game, state, i, black_name="b", white_name="w")
        parsed = sgf.Sgf_game.from_bytes(data)  # sgfmill parses our file
        score = float(game.score(state)[i])
        assert (
            parsed.get_root().get("RE") == result_string(score)
            and parsed.get_root().get("RU") == "Tromp-Taylor"
        )
        assert parsed.get_root().has_property("C") == bool(state.truncated[i])
        g2, s2 = load_sgf(data)
        assert (g2.board_size, g2.komi) == (size, 5.5)
        n = state.num_moves[i]
        np.testing.assert_array_equal(s2.moves[0, :n], state.moves[i, :n])
        np.testing.assert_array_equal(s2.board[0], state.board[i])
        assert g2.score(s2)[0] == score
        assert s2.done[0] == state.done[i] and s2.truncated[0] == state.truncated[i]


def test_unfinished_game_has_no_result():
    game = GoGame(5)
    state = replay(game, [12, 13])
    assert not sgf.Sgf_game.from_bytes(state_to_sgf(game, state)).get_root().has_property("RE")


def test_refused_records_are_named():
    with pytest.raises(IllegalActionError, match=r"move 1: .*action 12 .*occupied"):
        replay(GoGame(5), [12, 12])
    with pytest.raises(ValueError, match="setup stones"):
        from_sgf(b"(;FF[4]SZ[9]AB[aa];W[bb])")
    with pytest.raises(ValueError, match="move 2 is by 'b'"):
        from_sgf(b"(;FF[4]SZ[9];B[aa];B[bb])")
    with pytest.raises(ValueError, match="board_size .*1"):
        from_sgf(b"(;FF[4]SZ[1];B[aa])")
    with pytest.raises(ValueError, match="action 26"):
        to_sgf(5, 7.5, [26])
