"""The simultaneous-move, hidden-information driver of the batched AlphaZero search (6 nimmt!;
``tree.selection_actions`` states the convention). Tree layout, sign and value conventions:
``zeroleague.agents.alphazero.tree``; PUCT and first-play urgency as in ``zeroleague.agents.alphazero.puct``.

The root is the acting seat's information state (the opponent's pending card back in its hand, unseen
cards unknown), and every descent plays in its own world drawn by ``game.sample_worlds`` from it (one
world per descent, "determinized" as in information-set MCTS: nodes are keyed by the action history, which
in 6 nimmt! fixes everything public, so a node is shared by all worlds; only the opponent's hand differs).
Descents run level by level over the batch (``_descend_level``): the worlds' legal masks, one compiled
choice per descent, one batched ``game.step``; so a leaf's state is at hand when the descent ends, with no
replay. Node kinds (``kind``): ``ALT`` an ordinary node (a row choice is one); ``JOINT`` a trick's
selection stage, holding seat 0's statistics, with seat 1's in a separate row ``partner[n]`` (kind
``SEAT1``, ``to_play`` 1); ``PAIR`` the node ``child[n, a0]`` below a joint node whose ``child[., a1]``
leads on, so the joint node's children are indexed by the card pair (its ``edge_n`` counts the pair's
visits). Both seats choose from their own rows before the descent goes on, then the two cards are
stepped in AEC order (seat 0, seat 1); neither choice reads the other, and each row sees only what its
seat sees. A joint leaf is evaluated on each seat's own observation (seat 1's after an arbitrary choice of
seat 0, which that observation does not show) in the same evaluator call; its value is the mean of both
seats' values (seat 0's perspective), each row gets its seat's priors. Backup is unchanged: each row's
edge takes the value from its own seat's perspective (``to_play``). The acting seat's cards are the same
in every world; the opponent's are not, so, ISMCTS-style, a choice considers only the actions legal in the
current world, an action legal for the first time is opened with the prior ``1/|legal|``, the priors are
renormalised over the legal actions, and PUCT's ``√N(s)`` becomes ``√avail(s, a)``, the number of descents
in which ``a`` was available there (``Tree.avail``).

Joint selection rule (``MCTSConfig.joint_selection``). "rm" (default): regret matching per seat, as in
the SM-MCTS of Lanctot, Lisý and Winands (2013): sample ``a`` from ``sigma`` proportional to the positive
cumulative regrets (the priors while none is positive) mixed with ``rm_explore`` uniform exploration; the
backup adds to every action legal at that choice ``-u`` and to the chosen one ``u / sigma(a)`` (outcome
sampling; ``u`` the chooser's value). Its visit distribution tracks the average strategy, which goes to an
equilibrium of the stage game, so mixed equilibria are found rather than a pure, exploitable choice.
"puct": decoupled PUCT (each seat's PUCT on its own row); cheaper to reason about and guided by the priors
throughout, but decoupled UCT is known not to converge to equilibria in general, hence the default. On the
small solved deals of ``tests/test_smmcts.py`` both are close in root value (mean error 0.023 "puct" vs
0.026 "rm" over 6 three-card deals at 4,000 simulations, mean of 4 seeds; before leaves counted the
rewards along their paths, "puct" was at 0.057 and "rm" at 0.023). The result (visits, policy, root value)
is the acting seat's: at a joint root, from its own row. No subtree reuse for these games.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from zeroleague.agents.alphazero.tree import (
    _COLLISION,
    _NEW,
    _TERMINAL,
    JOINT,
    PAIR,
    SEAT1,
    Evaluate,
    MCTSConfig,
    SearchBase,
    SearchResult,
    Tree,
    _leaf_rows,
    _Paths,
    _puct,
    selection_actions,
)
from zeroleague.envs.core import BatchedGame


class SimultaneousSearch(SearchBase):
    """Batched search for a 2-player zero-sum ``game`` with simultaneous selections and hidden hands (see
    ``tree.selection_actions``) with leaf evaluator ``evaluate`` (``tree.Evaluate``). See the module docstring
    for the algorithm."""

    hidden = True

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig | None = None):
        super().__init__(game, evaluate, config)
        self.selection = selection_actions(game)
        if self.selection is None:
            raise ValueError(f"SimultaneousSearch searches simultaneous-selection games (6 nimmt!); "
                             f"{game.env_id!r} has no selection_actions")

    def search(self, root_states, rng: np.random.Generator | None = None, self_play: bool = False,
               reuse: list[Tree | None] | None = None, players: np.ndarray | None = None) -> SearchResult:
        """Search from each of the B ``root_states`` (none terminal): information states
        (``game.information_state``) of the seats ``players[b]`` (required) who act there. Every descent
        searches a world drawn by ``game.sample_worlds`` from its root with ``rng`` (required; also the root
        Dirichlet noise in self-play mode), and the result (visits, policy, root value) is that seat's, at a
        joint root from its own row. No subtree reuse (``reuse`` must be None or all None)."""
        g, cfg = self.game, self.config
        nb_games = self._terminal_check(root_states)
        if reuse is not None and len(reuse) != nb_games:
            raise ValueError(f"reuse has {len(reuse)} entries for {nb_games} root states")
        if players is None or rng is None:
            raise ValueError("a hidden-information search needs the acting players and an rng (worlds)")
        players = np.asarray(players, dtype=np.int64)
        if players.shape != (nb_games,) or not np.isin(players, (0, 1)).all():
            raise ValueError(f"players must be {nb_games} seats in (0, 1), got {players!r}")
        if reuse is not None and any(t is not None for t in reuse):
            raise ValueError("subtree reuse is not supported for hidden-information games")
        sims = cfg.num_simulations
        player = np.asarray(g.current_player(root_states))
        tree = Tree.empty(nb_games, 3 * (sims + 1), g.num_actions, hidden=True)  # pair node, leaf, seat-1 row
        self._vl = cfg.virtual_loss if cfg.leaves_per_wave > 1 else 0
        self._rm = cfg.joint_selection == "rm"
        self._rng = rng
        # evaluate and expand the roots, each in a sampled world
        draw = _rows(rng, np.arange(nb_games), 0)
        sub = g.sample_worlds(root_states, players, draw)
        self._rng = draw  # the roots' leaf rollouts (tree.SearchBase._mix_rollouts)
        tree.num_nodes[:] = 1
        zeros = np.zeros(nb_games, np.int32)
        self._expand(tree, nb_games, _Paths.at(zeros), np.arange(nb_games, dtype=np.int32), zeros,
                     self._evaluate_states(sub, g.returns(sub)), np.zeros(nb_games, np.int64))
        # the statistics row of the acting seat at the root
        root = np.where((tree.kind[:, 0] == JOINT) & (players == 1), tree.partner[:, 0], 0)
        if (tree.to_play[np.arange(nb_games), root] != players).any():
            raise ValueError(f"the root players {player.tolist()} do not fit the acting seats "
                             f"{players.tolist()}")
        clean_root = self._add_root_noise(tree, root, rng) if self_play and cfg.noise_frac > 0 else None
        self._run(tree, root_states, players, sims, rng)
        if clean_root is not None:
            tree.prior[np.arange(nb_games), root] = clean_root
        return self._result(tree, root)

    def _run(self, tree: Tree, root_states, players: np.ndarray, sims: int,
             rng: np.random.Generator) -> None:
        """The simulations of a hidden-information search: each wave draws one world per descent and descends
        level by level in it (``_descend_level``), stepping the worlds as it goes, so the leaves need no
        replay."""
        g, cfg = self.game, self.config
        nb_games = len(tree.num_nodes)
        rows_max = nb_games * cfg.leaves_per_wave
        path = _Paths(rows_max, tree.capacity, g.num_actions if self._rm else 0)
        leaf_game, leaf_kind = np.zeros(rows_max, np.int32), np.zeros(rows_max, np.int32)
        node, stage = np.zeros(rows_max, np.int32), np.zeros(rows_max, np.int8)
        active, out_actions = np.zeros(rows_max, bool), np.zeros(rows_max, np.int64)
        done = np.zeros(nb_games, np.int64)
        fpu_abs = cfg.fpu_mode == "absolute"
        wave = 0
        while True:
            todo = np.maximum(sims - done, 0)
            if not (todo > 0).any():
                break
            games = np.repeat(np.arange(nb_games, dtype=np.int32), np.minimum(todo, cfg.leaves_per_wave))
            rows = len(games)
            leaf_game[:rows], node[:rows], stage[:rows], active[:rows] = games, 0, 0, True
            path.length[:rows] = 0
            path.nodes[:rows, 0] = 0
            wave += 1
            draw = _rows(rng, games, wave)  # per-root streams where rng has them (agents.base.RowStreams)
            worlds = g.sample_worlds(g.take(root_states, games), players[games], draw)
            root_returns = np.asarray(g.returns(worlds), dtype=np.float64)
            while active[:rows].any():
                legal = np.asarray(g.legal_mask(worlds), dtype=bool)
                draws = draw.random(rows) if self._rm else np.zeros(rows)
                _descend_level(tree.child, tree.edge_n, tree.edge_w, tree.prior, tree.node_value, tree.sum_n,
                               tree.sum_w, tree.to_play, tree.pending, tree.num_nodes, tree.kind,
                               tree.partner, tree.avail, tree.regret, rows, legal, draws, active, node, stage,
                               path.nodes, path.actions, path.length, path.prob, path.legal, leaf_game,
                               leaf_kind, cfg.c_puct, fpu_abs, cfg.fpu, self._vl, self._rm, cfg.rm_explore,
                               out_actions)
                if (out_actions[:rows] >= 0).any():
                    g.step(worlds, out_actions[:rows])
            new = np.flatnonzero(leaf_kind[:rows] == _NEW)
            states = g.take(worlds, new) if len(new) else None
            self._rng = draw.take(new) if hasattr(draw, "take") else rng  # the leaves' rollouts, per root
            self._expand(tree, rows, path, leaf_game, leaf_kind,
                         self._leaves(states, root_returns[new], rows, new), done)

    def _evaluate_states(self, states, base: np.ndarray) -> tuple[np.ndarray, ...]:
        """``SearchBase._evaluate_states`` of states, and where ``joint`` (a simultaneous selection begins:
        seat 0 to choose) also seat 1's priors and legal mask ``prior1``/``legal1`` (rows in the order of
        ``flatnonzero(joint)``) from seat 1's own observation after an arbitrary choice of seat 0 (which that
        observation does not show), and ``value`` = (v0 - v1) / 2 (+ the rewards since the root), the mean of
        both seats' values in seat 0's perspective. ONE evaluator call for all."""
        g = self.game
        term, player, legal = self._basics(states)
        joint = (player == 0) & legal[:, : self.selection].any(axis=1)
        value = np.zeros(len(term), np.float32)
        prior = np.zeros(legal.shape, np.float32)
        live = np.flatnonzero(~term)
        jrows = np.flatnonzero(joint)
        legal1 = np.zeros((len(jrows), g.num_actions), bool)
        prior1 = np.zeros((len(jrows), g.num_actions), np.float32)
        if len(live):
            sub = g.take(states, live) if len(live) < len(term) else states
            obs, masks = g.observe(sub, player[live].astype(np.int64)), legal[live]
            if len(jrows):
                second = g.take(states, jrows)
                g.step(second, np.argmax(legal[jrows], axis=1).astype(np.int64))
                legal1 = np.asarray(g.legal_mask(second), dtype=bool)
                obs = np.concatenate([obs, g.observe(second, 1)])
                masks = np.concatenate([masks, legal1])
            pri, val = self._call_evaluator(obs, masks)
            value[live], prior[live] = val[: len(live)], pri[: len(live)]
            if len(jrows):
                value[jrows] = (value[jrows] - val[len(live):]) / 2
                prior1 = pri[len(live):]
        self._mix_rollouts(states, value, term, player)
        value += self._gained(states, base, player)
        return player, value, prior, legal, joint, prior1, legal1

    def _expand(self, tree: Tree, rows: int, path, leaf_game, leaf_kind, evaluated, done) -> None:
        """``SearchBase._expand``; a joint leaf also gets its seat-1 row (allocated here, linked by
        ``partner``), expanded with seat 1's priors and value."""
        super()._expand(tree, rows, path, leaf_game, leaf_kind, evaluated, done)
        value, joint, prior1, legal1 = evaluated[1], evaluated[4], evaluated[5], evaluated[6]
        jrows = np.flatnonzero(joint)
        if len(jrows) == 0:
            return
        games = leaf_game[jrows]
        leaves = path.nodes[jrows, path.length[jrows]]
        seat1 = np.empty(len(jrows), np.int32)
        for i, b in enumerate(games.tolist()):  # allocate in row order (deterministic)
            seat1[i] = tree.num_nodes[b]
            tree.num_nodes[b] += 1
        tree.kind[games, leaves] = JOINT
        tree.partner[games, leaves] = seat1
        tree.kind[games, seat1] = SEAT1
        k = len(jrows)
        super()._expand(tree, k, _Paths.at(seat1), games.astype(np.int32), np.zeros(k, np.int32),
                        _leaf_rows(np.ones(k, np.int8), -value[jrows], prior1, legal1, self.game.num_actions),
                        np.zeros(len(tree.num_nodes), np.int64))


