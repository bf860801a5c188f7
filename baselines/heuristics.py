"""Random and rule-of-thumb players.

``random`` (any game): uniform over the legal actions, each draw keyed by (seed, match seed, game, seat, decision
index) (``zeroleague.agents.base.DecisionKeys``).

6 nimmt! bots (games ``sixnimmt*``). They read their hand and the rows from the observation
(``zeroleague.envs.sixnimmt.engine.decode_observation``) and judge each card as if it were the only card placed this
trick: a card *fits* when its target row (the row whose last card is the largest below it) holds fewer than 5
cards; its *gap* is the card minus that row's last card; its *cost* is the bullheads it would take (0 when it
fits; the target row's when that row is full; the cheapest row's when the card is below every row).
  ``lowest``          the lowest card in hand
  ``highest``         the highest card in hand
  ``lowest_fitting``  the lowest fitting card; the lowest card when none fits
  ``closest_gap``     the fitting card with the smallest gap; when none fits, the card with the smallest cost
                      (ties: the lower card)
In a row-choice turn every bot takes the cheapest row (fewest bullheads, ties -> lowest row index), the same
rule as the engine's ``row_choice="auto"``. The bots are deterministic; ``seed`` is accepted and unused.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from zeroleague.agents.base import BaseAgent, DecisionBatch, DecisionKeys, key_uniform
from zeroleague.agents.registry import register_agent
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.sixnimmt.engine import decode_observation
from zeroleague.envs.sixnimmt.rules import NUM_ROWS, ROW_CAPACITY, cheapest_row, row_bullheads, target_row


def counter_uniform(seed: int, game_ids: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1), one per row, from (seed, game id, that game's decision counter) only (a
    splitmix64-style hash), so a player drawing from it makes the same choices however games are batched."""
    x = np.full(len(game_ids), seed, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x ^= np.asarray(game_ids).astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
    x ^= np.asarray(counters).astype(np.uint64) * np.uint64(0x94D049BB133111EB)
    for shift, mul in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mul)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class RandomAgent(BaseAgent):
    """Uniform over ``batch.masks``. The choice in row b is a function of ``decision_keys`` (seed, match seed,
    game, seat, that seat's decision index; ``zeroleague.agents.base``) alone, so a match or a resumed
    tournament plays the same games whatever the batching, and the two seats of a game draw differently even
    with one seed. ``reset(game_ids)`` restarts those games' own decision counts (used only for batches
    without ``decisions``)."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)
        self.keys = DecisionKeys(self.seed)

    def reset(self, game_ids: np.ndarray) -> None:
        self.keys.reset(game_ids)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        masks = np.asarray(batch.masks, dtype=bool)
        legal = masks.sum(axis=1)
        if len(masks) and not legal.all():
            raise ValueError("random agent: a decision with no legal action")
        u = key_uniform(self.keys(batch))
        pick = np.minimum((u * legal).astype(np.int64), legal - 1)
        return np.argmax(np.cumsum(masks, axis=1) > pick[:, None], axis=1).astype(np.int64)


@register_agent("random")
def make_random(game: BatchedGame, *, seed: int = 0, device: str | None = None) -> RandomAgent:
    """Uniformly random legal actions (any game)."""
    return RandomAgent(seed)


LOWEST, HIGHEST, LOWEST_FITTING, CLOSEST_GAP = 0, 1, 2, 3
_RULES = {"lowest": LOWEST, "highest": HIGHEST, "lowest_fitting": LOWEST_FITTING, "closest_gap": CLOSEST_GAP}


@nb.njit(cache=True)
def _choose(rule, hand, rows, row_len, row_choice, max_card):
    """One action per decision: a row for row choices, else the card picked by ``rule`` (module docstring)."""
    out = np.empty(hand.shape[0], dtype=np.int64)
    last = np.empty(NUM_ROWS, dtype=np.int16)
    for b in range(hand.shape[0]):
        if row_choice[b]:
            out[b] = max_card + cheapest_row(rows[b], row_len[b])
            continue
        for r in range(NUM_ROWS):
            last[r] = rows[b, r, row_len[b, r] - 1]
        cr = cheapest_row(rows[b], row_len[b])
        cheap = row_bullheads(rows[b, cr], row_len[b, cr])
        best = -1
        best_key = 1 << 30
        fallback = -1
        fallback_key = 1 << 30
        for c in range(1, max_card + 1):
            if not hand[b, c]:
                continue
            r = target_row(last, c)
            fits = r >= 0 and row_len[b, r] < ROW_CAPACITY
            if rule == LOWEST:
                key = c
            elif rule == HIGHEST:
                key = -c
            elif rule == LOWEST_FITTING:
                key = c if fits else 1 << 29
            else:
                key = c - last[r] if fits else 1 << 29
            if key < best_key:  # strict: ties keep the lower card
                best, best_key = c, key
            cost = cheap if r < 0 else (row_bullheads(rows[b, r], row_len[b, r]) if not fits else 0)
            fallback_c = c if rule == LOWEST_FITTING else cost
            if fallback_c < fallback_key:
                fallback, fallback_key = c, fallback_c
        out[b] = (fallback if best_key == 1 << 29 else best) - 1
    return out


class SixNimmtHeuristic(BaseAgent):
    """One of the rules ``lowest``, ``highest``, ``lowest_fitting``, ``closest_gap`` (module docstring)."""

    def __init__(self, game: BatchedGame, rule: str):
        if rule not in _RULES:
            raise ValueError(f"unknown 6 nimmt! heuristic {rule!r}; known: {', '.join(_RULES)}")
        self.rule = rule
        self.max_card = game.num_actions - NUM_ROWS
        self.num_players = game.num_players

    def act(self, batch: DecisionBatch) -> np.ndarray:
        view = decode_observation(np.asarray(batch.observations), self.max_card, self.num_players)
        return _choose(_RULES[self.rule], view.hand, view.rows, view.row_len, view.row_choice, self.max_card)


def _register(rule: str) -> None:
    def factory(game: BatchedGame, *, seed: int = 0, device: str | None = None) -> SixNimmtHeuristic:
        return SixNimmtHeuristic(game, rule)

    factory.__doc__ = f"6 nimmt! heuristic '{rule}' (cheapest row on row choices)."
    register_agent(rule, games=("sixnimmt",))(factory)


for _rule in _RULES:
    _register(_rule)
