"""The Agent protocol: every player (search, learned, heuristic, random, external GTP engine) is an Agent.

The harness calls ``act`` once per step with every pending decision of that agent across all games it is playing,
so an agent sees a batch and answers a batch. Agents are seat-agnostic: ``players`` says which seat acts in each
row.

Reproducible randomness. Every random choice an agent makes for row b comes from ``decision_keys(batch, seed)``:
one 64-bit key per row, a hash of (the agent's seed, the match seed, the game index, the acting seat, the seat's
decision index in that game). The harness fills ``match_seed`` and ``decisions``, so a game's moves never depend on
which other games share its batch (``max_parallel``), on a resume, or on how a tournament is cut into chunks, and
two agents with one spec and one seed in the two seats of a game still draw differently. Callers that build
batches themselves (GTP server, web app, gym views) leave ``decisions`` None: the agent then counts each (game id,
seat)'s decisions itself (``DecisionKeys``) until ``reset``. ``key_uniform`` turns keys into uniforms,
``key_generator`` into a numpy ``Generator``, ``RowStreams`` into per-row streams for a batched search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from zeroleague.envs.core import BatchedGame

RESIGN = -2
"""An action value an agent may return (Go only) to resign that game; the harness scores it as a loss."""


@dataclass
class DecisionBatch:
    """B pending decisions, one row per game where this agent is to act.

    ``observations[b]`` and ``masks[b]`` are ``game.observe`` / ``game.legal_mask`` for the acting seat
    ``players[b]`` of the harness game ``game_ids[b]`` (stable ids within one harness run, so stateful agents,
    e.g. GTP engines, can keep per-game state). ``states`` is ``game.information_state`` of those B games for
    their acting seats (never the hidden truth) when the agent asked for it (``needs_states``), else None.
    ``match_seed``: the seed of the match these games belong to; ``decisions[b]``: how many decisions seat
    ``players[b]`` has taken before in game ``game_ids[b]`` (None: the agent counts them itself). Both key the
    agent's random draws (module docstring).
    """

    game: BatchedGame
    observations: np.ndarray
    masks: np.ndarray
    players: np.ndarray
    game_ids: np.ndarray
    states: Any | None = None
    match_seed: int = 0
    decisions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.players)


@runtime_checkable
class Agent(Protocol):
    """``act(batch) -> int64[B]`` legal actions (or ``RESIGN``). ``needs_states``: whether ``act`` reads
    ``batch.states``. ``reset(game_ids)``: those harness games start anew (forget per-game state).
    ``close()``: release processes/files. Agents built from a spec carry that spec as ``name``."""

    name: str
    needs_states: bool

    def act(self, batch: DecisionBatch) -> np.ndarray: ...
    def reset(self, game_ids: np.ndarray) -> None: ...
    def close(self) -> None: ...


class BaseAgent:
    """Convenience base with no-op ``reset``/``close`` and ``needs_states = False``."""

    name: str = "agent"
    needs_states: bool = False

    def act(self, batch: DecisionBatch) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self, game_ids: np.ndarray) -> None:
        return None

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# --- keyed randomness (module docstring) --------------------------------------------------------------------

_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (a bijection that scatters every input bit)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _as_u64(part: Any) -> np.ndarray:
    if isinstance(part, (int, np.integer)):
        return np.asarray(int(part) & _M64, dtype=np.uint64)
    return np.asarray(part).astype(np.int64).view(np.uint64) if np.asarray(part).dtype.kind == "i" else \
        np.asarray(part, dtype=np.uint64)


def hash_keys(*parts: Any) -> np.ndarray:
    """uint64 keys hashing ``parts`` (ints or integer arrays, broadcast together) in order; a different part
    anywhere gives an unrelated key."""
    h = np.asarray(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            h = _mix(h + _GOLDEN + _as_u64(part))
    return h


def key_uniform(keys: np.ndarray, stream: int = 0) -> np.ndarray:
    """float64 uniforms in [0, 1), one per key (``stream`` picks an independent draw of the same keys)."""
    x = hash_keys(np.asarray(keys, dtype=np.uint64), stream)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def key_generator(key: int | np.integer) -> np.random.Generator:
    """A numpy Generator (Philox) whose stream is a function of ``key`` alone."""
    return np.random.Generator(np.random.Philox(key=int(key) & _M64))


class DecisionKeys:
    """``keys(batch) -> uint64[B]``: the row keys of ``batch`` for an agent seeded ``seed`` (module docstring).
    Where the batch carries no ``decisions`` it counts each (game id, seat)'s decisions itself, starting anew
    for the games passed to ``reset``."""

    MAX_GAMES = 1 << 16
    """Games whose counts are kept (the oldest are forgotten first): callers that number games afresh without
    ever resetting old ones (training loops, gym episodes) keep a bounded table."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._counts: dict[int, dict[int, int]] = {}  # game id -> seat -> decisions taken

    def reset(self, game_ids: np.ndarray) -> None:
        for g in np.asarray(game_ids).reshape(-1).tolist():
            self._counts.pop(int(g), None)

    def __call__(self, batch: DecisionBatch) -> np.ndarray:
        ids = np.asarray(batch.game_ids, dtype=np.int64)
        seats = np.asarray(batch.players, dtype=np.int64)
        if batch.decisions is not None:
            decisions = np.asarray(batch.decisions, dtype=np.int64)
        else:
            decisions = np.empty(len(ids), dtype=np.int64)
            for b, (g, seat) in enumerate(zip(ids.tolist(), seats.tolist(), strict=True)):
                per_seat = self._counts.setdefault(g, {})
                decisions[b] = per_seat.get(seat, 0)
                per_seat[seat] = int(decisions[b]) + 1
            while len(self._counts) > self.MAX_GAMES:
                del self._counts[next(iter(self._counts))]
        if not (len(ids) == len(seats) == len(decisions)):
            raise ValueError(f"batch has {len(ids)} game ids, {len(seats)} players, {len(decisions)} decisions")
        return hash_keys(self.seed, int(batch.match_seed), ids, seats, decisions).reshape(len(ids))


