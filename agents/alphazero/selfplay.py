"""AlphaZero self-play through the match harness: one ``SelfPlayAgent`` sits in both seats of
``zeroleague.leagues.harness.play_match``, searches every decision in self-play mode (root Dirichlet noise), records the
observation and the root visit distribution of each decision, and turns each finished game into training
samples whose value target is, for the player who was to move, the return it earned from that state on:
(final return - return at the state) / ``MCTSConfig.value_scale``, clipped to [-1, 1] — the search's value
convention (agents.alphazero.tree). In Go (return +1 win, -1 loss, 0 draw, only at the end) with value_scale 1
that is the final outcome. A resignation is a full loss for the resigner (-1; +1 for the other seat).

Moves: sampled from the visit counts with ``MCTSConfig.temperature`` for a game's first ``temperature_moves``
decisions, the most visited afterwards. Resignation: when the root value is below ``-resign_threshold``; a
``no_resign_frac`` share of the games (chosen per game from the seed) never resign, and in those the agent
counts the decisions where it *would* have resigned, so the false-resignation rate (would-be resigner went on
to win or draw) can be watched. The subtree of the played move is kept and searched on at the game's next
decision (the agent plays both seats, so the next state is exactly that child). Random draws come from one
stream seeded by ``seed`` in batch order, so a run is reproducible for fixed ``parallel``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zeroleague.agents.alphazero.search import make_search
from zeroleague.agents.alphazero.tree import Evaluate, MCTSConfig, Tree, choose_actions
from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch
from zeroleague.envs.core import BatchedGame


@dataclass
class SelfPlayData:
    """Training samples: ``obs`` float32[N, *obs_shape], ``policy`` float32[N, A] (visit distributions),
    ``value`` float32[N] (return from the sample's state on for the player to move, module docstring), plus
    per-run counts (``moves``: environment steps of all the games)."""

    obs: np.ndarray
    policy: np.ndarray
    value: np.ndarray
    games: int
    moves: int
    resigned: int
    no_resign_games: int
    would_resign: int
    false_resign: int

    def save(self, path) -> None:
        np.savez_compressed(path, obs=self.obs, policy=self.policy, value=self.value)


class SelfPlayAgent(BaseAgent):
    """Both seats of a self-play match (module docstring)."""

    needs_states = True

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig, *, seed: int,
                 temperature_moves: int = 15, resign_threshold: float | None = None,
                 no_resign_frac: float = 0.1):
        if not 0.0 <= no_resign_frac <= 1.0:
            raise ValueError(f"no_resign_frac must be in [0, 1], got {no_resign_frac!r}")
        self.game, self.config, self.name = game, config, "selfplay"
        self.mcts = make_search(game, evaluate, config)
        self.rng = np.random.default_rng(seed)
        self.seed, self.temperature_moves = seed, temperature_moves
        self.resign_threshold, self.no_resign_frac = resign_threshold, no_resign_frac
        # per game: (observation, policy, player to move, its return so far) of each decision
        self.samples: dict[int, list[tuple[np.ndarray, np.ndarray, int, float]]] = {}
        self.kept: dict[int, Tree] = {}
        self.would_resign: dict[int, set[int]] = {}

    def may_resign(self, game_id: int) -> bool:
        """Whether game ``game_id`` allows resignation (a seeded per-game draw, ``1 - no_resign_frac`` of
        them)."""
        if self.resign_threshold is None:
            return False
        u = np.random.default_rng([self.seed, 0x5E5, int(game_id)]).random()
        return bool(u >= self.no_resign_frac)

    def reset(self, game_ids: np.ndarray) -> None:
        for g in np.asarray(game_ids).tolist():
            self.samples[int(g)] = []
            self.kept.pop(int(g), None)
            self.would_resign[int(g)] = set()

    def act(self, batch: DecisionBatch) -> np.ndarray:
        ids = [int(g) for g in np.asarray(batch.game_ids)]
        reuse = [self.kept.pop(g, None) for g in ids]
        result = self.mcts.search(batch.states, self.rng, self_play=True, reuse=reuse, players=batch.players)
        obs = batch.observations
        so_far = np.asarray(self.game.returns(batch.states), dtype=np.float64)
        moves = np.array([len(self.samples[g]) for g in ids])
        greedy = choose_actions(result.visits, 0.0)
        sampled = choose_actions(result.visits, self.config.temperature, self.rng) \
            if self.config.temperature > 0 else greedy
        actions = np.where(moves < self.temperature_moves, sampled, greedy)
        for row, g in enumerate(ids):
            seat = int(batch.players[row])
            self.samples[g].append((obs[row].copy(), result.policy[row], seat, float(so_far[row, seat])))
            losing = self.resign_threshold is not None and result.root_value[row] < -self.resign_threshold
            if losing and self.may_resign(g):
                actions[row] = RESIGN
                continue
            if losing:
                self.would_resign[g].add(int(batch.players[row]))
            sub = result.tree.subtree(row, int(actions[row]))
            if sub is not None:
                self.kept[g] = sub
        return actions


def outcome_targets(rec, decisions: list[tuple[int, float]], value_scale: float) -> list[float]:
    """Value targets of a finished game's decisions ``(seat, that seat's return before the decision)``
    (``rec``: its ``leagues.harness.GameRecord``): (final return - return before) / ``value_scale``, clipped to
    [-1, 1]; after a resignation -1 for the resigner's decisions, +1 for the other seat's."""
    if rec.resigned is not None:
        return [-1.0 if seat == rec.resigned else 1.0 for seat, _ in decisions]
    return [float(np.clip((rec.returns[seat] - before) / value_scale, -1.0, 1.0)) for seat, before in decisions]


def self_play(game: BatchedGame, evaluate: Evaluate, config: MCTSConfig, num_games: int, seed: int, *,
              parallel: int = 64, temperature_moves: int = 15, resign_threshold: float | None = None,
              no_resign_frac: float = 0.1) -> SelfPlayData:
    """Play ``num_games`` self-play games (``parallel`` at once) through the harness and return their
    samples."""
    from zeroleague.leagues.harness import play_match

    agent = SelfPlayAgent(game, evaluate, config, seed=seed, temperature_moves=temperature_moves,
                          resign_threshold=resign_threshold, no_resign_frac=no_resign_frac)
    obs, pol, val = [], [], []
    counts = {"moves": 0, "resigned": 0, "no_resign_games": 0, "would_resign": 0, "false_resign": 0}

    def collect(rec) -> None:
        winner = rec.seat_a if rec.result > 0 else (1 - rec.seat_a if rec.result < 0 else -1)
        samples = agent.samples.pop(rec.index)
        obs.extend(s[0] for s in samples)
        pol.extend(s[1] for s in samples)
        val.extend(outcome_targets(rec, [(s[2], s[3]) for s in samples], config.value_scale))
        counts["moves"] += rec.num_moves
        counts["resigned"] += rec.resigned is not None
        if agent.resign_threshold is not None and not agent.may_resign(rec.index):
            counts["no_resign_games"] += 1
            for seat in agent.would_resign.pop(rec.index, set()):
                counts["would_resign"] += 1
                counts["false_resign"] += winner < 0 or seat == winner  # it would not have lost
        agent.kept.pop(rec.index, None)

    play_match(game, agent, agent, num_games=num_games, seed=seed, max_parallel=parallel, on_game=collect)
    return SelfPlayData(obs=np.stack(obs).astype(np.float32), policy=np.stack(pol).astype(np.float32),
                        value=np.asarray(val, np.float32), games=num_games, **counts)
