"""Batched PUCT Monte-Carlo tree search (AlphaZero) over any 2-player zero-sum ``envs.core.BatchedGame``.

Sign convention (the one rule every part of the search follows)
    A value is always from the perspective of the player to move at the node it belongs to. The evaluator
    returns ``v`` for the player to move at the leaf; ``edge_w[b, n, a]`` sums the values of the simulations
    that went through edge ``(n, a)`` from the perspective of ``to_play[b, n]`` (the player choosing ``a``).
    Backup converts a leaf value to each ancestor's chooser by the stored players: ``+v`` where the ancestor's
    player to move is the leaf's, ``-v`` otherwise — so a player who moves twice in a row is handled, not just
    strict alternation. A terminal node has no player to move (``to_play = -1``); its value is seat 0's
    ``game.returns`` (exactly, the network is never asked), i.e. a terminal node's perspective is seat 0.

Trees (``Tree``) are preallocated arrays, batched over B games, ``M`` nodes per game, ``A`` actions:
    ``child[B, M, A]`` int32: ``-1`` illegal action, ``0`` legal but not expanded (node 0 is the root and
    never a child), ``> 0`` the child's node index; ``edge_n[B, M, A]`` int32 visit counts; ``edge_w[B, M,
    A]`` float32 value sums (chooser's perspective); ``prior[B, M, A]`` float32 (0 on illegal actions, sums to
    1 over legal); ``node_value[B, M]`` float32 the node's own evaluation (network value, or the terminal
    value); ``to_play[B, M]`` int8; ``pending[B, M]`` bool (allocated this wave, not yet evaluated);
    ``num_nodes[B]``. A node's visit count is ``N(s) = 1 + sum_a edge_n[s, a]`` (its own evaluation counts as
    one visit) and its mean value ``Q(s) = (node_value[s] + sum_a edge_w[s, a]) / N(s)``; the two edge sums
    are cached per node in ``sum_n[B, M]``/``sum_w[B, M]`` (updated with the edges, so selection need not sum
    over A). The invariant ``edge_n[p, a] == N(child)`` (and ``edge_w[p, a] == ±(node_value + sum edge_w)``
    of the child) holds after every search (``check_tree`` asserts it and the caches).

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

Self-play mode adds Dirichlet noise to the root priors (``(1 - noise_frac) P + noise_frac Dir(alpha)`` over
the legal actions; the stored priors stay clean so a reused subtree carries no stale noise) and
``choose_actions`` samples with ``temperature``; evaluation mode plays the most-visited move. A
``SearchResult`` gives the root visit counts (the soft policy targets), the root values and per-game subtrees
for reuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numba as nb
import numpy as np

from envs.core import BatchedGame

Evaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``evaluate(obs [R, *obs_shape], masks bool[R, A]) -> (priors [R, A], values [R])``; values in [-1, 1] from
the perspective of the player to move (whose observation ``obs`` is)."""

# Kinds of a descent's end.
_NEW, _TERMINAL, _COLLISION = 0, 1, 2
# Kinds of a node (``Tree.kind``).
ALT, JOINT, SEAT1, PAIR = 0, 1, 2, 3


