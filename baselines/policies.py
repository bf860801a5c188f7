"""What REINFORCE and the PPO best response share: small policy/value networks, masked sampling, the policy
Agent, the checkpoint file, and run-directory logging.

Networks (``net_config`` dicts, JSON-able, rebuilt by ``build_trunk`` / ``PolicyValueNet``):
``{"kind": "mlp", "hidden": [128, 128]}`` for flat observations (6 nimmt!): an MLP over the vector.
``{"kind": "conv", "channels": 32, "blocks": 3, "head_channels": 4}`` for planes ``[C, H, W]`` (Go): 3x3 convs
with padding, then a 1x1 conv to ``head_channels`` planes, flattened (``head_channels * H * W`` features).
``default_net_config(game)`` picks by the observation's rank. The same trunks are PPO's features extractors.

Masking: ``masked_logits`` puts the most negative float at illegal actions (never -inf, so softmax,
log-softmax, entropy and their gradients stay finite), which gives illegal actions probability exactly 0.
``select_actions`` samples (or takes the argmax) under that mask in torch (the REINFORCE rollouts);
``PolicyAgent`` plays a trained model through ``agents.evaluator.Evaluator`` (REINFORCE and PPO agents).

Checkpoint (one ``torch.save`` file, loaded with ``weights_only=True``): ``format``, ``algo`` ("reinforce" or
"ppo"), ``weights`` (a state dict), ``net_config``, ``env_id``, ``env_kwargs``, ``game`` (``game_signature``:
env id, players, actions, observation shape and the engine's repr when it has one), ``step`` (training step)
and ``extra`` (algorithm specifics). ``load_checkpoint`` refuses, with a ``CheckpointError`` saying what
differs, a file that is not such a checkpoint, another algorithm, or another game / env kwargs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.base import BaseAgent, DecisionBatch
from agents.evaluator import Evaluator
from envs.core import BatchedGame

CHECKPOINT_FORMAT = "zeroleague-policy-v1"


# --- networks -----------------------------------------------------------------------------------------------


def default_net_config(game: BatchedGame) -> dict[str, Any]:
    """An MLP for flat observations, a small conv net for ``[C, H, W]`` planes."""
    if len(game.obs_shape) == 1:
        return {"kind": "mlp", "hidden": [128, 128]}
    if len(game.obs_shape) == 3:
        return {"kind": "conv", "channels": 32, "blocks": 3, "head_channels": 4}
    raise ValueError(f"no default network for observations of shape {game.obs_shape}")


def build_trunk(net_config: dict[str, Any], obs_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """The feature trunk described by ``net_config`` for observations ``obs_shape``, and its output width."""
    kind = net_config.get("kind")
    if kind == "mlp":
        if len(obs_shape) != 1:
            raise ValueError(f"an mlp trunk needs flat observations, got shape {obs_shape}")
        layers: list[nn.Module] = []
        width = obs_shape[0]
        for h in net_config["hidden"]:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        return nn.Sequential(*layers), width
    if kind == "conv":
        if len(obs_shape) != 3:
            raise ValueError(f"a conv trunk needs [C, H, W] observations, got shape {obs_shape}")
        c_in, h, w = obs_shape
        ch, head = int(net_config["channels"]), int(net_config["head_channels"])
        layers = []
        for _ in range(int(net_config["blocks"])):
            layers += [nn.Conv2d(c_in, ch, 3, padding=1), nn.ReLU()]
            c_in = ch
        layers += [nn.Conv2d(c_in, head, 1), nn.ReLU(), nn.Flatten()]
        return nn.Sequential(*layers), head * h * w
    raise ValueError(f"unknown network kind {kind!r} in net_config {net_config!r} (expected 'mlp' or 'conv')")


class PolicyValueNet(nn.Module):
    """``forward(obs_B...) -> (logits_BA, value_B)``: a trunk, a linear policy head, a linear value head."""

    def __init__(self, net_config: dict[str, Any], obs_shape: tuple[int, ...], num_actions: int):
        super().__init__()
        self.trunk, width = build_trunk(net_config, tuple(obs_shape))
        self.policy_head = nn.Linear(width, num_actions)
        self.value_head = nn.Linear(width, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(obs)
        return self.policy_head(z), self.value_head(z).squeeze(-1)


# --- masked policies ----------------------------------------------------------------------------------------


def masked_logits(logits_BA: torch.Tensor, mask_BA: torch.Tensor) -> torch.Tensor:
    """Logits with illegal actions (``mask_BA`` False) set to the most negative finite float; a ValueError if
    a row has no legal action."""
    mask_BA = mask_BA.to(dtype=torch.bool, device=logits_BA.device)
    if not bool(mask_BA.any(dim=-1).all()):
        raise ValueError("a row of the action mask has no legal action")
    return logits_BA.masked_fill(~mask_BA, torch.finfo(logits_BA.dtype).min)


def select_actions(
    logits_BA: torch.Tensor, mask_BA: torch.Tensor, generator: torch.Generator | None, greedy: bool
) -> torch.Tensor:
    """int64[B] legal actions: the masked argmax if ``greedy``, else samples of the masked softmax drawn with
    ``generator`` (on the logits' device)."""
    masked = masked_logits(logits_BA, mask_BA)
    if greedy:
        return masked.argmax(dim=-1)
    probs = torch.softmax(masked.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class PolicyAgent(BaseAgent):
    """An Agent from a ``model`` mapping ``obs_B... -> (logits_BA, value_B)``: each ``act`` call is one
    batched forward pass through an ``agents.evaluator.Evaluator`` (legal-action priors), then a sample from
    the priors drawn with ``numpy.random.default_rng(seed)``, or the likeliest legal action if ``greedy``."""

    def __init__(
        self,
        model: nn.Module,
        *,
        device: str | torch.device | None = None,
        seed: int = 0,
        greedy: bool = False,
        name: str = "policy",
    ):
        self.evaluator = Evaluator(model, device)
        self.greedy, self.name = bool(greedy), name
        self.rng = np.random.default_rng(seed)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        priors, _ = self.evaluator.evaluate(batch.observations, batch.masks)
        if self.greedy:
            return priors.argmax(axis=1).astype(np.int64)
        cdf = np.cumsum(priors.astype(np.float64), axis=1)
        u = self.rng.random(len(priors)) * cdf[:, -1]
        picks = (cdf <= u[:, None]).sum(axis=1)
        # guard the float edge (u at the very top of the cdf): the last action of nonzero probability
        last_legal = priors.shape[1] - 1 - np.argmax(priors[:, ::-1] > 0, axis=1)
        return np.minimum(picks, last_legal).astype(np.int64)


# --- checkpoints --------------------------------------------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unreadable, not a zeroleague policy, or for another game."""


def game_signature(game: BatchedGame) -> dict[str, Any]:
    """What must match between a checkpoint and the game it plays: env id, players, actions, observation
    shape, and the engine's ``repr`` when its class defines one (it then names the engine's configuration)."""
    sig: dict[str, Any] = {
        "env_id": game.env_id,
        "num_players": int(game.num_players),
        "num_actions": int(game.num_actions),
        "obs_shape": [int(d) for d in game.obs_shape],
    }
    if type(game).__repr__ is not object.__repr__:
        sig["repr"] = repr(game)
    return sig


def save_checkpoint(
    path: str | Path,
    *,
    algo: str,
    weights: dict[str, torch.Tensor],
    net_config: dict[str, Any],
    game: BatchedGame,
    env_kwargs: dict[str, Any],
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one checkpoint file atomically (temporary file, then rename); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "algo": algo,
        "weights": {k: v.detach().cpu() for k, v in weights.items()},
        "net_config": net_config,
        "env_id": game.env_id,
        "env_kwargs": dict(env_kwargs),
        "game": game_signature(game),
        "step": int(step),
        "extra": dict(extra or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | Path,
    *,
    algo: str | None = None,
    game: BatchedGame | None = None,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict (see the module docstring), after checking it against what is given: ``algo``, the
    ``game`` it will play (its signature) and/or the ``env_id`` and ``env_kwargs`` it was trained for."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds on a damaged file
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint (corrupt or truncated?): {e}") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a zeroleague policy checkpoint ({CHECKPOINT_FORMAT})")
    if algo is not None and ckpt["algo"] != algo:
        raise CheckpointError(f"{str(path)!r} is a {ckpt['algo']!r} checkpoint, not {algo!r}")
    if env_id is not None and ckpt["env_id"] != env_id:
        raise CheckpointError(f"{str(path)!r} was trained for env {ckpt['env_id']!r}, not {env_id!r}")
    if env_kwargs is not None and ckpt["env_kwargs"] != dict(env_kwargs):
        raise CheckpointError(
            f"{str(path)!r} was trained for {ckpt['env_id']} with env kwargs {ckpt['env_kwargs']!r}, "
            f"not {dict(env_kwargs)!r}"
        )
    if game is not None:
        sig = game_signature(game)
        if ckpt["game"] != sig:
            diff = {
                k: (ckpt["game"].get(k), sig.get(k))
                for k in sig.keys() | ckpt["game"].keys()
                if ckpt["game"].get(k) != sig.get(k)
            }
            raise CheckpointError(
                f"{str(path)!r} was trained for {ckpt['env_id']} {ckpt['env_kwargs']!r} and does not fit "
                f"this game; (checkpoint, game) differ in {diff!r}"
            )
    return ckpt


# --- run directories and compute accounting -----------------------------------------------------------------


@dataclass
class ComputeMeter:
    """Compute spent by a training run: env transitions (every seat's moves), network samples in forward
    passes (acting and training) and in backward passes, wall-clock seconds since creation, and the device."""

    device: str
    env_steps: int = 0
    forward_samples: int = 0
    backward_samples: int = 0
    start: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["start"]
        d["wall_s"] = round(time.perf_counter() - self.start, 3)
        return d


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class RunLogger:
    """A run directory: ``config.json`` (the config plus the git commit), ``metrics.jsonl`` (one JSON object
    per ``log`` call) and TensorBoard event files under ``tb/``."""

    def __init__(self, run_dir: str | Path, config: dict[str, Any]):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(
            json.dumps({**config, "git_commit": _git_commit()}, indent=2, sort_keys=True) + "\n"
        )
        self._jsonl = open(self.run_dir / "metrics.jsonl", "a")  # noqa: SIM115 - closed in close()
        self._tb = SummaryWriter(str(self.run_dir / "tb"))

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """One line ``{"step": step, **metrics}``; numeric values also go to TensorBoard."""
        self._jsonl.write(json.dumps({"step": int(step), **metrics}, sort_keys=True) + "\n")
        self._jsonl.flush()
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self._tb.add_scalar(k, v, int(step))
        self._tb.flush()

    def close(self) -> None:
        self._jsonl.close()
        self._tb.close()
