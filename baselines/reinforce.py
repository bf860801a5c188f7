"""REINFORCE (Williams 1992) with masked softmax policies, optionally with a learned value baseline.

Training plays ``num_games`` games in lockstep through the ``BatchedGame`` (one forward pass per step for
every game where the learner is to act), either by self-play (every seat is the current policy) or against a
fixed opponent / fixed mixture of opponents (agent specs; the learner takes seat ``(i + o) % P`` in game i of
a batch, ``o`` drawn per batch, and each game's opponent is drawn from the mixture weights). Each iteration
plays one such batch of games to the end, then takes one gradient step on

    loss = -mean_t[(G_t - b_t) * log pi(a_t | s_t)] + value_coef * mean_t[(V(s_t) - G_t)^2] - entropy_coef * H

where ``G_t`` is the learner seat's discounted return from decision t on (its rewards are the changes of
``game.returns`` for its seat between its decisions), ``b_t = V(s_t)`` (detached) with ``baseline=True`` and 0
otherwise. ``python -m zeroleague train reinforce ...`` (zeroleague/train_cli.py) runs ``train_reinforce``.

Checkpoints (``zeroleague.baselines.policies`` format, algo "reinforce") are Agents: the agent spec ``reinforce:PATH``
(optional ``greedy=true``) samples from the masked softmax with a generator seeded from ``seed``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zeroleague.agents.base import RESIGN, DecisionBatch
from zeroleague.agents.evaluator import pick_device
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.policies import (
    PolicyValueNet,
    default_net_config,
    masked_logits,
    save_checkpoint,
    select_actions,
)
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.registry import make_game
from zeroleague.runlog import ComputeMeter, RunLogger


@dataclass(frozen=True)
class ReinforceConfig:
    """Every hyperparameter of a REINFORCE run (defaults work for 6 nimmt!). No ``opponents``: self-play."""

    env_id: str = "sixnimmt_v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    opponents: tuple[str, ...] = ()
    opponent_weights: tuple[float, ...] | None = None
    total_steps: int = 200_000  # learner decisions to train on
    num_games: int = 64  # games played in lockstep per iteration
    learning_rate: float = 1e-3
    gamma: float = 1.0
    baseline: bool = True  # learned value baseline
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 1.0
    net_config: dict[str, Any] | None = None  # None: baselines.policies.default_net_config(game)
    checkpoint_every: int = 50  # iterations
    seed: int = 0
    device: str | None = None
    torch_threads: int | None = 1  # torch.set_num_threads for the run (small nets: 1 is fastest); None = leave


def reinforce_loss(
    logits_BA: torch.Tensor, mask_BA: torch.Tensor, actions_B: torch.Tensor, advantages_B: torch.Tensor
) -> torch.Tensor:
    """The policy-gradient surrogate ``-mean(A_t * log pi(a_t))`` under the masked softmax; ``advantages_B``
    is treated as a constant. Its gradient is the REINFORCE estimate of ``-grad E[return]`` (minus sign:
    minimise)."""
    logp_BA = torch.log_softmax(masked_logits(logits_BA, mask_BA), dim=-1)
    logp_B = logp_BA.gather(1, actions_B.long().unsqueeze(1)).squeeze(1)
    return -(advantages_B.detach() * logp_B).mean()


def masked_entropy(logits_BA: torch.Tensor, mask_BA: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the masked softmax (illegal actions have probability 0 and contribute 0)."""
    logp_BA = torch.log_softmax(masked_logits(logits_BA, mask_BA), dim=-1)
    return -(logp_BA.exp() * logp_BA).sum(dim=-1).mean()


def discounted_returns(
    game_idx: np.ndarray, seats: np.ndarray, ret_at: np.ndarray, final: np.ndarray, gamma: float
) -> np.ndarray:
    """``G_t`` for decisions listed in time order: decision t of (game g, seat s) earns the change of that
    seat's return until its next decision (or the end), ``G_t = r_t + gamma * G_next``."""
    out = np.zeros(len(seats), dtype=np.float64)
    next_g: dict[tuple[int, int], float] = {}
    next_ret: dict[tuple[int, int], float] = {}
    for t in range(len(seats) - 1, -1, -1):
        key = (int(game_idx[t]), int(seats[t]))
        later = next_ret.get(key, float(final[key]))
        out[t] = later - ret_at[t] + gamma * next_g.get(key, 0.0)
        next_g[key], next_ret[key] = out[t], float(ret_at[t])
    return out


