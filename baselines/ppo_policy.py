"""A PPO best-response checkpoint as a player: the sb3-contrib ``MaskableActorCriticPolicy`` rebuilt from a
checkpoint, and the ``ppo:PATH[,greedy=true]`` agent. Training lives in ``zeroleague.baselines.ppo`` (the
learning layer); this module is what players, tournaments and leagues need to play a trained best response.

Checkpoint formats (``read_ppo_checkpoint`` reads both, whatever the file's extension):

- SB3 (written by ``train_ppo`` since the Parallel/ecosystem work, and the shipped
  ``checkpoints/sixnimmt/ppo_br_closest_gap.pt``): sb3's own zip, written by ``MaskablePPO.save``, so
  ``sb3_contrib.MaskablePPO.load(path)`` opens it (``model.policy`` is the trained policy, ``predict`` with
  ``action_masks`` plays); one extra member ``zeroleague.json`` (ignored by sb3) holds what our loaders check:
  the ``zeroleague.baselines.policies`` checkpoint fields without the weights (format, algo "ppo", net_config,
  env_id, env_kwargs, game signature, step, extra with ``policy_kwargs``). Our loader takes the weights from the
  zip's ``policy.pth`` (``torch.load(weights_only=True)``: no code runs from the file).
- Legacy: a ``zeroleague.baselines.policies`` checkpoint (algo "ppo"; ``extra["policy_kwargs"]`` names the
  trunk). ``convert_ppo_checkpoint(old, new)`` (or ``python -m zeroleague.baselines.ppo_policy convert OLD NEW``)
  rewrites one as an SB3 zip with the same weights.
"""

from __future__ import annotations

import functools
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import gymnasium
import torch
from torch import nn

from zeroleague.agents.evaluator import pick_device
from zeroleague.agents.gym_views import game_spaces
from zeroleague.agents.registry import register_agent
from zeroleague.baselines.policies import (
    CHECKPOINT_FORMAT,
    ActionScores,
    CheckpointError,
    PolicyAgent,
    build_trunk,
    game_signature,
    load_checkpoint,
    trunk_scores_actions,
)
from zeroleague.envs.core import BatchedGame

SB3_META = "zeroleague.json"  # our member of an sb3 zip checkpoint


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

    # importable as zeroleague.baselines.ppo_policy.CardsActorCriticPolicy (module __getattr__ below), so sb3's
    # zip stores the class by reference and MaskablePPO.load finds it again
    CardsActorCriticPolicy.__module__ = __name__
    CardsActorCriticPolicy.__qualname__ = "CardsActorCriticPolicy"
    return MaskableActorCriticPolicy, CardsActorCriticPolicy


def __getattr__(name: str) -> Any:
    if name == "CardsActorCriticPolicy":
        return _maskable_policy_classes()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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



