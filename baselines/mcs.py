"""Flat Monte Carlo search for 6 nimmt! (``mcs``), the standard strong baseline of the 6 nimmt! literature.

Spec ``mcs[:rollouts=100,policy=random]``. At every decision (a card selection or a row choice) the agent
draws ``rollouts`` = K determinizations of the hidden cards from its own information state
(``game.sample_worlds`` on ``batch.states``, which is ``game.information_state``: the true opponent hand is
never seen), and for every legal action plays each of the K worlds out to the end of the round with the
rollout policy: ``random`` (uniform legal actions, the engine's compiled ``random_playouts``) or
``closest_gap`` (``baselines.heuristics``' rule for every seat, cheapest row on row choices). The action with
the best mean margin (own return from now on, bullheads: the opponent's minus its own) is played; ties go to the
lowest action. Every action is played out in the same K worlds with the same rollout draws (common random
numbers), so the comparison between actions is paired. Where the information state has the opponent select
first (the agent is seat 1: selections are simultaneous, so its pending card is rewound into its hand), the
opponent's card of this trick is drawn by the rollout policy in each world, the same for every action.

Seeds: the worlds and rollout draws of a decision come from its key (seed, match seed, game, seat, that seat's
decision index; ``zeroleague.agents.base.DecisionKeys``) alone, so a seed gives the same games whatever the
batching, and the two seats of a game draw differently. All games of a batch are rolled out in one compiled
call (chunked).

Only single-round games with the margin reward (``sixnimmt_v0``, ``sixnimmt_tactical_v0`` by default): a
rollout ends where the game does.
"""

from __future__ import annotations

import numpy as np

from zeroleague.agents.base import BaseAgent, DecisionBatch, DecisionKeys, key_generator
from zeroleague.agents.registry import register_agent
from zeroleague.baselines.heuristics import CLOSEST_GAP, _choose
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.sixnimmt.engine import ROW_CHOICE, SELECT, SixNimmtGame

_POLICIES = ("random", "closest_gap")
_CHUNK_WORLDS = 1 << 16  # rollouts per compiled call (bounds the memory of a large batch)


