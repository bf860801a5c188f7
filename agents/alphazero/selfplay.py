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

Search (``search``): "puct" (``search.make_search``: PUCT with root Dirichlet noise, the visit distribution as
policy target) or "gumbel" (``agents.alphazero.gumbel.GumbelSearch``: Gumbel-top-k root sampling with
sequential halving, the improved policy from completed Q values as policy target; the move is the search's
Gumbel choice for a game's first ``temperature_moves`` decisions, its greedy choice afterwards; no subtree
reuse).

Playout-cap randomization (KataGo; ``full_search_prob < 1``): each decision is a full search
(``MCTSConfig.num_simulations``) with probability ``full_search_prob`` (drawn from the agent's stream), else a
fast search of ``fast_sims`` simulations (PUCT: without root noise). Every decision is a sample, but only
full-search samples are policy targets: ``SelfPlayData.policy_weight`` is 1 for them, 0 for fast ones (the
value target is used for all).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from zeroleague.agents.alphazero.gumbel import GumbelConfig, GumbelSearch
from zeroleague.agents.alphazero.search import make_search
from zeroleague.agents.alphazero.tree import Evaluate, MCTSConfig, SearchResult, Tree, choose_actions
from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch
from zeroleague.envs.core import BatchedGame


@dataclass
class SelfPlayData:
    """Training samples: ``obs`` float32[N, *obs_shape], ``policy`` float32[N, A] (visit distributions),
    ``value`` float32[N] (return from the sample's state on for the player to move, module docstring),
    ``policy_weight`` float32[N] (1: a full-search sample, a policy target; 0: a fast search's, value only), plus
    per-run counts (``moves``: environment steps of all the games)."""

    obs: np.ndarray
    policy: np.ndarray
    value: np.ndarray
    policy_weight: np.ndarray
    games: int
    moves: int
    resigned: int
    no_resign_games: int
    would_resign: int
    false_resign: int

    def save(self, path) -> None:
        np.savez_compressed(path, obs=self.obs, policy=self.policy, value=self.value,
                            policy_weight=self.policy_weight)


class SelfPlayAgent(BaseAgent):
    """Both seats of a self-play match (module docstring)."""

    needs_states = True

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig, *, seed: int,
                 temperature_moves: int = 15, resign_threshold: float | None = None,
                 no_resign_frac: float = 0.1, search: str = "puct", gumbel: GumbelConfig | None = None,
                 full_search_prob: float = 1.0, fast_sims: int = 8):
        if not 0.0 <= no_resign_frac <= 1.0:
            raise ValueError(f"no_resign_frac must be in [0, 1], got {no_resign_frac!r}")
        if search not in ("puct", "gumbel"):
            raise ValueError(f"search must be 'puct' or 'gumbel', got {search!r}")
        if not 0.0 < full_search_prob <= 1.0:
            raise ValueError(f"full_search_prob must be in (0, 1], got {full_search_prob!r}")
        if not isinstance(fast_sims, int) or fast_sims < 1:
            raise ValueError(f"fast_sims must be an int >= 1, got {fast_sims!r}")
        self.game, self.config, self.name = game, config, "selfplay"
        self.search, self.full_search_prob, self.fast_sims = search, full_search_prob, fast_sims
        if search == "gumbel":
            self.mcts = GumbelSearch(game, evaluate, config, gumbel)
        else:
            self.mcts = make_search(game, evaluate, config)
            fast = replace(config, num_simulations=fast_sims, noise_frac=0.0)
            self.fast_mcts = make_search(game, evaluate, fast) if full_search_prob < 1 else None
        self.rng = np.random.default_rng(seed)
        self.seed, self.temperature_moves = seed, temperature_moves
        self.resign_threshold, self.no_resign_frac = resign_threshold, no_resign_frac
        # per game: (observation, policy, player to move, its return so far, policy weight) of each decision
        self.samples: dict[int, list[tuple[np.ndarray, np.ndarray, int, float, float]]] = {}
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

    def _search(self, batch: DecisionBatch, full: np.ndarray, moves: np.ndarray) -> tuple[SearchResult, np.ndarray]:
        """(search result, actions to play) of the batch, full searches where ``full``."""
        ids = [int(g) for g in np.asarray(batch.game_ids)]
        if self.search == "gumbel":
            sims = np.where(full, self.config.num_simulations, self.fast_sims)
            result = self.mcts.search(batch.states, self.rng, num_simulations=sims,
                                      greedy=moves >= self.temperature_moves)
            return result, self.mcts.last_actions.copy()
        reuse = [self.kept.pop(g, None) for g in ids]
        if full.all():
            result = self.mcts.search(batch.states, self.rng, self_play=True, reuse=reuse, players=batch.players)
        else:
            result = _merge_results([
                (rows, srch.search(self.game.take(batch.states, rows), self.rng, self_play=True,
                                   reuse=[reuse[r] for r in rows], players=batch.players[rows]))
                for rows, srch in ((np.flatnonzero(full), self.mcts), (np.flatnonzero(~full), self.fast_mcts))
                if len(rows)], len(ids))
        greedy = choose_actions(result.visits, 0.0)
        sampled = choose_actions(result.visits, self.config.temperature, self.rng) \
            if self.config.temperature > 0 else greedy
        return result, np.where(moves < self.temperature_moves, sampled, greedy)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        ids = [int(g) for g in np.asarray(batch.game_ids)]
        full = np.ones(len(ids), bool)
        if self.full_search_prob < 1:
            full = self.rng.random(len(ids)) < self.full_search_prob
        moves = np.array([len(self.samples[g]) for g in ids])
        result, actions = self._search(batch, full, moves)
        obs = batch.observations
        so_far = np.asarray(self.game.returns(batch.states), dtype=np.float64)
        for row, g in enumerate(ids):
            seat = int(batch.players[row])
            self.samples[g].append((obs[row].copy(), result.policy[row], seat, float(so_far[row, seat]),
                                    float(full[row])))
            losing = self.resign_threshold is not None and result.root_value[row] < -self.resign_threshold
            if losing and self.may_resign(g):
                actions[row] = RESIGN
                continue
            if losing:
                self.would_resign[g].add(int(batch.players[row]))
            if self.search == "gumbel":
                continue
            sub = result.tree.subtree(row, int(actions[row]))
            if sub is not None:
                self.kept[g] = sub
        return actions