@dataclass(frozen=True)
class MCTSConfig:
    """Search settings. ``num_simulations``: completed simulations per search and game (on top of a reused
    subtree's visits). ``fpu_mode``: "reduction" (unvisited ``Q = Q(s) - fpu``) or "absolute" (``Q = fpu``).
    ``dirichlet_alpha``/``noise_frac``: root noise, self-play only. ``temperature``: self-play move sampling
    (visits^(1/T); 0 = most visited). ``leaves_per_wave``: descents per game per evaluator call;
    ``virtual_loss``: lost visits added to a pending path when ``leaves_per_wave > 1``."""

    num_simulations: int = 200
    c_puct: float = 1.25
    fpu_mode: str = "reduction"
    fpu: float = 0.0
    dirichlet_alpha: float = 0.3
    noise_frac: float = 0.25
    temperature: float = 1.0
    leaves_per_wave: int = 1
    virtual_loss: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.num_simulations, int) or self.num_simulations < 1:
            raise ValueError(f"num_simulations must be an int >= 1, got {self.num_simulations!r}")
        if not self.c_puct >= 0:
            raise ValueError(f"c_puct must be >= 0, got {self.c_puct!r}")
        if self.fpu_mode not in ("reduction", "absolute"):
            raise ValueError(f"fpu_mode must be 'reduction' or 'absolute', got {self.fpu_mode!r}")
        if not self.dirichlet_alpha > 0:
            raise ValueError(f"dirichlet_alpha must be > 0, got {self.dirichlet_alpha!r}")
        if not 0.0 <= self.noise_frac <= 1.0:
            raise ValueError(f"noise_frac must be in [0, 1], got {self.noise_frac!r}")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if not isinstance(self.leaves_per_wave, int) or self.leaves_per_wave < 1:
            raise ValueError(f"leaves_per_wave must be an int >= 1, got {self.leaves_per_wave!r}")
        if not isinstance(self.virtual_loss, int) or self.virtual_loss < 0:
            raise ValueError(f"virtual_loss must be an int >= 0, got {self.virtual_loss!r}")


@dataclass
class Tree:
    """Search trees of B games as arrays (layout and invariants in the module docstring)."""

    child: np.ndarray
    edge_n: np.ndarray
    edge_w: np.ndarray
    prior: np.ndarray
    node_value: np.ndarray
    sum_n: np.ndarray
    sum_w: np.ndarray
    to_play: np.ndarray
    pending: np.ndarray
    num_nodes: np.ndarray
    kind: np.ndarray
    partner: np.ndarray
    avail: np.ndarray

    @staticmethod
    def empty(b: int, capacity: int, num_actions: int) -> Tree:
        # zeros (lazily paged): child 0 = "not expanded"; rows are written when a node is expanded.
        return Tree(
            child=np.zeros((b, capacity, num_actions), np.int32),
            edge_n=np.zeros((b, capacity, num_actions), np.int32),
            edge_w=np.zeros((b, capacity, num_actions), np.float32),
            prior=np.zeros((b, capacity, num_actions), np.float32),
            node_value=np.zeros((b, capacity), np.float32),
            sum_n=np.zeros((b, capacity), np.int32),
            sum_w=np.zeros((b, capacity), np.float32),
            to_play=np.full((b, capacity), -1, np.int8),
            pending=np.zeros((b, capacity), bool),
            num_nodes=np.zeros(b, np.int32),
            kind=np.zeros((b, capacity), np.int8),
            partner=np.full((b, capacity), -1, np.int32),
            avail=np.zeros((b, capacity, num_actions), np.int32),
        )

    @property
    def capacity(self) -> int:
        return self.child.shape[1]

    def node_visits(self, b: int) -> np.ndarray:
        """int[num_nodes]: N(s) of every node of game b (terminal nodes: the visits of their parent edge)."""
        k = int(self.num_nodes[b])
        n = 1 + self.edge_n[b, :k].sum(axis=1)
        n[self.kind[b, :k] == PAIR] -= 1  # a pair node has no evaluation of its own
        term = self.to_play[b, :k] < 0
        inbound = np.zeros(k, np.int64)
        mask = self.child[b, :k] > 0
        np.add.at(inbound, self.child[b, :k][mask], self.edge_n[b, :k][mask])
        n[term] = inbound[term]
        if k:
            n[0] = 1 + self.edge_n[b, 0].sum()
        return n

    def subtree(self, b: int, action: int) -> Tree | None:
        """Game b's subtree below the root's ``action`` as a compact one-game ``Tree`` (root renumbered 0), or
        None when that child was never expanded or is terminal."""
        if (self.kind[b, : self.num_nodes[b]] != ALT).any():
            raise ValueError("subtrees of simultaneous-move trees (joint nodes) are not reused")
        c = int(self.child[b, 0, action]) if self.num_nodes[b] > 0 else -1
        if c <= 0 or self.to_play[b, c] < 0 or self.pending[b, c]:
            return None
        order = np.empty(int(self.num_nodes[b]), np.int32)
        k = _subtree_order(self.child, b, c, order)
        order = order[:k]
        renum = np.zeros(self.capacity, np.int32)
        renum[order] = np.arange(k, dtype=np.int32)
        ch = self.child[b, order]
        ch = np.where(ch > 0, renum[np.maximum(ch, 0)], ch).astype(np.int32)
        return Tree(child=ch[None], edge_n=self.edge_n[b, order][None], edge_w=self.edge_w[b, order][None],
                    prior=self.prior[b, order][None], node_value=self.node_value[b, order][None],
                    sum_n=self.sum_n[b, order][None], sum_w=self.sum_w[b, order][None],
                    to_play=self.to_play[b, order][None], pending=np.zeros((1, k), bool),
                    num_nodes=np.array([k], np.int32), kind=self.kind[b, order][None],
                    partner=self.partner[b, order][None], avail=self.avail[b, order][None])


