"""Gumbel AlphaZero root search with sequential halving (Danihelka et al., "Policy improvement by planning with
Gumbel", ICLR 2022; the algorithm of mctx's ``gumbel_muzero_policy``) over the array tree of
``zeroleague.agents.alphazero.tree``, for perfect-information games (Go). Policy improvement with very few
simulations (8-32), so self-play can afford many more games per CPU hour than PUCT at 64-800 simulations.

At the root of each game b (with ``n_b`` simulations; ``m = min(num_considered, legal actions)``):

1. Gumbel-top-k: draw ``g(a) ~ Gumbel(0, 1)`` for every legal action (``gumbel_scale`` times; 0 = evaluation
   mode), keep the ``m`` actions with the largest ``g(a) + logits(a)`` (logits = log of the network's prior).
2. Sequential halving: the simulation budget follows mctx's schedule (``halving_schedule(m, n)``: phases of
   ``max(1, floor(n / (ceil(log2 m) * k)))`` visits to each of the k remaining actions, k halved after each
   phase down to 2, the sequence cut at exactly n simulations). Simulation ``i`` visits the best-scored
   considered action among those whose visit count equals ``schedule[i]``, scored
   ``g(a) + logits(a) + sigma(completed Q(a))``. A block of equal schedule entries (one visit to each of k
   actions) touches k different root children, whose subtrees are disjoint and whose scores do not change
   before their own visit, so the block runs as ONE batched wave (one descent per action, no virtual loss, no
   collision) and gives exactly the sequential algorithm's visits.
3. Below the root, descents choose by PUCT (``tree._puct``, the same FPU settings as ``puct.PUCTSearch``); the
   new leaves of all games are evaluated in one evaluator call per wave.
4. Results: the improved policy ``softmax(logits + sigma(completed Q))`` over the legal actions (the policy
   target); the action: among the most-visited considered actions the one with the largest
   ``g + logits + sigma(completed Q)`` (``SearchResult`` fields as in ``tree``; ``policy`` is the improved
   policy, not the visit distribution).

Completed Q (mctx ``qtransform_completed_by_mix_value``): a visited action's Q is its mean value (the root
player's perspective); an unvisited action gets the mixed value ``(v_net + N * sum_visited p(a) Q(a) /
sum_visited p(a)) / (1 + N)`` (``v_net``: the network's value of the root; N: root visits). The completed Qs are
rescaled to [0, 1] by their min and max over the legal actions, then ``sigma(q) = (c_visit + max_a N(a)) *
c_scale * q`` (mctx defaults c_visit = 50, c_scale = 0.1).

A game with a single legal action gets one simulation (its move is forced; the schedule would otherwise spend
n one-descent waves on it). There is no subtree reuse (every search starts with a fresh tree) and no Dirichlet
noise (the Gumbel draws are the exploration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np

from zeroleague.agents.alphazero.tree import (
    _COLLISION,
    _NEW,
    _TERMINAL,
    Evaluate,
    MCTSConfig,
    SearchBase,
    SearchResult,
    Tree,
    _Paths,
    _puct,
)
from zeroleague.envs.core import BatchedGame


@dataclass(frozen=True)
class GumbelConfig:
    """Gumbel root-search settings: ``num_considered`` (m, the actions sampled without replacement at the root),
    ``c_visit``/``c_scale`` (the sigma transform of completed Q values), ``gumbel_scale`` (1 = self-play, 0 =
    deterministic evaluation)."""

    num_considered: int = 16
    c_visit: float = 50.0
    c_scale: float = 0.1
    gumbel_scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.num_considered, int) or self.num_considered < 1:
            raise ValueError(f"num_considered must be an int >= 1, got {self.num_considered!r}")
        if not self.c_visit >= 0:
            raise ValueError(f"c_visit must be >= 0, got {self.c_visit!r}")
        if not self.c_scale > 0:
            raise ValueError(f"c_scale must be > 0, got {self.c_scale!r}")
        if not self.gumbel_scale >= 0:
            raise ValueError(f"gumbel_scale must be >= 0, got {self.gumbel_scale!r}")


@lru_cache(maxsize=4096)
def halving_schedule(num_considered: int, num_simulations: int) -> tuple[int, ...]:
    """The sequential-halving visit schedule (mctx ``get_sequence_of_considered_visits``): entry i is the visit
    count of the action that simulation i visits, exactly ``num_simulations`` entries."""
    if num_considered < 1 or num_simulations < 1:
        raise ValueError(f"need num_considered >= 1 and num_simulations >= 1, got {num_considered}, "
                         f"{num_simulations}")
    if num_considered == 1:
        return tuple(range(num_simulations))
    log2max = int(math.ceil(math.log2(num_considered)))
    seq: list[int] = []
    visits = [0] * num_considered
    k = num_considered
    while len(seq) < num_simulations:
        extra = max(1, int(num_simulations / (log2max * k)))
        for _ in range(extra):
            seq.extend(visits[:k])
            for i in range(k):
                visits[i] += 1
        k = max(2, k // 2)
    return tuple(seq[:num_simulations])


@lru_cache(maxsize=4096)
def halving_blocks(num_considered: int, num_simulations: int) -> tuple[tuple[int, int], ...]:
    """``halving_schedule`` as blocks ``(v, k)``: k consecutive simulations that each visit a different action
    with v visits (one batched wave each, module docstring)."""
    out: list[tuple[int, int]] = []
    for v in halving_schedule(num_considered, num_simulations):
        if out and out[-1][0] == v:
            out[-1] = (v, out[-1][1] + 1)
        else:
            out.append((v, 1))
    return tuple(out)


def completed_q(q: np.ndarray, visits: np.ndarray, prior: np.ndarray, legal: np.ndarray,
                raw_value: float | np.ndarray) -> np.ndarray:
    """Completed Q values of roots (module docstring; arrays [A] for one root or [B, A] for B): ``q`` the mean
    values of the visited actions (any value where unvisited), ``visits`` the root visit counts, ``prior`` the
    network's priors, ``legal`` the legal mask, ``raw_value`` the network's value of the root. Returns float64
    of q's shape (illegal actions: the mixed value too; callers mask them)."""
    visits = np.asarray(visits, np.float64)
    q = np.asarray(q, np.float64)
    seen = visits > 0
    total = visits.sum(axis=-1)
    p = np.maximum(np.asarray(prior, np.float64), np.finfo(np.float64).tiny)
    sum_p = np.where(seen, p, 0.0).sum(axis=-1)
    weighted = np.where(seen, p * q, 0.0).sum(axis=-1) / np.where(sum_p > 0, sum_p, 1.0)
    mixed = (np.asarray(raw_value, np.float64) + total * weighted) / (total + 1.0)
    return np.where(seen, q, np.expand_dims(mixed, -1))


