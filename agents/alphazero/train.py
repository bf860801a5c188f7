"""Synchronous AlphaZero training: collect (self-play with search, ``agents.alphazero.selfplay``) -> train ->
collect, one iteration at a time.

Per iteration ``i``: the current network plays ``games_per_iteration`` self-play games (seed derived from
``(seed, i)``); their samples are written as one replay shard ``replay/shard_{i:06d}.npz``; the network takes
``train_steps`` Adam steps on minibatches drawn uniformly from the last ``replay_window`` shards, minimising

    loss = cross_entropy(visit distribution, softmax(logits)) + (value - outcome)^2   (+ AdamW weight decay)

then ``checkpoint.pt`` (weights, ``NetConfig``, env id/kwargs, training step, the iteration in ``extra``) and
``optimizer.pt`` are replaced atomically. Logs: ``metrics.jsonl`` (one line per iteration) and TensorBoard
event files in the run directory; ``config.json`` holds the ``TrainConfig``. Resumable: a run directory with a
checkpoint continues after its last finished iteration (its ``config.json`` must match, except
``iterations`` and ``device``), and since every iteration's randomness derives from ``(seed, i)`` the resumed
run makes the same games as an uninterrupted one would (on the same device). The last line printed (also
written to ``result.json`` and returned) is a machine-readable result.

    python -m agents.alphazero.train --run-dir runs/go9 --iterations 100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import envs
from agents.alphazero.checkpoint import load_checkpoint, save_checkpoint
from agents.alphazero.mcts import MCTSConfig
from agents.alphazero.network import NetConfig, build_network
from agents.alphazero.selfplay import self_play
from agents.evaluator import Evaluator, pick_device


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (defaults: a small 9x9 Go run)."""

    env_id: str = "go_v0"
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"board_size": 9, "komi": 7.5})
    run_dir: str = "runs/az_go9"
    iterations: int = 20
    games_per_iteration: int = 64
    parallel_games: int = 64
    sims: int = 64
    c_puct: float = 1.25
    leaves_per_wave: int = 1
    dirichlet_alpha: float = 0.3
    noise_frac: float = 0.25
    temperature: float = 1.0
    temperature_moves: int = 15
    resign_threshold: float | None = 0.9
    value_scale: float = 1.0  # reward units per unit of value (e.g. ~10 bullheads for 6 nimmt! margins)
    no_resign_frac: float = 0.1
    blocks: int = 4
    channels: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    train_steps: int = 100
    replay_window: int = 10
    seed: int = 0
    device: str | None = None

    def mcts_config(self) -> MCTSConfig:
        return MCTSConfig(num_simulations=self.sims, c_puct=self.c_puct, leaves_per_wave=self.leaves_per_wave,
                          dirichlet_alpha=self.dirichlet_alpha, noise_frac=self.noise_frac,
                          temperature=self.temperature, value_scale=self.value_scale)


def net_config_for(game, cfg: TrainConfig) -> NetConfig:
    """A ResNet for plane observations ``[C, S, S]``, a residual MLP for flat ones."""
    if len(game.obs_shape) == 3:
        return NetConfig(kind="resnet", in_channels=game.obs_shape[0], board_size=game.obs_shape[1],
                         blocks=cfg.blocks, channels=cfg.channels)
    return NetConfig(kind="mlp", obs_dim=int(np.prod(game.obs_shape)), num_actions=game.num_actions,
                     blocks=cfg.blocks, channels=cfg.channels)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _load_window(replay: Path, upto: int, window: int) -> dict[str, np.ndarray]:
    parts = [np.load(replay / f"shard_{i:06d}.npz") for i in range(max(0, upto - window + 1), upto + 1)]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("obs", "policy", "value")}