def is_sb3_zip(path: str | Path) -> bool:
    """True if ``path`` is an sb3 zip (``MaskablePPO.save`` output)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    return "data" in names and "policy.pth" in names


def _check_meta(path: Path, meta: dict[str, Any], game, env_id, env_kwargs) -> None:
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("algo") != "ppo":
        raise CheckpointError(f"{str(path)!r} is an sb3 zip without zeroleague PPO metadata ({SB3_META})")
    if env_id is not None and meta["env_id"] != env_id:
        raise CheckpointError(f"{str(path)!r} was trained for env {meta['env_id']!r}, not {env_id!r}")
    if env_kwargs is not None and meta["env_kwargs"] != dict(env_kwargs):
        raise CheckpointError(
            f"{str(path)!r} was trained for {meta['env_id']} with env kwargs {meta['env_kwargs']!r}, "
            f"not {dict(env_kwargs)!r}"
        )
    if game is not None:
        sig = json.loads(json.dumps(game_signature(game)))  # as stored (tuples become lists)
        if meta["game"] != sig:
            diff = {
                k: (meta["game"].get(k), sig.get(k))
                for k in sig.keys() | meta["game"].keys()
                if meta["game"].get(k) != sig.get(k)
            }
            raise CheckpointError(
                f"{str(path)!r} was trained for {meta['env_id']} {meta['env_kwargs']!r} and does not fit "
                f"this game; (checkpoint, game) differ in {diff!r}"
            )


def read_ppo_checkpoint(
    path: str | Path,
    *,
    game: BatchedGame | None = None,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A PPO checkpoint of either format (module docstring) as the ``zeroleague.baselines.policies`` checkpoint
    dict (``weights`` = the sb3 policy's state dict), checked against ``game`` / ``env_id`` / ``env_kwargs``
    like ``policies.load_checkpoint``; ``format_kind`` says "sb3" or "legacy"."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    if not is_sb3_zip(path):
        ckpt = load_checkpoint(path, algo="ppo", game=game, env_id=env_id, env_kwargs=env_kwargs)
        return {**ckpt, "format_kind": "legacy"}
    with zipfile.ZipFile(path) as z:
        if SB3_META not in z.namelist():
            raise CheckpointError(f"{str(path)!r} is an sb3 zip without zeroleague PPO metadata ({SB3_META})")
        meta = json.loads(z.read(SB3_META))
        weights_bytes = z.read("policy.pth")
    _check_meta(path, meta, game, env_id, env_kwargs)
    weights = torch.load(io.BytesIO(weights_bytes), map_location="cpu", weights_only=True)
    return {**meta, "weights": weights, "format_kind": "sb3"}


def save_ppo_checkpoint(
    path: str | Path,
    model: Any,
    *,
    net_config: dict[str, Any],
    game: BatchedGame,
    env_kwargs: dict[str, Any],
    step: int,
    extra: dict[str, Any],
) -> Path:
    """Write ``model`` (a MaskablePPO) as an sb3 zip plus our ``zeroleague.json`` member, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    model.save(buf)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "algo": "ppo",
        "net_config": net_config,
        "env_id": game.env_id,
        "env_kwargs": dict(env_kwargs),
        "game": game_signature(game),
        "step": int(step),
        "extra": dict(extra),
    }
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr(SB3_META, json.dumps(meta, sort_keys=True, default=str))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def build_policy(game: BatchedGame, desc: dict[str, Any]):
    """A fresh sb3 policy for ``game`` from the JSON description ``desc`` (``sb3_policy_kwargs``)."""
    obs_space, act_space = game_spaces(game)
    policy_class, policy_kwargs = sb3_policy(desc)
    return policy_class(obs_space, act_space, lambda _: 0.0, **policy_kwargs)


def load_ppo_policy(game: BatchedGame, path: str | Path, device: str | torch.device | None = None):
    """The sb3 ``MaskableActorCriticPolicy`` stored in a PPO checkpoint (either format) made for ``game``
    (eval mode)."""
    ckpt = read_ppo_checkpoint(path, game=game)
    policy = build_policy(game, ckpt["extra"]["policy_kwargs"])
    policy.load_state_dict(ckpt["weights"])
    return policy.to(pick_device(device)).eval()


def convert_ppo_checkpoint(src: str | Path, dst: str | Path, game: BatchedGame | None = None) -> Path:
    """Rewrite a legacy PPO checkpoint as an sb3 zip (same weights, same metadata); ``dst`` may be ``src``."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from zeroleague.agents.gym_views import SingleAgentView
    from zeroleague.envs.registry import make_game

    ckpt = read_ppo_checkpoint(src, game=game)
    if ckpt["format_kind"] == "sb3":
        raise CheckpointError(f"{str(src)!r} is already an sb3 zip")
    if game is None:
        game = make_game(ckpt["env_id"], **ckpt["env_kwargs"])
    desc = ckpt["extra"]["policy_kwargs"]
    policy_class, policy_kwargs = sb3_policy(desc)
    venv = DummyVecEnv([lambda: SingleAgentView(game, opponent="random")])
    config = ckpt["extra"].get("config", {})
    names = ("n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm",
             "learning_rate", "clip_range")  # fmt: skip
    hyper = {k: config[k] for k in names if k in config}
    model = MaskablePPO(policy_class, venv, policy_kwargs=policy_kwargs, device="cpu", seed=0, **hyper)
    model.policy.load_state_dict(ckpt["weights"])
    model.num_timesteps = int(ckpt["step"])
    extra = {**ckpt["extra"], "converted_from": "zeroleague-policy-v1 (legacy PPO checkpoint)"}
    out = save_ppo_checkpoint(
        dst, model, net_config=ckpt["net_config"], game=game, env_kwargs=ckpt["env_kwargs"], step=ckpt["step"],
        extra=extra,
    )  # fmt: skip
    venv.close()
    return out


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


def main(argv: list[str] | None = None) -> int:
    """``python -m zeroleague.baselines.ppo_policy convert OLD NEW``: a legacy checkpoint as an sb3 zip."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "convert":
        print("usage: python -m zeroleague.baselines.ppo_policy convert OLD NEW", file=sys.stderr)
        return 2
    print(convert_ppo_checkpoint(args[1], args[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