class RowStreams:
    """Random draws for a batched search over B roots, row b's a function of ``keys[b]`` alone.

    ``rows(idx, *tags)`` is a Generator-like view for the rows ``idx`` (root indices, repeats allowed) of one
    step (``tags``: e.g. the wave number): its ``random(n)`` / ``integers(low, high, size, dtype)`` draw, at
    position j, from (``keys[idx[j]]``, tags, the occurrence of ``idx[j]`` among ``idx[:j]``, the view's call
    count). Nothing is consumed, so a root's draws depend on neither the other roots nor how many draws they
    took. ``random``/``integers`` on the object itself serve callers that know no rows: a stream of the whole
    batch (its keys together), reproducible for the same batch only."""

    def __init__(self, keys: np.ndarray):
        self.keys = np.asarray(keys, dtype=np.uint64).reshape(-1)
        self._whole = key_generator(int(hash_keys(self.keys.sum(dtype=np.uint64), len(self.keys))))

    def rows(self, idx: np.ndarray, *tags: int) -> _RowView:
        return _RowView(self, np.asarray(idx, dtype=np.int64), tags)

    def random(self, size: int | None = None) -> Any:
        return self._whole.random(size)

    def integers(self, low, high=None, size=None, dtype=np.int64) -> Any:
        return self._whole.integers(low, high, size=size, dtype=dtype)


class _RowView:
    def __init__(self, streams: RowStreams, idx: np.ndarray, tags: tuple[int, ...]):
        self._base = hash_keys(streams.keys[idx], *tags, _occurrence(idx)) if len(idx) else np.zeros(0, np.uint64)
        self._calls = 0

    def take(self, rows: np.ndarray) -> _RowView:
        """A view of this view's ``rows`` (repeats allowed), keyed by their keys here, this view's call count
        and their occurrence in ``rows``: e.g. several draws per leaf of a step."""
        self._calls += 1
        rows = np.asarray(rows, dtype=np.int64)
        view = _RowView.__new__(_RowView)
        view._base = hash_keys(self._base[rows], self._calls, _occurrence(rows)) if len(rows) else rows.astype(
            np.uint64)
        view._calls = 0
        return view

    def _draw(self, size: Any) -> np.ndarray:
        n = len(self._base)
        if size is not None and int(np.prod(size)) != n:
            raise ValueError(f"a row view of {n} rows draws {n} values, asked for size {size}")
        self._calls += 1
        return hash_keys(self._base, self._calls)

    def random(self, size: Any = None) -> np.ndarray:
        return (self._draw(size) >> np.uint64(11)).astype(np.float64) / float(1 << 53)

    def integers(self, low, high=None, size=None, dtype=np.int64) -> np.ndarray:
        if high is None:
            low, high = 0, low
        span = int(high) - int(low)
        if span <= 0:
            raise ValueError(f"integers needs low < high, got {low}, {high}")
        x = self._draw(size)
        return (int(low) + (x % np.uint64(span)).astype(np.int64)).astype(dtype)


def _occurrence(idx: np.ndarray) -> np.ndarray:
    """int64[n]: how often ``idx[j]`` occurs in ``idx[:j]``."""
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    occurrence = np.empty(len(idx), dtype=np.int64)
    occurrence[order] = np.arange(len(idx)) - np.searchsorted(sorted_idx, sorted_idx, side="left")
    return occurrence