@dataclass
class SearchResult:
    """``visits`` int32[B, A] root visit counts; ``policy`` float32[B, A] their distribution (the soft policy
    target); ``root_value`` float32[B] the root's mean value for its player to move; ``tree`` the search trees
    (``tree.subtree(b, a)`` for reuse)."""

    visits: np.ndarray
    policy: np.ndarray
    root_value: np.ndarray
    tree: Tree


def uniform_evaluate(obs: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A network-free evaluator: uniform priors over the legal actions, value 0 (tests and benchmarks)."""
    m = np.asarray(masks, dtype=np.float32)
    return m / np.maximum(m.sum(axis=1, keepdims=True), 1.0), np.zeros(len(m), np.float32)


# ----------------------------------------------------------------------------------------------------------
# Compiled hot loops.


@nb.njit(cache=True)
def _subtree_order(child, b, root, order):
    order[0] = root
    k = 1
    i = 0
    while i < k:
        n = order[i]
        i += 1
        for a in range(child.shape[2]):
            c = child[b, n, a]
            if c > 0:
                order[k] = c
                k += 1
    return k


@nb.njit(cache=True, inline="always")
def _puct(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, avail, legal, b, n, c_puct, fpu_absolute, fpu,
          info):
    """The PUCT choice at (statistics row) n of game b (lowest index on ties); -1 if no legal action. ``info``
    False: the legal actions are the edges (``child >= 0``) and the exploration term uses √N(s). ``info``
    True (hidden information): only edges also legal in the current world (``legal``, bool[A]) compete, the
    exploration term uses √avail(s, a) and the priors are renormalised over those edges."""
    num_actions = child.shape[2]
    n_s = 1.0 + sum_n[b, n]
    q_unvisited = fpu if fpu_absolute else (node_value[b, n] + sum_w[b, n]) / n_s - fpu
    sq = np.sqrt(n_s)
    scale = 1.0
    if info:
        total = 0.0
        for a in range(num_actions):
            if legal[a] and child[b, n, a] >= 0:
                total += prior[b, n, a]
        scale = 1.0 / total if total > 0 else 1.0
    best = -np.inf
    best_a = -1
    for a in range(num_actions):
        if child[b, n, a] < 0 or (info and not legal[a]):
            continue
        k = edge_n[b, n, a]
        q = edge_w[b, n, a] / k if k > 0 else q_unvisited
        explore = np.sqrt(avail[b, n, a]) if info else sq
        u = q + c_puct * prior[b, n, a] * scale * explore / (1.0 + k)
        if u > best:
            best = u
            best_a = a
    return best_a


@nb.njit(cache=True)
def _select(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, num_nodes, avail, todo,
            leaves_per_wave, c_puct, fpu_absolute, fpu, vl, path_nodes, path_actions, path_len, leaf_game,
            leaf_kind):
    """Descend ``min(leaves_per_wave, todo[b])`` times in every game b; allocate the new leaf nodes (pending);
    apply virtual loss ``vl`` to each path. Returns the number of descents (rows) written."""
    r = 0
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
            leaf_game[r] = b
            leaf_kind[r] = kind
            if vl > 0:
                for t in range(d):
                    edge_n[b, path_nodes[r, t], path_actions[r, t]] += vl
                    edge_w[b, path_nodes[r, t], path_actions[r, t]] -= vl
                    sum_n[b, path_nodes[r, t]] += vl
                    sum_w[b, path_nodes[r, t]] -= vl
            r += 1
    return r


@nb.njit(cache=True)
def _expand_backup(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, rows,
                   path_nodes, path_actions, path_len, leaf_game, leaf_kind, new_to_play, new_value,
                   new_prior, new_legal, vl, done):
    """For each row r < rows: write a new leaf (``new_*[r]``: player to move, value from its perspective —
    seat 0's for terminal leaves —, priors, legal mask), undo the path's virtual loss and back the leaf value
    up; collisions only undo their virtual loss. ``done[b]`` counts the completed simulations."""
    num_actions = child.shape[2]
    for r in range(rows):
        b = leaf_game[r]
        d = path_len[r]
        leaf = path_nodes[r, d]
        kind = leaf_kind[r]
        if kind == _NEW:
            to_play[b, leaf] = new_to_play[r]
            node_value[b, leaf] = new_value[r]
            pending[b, leaf] = False
            # priors restricted to the legal actions and renormalised (uniform over them if that sums to 0)
            total = 0.0
            count = 0
            for a in range(num_actions):
                if new_legal[r, a]:
                    total += max(new_prior[r, a], 0.0)
                    count += 1
            for a in range(num_actions):
                if new_legal[r, a]:
                    child[b, leaf, a] = 0
                    prior[b, leaf, a] = max(new_prior[r, a], 0.0) / total if total > 0 else 1.0 / count
                else:
                    child[b, leaf, a] = -1
                    prior[b, leaf, a] = 0.0
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


# ----------------------------------------------------------------------------------------------------------


class MCTS:
    """Batched PUCT search for ``game`` (2 players, zero-sum, perfect information) with leaf evaluator
    ``evaluate`` (see ``Evaluate``). See the module docstring for the algorithm and the conventions."""

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig | None = None):
        if game.num_players != 2:
            raise ValueError(f"MCTS needs a 2-player zero-sum game, {game.env_id!r} has {game.num_players} "
                             "players")
        if not game.perfect_information:
            raise ValueError(f"MCTS searches perfect-information games; {game.env_id!r} has hidden "
                             "information")
        self.game, self.evaluate, self.config = game, evaluate, config or MCTSConfig()

    def _evaluate_states(self, states) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(player to move int8, value from its perspective / seat 0's if terminal, the evaluator's priors,
        legal mask) of states; one evaluator call for all non-terminal ones. ``_expand_backup`` restricts the
        priors to the legal actions and renormalises them."""
        g = self.game
        term = np.asarray(g.terminal(states), dtype=bool)
        player = np.asarray(g.current_player(states)).astype(np.int8)
        player[term] = -1
        legal = np.asarray(g.legal_mask(states), dtype=bool)
        legal[term] = False
        value = np.zeros(len(term), np.float32)
        prior = np.zeros(legal.shape, np.float32)
        if term.any():
            value[term] = np.asarray(g.returns(states), dtype=np.float32)[term, 0]
        live = np.flatnonzero(~term)
        if len(live):
            sub = g.take(states, live) if len(live) < len(term) else states
            pl = player[live].astype(np.int64)
            pri, val = self.evaluate(g.observe(sub, pl), legal[live])
            val = np.asarray(val, dtype=np.float32).reshape(-1)
            if val.shape != (len(live),) or not np.isfinite(val).all():
                raise ValueError(f"evaluator returned values of shape {val.shape} (expected ({len(live)},)) "
                                 "or non-finite values")
            value[live] = np.clip(val, -1.0, 1.0)
            pri = np.asarray(pri, dtype=np.float32)
            if pri.shape != (len(live), g.num_actions) or not np.isfinite(pri).all():
                raise ValueError(f"evaluator returned priors of shape {pri.shape} (expected "
                                 f"({len(live)}, {g.num_actions})) or non-finite priors")
            prior[live] = pri
        return player, value, prior, legal

    def search(self, root_states, rng: np.random.Generator | None = None, self_play: bool = False,
               reuse: list[Tree | None] | None = None) -> SearchResult:
        """Search from each of the B ``root_states`` (none terminal). ``reuse[b]``: a one-game subtree whose
        root IS ``root_states`` game b (from ``SearchResult.tree.subtree``), or None for a fresh tree. ``rng``
        is needed in self-play mode (root Dirichlet noise)."""
        g, cfg = self.game, self.config
        term = np.asarray(g.terminal(root_states), dtype=bool)
        if term.any():
            raise ValueError(f"cannot search from terminal states (games {np.flatnonzero(term).tolist()})")
        nb_games = len(term)
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
        fresh = np.flatnonzero(sizes == 0)
        if len(fresh):  # evaluate and expand fresh roots
            sub = g.take(root_states, fresh) if len(fresh) < nb_games else root_states
            player, value, prior, legal = self._evaluate_states(sub)
            tree.num_nodes[fresh] = 1
            rows = len(fresh)
            zeros = np.zeros(rows, np.int32)
            _expand_backup(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                           tree.sum_w, tree.to_play, tree.pending, rows, np.zeros((rows, 1), np.int32),
                           np.zeros((rows, 1), np.int32), zeros, fresh.astype(np.int32), zeros, player, value,
                           prior, legal, 0, np.zeros(nb_games, np.int64))
        clean_root = None
        if self_play and cfg.noise_frac > 0:
            if rng is None:
                raise ValueError("self-play search needs an rng for the root Dirichlet noise")
            clean_root = tree.prior[:, 0].copy()
            for b in range(nb_games):
                legal_b = np.flatnonzero(tree.child[b, 0] >= 0)
                noise = rng.dirichlet(np.full(len(legal_b), cfg.dirichlet_alpha))
                mixed = (1 - cfg.noise_frac) * clean_root[b, legal_b] + cfg.noise_frac * noise
                tree.prior[b, 0, legal_b] = mixed
        self._run(tree, root_states, sims)
        if clean_root is not None:
            tree.prior[:, 0] = clean_root
        visits = tree.edge_n[:, 0].copy()
        policy = (visits / np.maximum(visits.sum(axis=1, keepdims=True), 1)).astype(np.float32)
        root_value = (tree.node_value[:, 0] + tree.sum_w[:, 0]) / (1 + tree.sum_n[:, 0])
        root_value = root_value.astype(np.float32)
        return SearchResult(visits=visits, policy=policy, root_value=root_value, tree=tree)

    def _run(self, tree: Tree, root_states, sims: int) -> None:
        g, cfg = self.game, self.config
        nb_games = len(tree.num_nodes)
        lpw = cfg.leaves_per_wave
        vl = cfg.virtual_loss if lpw > 1 else 0
        rows_max = nb_games * lpw
        depth_max = tree.capacity
        path_nodes = np.zeros((rows_max, depth_max + 1), np.int32)
        path_actions = np.zeros((rows_max, depth_max), np.int32)
        path_len = np.zeros(rows_max, np.int32)
        leaf_game = np.zeros(rows_max, np.int32)
        leaf_kind = np.zeros(rows_max, np.int32)
        new_to_play = np.full(rows_max, -1, np.int8)
        new_value = np.zeros(rows_max, np.float32)
        new_prior = np.zeros((rows_max, g.num_actions), np.float32)
        new_legal = np.zeros((rows_max, g.num_actions), bool)
        done = np.zeros(nb_games, np.int64)
        fpu_abs = cfg.fpu_mode == "absolute"
        while True:
            todo = sims - done
            if not (todo > 0).any():
                break
            rows = _select(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                           tree.sum_w, tree.to_play, tree.pending, tree.num_nodes, todo, lpw, cfg.c_puct,
                           fpu_abs, cfg.fpu, vl, path_nodes, path_actions, path_len, leaf_game, leaf_kind)
            new = np.flatnonzero(leaf_kind[:rows] == _NEW)
            if len(new):
                states = g.take(root_states, leaf_game[new])
                lens = path_len[new]
                for t in range(int(lens.max())):
                    g.step(states, np.where(t < lens, path_actions[new, t], -1).astype(np.int64))
                player, value, prior, legal = self._evaluate_states(states)
                new_to_play[new], new_value[new], new_prior[new], new_legal[new] = player, value, prior, legal
            _expand_backup(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                           tree.sum_w, tree.to_play, tree.pending, rows, path_nodes, path_actions, path_len,
                           leaf_game, leaf_kind, new_to_play, new_value, new_prior, new_legal, vl, done)


def check_tree(tree: Tree, b: int) -> None:
    """Assert the invariants of game b's tree (module docstring): N(child) == edge_n into it, edge_w ==
    ±(child's own value + its edge sums), priors sum to 1 over legal actions and are 0 elsewhere, illegal
    edges unvisited, no pending node, every node reachable exactly once, the cached per-node sums
    ``sum_n``/``sum_w`` equal the sums over the node's edges."""
    k = int(tree.num_nodes[b])
    ch, en, ew = tree.child[b, :k], tree.edge_n[b, :k], tree.edge_w[b, :k]
    assert not tree.pending[b, :k].any(), "pending node after search"
    assert (en[ch < 0] == 0).all() and (ew[ch < 0] == 0).all(), "visits on an illegal action"
    assert (en[ch == 0] == 0).all(), "visits on an unexpanded edge"
    targets = ch[ch > 0]
    assert len(targets) == k - 1 and len(np.unique(targets)) == k - 1, "nodes not a tree"
    for n in range(k):
        legal = ch[n] >= 0
        if tree.to_play[b, n] >= 0:
            assert abs(tree.prior[b, n][legal].sum() - 1.0) < 1e-4, f"priors of node {n} do not sum to 1"
        assert (tree.prior[b, n][~legal] == 0).all(), f"prior mass on illegal actions at node {n}"
    assert (tree.sum_n[b, :k] == en.sum(axis=1)).all(), "cached visit sums differ from the edges"
    assert np.allclose(tree.sum_w[b, :k], ew.sum(axis=1), atol=1e-3), "cached value sums differ from edges"
    visits = tree.node_visits(b)
    for n, a in zip(*np.nonzero(ch > 0), strict=True):
        c = ch[n, a]
        assert en[n, a] == visits[c], f"edge ({n},{a}) has {en[n, a]} visits, child {c} has {visits[c]}"
        if tree.to_play[b, c] >= 0:
            w_c = tree.node_value[b, c] + ew[c][ch[c] >= 0].sum()
            same = tree.to_play[b, c] == tree.to_play[b, n]
        else:
            w_c = en[n, a] * tree.node_value[b, c]
            same = tree.to_play[b, n] == 0
        expect = w_c if same else -w_c
        assert abs(ew[n, a] - expect) < 1e-3 * max(1.0, abs(expect)), f"edge ({n},{a}) value sum mismatch"


def choose_actions(visits: np.ndarray, temperature: float,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """int64[B]: the most-visited action (``temperature == 0``; lowest index on ties) or a sample with
    probabilities proportional to ``visits ** (1 / temperature)``."""
    visits = np.asarray(visits, dtype=np.float64)
    if temperature == 0:
        return np.argmax(visits, axis=1).astype(np.int64)
    if rng is None:
        raise ValueError("sampling with temperature > 0 needs an rng")
    logw = np.where(visits > 0, np.log(np.maximum(visits, 1e-300)) / temperature, -np.inf)
    p = np.exp(logw - logw.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p], dtype=np.int64)
