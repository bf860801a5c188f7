"""Average-policy distillation: one network trained to imitate a league's meta-strategy mixture.

The mixture "draw member k with probability w_k for a whole game, then play it" is realised by
``MixtureAgent``. Data (``collect_mixture_data``): games of the mixture against itself through the harness
(``play_match``; each seat of each game draws its own member). Every decision is labelled with the mixture's
*average behaviour* there, the reach-weighted average of the members' action distributions,

    target(a) = sum_k post_k pi_k(a | s),   post_k ∝ w_k * prod_{t < now} pi_k(a_t | s_t),

the product running over the acting seat's own earlier decisions in that game (the posterior that member k
plays this seat, given its moves so far). This is the behaviour strategy realization-equivalent to the mixture
(Kuhn's theorem; games have perfect recall of one's own moves), not the plain average of the members' current
distributions. Members' distributions come from ``zeroleague.leagues.exploitability.action_probabilities``: exact for
policy networks (``ppo:``/``reinforce:``/``distilled:``) and the random agent; other agents (heuristics) must
be deterministic, their one-hot choice is their distribution.

Training (``distill``): a ``zeroleague.baselines.policies.PolicyValueNet`` by cross-entropy between its masked softmax
and the targets (minibatch Adam, ``epochs`` passes over the data); the value head is not trained. The result
is a ``zeroleague.baselines.policies`` checkpoint with ``algo="distilled"`` (``extra``: the members, weights, data size
and losses), loaded as an Agent by the spec ``distilled:PATH[,greedy=true]`` (registered here).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zeroleague.agents.base import Agent, BaseAgent, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.policies import (
    PolicyValueNet,
    default_net_config,
    masked_logits,
    save_checkpoint,
)
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.registry import make_env_game
from zeroleague.leagues.exploitability import action_probabilities
from zeroleague.leagues.harness import play_match


@dataclass(frozen=True)
class DistillConfig:
    """A distillation run: the mixture (``members`` agent specs, ``weights``; None = uniform), the data
    (``num_games`` mixture self-play games) and the training."""

    env_id: str = "sixnimmt_v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ("random",)
    weights: tuple[float, ...] | None = None
    num_games: int = 512
    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 1e-3
    net_config: dict[str, Any] | None = None  # None: baselines.policies.default_net_config(game)
    seed: int = 0
    device: str | None = "cpu"
    torch_threads: int | None = (
        1  # torch.set_num_threads for the run (small nets: 1 is fastest); None = leave
    )

    def __post_init__(self):
        if not self.members:
            raise ValueError("distillation needs at least one member")
        w = self.weights
        if w is not None and (len(w) != len(self.members) or min(w) < 0 or not np.isclose(sum(w), 1.0)):
            raise ValueError(f"weights must be one non-negative number per member summing to 1, got {w}")
        for key in ("num_games", "epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")


class MixtureAgent(BaseAgent):
    """Plays the mixture of ``members`` with ``weights``: at ``reset`` each (game, seat) draws its member from
    ``numpy.random.default_rng(seed)``; ``act`` samples the drawn member's distribution. It keeps every
    decision's observation, mask and reach-weighted target (module docstring) in ``samples``."""

    def __init__(self, members: list[Agent], weights: np.ndarray, seed: int = 0, name: str = "mixture"):
        self.members, self.weights, self.name = members, np.asarray(weights, dtype=np.float64), name
        self.rng = np.random.default_rng(seed)
        self.drawn: dict[int, np.ndarray] = {}  # game id -> member index per seat
        self.log_post: dict[int, np.ndarray] = {}  # game id -> [seat, member] log posterior
        self.samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def reset(self, game_ids: np.ndarray) -> None:
        for g in np.asarray(game_ids).tolist():
            self.drawn[g] = self.rng.choice(len(self.members), size=2, p=self.weights)
            with np.errstate(divide="ignore"):
                self.log_post[g] = np.tile(np.log(self.weights), (2, 1))

    def act(self, batch: DecisionBatch) -> np.ndarray:
        probs_KBA = np.stack([action_probabilities(m, batch) for m in self.members])
        ids, seats = np.asarray(batch.game_ids), np.asarray(batch.players)
        lp = np.stack([self.log_post[g][s] for g, s in zip(ids.tolist(), seats.tolist(), strict=True)])
        post_BK = np.exp(lp - lp.max(axis=1, keepdims=True))
        post_BK /= post_BK.sum(axis=1, keepdims=True)
        targets = np.einsum("bk,kba->ba", post_BK, probs_KBA)
        self.samples.append((np.asarray(batch.observations, np.float32).copy(), batch.masks.copy(), targets))
        actions = np.empty(len(ids), dtype=np.int64)
        for b, (g, s) in enumerate(zip(ids.tolist(), seats.tolist(), strict=True)):
            p = probs_KBA[self.drawn[g][s], b]
            actions[b] = self.rng.choice(len(p), p=p / p.sum())
            with np.errstate(divide="ignore"):
                self.log_post[g][s] += np.log(probs_KBA[:, b, actions[b]])
        return actions

    def dataset(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(observations float32[N, ...], masks bool[N, A], targets float64[N, A]) of all decisions so far."""
        obs, masks, targets = zip(*self.samples, strict=True)
        return np.concatenate(obs), np.concatenate(masks), np.concatenate(targets)

    def close(self) -> None:
        for m in self.members:
            m.close()


def collect_mixture_data(game: BatchedGame, cfg: DistillConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cfg.num_games`` games of the mixture against itself; returns (observations, masks, targets)."""
    weights = (
        np.full(len(cfg.members), 1 / len(cfg.members)) if cfg.weights is None else np.array(cfg.weights)
    )
    ss = np.random.SeedSequence(cfg.seed).spawn(len(cfg.members) + 1)
    keep = np.flatnonzero(weights > 0)  # members without weight never play and never move the posterior
    members = [
        make_agent(cfg.members[k], game, seed=int(ss[k].generate_state(1)[0]), device=cfg.device)
        for k in keep
    ]
    mixture = MixtureAgent(
        members, weights[keep] / weights[keep].sum(), seed=int(ss[-1].generate_state(1)[0])
    )
    try:
        play_match(game, mixture, mixture, cfg.num_games, cfg.seed)
        return mixture.dataset()
    finally:
        mixture.close()


def cross_entropy(logits_BA: torch.Tensor, mask_BA: torch.Tensor, targets_BA: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``-sum_a target(a) log softmax(masked logits)(a)`` (targets are 0 off the mask)."""
    logp = torch.log_softmax(masked_logits(logits_BA, mask_BA), dim=-1)
    return -(targets_BA * logp).sum(dim=-1).mean()


def distill(cfg: DistillConfig, out_path: str | Path, game: BatchedGame | None = None) -> dict[str, Any]:
    """Collect the mixture's data, train the network, save the checkpoint at ``out_path``; returns a result
    dict (``checkpoint``, ``samples``, per-epoch ``losses``, ``entropy`` = the targets' mean entropy, the
    floor of the loss) also written beside it as ``<out_path>.json``."""
    game = game or make_env_game(cfg.env_id, cfg.env_kwargs)
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    obs, masks, targets = collect_mixture_data(game, cfg)
    torch.manual_seed(cfg.seed)
    net_config = cfg.net_config or default_net_config(game)
    net = PolicyValueNet(net_config, game.obs_shape, game.num_actions)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
    x, m, t = torch.from_numpy(obs), torch.from_numpy(masks), torch.from_numpy(targets.astype(np.float32))
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for _ in range(cfg.epochs):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for start in range(0, len(x), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            loss = cross_entropy(net(x[idx])[0], m[idx], t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = float(-np.where(targets > 0, targets * np.log(targets), 0.0).sum(axis=1).mean()) + 0.0
    extra = {
        "members": list(cfg.members),
        "weights": cfg.weights,
        "samples": len(x),
        "losses": losses,
        "config": asdict(cfg),
    }
    path = save_checkpoint(
        out_path,
        algo="distilled",
        weights=net.state_dict(),
        net_config=net_config,
        game=game,
        env_kwargs=cfg.env_kwargs,
        step=cfg.epochs,
        extra=extra,
    )
    result = {"checkpoint": str(path), "samples": len(x), "losses": losses, "entropy": entropy}
    Path(str(path) + ".json").write_text(json.dumps(result, sort_keys=True) + "\n")
    return result