@dataclass
class Rollout:
    """Learner decisions of one batch of games, in time order, and the learner seats' final returns."""

    obs: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    returns_to_go: np.ndarray
    learner_final: np.ndarray  # float[G]: learner's final return per game (opponent play only)


def collect(
    game: BatchedGame,
    net: PolicyValueNet,
    opponents: list,
    weights: np.ndarray,
    cfg: ReinforceConfig,
    rng: np.random.Generator,
    generator: torch.Generator,
    device: torch.device,
    meter: ComputeMeter,
    first_game_id: int,
) -> Rollout:
    """Play ``cfg.num_games`` games to the end in lockstep; the policy acts for the learner rows of every step
    in one forward pass, each opponent in one ``act`` call. An opponent's RESIGN scores +1/-1 for the
    learner."""
    n, p = cfg.num_games, game.num_players
    state = game.init(n, int(rng.integers(0, 2**62)))
    self_play = not opponents
    seat = (np.arange(n) + int(rng.integers(0, p))) % p  # learner's seat (all seats in self-play)
    opp = rng.choice(len(opponents), size=n, p=weights) if opponents else np.zeros(n, np.int64)
    game_ids = first_game_id + np.arange(n)
    for k, agent in enumerate(opponents):
        agent.reset(game_ids[opp == k])
    resigned = np.zeros(n, dtype=bool)
    rec: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "masks", "actions", "game", "seat", "ret")}
    while True:
        cur = game.current_player(state).astype(np.int64)
        live = (cur >= 0) & ~resigned
        if not live.any():
            break
        obs_all = game.observe(state, np.where(cur >= 0, cur, 0))
        mask_all = game.legal_mask(state)
        actions = np.full(n, -1, dtype=np.int64)
        mine = live & (self_play | (cur == seat))
        rows = np.flatnonzero(mine)
        if len(rows):
            with torch.no_grad():
                logits, _ = net(torch.as_tensor(obs_all[rows], device=device))
                a = select_actions(logits, torch.as_tensor(mask_all[rows], device=device), generator, False)
            actions[rows] = a.cpu().numpy()
            meter.forward_samples += len(rows)
            ret = game.returns(state)
            for key, val in (
                ("obs", obs_all[rows]),
                ("masks", mask_all[rows]),
                ("actions", actions[rows]),
                ("game", rows),
                ("seat", cur[rows]),
                ("ret", ret[rows, cur[rows]]),
            ):
                rec[key].append(val)
        for k, agent in enumerate(opponents):
            rows_k = np.flatnonzero(live & ~mine & (opp == k))
            if not len(rows_k):
                continue
            states = game.information_state(game.take(state, rows_k), cur[rows_k]) if agent.needs_states else None
            batch = DecisionBatch(game, obs_all[rows_k], mask_all[rows_k], cur[rows_k], game_ids[rows_k], states)
            a_k = np.asarray(agent.act(batch), dtype=np.int64)
            resigned[rows_k[a_k == RESIGN]] = True
            actions[rows_k] = np.where(a_k == RESIGN, -1, a_k)
        game.step(state, actions)
        meter.env_steps += int((actions >= 0).sum())
    final = game.returns(state).astype(np.float64)
    if resigned.any():  # the resigner's opponent (the learner) wins
        final[resigned] = -1.0
        final[np.flatnonzero(resigned), seat[resigned]] = 1.0
    cat = {k: np.concatenate(v) for k, v in rec.items()}
    g = discounted_returns(cat["game"], cat["seat"], cat["ret"], final, cfg.gamma)
    return Rollout(cat["obs"], cat["masks"], cat["actions"], g, final[np.arange(n), seat])


