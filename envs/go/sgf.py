"""SGF (FF[4]) export and import of Go game records through sgfmill.

A record is ``(board_size, komi, moves)`` with ``moves`` the engine's actions in turn order (``row * N +
col``, row 0 at the top; ``N*N`` = pass), Black first and colours alternating, exactly the engine's
``GoState.moves``. SGF counts rows from the top too (``aa`` is the top-left point); sgfmill's ``(row, col)``
counts rows from the bottom, which the conversions below handle.
"""

from __future__ import annotations

import numpy as np
from sgfmill import sgf

from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.go.engine import GoGame, GoState, check_board_size


def result_string(score: float) -> str:
    """SGF ``RE`` value of a Black-minus-White score: ``B+3.5``, ``W+0.5`` or ``0`` (draw)."""
    if score > 0:
        return f"B+{score:g}"
    if score < 0:
        return f"W+{-score:g}"
    return "0"


def to_sgf(
    board_size: int,
    komi: float,
    moves: list[int] | np.ndarray,
    result: str | None = None,
    black_name: str = "Black",
    white_name: str = "White",
    comment: str | None = None,
) -> bytes:
    """The game as SGF bytes (``RU[Tromp-Taylor]``; ``RE`` only when ``result`` is given)."""
    n = check_board_size(board_size)
    game = sgf.Sgf_game(size=n)
    root = game.get_root()
    root.set("KM", float(komi))
    root.set("RU", "Tromp-Taylor")
    root.set("AP", ("zeroleague", "0.1"))
    root.set("PB", black_name)
    root.set("PW", white_name)
    if result is not None:
        root.set("RE", result)
    if comment is not None:
        root.set("C", comment)
    for turn, action in enumerate(moves):
        action = int(action)
        if not 0 <= action <= n * n:
            raise ValueError(f"move {turn}: action {action} is not a point or the pass of a {n}x{n} board")
        node = game.extend_main_sequence()
        colour = "b" if turn % 2 == 0 else "w"
        if action == n * n:
            node.set_move(colour, None)
        else:
            row, col = divmod(action, n)
            node.set_move(colour, (n - 1 - row, col))
    return game.serialise()


def from_sgf(data: bytes | str) -> tuple[int, float, list[int]]:
    """``(board_size, komi, moves)`` of an SGF game's main line. Raises ValueError for what the engine cannot
    replay: setup stones, a board size outside 2..25, or colours that do not alternate starting with Black."""
    if isinstance(data, str):
        data = data.encode()
    game = sgf.Sgf_game.from_bytes(data)
    n = check_board_size(game.get_size())
    root = game.get_root()
    for prop in ("AB", "AW", "AE"):
        if root.has_property(prop):
            raise ValueError(f"SGF setup stones ({prop}) are not supported")
    moves: list[int] = []
    for node in game.get_main_sequence()[1:]:
        colour, point = node.get_move()
        if colour is None:
            continue
        expected = "b" if len(moves) % 2 == 0 else "w"
        if colour != expected:
            raise ValueError(
                f"SGF move {len(moves) + 1} is by {colour!r}, expected {expected!r} "
                "(colours must alternate from Black; use passes)"
            )
        moves.append(n * n if point is None else (n - 1 - point[0]) * n + point[1])
    return n, float(game.get_komi()), moves


def state_to_sgf(
    game: GoGame, state: GoState, i: int = 0, black_name: str = "Black", white_name: str = "White"
) -> bytes:
    """Game ``i`` of ``state`` as SGF; a finished game gets its Tromp-Taylor result, noting a move-cap end."""
    moves = state.moves[i, : state.num_moves[i]]
    result = comment = None
    if state.done[i]:
        result = result_string(float(game.score(state.take(np.array([i])))[0]))
        if state.truncated[i]:
            comment = f"ended by the move cap ({game.max_moves} turns) and scored as it stood"
    return to_sgf(game.board_size, game.komi, moves, result, black_name, white_name, comment)


def replay(game: GoGame, moves: list[int] | np.ndarray) -> GoState:
    """A one-game state after ``moves`` from the empty board; IllegalActionError names a bad move."""
    state = game.init(1)
    for turn, action in enumerate(moves):
        try:
            game.step(state, np.array([int(action)], dtype=np.int64))
        except IllegalActionError as e:
            raise IllegalActionError(f"move {turn}: {e}") from e
    return state


def load_sgf(data: bytes | str, max_moves: int | None = None) -> tuple[GoGame, GoState]:
    """Parse an SGF game and replay it: ``(GoGame(size, komi, max_moves), its one-game state)``."""
    n, komi, moves = from_sgf(data)
    game = GoGame(n, komi=komi, max_moves=max_moves)
    return game, replay(game, moves)
