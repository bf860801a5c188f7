"""A PPO best-response checkpoint as a player: the sb3-contrib ``MaskableActorCriticPolicy`` rebuilt from a
``zeroleague.baselines.policies``-format checkpoint (algo "ppo"; ``extra["policy_kwargs"]`` names the trunk), and the
``ppo:PATH[,greedy=true]`` agent. Training lives in ``zeroleague.baselines.ppo`` (the learning layer); this module
is what players, tournaments and leagues need to play a trained best response.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gymnasium
import torch
from torch import nn

from zeroleague.agents.evaluator import pick_device
from zeroleague.agents.gym_views import game_spaces
from zeroleague.agents.registry import register_agent
from zeroleague.baselines.policies import ActionScores, PolicyAgent, build_trunk, load_checkpoint, trunk_scores_actions
from zeroleague.envs.core import BatchedGame


class TrunkExtractor(nn.Module):
    """An sb3 features extractor (``features_dim`` + ``forward``) made of a ``zeroleague.baselines.policies`` trunk."""

    def __init__(self, observation_space: gymnasium.spaces.Box, net_config: dict[str, Any]):
        super().__init__()
        self.trunk, self.features_dim = build_trunk(net_config, tuple(observation_space.shape))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.trunk(obs)


@functools.cache
def _maskable_policy_classes() -> tuple[type, type]:
    """sb3-contrib's ``MaskableActorCriticPolicy`` and ``CardsActorCriticPolicy`` (imported on first use)."""
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    class CardsActorCriticPolicy(MaskableActorCriticPolicy):
        """MaskablePPO's policy for a trunk that scores the actions itself: the action head takes the trunk's
        first ``n`` outputs (``ActionScores``) instead of a linear layer, and the trunk's output layers start
        small (sb3's gain 0.01 for action heads: a near-uniform initial policy); built otherwise as sb3 does."""

        def _build(self, lr_schedule) -> None:
            super()._build(lr_schedule)
            self.action_net = ActionScores(int(self.action_space.n))
            for layer in self.features_extractor.trunk.output_layers():
                self.init_weights(layer, gain=0.01)
            self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    return MaskableActorCriticPolicy, CardsActorCriticPolicy


def sb3_policy_kwargs(net_config: dict[str, Any], net_arch: tuple[int, ...]) -> dict[str, Any]:
    """JSON-able description of the sb3 policy (kept in checkpoints); ``sb3_policy`` makes it live."""
    return {"net_config": net_config, "net_arch": [int(h) for h in net_arch]}


def sb3_policy(desc: dict[str, Any]) -> tuple[type, dict[str, Any]]:
    """The sb3 policy class and its ``policy_kwargs`` for the description ``desc``."""
    plain, cards = _maskable_policy_classes()
    kwargs = {
        "features_extractor_class": TrunkExtractor,
        "features_extractor_kwargs": {"net_config": desc["net_config"]},
    }
    if trunk_scores_actions(desc["net_config"]):
        return cards, {
            **kwargs,
            "share_features_extractor": True,
            "net_arch": {"pi": [], "vf": list(desc["net_arch"])},
        }
    return plain, {**kwargs, "share_features_extractor": False, "net_arch": list(desc["net_arch"])}



def load_ppo_policy(game: BatchedGame, path: str | Path, device: str | torch.device | None = None):
    """The sb3 ``MaskableActorCriticPolicy`` stored in a PPO checkpoint made for ``game`` (eval mode)."""
    ckpt = load_checkpoint(path, algo="ppo", game=game)
    obs_space, act_space = game_spaces(game)
    policy_class, policy_kwargs = sb3_policy(ckpt["extra"]["policy_kwargs"])
    policy = policy_class(obs_space, act_space, lambda _: 0.0, **policy_kwargs)
    policy.load_state_dict(ckpt["weights"])
    return policy.to(pick_device(device)).eval()


class PolicyLogitsValue(nn.Module):
    """An sb3 actor-critic policy as ``obs_B... -> (logits_BA, value_B)``, the Evaluator's model interface."""

    def __init__(self, policy: nn.Module):
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.policy.get_distribution(obs).distribution.logits, self.policy.predict_values(obs).squeeze(-1)


@register_agent("ppo")
def ppo_agent(
    game: BatchedGame, path: str, *, seed: int = 0, device: str | None = None, greedy: bool = False
) -> PolicyAgent:
    """A PPO best-response checkpoint as an Agent (``ppo:PATH[,greedy=true]``)."""
    policy = load_ppo_policy(game, path, device)
    return PolicyAgent(PolicyLogitsValue(policy), device=device, seed=seed, greedy=greedy, name=f"ppo:{path}")