class MCSAgent(BaseAgent):
    """Flat Monte Carlo search (module docstring): ``rollouts`` worlds per legal action, ``policy`` the rollout
    policy, ``seed`` keys every draw with the match seed, game id, seat and decision index."""

    needs_states = True

    def __init__(self, game: BatchedGame, rollouts: int = 100, policy: str = "random", seed: int = 0):
        if not isinstance(game, SixNimmtGame):
            raise ValueError(f"mcs plays 6 nimmt! only, got {getattr(game, 'env_id', game)!r}")
        if game.target_score is not None or game.reward != "margin":
            raise ValueError(f"mcs plays single-round games with the margin reward; {game.env_id!r} has "
                             f"target_score={game.target_score!r}, reward={game.reward!r}")
        if isinstance(rollouts, bool) or not isinstance(rollouts, (int, np.integer)) or rollouts < 1:
            raise ValueError(f"rollouts must be an int >= 1, got {rollouts!r}")
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {', '.join(_POLICIES)}, got {policy!r}")
        self.game, self.rollouts, self.policy, self.seed = game, int(rollouts), policy, int(seed)
        self.keys = DecisionKeys(self.seed)

    def reset(self, game_ids: np.ndarray) -> None:
        self.keys.reset(game_ids)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        return np.array([a[int(np.argmax(m))] for a, m in self._search(batch)], dtype=np.int64)

    def explain(self, batch: DecisionBatch) -> list[dict]:
        """Per game of ``batch``: ``{"kind": "mcs", "actions": legal actions, "margins": their mean rollout
        margins, "chosen": the action ``act`` plays}``. Counts as the decision (advances the game's counter),
        so call it instead of ``act``, not besides it."""
        out = []
        for acts, margins in self._search(batch):
            out.append({"kind": "mcs", "actions": acts.tolist(), "margins": [float(m) for m in margins],
                        "chosen": int(acts[int(np.argmax(margins))])})
        return out

    # ------------------------------------------------------------------------------------------------------
    def _search(self, batch: DecisionBatch) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per row: (legal actions ascending, mean margins of their rollouts)."""
        if batch.states is None:
            raise ValueError("mcs needs batch.states (needs_states=True); the harness passed none")
        k = self.rollouts
        masks = np.asarray(batch.masks, dtype=bool)
        players = np.asarray(batch.players, dtype=np.int64)
        keys = self.keys(batch)
        legal = [np.flatnonzero(m) for m in masks]
        if any(len(a) == 0 for a in legal):
            raise ValueError("mcs: a decision with no legal action")
        out: list[tuple[np.ndarray, np.ndarray]] = []
        start = 0
        while start < len(players):  # chunks of rows whose rollouts fit one compiled call
            stop, worlds = start, 0
            while stop < len(players) and (stop == start or worlds + len(legal[stop]) * k <= _CHUNK_WORLDS):
                worlds += len(legal[stop]) * k
                stop += 1
            out += self._search_rows(batch.states, players, keys, legal, range(start, stop))
            start = stop
        return out

    def _search_rows(self, info, players, keys, legal, rows) -> list[tuple[np.ndarray, np.ndarray]]:
        g, k = self.game, self.rollouts
        parts, acts, seeds, before = [], [], [], []
        for b in rows:
            rng = key_generator(keys[b])
            me = int(players[b])
            worlds = g.sample_worlds(g.take(info, np.full(k, b)), me, rng)
            before.append(float(g.returns(g.take(info, np.array([b])))[0, me]))
            self._others_first(worlds, me, rng)  # the opponent's card of this trick, where it selects first
            n = len(legal[b])
            parts.append(g.take(worlds, np.tile(np.arange(k), n)))
            acts.append(np.repeat(legal[b], k))
            seeds.append(np.tile(rng.integers(0, 1 << 62, size=k, dtype=np.int64), n))  # the same per action
        states = _concat(parts)
        g.step(states, np.concatenate(acts))
        self._rollout(states, np.concatenate(seeds))
        ret = g.returns(states)
        out, pos = [], 0
        for i, b in enumerate(rows):
            n = len(legal[b])
            me = int(players[b])
            margins = ret[pos:pos + n * k, me].astype(np.float64).reshape(n, k).mean(axis=1) - before[i]
            out.append((legal[b], margins))
            pos += n * k
        return out

    def _others_first(self, worlds, me: int, rng: np.random.Generator) -> None:
        """Step the worlds' selections of the seats before ``me`` (selections are rewound in an information
        state) with the rollout policy, until ``me`` is to act."""
        g = self.game
        for _ in range(g.num_players):
            todo = (worlds.phase == SELECT) & (worlds.to_act != me)
            if not todo.any():
                return
            acts = self._policy_actions(worlds, rng.integers(0, 1 << 62, size=len(todo)))
            g.step(worlds, np.where(todo, acts, -1))

    def _policy_actions(self, states, draws: np.ndarray) -> np.ndarray:
        """int64[N]: the rollout policy's action of the seat to act in every (live) game; -1 where done."""
        g = self.game
        live = states.to_act >= 0
        actor = np.maximum(states.to_act, 0).astype(np.int64)
        if self.policy == "closest_gap":
            hand = states.hand[np.arange(len(actor)), actor]
            acts = _choose(CLOSEST_GAP, hand, states.rows, states.row_len, states.phase == ROW_CHOICE,
                           g.max_card)
        else:
            masks = g.legal_mask(states)
            count = masks.sum(axis=1)
            pick = np.asarray(draws, dtype=np.int64) % np.maximum(count, 1)
            acts = np.argmax(np.cumsum(masks, axis=1) > pick[:, None], axis=1).astype(np.int64)
        return np.where(live, acts, -1)

    def _rollout(self, states, seeds: np.ndarray) -> None:
        """Play every game of ``states`` to its end with the rollout policy (in place)."""
        g = self.game
        if self.policy == "random":
            g.random_playouts(states, seeds)
            return
        while (states.to_act >= 0).any():
            g.step(states, self._policy_actions(states, seeds))


def _concat(parts):
    """One ``SixNimmtState`` of the games of ``parts`` in order."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return type(first)(*(np.concatenate(arrays) for arrays in zip(*(p.arrays() for p in parts), strict=True)))


@register_agent("mcs", games=("sixnimmt",))
def make_mcs(game: BatchedGame, *, seed: int = 0, device: str | None = None, rollouts: int = 100,
             policy: str = "random") -> MCSAgent:
    """Flat Monte Carlo search for 6 nimmt! (mcs:rollouts=100,policy=random|closest_gap)."""
    return MCSAgent(game, rollouts=rollouts, policy=policy, seed=seed)