def losses(model: torch.nn.Module, obs: torch.Tensor, policy: torch.Tensor,
           value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy cross-entropy to the visit distributions, value MSE to the outcomes), batch means."""
    logits_BA, value_B = model(obs)
    policy_loss = -(policy * F.log_softmax(logits_BA, dim=1)).sum(dim=1).mean()
    return policy_loss, F.mse_loss(value_B, value)


def train(cfg: TrainConfig, game=None) -> dict[str, Any]:
    """Run (or resume) the training loop of ``cfg`` (module docstring); ``game`` defaults to
    ``envs.make_game(cfg.env_id, **cfg.env_kwargs)``. Returns the final result line as a dict."""
    run = Path(cfg.run_dir)
    replay = run / "replay"
    replay.mkdir(parents=True, exist_ok=True)
    game = game if game is not None else envs.make_game(cfg.env_id, **cfg.env_kwargs)
    cfg_path = run / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())["config"]
        new = json.loads(json.dumps(asdict(cfg)))
        diff = sorted(k for k in new if k not in ("iterations", "device") and old.get(k) != new[k])
        if diff:
            raise ValueError(f"{run} holds a run with a different config ({', '.join(diff)}); "
                             "use another run_dir")
    cfg_path.write_text(json.dumps({"config": asdict(cfg), "git_commit": _git_commit()}, indent=2) + "\n")

    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    net_cfg = net_config_for(game, cfg)
    model = build_network(net_cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt_path, opt_path = run / "checkpoint.pt", run / "optimizer.pt"
    start, step = 0, 0
    if ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, expect_env_id=game.env_id, expect_env_kwargs=cfg.env_kwargs)
        model.load_state_dict(ckpt.state_dict)
        opt.load_state_dict(torch.load(opt_path, map_location=device, weights_only=True))
        start, step = int(ckpt.extra["iteration"]) + 1, ckpt.step

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run / "tb"))
    metrics_file = (run / "metrics.jsonl").open("a")
    record: dict[str, Any] = {}
    try:
        for it in range(start, cfg.iterations):
            t0 = time.perf_counter()
            it_seed = int(np.random.SeedSequence([cfg.seed, it]).generate_state(1)[0])
            model.eval()
            evaluate = Evaluator(model, device).evaluate
            data = self_play(game, evaluate, cfg.mcts_config(), cfg.games_per_iteration, it_seed,
                             parallel=cfg.parallel_games, temperature_moves=cfg.temperature_moves,
                             resign_threshold=cfg.resign_threshold, no_resign_frac=cfg.no_resign_frac)
            data.save(replay / f"shard_{it:06d}.npz")
            t_play = time.perf_counter() - t0
            buf = _load_window(replay, it, cfg.replay_window)
            rng = np.random.default_rng(it_seed)
            model.train()
            p_losses, v_losses = [], []
            for _ in range(cfg.train_steps):
                idx = rng.integers(0, len(buf["value"]), size=min(cfg.batch_size, len(buf["value"])))
                obs, pol, val = (torch.from_numpy(buf[k][idx]).to(device) for k in ("obs", "policy", "value"))
                p_loss, v_loss = losses(model, obs, pol, val)
                opt.zero_grad()
                (p_loss + v_loss).backward()
                opt.step()
                step += 1
                p_losses.append(p_loss.item())
                v_losses.append(v_loss.item())
            model.eval()
            save_checkpoint(ckpt_path, model, net_cfg, game.env_id, cfg.env_kwargs, step,
                            {"iteration": it, "value_scale": cfg.value_scale})
            torch.save(opt.state_dict(), f"{opt_path}.tmp")
            Path(f"{opt_path}.tmp").replace(opt_path)
            record = {"iteration": it, "step": step, "samples": len(data.value), "replay": len(buf["value"]),
                      "policy_loss": float(np.mean(p_losses)), "value_loss": float(np.mean(v_losses)),
                      "resigned": data.resigned, "no_resign_games": data.no_resign_games,
                      "false_resign": data.false_resign, "would_resign": data.would_resign,
                      "selfplay_s": t_play, "iteration_s": time.perf_counter() - t0}
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
            for k, v in record.items():
                if k != "iteration":
                    writer.add_scalar(k, v, it)
    finally:
        metrics_file.close()
        writer.close()
    result = {"result": "done", "run_dir": str(run), "iterations": cfg.iterations, "step": step, **{
        k: record[k] for k in ("policy_loss", "value_loss") if k in record}}
    (run / "result.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result))
    return result


def add_config_arguments(ap: argparse.ArgumentParser) -> None:
    """One ``--flag`` per ``TrainConfig`` field (``--env-kwargs`` takes a JSON object)."""
    for f in fields(TrainConfig):
        if f.name == "env_kwargs":
            ap.add_argument("--env-kwargs", type=json.loads, default=None, help="JSON object")
        elif f.name in ("device", "resign_threshold"):
            ap.add_argument(f"--{f.name.replace('_', '-')}", default=None)
        else:
            ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None,
                            help=f"default: {f.default!r}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The ``TrainConfig`` of parsed ``add_config_arguments`` flags (unset flags keep their defaults)."""
    names = {f.name for f in fields(TrainConfig)}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if "resign_threshold" in overrides:
        rt = overrides["resign_threshold"]
        overrides["resign_threshold"] = None if str(rt).lower() in ("none", "off") else float(rt)
    return replace(TrainConfig(), **overrides)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_config_arguments(ap)
    train(config_from_args(ap.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
