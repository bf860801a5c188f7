"""The perfect-information driver of the batched AlphaZero search (Go, and the toy games of the tests): PUCT
descents in waves over B games, the leaves rebuilt by replaying their paths, one evaluator call per wave.
Tree layout, sign and value conventions: ``zeroleague.agents.alphazero.tree``.

One simulation wave: for every game, ``leaves_per_wave`` descents from the root by PUCT,
    ``score(a) = Q(s, a) + c_puct · P(s, a) · √N(s) / (1 + N(s, a))``, each applying a virtual loss of
    ``virtual_loss`` lost visits to its path so the next descent of the same wave spreads out (no virtual loss
    when ``leaves_per_wave == 1``, so that search is exactly the sequential algorithm). First-play urgency: an
    unvisited action has ``Q = Q(s) - fpu`` (``fpu_mode="reduction"``, Leela-style) or ``Q = fpu``
    (``"absolute"``). A descent that reaches a node allocated earlier in the same wave (a *collision*) is
    discarded (its virtual loss is undone, it is not counted). Leaf states are rebuilt exactly,
    engine-agnostically: a copy of each leaf's root state replays the path's actions with batched
    ``game.step`` calls (action ``-1`` for rows whose path is already complete), one call per depth level. All
    new non-terminal leaves of all games are evaluated in ONE evaluator call; terminal leaves take
    ``game.returns``. Selection, expansion bookkeeping and backup are numba functions over the arrays. Ties in
    PUCT scores go to the lowest action index, so search is deterministic given the evaluator and the noise.

Subtree reuse: ``SearchResult.tree.subtree(b, a)`` is game b's subtree below its root action ``a``; passed back
as ``reuse[b]`` it is searched on (its visits kept, ``num_simulations`` more added).
"""

from __future__ import annotations

from dataclasses import fields

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