# ----------------------------------------------------------------------------------------------------------
# Compiled hot loops.


@nb.njit(cache=True, inline="always")
def _regret_matching(child, prior, regret, legal, b, n, gamma, draw, prob_out):
    """Regret-matching choice at (statistics row) n of game b among the actions legal in this world:
    sigma(a) proportional to the positive regret (the renormalised priors while no regret is positive), mixed
    with ``gamma`` uniform exploration; samples with the uniform ``draw`` and writes sigma(chosen) to
    ``prob_out[0]``."""
    num_actions = child.shape[2]
    pos = 0.0
    pri = 0.0
    count = 0
    for a in range(num_actions):
        if legal[a] and child[b, n, a] >= 0:
            pos += max(regret[b, n, a], 0.0)
            pri += prior[b, n, a]
            count += 1
    cum = 0.0
    last = -1
    for a in range(num_actions):
        if not (legal[a] and child[b, n, a] >= 0):
            continue
        if pos > 0:
            sigma = max(regret[b, n, a], 0.0) / pos
        else:
            sigma = prior[b, n, a] / pri if pri > 0 else 1.0 / count
        p = (1.0 - gamma) * sigma + gamma / count
        cum += p
        last = a
        prob_out[0] = p
        if draw < cum:
            return a
    return last


