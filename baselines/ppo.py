"""A best response trained with sb3-contrib's ``MaskablePPO`` against a fixed opponent or a fixed mixture.

The learner plays ``zeroleague.agents.gym_views.SingleAgentView`` environments (``num_envs`` of them in an sb3
``DummyVecEnv``, each wrapped in ``Monitor`` so episode returns are logged, rewards multiplied by
``reward_scale`` for the learner only); MaskablePPO reads the legal actions through the view's
``action_masks()`` (``env_method`` on the vec env). The policy's features extractors are the trunks of
``zeroleague.baselines.policies``. A conv (Go) or MLP trunk: separate extractors for the actor and the critic, each
followed by sb3's ``net_arch`` layers and linear heads. The card-structured 6 nimmt! trunk ("cards", which
scores every action itself): ``CardsActorCriticPolicy``, one extractor shared by actor and critic, the
trunk's action scores are the logits (``ActionScores``) and ``net_arch`` layers lead to the value.

``train_ppo(cfg, run_dir)`` writes ``config.json``, ``metrics.jsonl`` (one line per rollout: mean learner
episode return, compute), TensorBoard logs (ours under ``tb/``, sb3's under ``tb/MaskablePPO_*``), checkpoints
every ``checkpoint_every`` learner steps (``checkpoints/step_*.pt``), ``final.pt`` and ``result.json``.
Checkpoints are sb3's own zip format (``sb3_contrib.MaskablePPO.load(path)`` opens them; named ``.pt`` like
every checkpoint here, the content decides) with our metadata member (``zeroleague.baselines.ppo_policy``: env,
game signature, ``extra["policy_kwargs"]``), and are Agents: ``ppo:PATH[,greedy=true]``. The views are built
with ``illegal_action="raise"``: MaskablePPO acts from the masks, so an illegal action would be a bug.

Compute accounting: ``env_steps`` counts every seat's moves in the views' games; ``forward_samples`` the
learner's acting passes plus training passes; ``backward_samples`` = PPO epochs done x rollout size (each
epoch passes every sample of the rollout through one backward pass). Opponents' own network passes are not
counted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

from zeroleague.agents.evaluator import pick_device
from zeroleague.agents.gym_views import SingleAgentView
from zeroleague.baselines.policies import default_net_config
from zeroleague.baselines.ppo_policy import save_ppo_checkpoint, sb3_policy, sb3_policy_kwargs
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.registry import make_game
from zeroleague.runlog import ComputeMeter, RunLogger


@dataclass(frozen=True)
class PPOConfig:
    """Every hyperparameter of a PPO best-response run (defaults work for 6 nimmt! against a heuristic)."""

    env_id: str = "sixnimmt_v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    opponents: tuple[str, ...] = ("random",)
    opponent_weights: tuple[float, ...] | None = None
    learner_seat: int | str = "alternate"
    total_steps: int = 200_000  # learner decisions (sb3 timesteps)
    num_envs: int = 8
    n_steps: int = 256  # per env per rollout
    batch_size: int = 512
    n_epochs: int = 10
    learning_rate: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    reward_scale: float = 0.1  # rewards PPO sees = learner reward * reward_scale (logs show unscaled returns)
    net_config: dict[str, Any] | None = None  # None: baselines.policies.default_net_config(game)
    net_arch: tuple[int, ...] = (64,)  # sb3 layers after the trunk, for the actor and the critic
    checkpoint_every: int = 50_000  # learner steps
    seed: int = 0
    device: str | None = None
    torch_threads: int | None = 1  # torch.set_num_threads for the run (small nets: 1 is fastest); None = leave


def _make_env(cfg: PPOConfig, game: BatchedGame):
    """A thunk building one learner env: the view, ``Monitor`` (unscaled episode returns), reward scaling."""
    from stable_baselines3.common.monitor import Monitor

    def thunk() -> gymnasium.Env:
        view = SingleAgentView(
            game,
            opponent=list(cfg.opponents),
            opponent_weights=cfg.opponent_weights,
            learner_seat=cfg.learner_seat,
            device=cfg.device,
            illegal_action="raise",
        )
        scale = cfg.reward_scale
        return gymnasium.wrappers.TransformReward(Monitor(view), lambda r: r * scale)

    return thunk


def train_ppo(cfg: PPOConfig, run_dir: str | Path, game: BatchedGame | None = None) -> dict[str, Any]:
    """Train a MaskablePPO best response per ``cfg`` into ``run_dir`` (see the module docstring); returns the
    result dict (also ``result.json``). ``game``: an engine instance to use instead of ``make_game(cfg.env_id,
    **cfg.env_kwargs)`` (its ``env_id`` must be ``cfg.env_id``)."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    run_dir = Path(run_dir)
    if game is None:
        game = make_game(cfg.env_id, **cfg.env_kwargs)
    elif game.env_id != cfg.env_id:
        raise ValueError(f"game {game.env_id!r} given for a config of env {cfg.env_id!r}")
    if not cfg.opponents:
        raise ValueError("a PPO best response needs at least one opponent spec")
    device = pick_device(cfg.device)
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    net_config = cfg.net_config or default_net_config(game)
    desc = sb3_policy_kwargs(net_config, cfg.net_arch)
    venv = DummyVecEnv([_make_env(cfg, game) for _ in range(cfg.num_envs)])
    policy_class, policy_kwargs = sb3_policy(desc)
    model = MaskablePPO(
        policy_class,
        venv,
        learning_rate=cfg.learning_rate,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        policy_kwargs=policy_kwargs,
        tensorboard_log=str(run_dir / "tb"),
        seed=cfg.seed,
        device=device,
        verbose=0,
    )
    meter = ComputeMeter(device=str(device))
    logger = RunLogger(run_dir, {"algo": "ppo", **asdict(cfg), "net_config": net_config})
    rollout_size = cfg.n_steps * cfg.num_envs

    def checkpoint(path: Path) -> Path:
        return save_ppo_checkpoint(
            path,
            model,
            net_config=net_config,
            game=game,
            env_kwargs=cfg.env_kwargs,
            step=model.num_timesteps,
            extra={"policy_kwargs": desc, "config": asdict(cfg), "compute": meter.as_dict()},
        )

    def account() -> None:
        meter.env_steps = int(sum(venv.get_attr("game_steps")))
        meter.backward_samples = model._n_updates * rollout_size
        meter.forward_samples = model.num_timesteps + meter.backward_samples

    class Log(BaseCallback):
        next_ckpt = cfg.checkpoint_every

        def _on_step(self) -> bool:
            if model.num_timesteps >= self.next_ckpt:
                self.next_ckpt += cfg.checkpoint_every
                account()
                path = checkpoint(run_dir / "checkpoints" / f"step_{model.num_timesteps:09d}.pt")
                logger.log(model.num_timesteps, {"checkpoint": str(path), **meter.as_dict()})
            return True

        def _on_rollout_end(self) -> None:
            account()
            episodes = [ep["r"] for ep in model.ep_info_buffer]
            metrics: dict[str, Any] = dict(meter.as_dict())
            if episodes:
                metrics["learner_mean_return"] = float(np.mean(episodes))  # last <=100 episodes, unscaled
            logger.log(model.num_timesteps, metrics)

    model.learn(total_timesteps=cfg.total_steps, callback=Log())
    account()
    final = checkpoint(run_dir / "final.pt")
    logger.log(model.num_timesteps, {"checkpoint": str(final), **meter.as_dict()})
    result = {
        "algo": "ppo",
        "env_id": cfg.env_id,
        "final_checkpoint": str(final),
        "steps": model.num_timesteps,
        "compute": meter.as_dict(),
    }
    (run_dir / "result.json").write_text(json.dumps(result, sort_keys=True) + "\n")
    logger.close()
    venv.close()
    return result
