"""The small interface through which the harness, the search and the trainers see every game.

A *game* object is immutable configuration (board size, komi, deck, ...) plus pure functions over a batch of
states. A *state* holds N games as numpy arrays whose first axis is the game index; the engines' hot paths are
numba functions over those arrays. Nothing here is per-move Python objects.

Contract of a ``BatchedGame`` (each engine module implements it; ``tests/test_core_contract.py`` checks it):

``init(n, seed) -> state``
    N fresh games. ``seed`` is an int (game i uses the i-th stream derived from it) or an int array of N seeds.
    Deterministic: same seeds, same states.
``current_player(state) -> int8[N]``
    The seat to act in each game, ``-1`` where the game is over.
``legal_mask(state) -> bool[N, A]``
    Legal actions of the player to act (all False for finished games).
``observe(state, player) -> float32[N, *obs_shape]``
    Each game's observation for ``player`` (an int, or an int array of N seats). Never reveals what that player
    may not know.
``step(state, actions) -> None``
    Applies ``actions[i]`` to game i in place; ``actions[i] == -1`` leaves game i untouched. An illegal action
    raises ``IllegalActionError`` naming the game and the action, and no game of the batch is changed.
``terminal(state) -> bool[N]``; ``truncated(state) -> bool[N]``
    ``truncated`` marks games ended by a move cap (they are terminal too, and scored as they stand).
``returns(state) -> float32[N, P]``
    Each player's cumulative reward so far (its final return once the game is terminal). Zero-sum for 2 players.
``copy(state)``, ``take(state, idx)``
    A deep copy; a new state holding the games ``idx`` (an index array), in that order.
``information_state(state, player) -> state``
    What ``player`` may see: hidden cards and the opponent's pending choice are replaced by "unknown". Search
    agents receive only this. For perfect-information games it is a copy.
``sample_worlds(info_state, player, rng) -> state``
    One full state per game consistent with ``info_state`` (hidden parts drawn uniformly from what is unseen).
    For perfect-information games it is a copy.

Optional attribute ``selection_actions: int | None``: set by 2-player games whose turns begin with simultaneous
selections (6 nimmt!): actions ``0..S-1`` are selections; a selection stage starts where seat 0 is to move with a
selection legal, seat 1's selection follows before anything is revealed, and ``information_state`` rewinds a
pending selection to that start. Search treats such stages as joint (simultaneous) nodes. Absent or None: plain
alternating turns.

Seats are integers ``0..P-1``; the AEC envs name them (``black_0``/``white_0``, ``player_0``/``player_1``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


class IllegalActionError(ValueError):
    """An action that is not legal in the state it was applied to. The state is left unchanged."""


@runtime_checkable
class BatchedGame(Protocol):
    """Pure functions over batches of game states. See the module docstring for the contract."""

    env_id: str
    num_players: int
    num_actions: int
    obs_shape: tuple[int, ...]
    perfect_information: bool

    def init(self, n: int, seed: int | np.ndarray) -> Any: ...
    def current_player(self, state: Any) -> np.ndarray: ...
    def legal_mask(self, state: Any) -> np.ndarray: ...
    def observe(self, state: Any, player: int | np.ndarray) -> np.ndarray: ...
    def step(self, state: Any, actions: np.ndarray) -> None: ...
    def terminal(self, state: Any) -> np.ndarray: ...
    def truncated(self, state: Any) -> np.ndarray: ...
    def returns(self, state: Any) -> np.ndarray: ...
    def copy(self, state: Any) -> Any: ...
    def take(self, state: Any, idx: np.ndarray) -> Any: ...
    def information_state(self, state: Any, player: int | np.ndarray) -> Any: ...
    def sample_worlds(self, info_state: Any, player: int | np.ndarray, rng: np.random.Generator) -> Any: ...


def seeds_for(n: int, seed: int | np.ndarray) -> np.ndarray:
    """N independent 63-bit seeds: from one int through ``numpy.random.SeedSequence``, or checked as given."""
    if isinstance(seed, (int, np.integer)):
        return np.random.SeedSequence(int(seed)).generate_state(n, dtype=np.uint64).astype(np.int64) & (
            (1 << 62) - 1
        )
    seeds = np.asarray(seed, dtype=np.int64)
    if seeds.shape != (n,):
        raise ValueError(f"seed array must have shape ({n},), got {seeds.shape}")
    return seeds