@nb.njit(cache=True)
def _descend_level(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, to_play, pending, num_nodes, kind,
                   partner, avail, regret, rows, legal, draws, active, node, stage, path_nodes, path_actions,
                   path_len, path_prob, path_legal, leaf_game, leaf_kind, c_puct, fpu_absolute, fpu, vl, rm,
                   gamma, out_actions):
    """One level of the hidden-information descents: every active row r (in its own world, whose legal mask
    is ``legal[r]``) makes one choice and returns it in ``out_actions[r]`` (-1: nothing to step). At an
    alternating node: the node's PUCT choice. At a joint node, stage 0: seat 0's choice from the joint node's
    own row, then the row moves to the pair node ``child[n, a0]`` (allocated on first use) at stage 1; stage
    1: seat 1's choice from the joint node's seat-1 row (``partner``), then on through ``child[pair, a1]``.
    Neither choice reads the other. Each choice first opens the edges that are legal in this world but were
    never seen (prior: a uniform share ``1/|legal|``) and counts the availability of every legal action.
    With ``rm`` a joint node's choices are by regret matching instead (``_regret_matching``, sampled with the
    uniform ``draws[r]``; the sampling probability and the legal mask are kept for the regret update). A row
    ends at a terminal node, at a new leaf (allocated here, pending; its action still to be stepped) or at a
    pending node (a collision)."""
    num_actions = child.shape[2]
    for r in range(rows):
        out_actions[r] = -1
        if not active[r]:
            continue
        b = leaf_game[r]
        n = node[r]
        d = path_len[r]
        if stage[r] == 0 and to_play[b, n] < 0:
            leaf_kind[r] = _TERMINAL
            active[r] = False
            continue
        row = n if stage[r] == 0 else partner[b, path_nodes[r, d - 1]]
        count = 0
        for a in range(num_actions):
            if legal[r, a]:
                count += 1
        for a in range(num_actions):
            if legal[r, a]:
                if child[b, row, a] < 0:
                    child[b, row, a] = 0
                    prior[b, row, a] = 1.0 / count
                avail[b, row, a] += 1
        if rm and (stage[r] == 1 or kind[b, n] == JOINT):
            a = _regret_matching(child, prior, regret, legal[r], b, row, gamma, draws[r], path_prob[r, d:])
            path_legal[r, d] = legal[r]
        else:
            a = _puct(child, edge_n, edge_w, prior, node_value, sum_n, sum_w, avail, legal[r], b, row, c_puct,
                      fpu_absolute, fpu, True)
        out_actions[r] = a
        path_nodes[r, d] = row
        path_actions[r, d] = a
        d += 1
        if stage[r] == 0 and kind[b, n] == JOINT:
            m = child[b, n, a]
            if m == 0:
                m = num_nodes[b]
                num_nodes[b] += 1
                child[b, n, a] = m
                kind[b, m] = PAIR
                to_play[b, m] = to_play[b, partner[b, n]]
            node[r] = m
            stage[r] = 1
        else:
            if stage[r] == 1:  # the pair node's edge: the visits of this card pair
                path_nodes[r, d] = n
                path_actions[r, d] = a
                d += 1
                stage[r] = 0
            c = child[b, n, a]
            if c == 0:
                c = num_nodes[b]
                num_nodes[b] += 1
                child[b, n, a] = c
                pending[b, c] = True
                leaf_kind[r] = _NEW
                active[r] = False
            elif pending[b, c]:
                leaf_kind[r] = _COLLISION
                active[r] = False
                out_actions[r] = -1
            node[r] = c
        path_nodes[r, d] = node[r]
        if vl > 0:
            for t in range(path_len[r], d):
                edge_n[b, path_nodes[r, t], path_actions[r, t]] += vl
                edge_w[b, path_nodes[r, t], path_actions[r, t]] -= vl
                sum_n[b, path_nodes[r, t]] += vl
                sum_w[b, path_nodes[r, t]] -= vl
        path_len[r] = d


def _rows(rng, idx: np.ndarray, tag: int):
    """The draws of the roots ``idx`` at step ``tag``: ``rng.rows(idx, tag)`` where ``rng`` keys its draws per
    root (``zeroleague.agents.base.RowStreams``, so a root's worlds do not depend on the other roots), else
    ``rng`` itself (a Generator shared by the batch, in draw order)."""
    return rng.rows(idx, tag) if hasattr(rng, "rows") else rng
