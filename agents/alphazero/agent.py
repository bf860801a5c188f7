"""The AlphaZero player: batched PUCT search (``zeroleague.agents.alphazero.search``) from the engine states the harness
passes (``needs_states=True``), the network behind an ``zeroleague.agents.evaluator.Evaluator``, the most-visited move
played.

Specs: ``az:PATH[,sims=200,c_puct=1.25,leaves_per_wave=1,fpu=0.0,resign=0.0,reuse=true,explore_moves=0,threads=N]``
loads a checkpoint (checked against the game's env id and ``board_size``/``komi``/``history``);
``az_uniform[:sims=...]`` searches with the network-free ``uniform_evaluate`` (uniform priors, value 0) — for
tests, benchmarks and as a pure-search baseline. ``resign=t > 0`` resigns a game (``agents.base.RESIGN``) whose
root value is below ``-t`` (off by default). ``explore_moves=k`` plays each game's first k own moves by sampling in
proportion to the root visit counts (the draw a function of the decision's key alone: seed, match seed, game,
seat, decision index; ``agents.base.DecisionKeys``), the most-visited move afterwards: deterministic players
(the search, GNU Go) would otherwise replay the same two games over a whole match.

Subtree reuse (``reuse=true``): after playing ``a`` in harness game ``g`` the agent keeps the subtree below
``a`` and the state after ``a``. At its next decision in ``g`` it identifies the opponent's reply among that
subtree's expanded children as the unique one whose resulting observation and legal mask equal the new ones,
and searches on from that grandchild subtree; if none or several match, it starts a fresh tree.

Simultaneous-move, hidden-information games (6 nimmt!; ``tree.selection_actions``): the harness passes the
acting seat's information state, the search samples a world per descent (``SixNimmtGame.sample_worlds``) from
per-row streams keyed by each decision's key (``agents.base.RowStreams``: a game's worlds do not depend on the
other games of its batch) and plays the acting seat's most-visited card; there is no subtree reuse (``reuse``
is ignored). Other hidden-information games raise ``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroleague.agents.alphazero.search import make_search
from zeroleague.agents.alphazero.tree import (
    JOINT,
    Evaluate,
    MCTSConfig,
    Tree,
    choose_actions,
    selection_actions,
    uniform_evaluate,
)
from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch, DecisionKeys, RowStreams, key_uniform
from zeroleague.agents.registry import register_agent
from zeroleague.envs.core import BatchedGame

_GAME_KWARGS = ("board_size", "komi", "history")


def game_kwargs(game: BatchedGame) -> dict[str, Any]:
    """The settings of ``game`` a network is tied to (those of ``board_size``, ``komi``, ``history`` it
    has)."""
    return {k: getattr(game, k) for k in _GAME_KWARGS if hasattr(game, k)}


class AlphaZeroAgent(BaseAgent):
    """Search agent over ``evaluate`` (module docstring). ``resign``: threshold (None/0 = never resign)."""

    needs_states = True

    def __init__(self, game: BatchedGame, evaluate: Evaluate, config: MCTSConfig, *,
                 resign: float | None = None, reuse: bool = True, name: str = "az", seed: int = 0,
                 explore_moves: int = 0):
        if not game.perfect_information and selection_actions(game) is None:
            raise NotImplementedError(
                f"AlphaZeroAgent searches perfect-information games and simultaneous-move selection games "
                f"(6 nimmt!); {game.env_id!r} has hidden information without the selection convention "
                "(tree.selection_actions)")
        if explore_moves < 0:
            raise ValueError(f"explore_moves must be >= 0, got {explore_moves!r}")
        if resign is not None and not resign >= 0:
            raise ValueError(f"resign threshold must be >= 0 (0 or None = off), got {resign!r}")
        reuse = reuse and game.perfect_information
        self.game, self.config, self.resign, self.reuse, self.name = game, config, resign or None, reuse, name
        self.mcts = make_search(game, evaluate, config)
        self.keys = DecisionKeys(seed)  # every draw: worlds of hidden-information searches, explore moves
        self.seed, self.explore_moves = seed, explore_moves
        self._moves: dict[int, int] = {}  # game id -> own moves played (for explore_moves)
        self._kept: dict[int, tuple[Tree, Any]] = {}  # game id -> (subtree after our move, state after it)
        self.last_root_values: np.ndarray | None = None  # of the latest act call, per row
        self.last_visits: np.ndarray | None = None  # of the latest act call: the acting seat's root visits
        self.last_reused: np.ndarray | None = None  # per row: whether a kept subtree was searched on
        self.last_tree: Tree | None = None  # of the latest act call: the search trees (for ``explain``)

    def reset(self, game_ids: np.ndarray) -> None:
        self.keys.reset(game_ids)
        for g in np.asarray(game_ids).tolist():
            self._kept.pop(int(g), None)
            self._moves.pop(int(g), None)

    def _explore(self, actions: np.ndarray, visits: np.ndarray, game_ids: np.ndarray, keys: np.ndarray) -> None:
        """Replace, in games still within their first ``explore_moves`` own moves, the action by a draw
        proportional to the root visits (module docstring)."""
        ids = np.asarray(game_ids, dtype=np.int64)
        done = np.array([self._moves.get(int(g), 0) for g in ids], dtype=np.int64)
        for g in ids.tolist():
            self._moves[int(g)] = self._moves.get(int(g), 0) + 1
        rows = np.flatnonzero(done < self.explore_moves)
        if len(rows) == 0:
            return
        cdf = np.cumsum(np.asarray(visits[rows], dtype=np.float64), axis=1)
        u = key_uniform(keys[rows], stream=1) * cdf[:, -1]
        actions[rows] = (cdf <= u[:, None]).sum(axis=1)

    def _reused(self, batch: DecisionBatch) -> list[Tree | None]:
        out: list[Tree | None] = [None] * len(batch)
        if not self.reuse:
            return out
        g = self.game
        for row, gid in enumerate(np.asarray(batch.game_ids).tolist()):
            kept = self._kept.pop(int(gid), None)
            if kept is None:
                continue
            sub, after = kept
            cands = np.flatnonzero(sub.child[0, 0] > 0)
            cands = cands[sub.to_play[0, sub.child[0, 0, cands]] >= 0]
            if len(cands) == 0:
                continue
            nxt = g.take(after, np.zeros(len(cands), np.int64))
            g.step(nxt, cands.astype(np.int64))
            player = int(batch.players[row])
            same = (g.current_player(nxt) == player) & (g.legal_mask(nxt) == batch.masks[row]).all(axis=1)
            obs = g.observe(nxt, player).reshape(len(cands), -1)
            same &= (obs == np.asarray(batch.observations[row]).reshape(1, -1)).all(axis=1)
            if same.sum() == 1:
                out[row] = sub.subtree(0, int(cands[np.flatnonzero(same)[0]]))
        return out

    def act(self, batch: DecisionBatch) -> np.ndarray:
        if batch.states is None:
            raise ValueError("AlphaZeroAgent needs batch.states (needs_states=True); the harness passed none")
        keys = self.keys(batch)
        evaluator = getattr(self.mcts.evaluate, "__self__", None)
        if hasattr(evaluator, "fixed_batch"):  # harness games: batch-size-invariant forward passes
            from zeroleague.agents.evaluator import FIXED_BATCH  # (torch is loaded: a net is in use)

            evaluator.fixed_batch = FIXED_BATCH if batch.decisions is not None else None
        reused = self._reused(batch)
        hidden = self.mcts.hidden
        result = self.mcts.search(batch.states, RowStreams(keys) if hidden else None, reuse=reused,
                                  players=np.asarray(batch.players) if hidden else None)
        actions = choose_actions(result.visits, 0.0)
        if self.explore_moves:
            self._explore(actions, result.visits, batch.game_ids, keys)
        self.last_root_values, self.last_visits = result.root_value, result.visits
        self.last_tree = result.tree
        self.last_reused = np.array([t is not None for t in reused])
        if self.reuse:
            after = self.game.copy(batch.states)
            self.game.step(after, actions)
            for row, gid in enumerate(np.asarray(batch.game_ids).tolist()):
                sub = result.tree.subtree(row, int(actions[row]))
                if sub is not None:
                    self._kept[int(gid)] = (sub, self.game.take(after, np.array([row])))
        if self.resign is not None:
            gave_up = result.root_value < -self.resign
            actions[gave_up] = RESIGN
            for gid in np.asarray(batch.game_ids)[gave_up].tolist():
                self._kept.pop(int(gid), None)
        return actions

    def explain(self, batch: DecisionBatch, max_pv: int = 12) -> list[dict]:
        """``act`` on ``batch`` (it counts as the decision: call it instead of ``act``) and, per row, what the
        search saw: ``{"kind": "alphazero", "actions": legal actions, "visits": their root visit counts,
        "prior": the network's raw root prior, "value": the root value for the seat to act (in units of
        ``value_scale``, e.g. bullheads per unit in 6 nimmt!), "pv": the principal variation (most-visited
        child from the root, at most ``max_pv`` moves; in a simultaneous-move search only the acting seat's
        root choice), "chosen": the action played (or ``RESIGN``), "value_scale"}``. The web app
        (``zeroleague serve``) draws these."""
        actions = self.act(batch)
        tree, visits, values = self.last_tree, self.last_visits, self.last_root_values
        players = np.asarray(batch.players)
        out = []
        for b in range(len(batch)):
            legal = np.flatnonzero(np.asarray(batch.masks[b], bool))
            root = 0
            if self.mcts.hidden and tree.kind[b, 0] == JOINT and players[b] == 1:
                root = int(tree.partner[b, 0])  # seat 1's row of the joint root
            pv: list[int] = []
            node = root
            while len(pv) < max_pv and tree.edge_n[b, node].sum() > 0:
                a = int(np.argmax(tree.edge_n[b, node]))
                pv.append(a)
                node = int(tree.child[b, node, a])
                if self.mcts.hidden or node <= 0 or tree.to_play[b, node] < 0:
                    break
            out.append({"kind": "alphazero", "actions": legal.tolist(), "visits": visits[b, legal].tolist(),
                        "prior": tree.prior[b, root, legal].astype(float).tolist(), "value": float(values[b]),
                        "pv": pv, "chosen": int(actions[b]), "value_scale": self.config.value_scale})
        return out


SEARCH_DEFAULTS: dict[str, Any] = {"sims": 200, "c_puct": 1.25, "leaves_per_wave": 1, "fpu": 0.0,
                                   "fpu_mode": "reduction", "joint_selection": "rm", "rm_explore": 0.05,
                                   "rollouts": 0, "rollout_mix": 0.5}
"""The search settings an ``az`` spec may set, with the values used when neither the spec nor the checkpoint
(``Checkpoint.search``) sets them."""


def _config(settings: dict[str, Any], value_scale: float) -> MCTSConfig:
    s = settings
    return MCTSConfig(num_simulations=int(s["sims"]), c_puct=float(s["c_puct"]),
                      leaves_per_wave=int(s["leaves_per_wave"]), fpu=float(s["fpu"]), fpu_mode=s["fpu_mode"],
                      joint_selection=s["joint_selection"], rm_explore=float(s["rm_explore"]),
                      rollouts=int(s["rollouts"]), rollout_mix=float(s["rollout_mix"]),
                      value_scale=float(value_scale))


def search_settings(stored: dict[str, Any] | None, **given: Any) -> dict[str, Any]:
    """``SEARCH_DEFAULTS`` overridden by a checkpoint's ``stored`` settings, overridden by the ``given`` ones
    that are not None (explicit spec parameters win)."""
    unknown = sorted(set(stored or {}) - set(SEARCH_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown stored search settings {unknown}; known: {', '.join(SEARCH_DEFAULTS)}")
    out = dict(SEARCH_DEFAULTS)
    out.update(stored or {})
    out.update({k: v for k, v in given.items() if v is not None})
    return out


@register_agent("az", games=("go", "sixnimmt"))
def make_az(game: BatchedGame, path: str, *, seed: int = 0, device: str | None = None, sims: int | None = None,
            c_puct: float | None = None, leaves_per_wave: int | None = None, fpu: float | None = None,
            fpu_mode: str | None = None, joint_selection: str | None = None, rm_explore: float | None = None,
            rollouts: int | None = None, rollout_mix: float | None = None, resign: float | None = None,
            reuse: bool = True, value_scale: float | None = None, explore_moves: int = 0,
            threads: int | None = None) -> AlphaZeroAgent:
    """AlphaZero search over a checkpoint's network (az:PATH[,sims=200,...]). The search settings (``sims``,
    ``c_puct``, ``leaves_per_wave``, ``fpu``, ``fpu_mode``, ``joint_selection``, ``rm_explore``, ``rollouts``,
    ``rollout_mix``; ``MCTSConfig``) default to the ones stored in the checkpoint (``Checkpoint.search``: the
    recommended settings, so the plain spec plays at full strength), else ``SEARCH_DEFAULTS``; a spec
    parameter overrides both. ``value_scale`` defaults to the one the network was trained with (the
    checkpoint's ``extra["value_scale"]``, else 1). ``threads``: sets torch's CPU thread count (process-wide);
    on a machine whose cores are busy (other agents, GTP engines) 1 thread avoids oversubscription, which made
    a 9x9 search ~30x slower here (7.2 s vs 0.25 s per 400-sim move)."""
    from zeroleague.agents.alphazero.checkpoint import load_checkpoint  # torch is imported only when a net is used
    from zeroleague.agents.evaluator import Evaluator, pick_device

    if threads is not None:
        import torch

        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(path, expect_env_id=game.env_id, expect_env_kwargs=game_kwargs(game))
    evaluator = Evaluator(ckpt.model(), pick_device(device))
    scale = ckpt.extra.get("value_scale", 1.0) if value_scale is None else value_scale
    settings = search_settings(ckpt.search, sims=sims, c_puct=c_puct, leaves_per_wave=leaves_per_wave, fpu=fpu,
                               fpu_mode=fpu_mode, joint_selection=joint_selection, rm_explore=rm_explore,
                               rollouts=rollouts, rollout_mix=rollout_mix)
    return AlphaZeroAgent(game, evaluator.evaluate, _config(settings, scale),
                          resign=resign, reuse=reuse, seed=seed, explore_moves=explore_moves)


@register_agent("az_uniform", games=None)
def make_az_uniform(game: BatchedGame, *, seed: int = 0, device: str | None = None, sims: int | None = None,
                    c_puct: float | None = None, leaves_per_wave: int | None = None, fpu: float | None = None,
                    fpu_mode: str | None = None, joint_selection: str | None = None,
                    rm_explore: float | None = None, rollouts: int | None = None,
                    rollout_mix: float | None = None, reuse: bool = True, value_scale: float = 1.0,
                    explore_moves: int = 0) -> AlphaZeroAgent:
    """Network-free PUCT search: uniform priors, value 0, exact rewards (az_uniform:sims=200)."""
    settings = search_settings(None, sims=sims, c_puct=c_puct, leaves_per_wave=leaves_per_wave, fpu=fpu,
                               fpu_mode=fpu_mode, joint_selection=joint_selection, rm_explore=rm_explore,
                               rollouts=rollouts, rollout_mix=rollout_mix)
    return AlphaZeroAgent(game, uniform_evaluate, _config(settings, value_scale),
                          reuse=reuse, name="az_uniform", seed=seed, explore_moves=explore_moves)