class PUCTSearch(SearchBase):
    """Batched PUCT search for a perfect-information ``game`` (2 players, zero-sum) with leaf evaluator
    ``evaluate`` (``tree.Evaluate``). See the module docstring for the algorithm."""

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig | None = None):
        super().__init__(game, evaluate, config)
        if not game.perfect_information:
            raise ValueError(f"PUCTSearch searches perfect-information games; {game.env_id!r} has hidden "
                             "information")

    def search(self, root_states, rng: np.random.Generator | None = None, self_play: bool = False,
               reuse: list[Tree | None] | None = None, players: np.ndarray | None = None) -> SearchResult:
        """Search from each of the B ``root_states`` (none terminal). ``reuse[b]``: a one-game subtree whose
        root IS ``root_states`` game b (from ``SearchResult.tree.subtree``), or None for a fresh tree. ``rng``
        is needed in self-play mode (root Dirichlet noise). ``players`` is ignored (the player to move is in
        the state)."""
        g, cfg = self.game, self.config
        nb_games = self._terminal_check(root_states)
        if reuse is None:
            reuse = [None] * nb_games
        if len(reuse) != nb_games:
            raise ValueError(f"reuse has {len(reuse)} entries for {nb_games} root states")
        sims = cfg.num_simulations
        player = np.asarray(g.current_player(root_states))
        for b, t in enumerate(reuse):
            if t is not None and (t.child.shape[2] != g.num_actions or t.to_play[0, 0] != player[b]):
                raise ValueError(f"reuse[{b}] does not fit root state {b} (its root has player "
                                 f"{t.to_play[0, 0]} and {t.child.shape[2]} actions; the state has player "
                                 f"{player[b]} and {g.num_actions})")
        sizes = np.array([0 if t is None else int(t.num_nodes[0]) for t in reuse])
        tree = Tree.empty(nb_games, int(sizes.max()) + sims + 1, g.num_actions)
        for b, t in enumerate(reuse):
            if t is not None:
                k = sizes[b]
                for f in fields(Tree):
                    if f.name != "num_nodes":
                        getattr(tree, f.name)[b, :k] = getattr(t, f.name)[0, :k]
                tree.num_nodes[b] = k
        self._vl = cfg.virtual_loss if cfg.leaves_per_wave > 1 else 0
        self._rm = False
        fresh = np.flatnonzero(sizes == 0)
        if len(fresh):  # evaluate and expand fresh roots
            sub = g.take(root_states, fresh) if len(fresh) < nb_games else root_states
            tree.num_nodes[fresh] = 1
            zeros = np.zeros(len(fresh), np.int32)
            self._expand(tree, len(fresh), _Paths.at(zeros), fresh.astype(np.int32), zeros,
                         self._evaluate_states(sub, g.returns(sub)), np.zeros(nb_games, np.int64))
        root = np.zeros(nb_games, np.int64)
        clean_root = self._add_root_noise(tree, root, rng) if self_play and cfg.noise_frac > 0 else None
        self._run(tree, root_states, sims)
        if clean_root is not None:
            tree.prior[np.arange(nb_games), root] = clean_root
        return self._result(tree, root)

    def _run(self, tree: Tree, root_states, sims: int) -> None:
        """Simulation waves until every game has ``sims`` more completed simulations. Per wave, whatever the
        number of descents: one compiled call selects them all (and lays out the new leaves' replay actions),
        one ``take`` + one ``step`` per depth level rebuild the new leaves, one evaluator call, one compiled
        call expands and backs up; no Python work per simulation."""
        g, cfg = self.game, self.config
        nb_games = len(tree.num_nodes)
        width = nb_games * cfg.leaves_per_wave
        path = _Paths(width, tree.capacity, 0)
        leaf_game, leaf_kind = np.zeros(width, np.int32), np.zeros(width, np.int32)
        leaf_slot = np.full(width, -1, np.int32)  # descent -> its index among the wave's new leaves (-1: none)
        new_game = np.zeros(width, np.int64)  # per new leaf: its game
        replay = np.full((min(16, tree.capacity), width), -1, np.int64)  # [depth, new leaf], grown on demand
        done = np.zeros(nb_games, np.int64)
        fpu_abs = cfg.fpu_mode == "absolute"
        root_returns = np.asarray(g.returns(root_states), dtype=np.float64)
        while True:
            todo = sims - done
            if not (todo > 0).any():
                break
            rows, n_new, depth = _select(
                tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n, tree.sum_w,
                tree.to_play, tree.pending, tree.num_nodes, tree.avail, todo, cfg.leaves_per_wave, cfg.c_puct,
                fpu_abs, cfg.fpu, self._vl, path.nodes, path.actions, path.length, leaf_game, leaf_kind,
                leaf_slot, new_game)
            if n_new:
                if depth > len(replay):
                    replay = np.full((2 * depth, width), -1, np.int64)
                _fill_replay(path.actions, path.length, leaf_slot, rows, depth, replay)
                games = new_game[:n_new]
                states = g.take(root_states, games)
                for t in range(depth):
                    g.step(states, replay[t, :n_new])
                player, value, prior, legal = self._evaluate_new(states, root_returns[games])
            else:
                player, value = np.zeros(0, np.int8), np.zeros(0, np.float32)
                prior, legal = np.zeros((0, g.num_actions), np.float32), np.zeros((0, g.num_actions), bool)
            _expand_backup_new(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                               tree.sum_w, tree.to_play, tree.pending, rows, path.nodes, path.actions,
                               path.length, leaf_game, leaf_kind, leaf_slot, player, value, prior, legal, self._vl,
                               done)


    def _evaluate_new(self, states, base: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(player, value, prior, legal)`` of the wave's new leaves: ``tree.SearchBase._evaluate_states``,
        with a shorter path for the common wave (no terminal leaf, no rollouts) that computes the same numbers
        without its scatter arrays."""
        g = self.game
        if self.config.rollouts or np.asarray(g.terminal(states)).any():
            return self._evaluate_states(states, base)[:4]
        player = np.asarray(g.current_player(states)).astype(np.int8)
        legal = np.asarray(g.legal_mask(states), dtype=bool)
        prior, value = self._call_evaluator(g.observe(states, player.astype(np.int64)), legal)
        return player, value + self._gained(states, base, player), prior, legal


# ----------------------------------------------------------------------------------------------------------
# Compiled hot loop.


@nb.njit(cache=True)
def _select(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, num_nodes, avail, todo,
            leaves_per_wave, c_puct, fpu_absolute, fpu, vl, path_nodes, path_actions, path_len, leaf_game,
            leaf_kind, leaf_slot, new_game):
    """Descend ``min(leaves_per_wave, todo[b])`` times in every game b; allocate the new leaf nodes (pending);
    apply virtual loss ``vl`` to each path. New leaf k (in descent order) of descent r gets ``leaf_slot[r] =
    k`` (-1 for the other descents) and its game ``new_game[k]``. Returns ``(descents, new leaves, deepest new
    leaf's depth)``."""
    r = 0
    k = 0
    depth = 0
    no_world = np.ones(0, np.bool_)
    for b in range(child.shape[0]):
        for _ in range(min(leaves_per_wave, todo[b])):
            n = 0
            d = 0
            path_nodes[r, 0] = 0
            kind = _NEW
            while True:
                if to_play[b, n] < 0:
                    kind = _TERMINAL
                    break
                a = _puct(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, avail, no_world, b, n,
                          c_puct, fpu_absolute, fpu, False)
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
            leaf_game[r] = b
            leaf_kind[r] = kind
            leaf_slot[r] = -1
            if kind == _NEW:
                leaf_slot[r] = k
                new_game[k] = b
                k += 1
                depth = max(depth, d)
            if vl > 0:
                for t in range(d):
                    edge_n[b, path_nodes[r, t], path_actions[r, t]] += vl
                    edge_w[b, path_nodes[r, t], path_actions[r, t]] -= vl
                    sum_n[b, path_nodes[r, t]] += vl
                    sum_w[b, path_nodes[r, t]] -= vl
            r += 1
    return r, k, depth


@nb.njit(cache=True)
def _fill_replay(path_actions, path_len, leaf_slot, rows, depth, replay):
    """``replay[t, k]``: the action at depth t < ``depth`` of new leaf k's path, -1 past its length."""
    for r in range(rows):
        k = leaf_slot[r]
        if k >= 0:
            for t in range(depth):
                replay[t, k] = path_actions[r, t] if t < path_len[r] else -1


@nb.njit(cache=True)
def _expand_backup_new(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, rows,
                       path_nodes, path_actions, path_len, leaf_game, leaf_kind, leaf_slot, new_to_play, new_value,
                       new_prior, new_legal, vl, done):
    """``tree._expand_backup`` for the perfect-information driver, with the new leaves' evaluations indexed by
    ``leaf_slot`` (one row per new leaf, in descent order) instead of laid out per descent: the same writes and
    the same backups in the same order (so the same floating-point sums)."""
    num_actions = child.shape[2]
    for r in range(rows):
        b = leaf_game[r]
        d = path_len[r]
        leaf = path_nodes[r, d]
        kind = leaf_kind[r]
        if kind == _NEW:
            j = leaf_slot[r]
            to_play[b, leaf] = new_to_play[j]
            node_value[b, leaf] = new_value[j]
            pending[b, leaf] = False
            # priors restricted to the legal actions and renormalised (uniform over them if that sums to 0)
            total = 0.0
            count = 0
            for a in range(num_actions):
                if new_legal[j, a]:
                    total += max(new_prior[j, a], 0.0)
                    count += 1
            for a in range(num_actions):
                if new_legal[j, a]:
                    child[b, leaf, a] = 0
                    prior[b, leaf, a] = max(new_prior[j, a], 0.0) / total if total > 0 else 1.0 / count
                else:
                    child[b, leaf, a] = -1
                    prior[b, leaf, a] = 0.0
        if vl > 0:
            for t in range(d):
                n = path_nodes[r, t]
                a = path_actions[r, t]
                edge_n[b, n, a] -= vl
                edge_w[b, n, a] += vl
                sum_n[b, n] -= vl
                sum_w[b, n] += vl
        if kind == _COLLISION:
            continue
        v = node_value[b, leaf]
        persp = max(to_play[b, leaf], 0)
        for t in range(d):
            n = path_nodes[r, t]
            a = path_actions[r, t]
            val = v if to_play[b, n] == persp else -v
            edge_n[b, n, a] += 1
            edge_w[b, n, a] += val
            sum_n[b, n] += 1
            sum_w[b, n] += val
        done[b] += 1