def sigma(cq: np.ndarray, legal: np.ndarray, max_visits: float | np.ndarray, cfg: GumbelConfig) -> np.ndarray:
    """``(c_visit + max_visits) * c_scale * (cq - min) / max(max - min, 1e-8)`` with min/max over the legal
    actions (of each row, for [B, A] arrays)."""
    lo = np.where(legal, cq, np.inf).min(axis=-1, keepdims=True)
    hi = np.where(legal, cq, -np.inf).max(axis=-1, keepdims=True)
    scale = (cfg.c_visit + np.expand_dims(np.asarray(max_visits, np.float64), -1)) * cfg.c_scale
    return scale * (cq - lo) / np.maximum(hi - lo, 1e-8)


def improved_policy(logits: np.ndarray, sig: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """``softmax(logits + sigma)`` over the legal actions (0 elsewhere; per row for [B, A]), float32."""
    z = np.where(legal, logits + sig, -np.inf)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)


class GumbelSearch(SearchBase):
    """Batched Gumbel root search for a perfect-information ``game`` (module docstring). ``config``: the
    ``MCTSConfig`` (``num_simulations`` default budget, ``c_puct``/``fpu`` below the root; its noise and
    ``leaves_per_wave`` are not used); ``gumbel``: the ``GumbelConfig``."""

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig | None = None,
                 gumbel: GumbelConfig | None = None):
        super().__init__(game, evaluate, config)
        if not game.perfect_information:
            raise ValueError(f"GumbelSearch searches perfect-information games; {game.env_id!r} has hidden "
                             "information")
        self.gumbel = gumbel or GumbelConfig()
        self.last_actions: np.ndarray | None = None

    def search(self, root_states, rng: np.random.Generator | None = None, self_play: bool = False,
               reuse=None, players=None, num_simulations: np.ndarray | int | None = None,
               greedy: np.ndarray | None = None) -> SearchResult:
        """Search from the B ``root_states`` (none terminal) with ``num_simulations`` per game (int or int[B];
        default ``config.num_simulations``). Gumbel draws (``gumbel_scale > 0``) need ``rng``. ``greedy``
        (bool[B]): games whose final action ignores the Gumbel draws (the considered set still uses them).
        ``self_play``, ``reuse`` and ``players`` are accepted for the drivers' common signature and ignored
        (no Dirichlet noise, no reuse). The chosen actions are ``self.last_actions`` (int64[B]); the
        result's ``policy`` is the improved policy."""
        g, cfg, gcfg = self.game, self.config, self.gumbel
        nb_games = self._terminal_check(root_states)
        sims = np.broadcast_to(np.asarray(cfg.num_simulations if num_simulations is None else num_simulations,
                                          np.int64), (nb_games,)).copy()
        if (sims < 1).any():
            raise ValueError(f"num_simulations must be >= 1 per game, got {sims.tolist()}")
        if gcfg.gumbel_scale > 0 and rng is None:
            raise ValueError("Gumbel search with gumbel_scale > 0 needs an rng")
        tree = Tree.empty(nb_games, int(sims.max()) + 2, g.num_actions)
        self._vl, self._rm = 0, False
        tree.num_nodes[:] = 1
        zeros = np.zeros(nb_games, np.int32)
        self._expand(tree, nb_games, _Paths.at(zeros), np.arange(nb_games, dtype=np.int32), zeros,
                     self._evaluate_states(root_states, g.returns(root_states)), np.zeros(nb_games, np.int64))
        legal = tree.child[:, 0] >= 0
        n_legal = legal.sum(axis=1)
        sims[n_legal == 1] = 1
        prior = tree.prior[:, 0].astype(np.float64)
        logits = np.where(legal, np.log(np.maximum(prior, 1e-30)), -np.inf)
        raw = tree.node_value[:, 0].astype(np.float64)
        gum = np.zeros(legal.shape)
        if gcfg.gumbel_scale > 0:
            gum = gcfg.gumbel_scale * rng.gumbel(size=legal.shape)
        base = np.where(legal, gum + logits, -np.inf)
        m = np.minimum(gcfg.num_considered, n_legal)
        num_actions = legal.shape[1]
        considered = np.argsort(np.argsort(-base, axis=1, kind="stable"), axis=1, kind="stable") < m[:, None]
        blocks = [halving_blocks(int(m[b]), int(sims[b])) for b in range(nb_games)]
        fpu_abs = cfg.fpu_mode == "absolute"
        root_returns = np.asarray(g.returns(root_states), dtype=np.float64)
        done = np.zeros(nb_games, np.int64)
        wave = 0
        while True:
            vk = np.array([bl[wave] if wave < len(bl) else (-1, 0) for bl in blocks], np.int64).reshape(-1, 2)
            if not (vk[:, 1] > 0).any():
                break
            wave += 1
            score = np.where(legal, base + self._sigma(tree, logits, raw, legal), -np.inf)
            score[~(considered & (tree.edge_n[:, 0] == vk[:, :1]))] = -np.inf
            order = np.argsort(-score, axis=1, kind="stable")
            take = (np.arange(num_actions)[None, :] < vk[:, 1:]) & np.isfinite(
                np.take_along_axis(score, order, axis=1))
            leaf_game = np.nonzero(take)[0].astype(np.int32)
            row_action = order[take].astype(np.int32)
            rows = len(leaf_game)
            if rows == 0:
                break
            path = _Paths(rows, tree.capacity, 0)
            leaf_kind = np.zeros(rows, np.int32)
            _descend(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n, tree.sum_w,
                     tree.to_play, tree.pending, tree.num_nodes, tree.avail, leaf_game, row_action, cfg.c_puct,
                     fpu_abs, cfg.fpu, path.nodes, path.actions, path.length, leaf_kind)
            new = np.flatnonzero(leaf_kind == _NEW)
            states = g.take(root_states, leaf_game[new]) if len(new) else None
            lens = path.length[new]
            for t in range(int(lens.max()) if len(new) else 0):
                g.step(states, np.where(t < lens, path.actions[new, t], -1).astype(np.int64))
            self._expand(tree, rows, path, leaf_game, leaf_kind,
                         self._leaves(states, root_returns[leaf_game[new]], rows, new), done)
        greedy = np.zeros(nb_games, bool) if greedy is None else np.asarray(greedy, bool)
        sig = self._sigma(tree, logits, raw, legal)
        policy = improved_policy(logits, sig, legal)
        visits = tree.edge_n[:, 0]
        score = np.where(legal, np.where(greedy[:, None], 0.0, gum) + logits + sig, -np.inf)
        top = considered & (visits == np.where(considered, visits, -1).max(axis=1, keepdims=True))
        score[~top] = -np.inf
        self.last_actions = np.argmax(score, axis=1).astype(np.int64)
        visits = tree.edge_n[:, 0].copy()
        root_value = ((tree.node_value[:, 0] + tree.sum_w[:, 0]) / (1 + tree.sum_n[:, 0])).astype(np.float32)
        return SearchResult(visits=visits, policy=policy, root_value=root_value, tree=tree)

    def _sigma(self, tree: Tree, logits: np.ndarray, raw: np.ndarray, legal: np.ndarray) -> np.ndarray:
        """sigma(completed Q) of every root, [B, A]."""
        visits = tree.edge_n[:, 0].astype(np.float64)
        q = tree.edge_w[:, 0] / np.maximum(visits, 1.0)
        cq = completed_q(q, visits, np.exp(logits), legal, raw)
        return sigma(cq, legal, visits.max(axis=1), self.gumbel)


