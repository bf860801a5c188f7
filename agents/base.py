"""The Agent protocol: every player (search, learned, heuristic, random, external GTP engine) is an Agent.

The harness calls ``act`` once per step with every pending decision of that agent across all games it is playing,
so an agent sees a batch and answers a batch. Agents are seat-agnostic: ``players`` says which seat acts in each
row.
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
    """

    game: BatchedGame
    observations: np.ndarray
    masks: np.ndarray
    players: np.ndarray
    game_ids: np.ndarray
    states: Any | None = None

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
