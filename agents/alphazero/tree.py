"""The search tree shared by both AlphaZero search drivers: arrays batched over games, settings, results, the
compiled kernels both use (PUCT choice, expansion + backup), leaf evaluation, and the tree's invariants.

Drivers: ``zeroleague.agents.alphazero.puct`` (perfect-information games, Go) and
``zeroleague.agents.alphazero.simultaneous`` (simultaneous selections with hidden hands, 6 nimmt!);
``zeroleague.agents.alphazero.search.make_search`` picks the one that fits a game.

Sign convention (the one rule every part of the search follows)
    A value is always from the perspective of the player to move at the node it belongs to. The evaluator
    returns ``v`` for the player to move at the leaf; ``edge_w[b, n, a]`` sums the values of the simulations
    that went through edge ``(n, a)`` from the perspective of ``to_play[b, n]`` (the player choosing ``a``).
    Backup converts a leaf value to each ancestor's chooser by the stored players: ``+v`` where the ancestor's
    player to move is the leaf's, ``-v`` otherwise — so a player who moves twice in a row is handled, not just
    strict alternation. A terminal node has no player to move (``to_play = -1``); its perspective is seat 0.

Value convention (games whose rewards accrue during play, e.g. 6 nimmt!'s margins, as well as at the end)
    Tree values measure the return FROM THE SEARCH ROOT ONWARD, in units of ``MCTSConfig.value_scale``: a
    leaf's value for seat p is ``(returns(leaf)[p] - returns(root)[p]) / value_scale + v(leaf)[p]``, where
    ``returns`` is ``game.returns`` (accumulated since the game began, so rewards earned before the root
    cancel) and ``v`` is the evaluator's value (its estimate of the return still to come, in [-1, 1]; 0 at a
    terminal leaf, whose value is exact: the network is never asked). ``root`` is the root state (the descent's
    sampled world in a hidden-information search; 6 nimmt! penalties are public, so every world has the same
    returns there). So a leaf value may leave [-1, 1] by the rewards on its path. In games with rewards only at
    the end (Go) and ``value_scale = 1`` this is the terminal return or the evaluator's value, as usual. The
    self-play value targets (``zeroleague.agents.alphazero.selfplay``) are measured the same way: (final return - return
    at the sample's state) / value_scale, clipped to [-1, 1].

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
    of the child) holds after every search (``check_tree`` asserts it and the caches). Hidden-information
    trees add ``kind``/``partner`` (joint nodes and their seat-1 rows), ``avail`` and ``regret``
    (``zeroleague.agents.alphazero.simultaneous``).

Self-play mode adds Dirichlet noise to the root priors (``(1 - noise_frac) P + noise_frac Dir(alpha)`` over
the legal actions, at the root row of the acting seat; the stored priors stay clean so a reused subtree
carries no stale noise) and ``choose_actions`` samples with ``temperature``; evaluation mode plays the
most-visited move. A ``SearchResult`` gives the root visit counts (the soft policy targets), the root values
and per-game subtrees for reuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba as nb
import numpy as np

from zeroleague.envs.core import BatchedGame

Evaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``evaluate(obs [R, *obs_shape], masks bool[R, A]) -> (priors [R, A], values [R])``; values in [-1, 1] from
the perspective of the player to move (whose observation ``obs`` is): the return still to come from that
state, in units of ``MCTSConfig.value_scale`` (module docstring, value convention)."""

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
    ``virtual_loss``: lost visits added to a pending path when ``leaves_per_wave > 1``. ``joint_selection``:
    how each seat chooses at a joint (simultaneous) node of a hidden-information search: "rm" (regret
    matching with ``rm_explore`` uniform exploration) or "puct" (decoupled PUCT). ``value_scale`` (> 0): the
    return that one unit of tree value stands for (module docstring, value convention; e.g. bullheads per
    unit in 6 nimmt!). ``rollouts`` (>= 0) and ``rollout_mix`` (lambda in [0, 1]): AlphaGo's leaf evaluation —
    a new non-terminal leaf's value becomes ``(1 - lambda) * v_net + lambda * z``, ``z`` the mean return (from
    the leaf on, in ``value_scale`` units, not clipped) of ``rollouts`` uniformly random playouts of the leaf
    state to the end (the game's compiled ``random_playouts``; for games that have one, e.g. 6 nimmt!); 0 =
    off."""

    num_simulations: int = 200
    c_puct: float = 1.25
    fpu_mode: str = "reduction"
    fpu: float = 0.0
    dirichlet_alpha: float = 0.3
    noise_frac: float = 0.25
    temperature: float = 1.0
    leaves_per_wave: int = 1
    virtual_loss: int = 1
    joint_selection: str = "rm"
    rm_explore: float = 0.05
    value_scale: float = 1.0
    rollouts: int = 0
    rollout_mix: float = 0.5

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
        if self.joint_selection not in ("rm", "puct"):
            raise ValueError(f"joint_selection must be 'rm' or 'puct', got {self.joint_selection!r}")
        if not 0.0 < self.rm_explore <= 1.0:
            raise ValueError(f"rm_explore must be in (0, 1], got {self.rm_explore!r}")
        if isinstance(self.rollouts, bool) or not isinstance(self.rollouts, int) or self.rollouts < 0:
            raise ValueError(f"rollouts must be an int >= 0, got {self.rollouts!r}")
        if not 0.0 <= self.rollout_mix <= 1.0:
            raise ValueError(f"rollout_mix must be in [0, 1], got {self.rollout_mix!r}")
        if not (0.0 < self.value_scale < np.inf):
            raise ValueError(f"value_scale must be a finite number > 0, got {self.value_scale!r}")


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
    regret: np.ndarray

    @staticmethod
    def empty(b: int, capacity: int, num_actions: int, hidden: bool = False) -> Tree:
        # zeros (lazily paged): child 0 = "not expanded"; rows are written when a node is expanded. The
        # availability counts and regrets exist in hidden-information trees only (else [b, 0, 0]).
        m, a = (capacity, num_actions) if hidden else (0, 0)
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
            avail=np.zeros((b, m, a), np.int32),
            regret=np.zeros((b, m, a), np.float32),
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
        None when that child was never expanded or is terminal, or the tree is a hidden-information search's
        (not reused). Its values stay measured from the old root, which is right only when ``action`` earns no
        reward (the value convention; true of the perfect-information games here, Go)."""
        if self.avail.shape[1]:  # a hidden-information tree: its nodes hold statistics of many worlds
            return None
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
                    partner=self.partner[b, order][None], avail=self.avail[b, :0][None],
                    regret=self.regret[b, :0][None])