class _RowTrees:
    """The trees of a batch searched in parts: ``subtree(row, a)`` looks the row up in its part's tree."""

    def __init__(self, where: list[tuple[Tree, int]]):
        self.where = where

    def subtree(self, row: int, action: int) -> Tree | None:
        tree, b = self.where[row]
        return tree.subtree(b, action)


def _merge_results(parts: list[tuple[np.ndarray, SearchResult]], n: int) -> SearchResult:
    """One ``SearchResult`` of a batch of ``n`` rows searched in parts ``(rows, result)``; its ``tree`` only
    serves ``subtree``."""
    first = parts[0][1]
    visits = np.zeros((n, *first.visits.shape[1:]), first.visits.dtype)
    policy = np.zeros((n, *first.policy.shape[1:]), np.float32)
    root_value = np.zeros(n, np.float32)
    where: list[tuple[Tree, int]] = [None] * n  # type: ignore[list-item]
    for rows, res in parts:
        visits[rows], policy[rows], root_value[rows] = res.visits, res.policy, res.root_value
        for b, r in enumerate(rows.tolist()):
            where[r] = (res.tree, b)
    return SearchResult(visits=visits, policy=policy, root_value=root_value, tree=_RowTrees(where))  # type: ignore[arg-type]


def outcome_targets(rec, decisions: list[tuple[int, float]], value_scale: float) -> list[float]:
    """Value targets of a finished game's decisions ``(seat, that seat's return before the decision)``
    (``rec``: its ``leagues.harness.GameRecord``): (final return - return before) / ``value_scale``, clipped to
    [-1, 1]; after a resignation -1 for the resigner's decisions, +1 for the other seat's."""
    if rec.resigned is not None:
        return [-1.0 if seat == rec.resigned else 1.0 for seat, _ in decisions]
    return [float(np.clip((rec.returns[seat] - before) / value_scale, -1.0, 1.0)) for seat, before in decisions]


def self_play(game: BatchedGame, evaluate: Evaluate, config: MCTSConfig, num_games: int, seed: int, *,
              parallel: int = 64, temperature_moves: int = 15, resign_threshold: float | None = None,
              no_resign_frac: float = 0.1, search: str = "puct", gumbel: GumbelConfig | None = None,
              full_search_prob: float = 1.0, fast_sims: int = 8) -> SelfPlayData:
    """Play ``num_games`` self-play games (``parallel`` at once) through the harness and return their
    samples (``search``, ``gumbel``, ``full_search_prob``, ``fast_sims``: ``SelfPlayAgent``)."""
    from zeroleague.leagues.harness import play_match

    agent = SelfPlayAgent(game, evaluate, config, seed=seed, temperature_moves=temperature_moves,
                          resign_threshold=resign_threshold, no_resign_frac=no_resign_frac, search=search,
                          gumbel=gumbel, full_search_prob=full_search_prob, fast_sims=fast_sims)
    obs, pol, val, wgt = [], [], [], []
    counts = {"moves": 0, "resigned": 0, "no_resign_games": 0, "would_resign": 0, "false_resign": 0}

    def collect(rec) -> None:
        winner = rec.seat_a if rec.result > 0 else (1 - rec.seat_a if rec.result < 0 else -1)
        samples = agent.samples.pop(rec.index)
        obs.extend(s[0] for s in samples)
        pol.extend(s[1] for s in samples)
        wgt.extend(s[4] for s in samples)
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
                        value=np.asarray(val, np.float32), policy_weight=np.asarray(wgt, np.float32),
                        games=num_games, **counts)
