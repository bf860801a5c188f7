"""Tiny games implementing ``zeroleague.envs.core.BatchedGame`` exactly, in vectorised numpy, for tests of the harness,
the store/tournament pipeline and the search.

``NimGame``
    A pile of stones (size drawn from each game's seed in ``[min_pile, max_pile]``); players alternate taking
    1..``max_take`` stones; whoever takes the last stone wins (+1/-1). Solved: the player to move wins iff
    ``pile % (max_take + 1) != 0``, by taking ``pile % (max_take + 1)`` stones. Optional ``max_moves`` cap
    ends a game as a truncated draw (0/0).
``HighCardGame``
    A simultaneous-move, hidden-hand card game shaped like 6 nimmt!: cards 1..``deck`` are shuffled, each of
    two players gets ``hand`` cards (the rest are unseen). Each trick both players choose a card in AEC order
    (seat 0, then seat 1, neither seeing the other's pending choice); the higher card wins the trick (+1 to
    its owner, -1 to the other). The game ends after ``hand`` tricks.

Importing this module also registers test agents (names prefixed ``toy_``) so that tournaments run in a
subprocess can play these games; an env spec ``"tests.toygames:NimGame"`` names a game by import path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from zeroleague.agents.base import BaseAgent, DecisionBatch
from zeroleague.agents.registry import register_agent
from zeroleague.baselines.heuristics import RandomAgent
from zeroleague.envs.core import IllegalActionError, seeds_for


def _per_game_players(player: int | np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(player, dtype=np.int64)
    if p.ndim == 0:
        return np.full(n, int(p), dtype=np.int64)
    if p.shape != (n,):
        raise ValueError(f"player must be an int or an array of shape ({n},), got shape {p.shape}")
    return p


def _check_actions(actions: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """The actions as int64 after checking them against ``legal`` (-1 = untouched); raises before any
    change."""
    a = np.asarray(actions)
    n, num_actions = legal.shape
    if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer):
        raise IllegalActionError(f"actions must be an integer array of shape ({n},), got {a.dtype} {a.shape}")
    a = a.astype(np.int64)
    for i in np.flatnonzero(a != -1):
        if not (0 <= a[i] < num_actions and legal[i, a[i]]):
            raise IllegalActionError(f"illegal action {int(a[i])} in game {int(i)}")
    return a


@dataclass
class NimState:
    pile: np.ndarray  # int64[N]
    player: np.ndarray  # int8[N], -1 when over
    moves: np.ndarray  # int64[N]
    truncated: np.ndarray  # bool[N]
    ret: np.ndarray  # float32[N, 2]


def _copy_fields(state, idx=None):
    kind = type(state)
    return kind(
        **{
            f.name: (getattr(state, f.name).copy() if idx is None else getattr(state, f.name)[idx].copy())
            for f in fields(kind)
        }
    )


class NimGame:
    """Subtraction Nim as a ``BatchedGame`` (see the module docstring). Action ``a`` takes ``a + 1``
    stones."""

    num_players = 2
    perfect_information = True

    def __init__(
        self, min_pile: int = 1, max_pile: int = 12, max_take: int = 3, max_moves: int | None = None
    ):
        if not 1 <= min_pile <= max_pile:
            raise ValueError(f"need 1 <= min_pile <= max_pile, got {min_pile}, {max_pile}")
        if max_take < 1:
            raise ValueError(f"max_take must be >= 1, got {max_take}")
        self.min_pile, self.max_pile, self.max_take, self.max_moves = min_pile, max_pile, max_take, max_moves
        self.env_id = "toy_nim"
        self.num_actions = max_take
        self.obs_shape = (max_pile + 1,)

    def init(self, n: int, seed: int | np.ndarray) -> NimState:
        seeds = seeds_for(n, seed)
        pile = np.array(
            [np.random.default_rng(int(s)).integers(self.min_pile, self.max_pile + 1) for s in seeds],
            dtype=np.int64,
        )
        return NimState(
            pile, np.zeros(n, np.int8), np.zeros(n, np.int64), np.zeros(n, bool), np.zeros((n, 2), np.float32)
        )

    def current_player(self, state: NimState) -> np.ndarray:
        return state.player.copy()

    def legal_mask(self, state: NimState) -> np.ndarray:
        take = np.arange(1, self.max_take + 1)
        return (take[None, :] <= state.pile[:, None]) & (state.player[:, None] >= 0)

    def observe(self, state: NimState, player: int | np.ndarray) -> np.ndarray:
        _per_game_players(player, len(state.pile))
        obs = np.zeros((len(state.pile), *self.obs_shape), np.float32)
        obs[np.arange(len(state.pile)), state.pile] = 1.0
        return obs

    def step(self, state: NimState, actions: np.ndarray) -> None:
        a = _check_actions(actions, self.legal_mask(state))
        act = np.flatnonzero(a != -1)
        mover = state.player[act].astype(np.int64)
        state.pile[act] -= a[act] + 1
        state.moves[act] += 1
        won = state.pile[act] == 0
        state.ret[act[won], mover[won]] = 1.0
        state.ret[act[won], 1 - mover[won]] = -1.0
        state.player[act] = np.where(won, -1, 1 - mover)
        if self.max_moves is not None:
            cap = act[~won & (state.moves[act] >= self.max_moves)]
            state.player[cap] = -1
            state.truncated[cap] = True

    def terminal(self, state: NimState) -> np.ndarray:
        return state.player < 0

    def truncated(self, state: NimState) -> np.ndarray:
        return state.truncated.copy()

    def returns(self, state: NimState) -> np.ndarray:
        return state.ret.copy()

    def copy(self, state: NimState) -> NimState:
        return _copy_fields(state)

    def take(self, state: NimState, idx: np.ndarray) -> NimState:
        return _copy_fields(state, np.asarray(idx, dtype=np.int64))

    def information_state(self, state: NimState, player: int | np.ndarray) -> NimState:
        _per_game_players(player, len(state.pile))
        return self.copy(state)

    def sample_worlds(
        self, info_state: NimState, player: int | np.ndarray, rng: np.random.Generator
    ) -> NimState:
        _per_game_players(player, len(info_state.pile))
        return self.copy(info_state)

    def winning_action(self, pile: np.ndarray) -> np.ndarray:
        """The optimal action per pile: take ``pile % (max_take + 1)`` stones; -1 where every move loses."""
        r = np.asarray(pile) % (self.max_take + 1)
        return np.where(r == 0, -1, r - 1)


@dataclass
class HighCardState:
    hand: np.ndarray  # bool[N, 2, D]; in an information state the opponent's row is all False (unknown)
    pending: np.ndarray  # int8[N, 2]: chosen card index, -1 none
    played: np.ndarray  # bool[N, D]: revealed cards
    tricks: np.ndarray  # int64[N]
    player: np.ndarray  # int8[N], -1 when over
    ret: np.ndarray  # float32[N, 2]


class HighCardGame:
    """Simultaneous hidden-hand trick game (module docstring). Action ``c`` plays card ``c + 1``.

    Observation for seat p, length ``3 * deck + 1``: own hand, revealed cards, own pending card (one-hot each)
    and own return / ``hand``. Information state for p (the convention of ``zeroleague.envs.sixnimmt.engine``): the
    opponent's pending card goes back into its hand and the trick is rewound to seat 0 (so a search treats the
    two choices as simultaneous); the opponent's hand is cleared (unknown; its size is ``hand - tricks``)."""

    num_players = 2
    perfect_information = False

    def __init__(self, deck: int = 6, hand: int = 2):
        if not 1 <= hand or 2 * hand > deck:
            raise ValueError(f"need 1 <= hand and 2 * hand <= deck, got hand={hand}, deck={deck}")
        self.deck, self.hand = deck, hand
        self.env_id = "toy_highcard"
        self.num_actions = deck
        self.obs_shape = (3 * deck + 1,)

    def init(self, n: int, seed: int | np.ndarray) -> HighCardState:
        seeds = seeds_for(n, seed)
        hand = np.zeros((n, 2, self.deck), bool)
        for i, s in enumerate(seeds):
            perm = np.random.default_rng(int(s)).permutation(self.deck)
            hand[i, 0, perm[: self.hand]] = True
            hand[i, 1, perm[self.hand : 2 * self.hand]] = True
        return HighCardState(
            hand,
            np.full((n, 2), -1, np.int8),
            np.zeros((n, self.deck), bool),
            np.zeros(n, np.int64),
            np.zeros(n, np.int8),
            np.zeros((n, 2), np.float32),
        )

    def current_player(self, state: HighCardState) -> np.ndarray:
        return state.player.copy()

    def legal_mask(self, state: HighCardState) -> np.ndarray:
        n = len(state.player)
        live = state.player >= 0
        mask = np.zeros((n, self.deck), bool)
        mask[live] = state.hand[np.flatnonzero(live), state.player[live]]
        return mask

    def observe(self, state: HighCardState, player: int | np.ndarray) -> np.ndarray:
        n = len(state.player)
        p = _per_game_players(player, n)
        rows = np.arange(n)
        own_pending = np.zeros((n, self.deck), np.float32)
        chosen = state.pending[rows, p] >= 0
        own_pending[rows[chosen], state.pending[rows[chosen], p[chosen]]] = 1.0
        parts = [state.hand[rows, p], state.played, own_pending, (state.ret[rows, p] / self.hand)[:, None]]
        return np.concatenate([x.astype(np.float32) for x in parts], axis=1)

    def step(self, state: HighCardState, actions: np.ndarray) -> None:
        a = _check_actions(actions, self.legal_mask(state))
        act = np.flatnonzero(a != -1)
        mover = state.player[act].astype(np.int64)
        state.hand[act, mover, a[act]] = False
        state.pending[act, mover] = a[act]
        state.player[act] = 1 - mover
        done = act[mover == 1]  # both have chosen: reveal and resolve
        c0, c1 = state.pending[done, 0].astype(np.int64), state.pending[done, 1].astype(np.int64)
        state.played[done, c0] = True
        state.played[done, c1] = True
        win0 = np.where(c0 > c1, 1.0, -1.0)
        state.ret[done, 0] += win0
        state.ret[done, 1] -= win0
        state.pending[done] = -1
        state.tricks[done] += 1
        state.player[done] = np.where(state.tricks[done] >= self.hand, -1, 0)

    def terminal(self, state: HighCardState) -> np.ndarray:
        return state.player < 0

    def truncated(self, state: HighCardState) -> np.ndarray:
        return np.zeros(len(state.player), bool)

    def returns(self, state: HighCardState) -> np.ndarray:
        return state.ret.copy()

    def copy(self, state: HighCardState) -> HighCardState:
        return _copy_fields(state)

    def take(self, state: HighCardState, idx: np.ndarray) -> HighCardState:
        return _copy_fields(state, np.asarray(idx, dtype=np.int64))

    def information_state(self, state: HighCardState, player: int | np.ndarray) -> HighCardState:
        n = len(state.player)
        rows, q = np.arange(n), 1 - _per_game_players(player, n)
        info = self.copy(state)
        rewind = rows[(q == 0) & (info.pending[:, 0] >= 0)]
        info.pending[rewind, 0] = -1
        info.player[rewind] = 0
        info.hand[rows, q] = False
        return info

    def sample_worlds(
        self, info_state: HighCardState, player: int | np.ndarray, rng: np.random.Generator
    ) -> HighCardState:
        """The opponent's hand drawn uniformly from the cards ``player`` has not seen."""
        n = len(info_state.player)
        rows, p = np.arange(n), _per_game_players(player, n)
        world = self.copy(info_state)
        seen = world.hand[rows, p] | world.played
        own_pending = world.pending[rows, p]
        seen[rows[own_pending >= 0], own_pending[own_pending >= 0]] = True
        keys = np.where(seen, np.inf, rng.random((n, self.deck)))
        order = np.argsort(keys, axis=1)  # unseen cards first, in uniformly random order
        take = (
            np.arange(self.deck)[None, :] < np.where(world.player >= 0, self.hand - world.tricks, 0)[:, None]
        )
        new_hand = np.zeros((n, self.deck), bool)
        np.put_along_axis(new_hand, order, take, axis=1)
        world.hand[rows, 1 - p] = new_hand
        return world


# --- test agents --------------------------------------------------------------------------------------------


class ToyRandomAgent(RandomAgent):
    """The ``random`` agent (choices independent of batching) with ``delay`` seconds of sleep per ``act`` call
    (to slow a run down)."""

    def __init__(self, game, *, seed: int = 0, device: str | None = None, delay: float = 0.0):
        super().__init__(seed)
        self.delay = delay
        self.name = "toy_random"

    def act(self, batch: DecisionBatch) -> np.ndarray:
        if self.delay:
            time.sleep(self.delay)
        return super().act(batch)


class NimOptimalAgent(BaseAgent):
    """Perfect Nim play from the observation (one-hot pile); in lost positions takes one stone."""

    def __init__(self, game: NimGame, *, seed: int = 0, device: str | None = None):
        self.game = game
        self.name = "toy_nim_optimal"

    def act(self, batch: DecisionBatch) -> np.ndarray:
        pile = np.argmax(batch.observations, axis=1)
        best = self.game.winning_action(pile)
        return np.where(best < 0, 0, best).astype(np.int64)


register_agent("toy_random")(ToyRandomAgent)
register_agent("toy_nim_optimal", games=("toy_nim",))(NimOptimalAgent)