@dataclass
class SearchResult:
    """``visits`` int32[B, A] root visit counts; ``policy`` float32[B, A] their distribution (the soft policy
    target); ``root_value`` float32[B] the root's mean value for its player to move (the return from the root
    on, in ``value_scale`` units; hidden-information searches: all three for the acting seat, from its own row
    at a joint root); ``tree`` the search trees (``tree.subtree(b, a)`` for reuse)."""

    visits: np.ndarray
    policy: np.ndarray
    root_value: np.ndarray
    tree: Tree


def selection_actions(game: BatchedGame) -> int | None:
    """S where ``game`` is a 2-player hidden-information game whose turns begin with S simultaneous selection
    actions (the optional ``selection_actions`` attribute of the BatchedGame contract, envs/core.py), else None."""
    if game.perfect_information or game.num_players != 2:
        return None
    s = getattr(game, "selection_actions", None)
    return int(s) if isinstance(s, (int, np.integer)) else None


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
def _puct(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, avail, legal, b, n, c_puct, fpu_absolute,
          fpu, info):
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
def _expand_backup(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, node_kind,
                   regret, rows, path_nodes, path_actions, path_len, path_prob, path_legal, leaf_game,
                   leaf_kind, new_to_play, new_value, new_prior, new_legal, vl, rm, done):
    """For each row r < rows: write a new leaf (``new_*[r]``: player to move, value from its perspective —
    seat 0's for terminal leaves —, priors, legal mask), undo the path's virtual loss and back the leaf value
    up; collisions only undo their virtual loss. ``done[b]`` counts the completed simulations. With ``rm``,
    the regrets of the joint rows on the path take the outcome-sampling update: every action legal at the
    choice loses the value ``u`` (the chooser's), the chosen one gains ``u / sigma(chosen)``."""
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
            if rm and (node_kind[b, n] == JOINT or node_kind[b, n] == SEAT1):
                for a2 in range(num_actions):
                    if path_legal[r, t, a2]:
                        regret[b, n, a2] -= val
                regret[b, n, a] += val / path_prob[r, t]
        done[b] += 1