@nb.njit(cache=True)
def _descend(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, num_nodes, avail,
             row_game, row_action, c_puct, fpu_absolute, fpu, path_nodes, path_actions, path_len, leaf_kind):
    """One descent per row r: from game ``row_game[r]``'s root through its action ``row_action[r]``, then by
    PUCT, allocating the new leaf (pending). No virtual loss: the rows of one game take different root
    actions, whose subtrees are disjoint."""
    no_world = np.ones(0, np.bool_)
    for r in range(len(row_game)):
        b = row_game[r]
        n = 0
        d = 0
        path_nodes[r, 0] = 0
        kind = _NEW
        while True:
            if to_play[b, n] < 0:
                kind = _TERMINAL
                break
            if d == 0:
                a = row_action[r]
            else:
                a = _puct(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, avail, no_world, b, n, c_puct,
                          fpu_absolute, fpu, False)
            path_actions[r, d] = a
            c = child[b, n, a]
            d += 1
            if c == 0:
                c = num_nodes[b]
                num_nodes[b] += 1
                child[b, n, a] = c
                pending[b, c] = True
                path_nodes[r, d] = c
                kind = _NEW
                break
            path_nodes[r, d] = c
            if pending[b, c]:
                kind = _COLLISION
                break
            n = c
        path_len[r] = d
        leaf_kind[r] = kind