def train_reinforce(cfg: ReinforceConfig, run_dir: str | Path, game: BatchedGame | None = None) -> dict[str, Any]:
    """Train per ``cfg``; write ``config.json``, ``metrics.jsonl``, TensorBoard logs,
    ``checkpoints/step_*.pt``,
    ``final.pt`` and ``result.json`` into ``run_dir``. Returns the result dict (also ``result.json``).
    ``game``: an engine instance to use instead of ``make_game(cfg.env_id, **cfg.env_kwargs)`` (e.g. a test
    game; its ``env_id`` must be ``cfg.env_id``)."""
    run_dir = Path(run_dir)
    device = pick_device(cfg.device)
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.seed)
    if game is None:
        game = make_game(cfg.env_id, **cfg.env_kwargs)
    elif game.env_id != cfg.env_id:
        raise ValueError(f"game {game.env_id!r} given for a config of env {cfg.env_id!r}")
    net_config = cfg.net_config or default_net_config(game)
    net = PolicyValueNet(net_config, game.obs_shape, game.num_actions).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
    opp_seeds = np.random.SeedSequence(cfg.seed).spawn(len(cfg.opponents))
    opponents = [
        make_agent(spec, game, seed=int(s.generate_state(1)[0]), device=cfg.device)
        for spec, s in zip(cfg.opponents, opp_seeds, strict=True)
    ]
    if cfg.opponent_weights is not None and len(cfg.opponent_weights) != len(cfg.opponents):
        raise ValueError(f"opponent_weights {cfg.opponent_weights!r} do not match opponents {cfg.opponents!r}")
    w = np.asarray(cfg.opponent_weights if cfg.opponent_weights is not None else [1.0] * len(opponents), float)
    weights = w / w.sum() if len(w) else w
    meter = ComputeMeter(device=str(device))
    logger = RunLogger(run_dir, {"algo": "reinforce", **asdict(cfg), "net_config": net_config})

    def checkpoint(path: Path, step: int) -> Path:
        return save_checkpoint(
            path,
            algo="reinforce",
            weights=net.state_dict(),
            net_config=net_config,
            game=game,
            env_kwargs=cfg.env_kwargs,
            step=step,
            extra={"config": asdict(cfg), "compute": meter.as_dict()},
        )

    steps, iteration = 0, 0
    while steps < cfg.total_steps:
        net.eval()
        ro = collect(game, net, opponents, weights, cfg, rng, generator, device, meter, iteration * cfg.num_games)
        net.train()
        obs = torch.as_tensor(ro.obs, device=device)
        mask = torch.as_tensor(ro.masks, device=device)
        actions = torch.as_tensor(ro.actions, device=device)
        g = torch.as_tensor(ro.returns_to_go, dtype=torch.float32, device=device)
        logits, values = net(obs)
        advantages = g - values.detach() if cfg.baseline else g
        policy_loss = reinforce_loss(logits, mask, actions, advantages)
        value_loss = ((values - g) ** 2).mean()
        entropy = masked_entropy(logits, mask)
        loss = policy_loss - cfg.entropy_coef * entropy + (cfg.value_coef * value_loss if cfg.baseline else 0.0)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
        optimizer.step()
        steps += len(ro.actions)
        iteration += 1
        meter.forward_samples += len(ro.actions)
        meter.backward_samples += len(ro.actions)
        metrics = {
            "policy_loss": policy_loss.item(),
            "value_loss": value_loss.item(),
            "entropy": entropy.item(),
            "mean_return_to_go": g.mean().item(),
            "iteration": iteration,
            **meter.as_dict(),
        }
        if opponents:
            metrics["learner_mean_return"] = float(ro.learner_final.mean())
        if iteration % cfg.checkpoint_every == 0:
            metrics["checkpoint"] = str(checkpoint(run_dir / "checkpoints" / f"step_{steps:09d}.pt", steps))
        logger.log(steps, metrics)
    final = checkpoint(run_dir / "final.pt", steps)
    result = {
        "algo": "reinforce",
        "env_id": cfg.env_id,
        "final_checkpoint": str(final),
        "steps": steps,
        "iterations": iteration,
        "compute": meter.as_dict(),
    }
    (run_dir / "result.json").write_text(json.dumps(result, sort_keys=True) + "\n")
    logger.close()
    for agent in opponents:
        agent.close()
    return result