class _Paths:
    """Per-descent work arrays: ``nodes[r, t]``/``actions[r, t]`` the (statistics row, action) pairs of
    descent r's path and ``nodes[r, length[r]]`` its leaf; ``prob``/``legal``: each regret-matching choice's
    sampling probability and the legal mask it chose from (``legal`` is [rows, depth, 0] without regret
    matching)."""

    def __init__(self, rows: int, depth: int, num_actions: int):
        self.nodes = np.zeros((rows, depth + 1), np.int32)
        self.actions = np.zeros((rows, depth), np.int32)
        self.length = np.zeros(rows, np.int32)
        self.prob = np.ones((rows, depth), np.float32)
        self.legal = np.zeros((rows, depth if num_actions else 0, num_actions), bool)

    @staticmethod
    def at(nodes: np.ndarray) -> _Paths:
        """Empty paths ending at ``nodes`` (to expand nodes that no descent reached: roots, seat-1 rows)."""
        p = _Paths(len(nodes), 0, 0)
        p.nodes[:, 0] = nodes
        return p


def _leaf_rows(player, value, prior, legal, num_actions: int) -> tuple[np.ndarray, ...]:
    """An ``_evaluate_states`` tuple of non-joint leaves."""
    return (player, value, prior, legal, np.zeros(len(player), bool), np.zeros((0, num_actions), np.float32),
            np.zeros((0, num_actions), bool))




class SearchBase:
    """What both drivers share: the game (2 players, zero-sum), the leaf evaluator ``evaluate`` (see
    ``Evaluate``) and the settings; evaluating new leaves in one evaluator call, writing them into the tree and
    backing their values up. A driver adds ``search`` (``puct.PUCTSearch``, ``simultaneous.SimultaneousSearch``;
    ``search.make_search`` picks one)."""

    hidden = False
    """Whether the search samples worlds and has joint nodes (hidden-information, simultaneous game)."""

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig | None = None):
        if game.num_players != 2:
            raise ValueError(f"MCTS needs a 2-player zero-sum game, {game.env_id!r} has {game.num_players} "
                             "players")
        self.game, self.evaluate, self.config = game, evaluate, config or MCTSConfig()
        if self.config.rollouts and not hasattr(game, "random_playouts"):
            raise ValueError(f"rollouts={self.config.rollouts} needs a game with compiled random playouts; "
                             f"{game.env_id!r} has none")
        self._vl, self._rm = 0, False  # virtual loss and regret matching of the search under way
        self._rng: np.random.Generator | None = None  # the rollouts' seeds of the search under way

    def _terminal_check(self, root_states) -> int:
        """The number of root states; raises if any is terminal."""
        term = np.asarray(self.game.terminal(root_states), dtype=bool)
        if term.any():
            raise ValueError(f"cannot search from terminal states (games {np.flatnonzero(term).tolist()})")
        return len(term)

    def _call_evaluator(self, obs: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``evaluate(obs, masks)``, checked (shapes, finite) and the values clipped to [-1, 1]."""
        pri, val = self.evaluate(obs, masks)
        val = np.asarray(val, dtype=np.float32).reshape(-1)
        if val.shape != (len(masks),) or not np.isfinite(val).all():
            raise ValueError(f"evaluator returned values of shape {val.shape} (expected ({len(masks)},)) "
                             "or non-finite values")
        val = np.clip(val, -1.0, 1.0)
        pri = np.asarray(pri, dtype=np.float32)
        if pri.shape != (len(masks), self.game.num_actions) or not np.isfinite(pri).all():
            raise ValueError(f"evaluator returned priors of shape {pri.shape} (expected "
                             f"({len(masks)}, {self.game.num_actions})) or non-finite priors")
        return pri, val

    def _basics(self, states) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(term, player, legal)`` of states: terminal flags, the player to move (int8, -1 if terminal) and the
        legal mask (none legal if terminal)."""
        g = self.game
        term = np.asarray(g.terminal(states), dtype=bool)
        player = np.asarray(g.current_player(states)).astype(np.int8)
        player[term] = -1
        legal = np.asarray(g.legal_mask(states), dtype=bool)
        legal[term] = False
        return term, player, legal

    def _gained(self, states, base: np.ndarray, player: np.ndarray) -> np.ndarray:
        """float32[R]: the rewards earned since the roots whose returns are ``base`` (float[R, 2]), in
        ``value_scale`` units, for ``player`` (seat 0 where terminal; the value convention)."""
        gained = (np.asarray(self.game.returns(states), dtype=np.float64) - base) / self.config.value_scale
        return gained[np.arange(len(player)), np.maximum(player, 0)].astype(np.float32)

    def _mix_rollouts(self, states, value: np.ndarray, term: np.ndarray, player: np.ndarray) -> None:
        """With ``config.rollouts``: mix, in place, the evaluator's values of the live ``states`` with the mean
        return of that many random playouts from each (``MCTSConfig``; seeds from the search's rng, else
        fixed), for the player to move (seat 0 at terminal states, whose value stays 0)."""
        cfg, g = self.config, self.game
        live = np.flatnonzero(~term)
        if not cfg.rollouts or len(live) == 0:
            return
        rep = np.repeat(live, cfg.rollouts)
        sims = g.take(states, rep)
        start = np.asarray(g.returns(sims), dtype=np.float64)
        rng = self._rng if self._rng is not None else np.random.default_rng(0)
        if hasattr(rng, "take"):  # per-row streams of these states (agents.base.RowStreams): one per playout
            rng = rng.take(rep)
        g.random_playouts(sims, rng.integers(0, 1 << 62, size=len(rep), dtype=np.int64))
        gain = (np.asarray(g.returns(sims), dtype=np.float64) - start)[np.arange(len(rep)), player[rep]]
        z = gain.reshape(len(live), cfg.rollouts).mean(axis=1) / cfg.value_scale
        value[live] = ((1 - cfg.rollout_mix) * value[live] + cfg.rollout_mix * z).astype(np.float32)

    def _evaluate_states(self, states, base: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(player, value, prior, legal, joint, prior1, legal1)`` of states (``_leaf_rows``; here no state is
        joint): the player to move (int8, -1 if terminal), the value from its perspective (seat 0's if terminal)
        measured from the root whose returns are ``base`` (float[R, 2], row-aligned; module docstring, value
        convention), the evaluator's priors and the legal mask. ONE evaluator call for all.
        ``_expand_backup`` restricts the priors to the legal actions and renormalises them."""
        g = self.game
        term, player, legal = self._basics(states)
        value = np.zeros(len(term), np.float32)
        prior = np.zeros(legal.shape, np.float32)
        live = np.flatnonzero(~term)
        if len(live):
            sub = g.take(states, live) if len(live) < len(term) else states
            pri, val = self._call_evaluator(g.observe(sub, player[live].astype(np.int64)), legal[live])
            value[live], prior[live] = val, pri
        self._mix_rollouts(states, value, term, player)
        value += self._gained(states, base, player)
        return _leaf_rows(player, value, prior, legal, g.num_actions)

    def _leaves(self, states, base: np.ndarray, rows: int, new: np.ndarray) -> tuple[np.ndarray, ...]:
        """``_evaluate_states`` of the new leaves ``states`` (descents ``new`` of ``rows``; None when there is
        none; ``base`` the returns of their roots, row-aligned with ``states``) laid out by descent (other
        descents: no player, no legal action, not joint)."""
        out = _leaf_rows(np.full(rows, -1, np.int8), np.zeros(rows, np.float32),
                         np.zeros((rows, self.game.num_actions), np.float32),
                         np.zeros((rows, self.game.num_actions), bool), self.game.num_actions)
        if states is None:
            return out
        player, value, prior, legal, joint, prior1, legal1 = self._evaluate_states(states, base)
        for full, part in zip(out[:5], (player, value, prior, legal, joint), strict=True):
            full[new] = part
        return (*out[:5], prior1, legal1)

    def _expand(self, tree: Tree, rows: int, path, leaf_game, leaf_kind, evaluated, done) -> None:
        """Write the evaluated new leaves of ``rows`` descents (``evaluated``: ``_evaluate_states`` of the
        leaves, row-aligned; entries of rows that are not new leaves are ignored) and back them up along
        ``path`` (``_Paths``)."""
        player, value, prior, legal = evaluated[:4]
        _expand_backup(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                       tree.sum_w, tree.to_play, tree.pending, tree.kind, tree.regret, rows, path.nodes,
                       path.actions, path.length, path.prob, path.legal, leaf_game, leaf_kind, player, value,
                       prior, legal, self._vl, self._rm, done)

    def _add_root_noise(self, tree: Tree, root: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Mix Dirichlet noise into the priors of each game's root row ``root[b]`` (self-play; module
        docstring); returns the clean priors to restore after the search."""
        cfg = self.config
        if rng is None:
            raise ValueError("self-play search needs an rng for the root Dirichlet noise")
        at = (np.arange(len(root)), root)
        clean_root = tree.prior[at].copy()
        for b in range(len(root)):
            legal_b = np.flatnonzero(tree.child[b, root[b]] >= 0)
            noise = rng.dirichlet(np.full(len(legal_b), cfg.dirichlet_alpha))
            mixed = (1 - cfg.noise_frac) * clean_root[b, legal_b] + cfg.noise_frac * noise
            tree.prior[b, root[b], legal_b] = mixed
        return clean_root

    @staticmethod
    def _result(tree: Tree, root: np.ndarray) -> SearchResult:
        """The ``SearchResult`` read from each game's root row ``root[b]``."""
        at = (np.arange(len(root)), root)
        visits = tree.edge_n[at].copy()
        policy = (visits / np.maximum(visits.sum(axis=1, keepdims=True), 1)).astype(np.float32)
        root_value = (tree.node_value[at] + tree.sum_w[at]) / (1 + tree.sum_n[at])
        root_value = root_value.astype(np.float32)
        return SearchResult(visits=visits, policy=policy, root_value=root_value, tree=tree)


def check_tree(tree: Tree, b: int) -> None:
    """Assert the invariants of game b's tree (module docstring): N(child) == edge_n into it, edge_w ==
    ±(child's own value + its edge sums), priors sum to 1 over legal actions and are 0 elsewhere, illegal
    edges unvisited, no pending node, every node reachable exactly once, the cached per-node sums
    ``sum_n``/``sum_w`` equal the sums over the node's edges. Joint nodes: each seat's edge statistics are
    the sums over the card pairs that contain its card (seat 0: ``edge_n[n, a0] == N(pair node)``; seat 1:
    the sum of the pair nodes' ``edge_n[., a1]``); their priors, with edges opened in later worlds, need not
    sum to 1."""
    k = int(tree.num_nodes[b])
    ch, en, ew = tree.child[b, :k], tree.edge_n[b, :k], tree.edge_w[b, :k]
    kind, partner, to_play = tree.kind[b, :k], tree.partner[b, :k], tree.to_play[b, :k]
    assert not tree.pending[b, :k].any(), "pending node after search"
    assert (en[ch < 0] == 0).all() and (ew[ch < 0] == 0).all(), "visits on an illegal action"
    assert (en[(ch == 0) & (kind != SEAT1)[:, None]] == 0).all(), "visits on an unexpanded edge"
    targets = np.concatenate([ch[ch > 0], partner[partner >= 0]])
    assert len(targets) == k - 1 and len(np.unique(targets)) == k - 1, "nodes not a tree"
    for n in range(k):
        legal = ch[n] >= 0
        if to_play[n] >= 0 and kind[n] == ALT:
            assert abs(tree.prior[b, n][legal].sum() - 1.0) < 1e-4, f"priors of node {n} do not sum to 1"
        assert (tree.prior[b, n][~legal] == 0).all(), f"prior mass on illegal actions at node {n}"
    assert (tree.sum_n[b, :k] == en.sum(axis=1)).all(), "cached visit sums differ from the edges"
    assert np.allclose(tree.sum_w[b, :k], ew.sum(axis=1), atol=1e-3), "cached value sums differ from edges"
    visits = tree.node_visits(b)
    for n, a in zip(*np.nonzero(ch > 0), strict=True):
        c = ch[n, a]
        if to_play[c] >= 0:
            w_c = ew[c].sum() + (0.0 if kind[c] == PAIR else tree.node_value[b, c])
            same = to_play[c] == to_play[n]
        else:
            w_c = en[n, a] * tree.node_value[b, c]
            same = to_play[n] == 0
        expect = w_c if same else -w_c
        assert en[n, a] == visits[c], f"edge ({n},{a}) has {en[n, a]} visits, child {c} has {visits[c]}"
        assert abs(ew[n, a] - expect) < 1e-3 * max(1.0, abs(expect)), f"edge ({n},{a}) value sum mismatch"
    for n in np.flatnonzero(kind == JOINT):
        pairs = ch[n][ch[n] > 0]
        assert (en[partner[n]] == en[pairs].sum(axis=0)).all(), f"seat-1 visits of joint node {n} mismatch"
        assert np.allclose(ew[partner[n]], ew[pairs].sum(axis=0), atol=1e-3), f"seat-1 values of {n} mismatch"


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
