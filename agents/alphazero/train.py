"""Synchronous AlphaZero training: collect (self-play with search, ``zeroleague.agents.alphazero.selfplay``) -> train ->
collect, one iteration at a time.

Per iteration ``i``: the current network plays ``games_per_iteration`` self-play games (seed derived from
``(seed, i)``) on every board of the run (Go co-training: ``board_sizes``, one size-agnostic global-pooling
ResNet sized for the largest; otherwise the one game of ``env_kwargs``); their samples are written as replay
shards ``replay/shard_{i:06d}[_sS].npz``; the network takes ``train_steps`` Adam steps, each on one minibatch
per observation shape (board size) drawn uniformly from the last ``replay_window`` iterations' shards,
minimising the sum over shapes of

    loss = cross_entropy(visit distribution, softmax(logits)) + (value - outcome)^2   (+ AdamW weight decay)

(the cross-entropy averaged over the samples that are policy targets: with playout-cap randomization only the
full-search samples, ``policy_weight`` 1 in the shards).

Self-play search (``search``): "puct" (the visit distribution as policy target) or "gumbel" (Gumbel root search
with sequential halving over ``gumbel_considered`` actions, ``agents.alphazero.gumbel``; the improved policy as
target); ``full_search_prob < 1`` turns on playout-cap randomization (full searches of ``sims`` on that share of
the moves, ``fast_sims`` on the rest; ``agents.alphazero.selfplay``). ``init_checkpoint``: start from that
checkpoint's network (its ``NetConfig``; ``blocks``/``channels`` are then ignored), e.g. a supervised warm start
already trained.

then ``checkpoint.pt`` (weights, ``NetConfig``, env id/kwargs — with ``board_sizes`` when co-trained —, training
step; ``extra``: iteration, value_scale, cumulative compute) and ``optimizer.pt`` are replaced atomically;
every ``snapshot_every`` iterations a copy goes to ``snapshots/iter_{i:06d}.pt`` (checkpoints along training,
to place on a compute axis).

Warm start ("initialization is everything"): with ``warm_start`` = a directory of game-record shards (written by
``zeroleague.agents.alphazero.warmstart`` from games of strong players: GNU Go for Go, heuristic/search bots for
6 nimmt!), the fresh network first takes ``pretrain_steps`` supervised steps on them (same loss: the
players' moves as one-hot policy targets, the outcomes as values); the result is saved as
``snapshots/pretrained.pt`` and as the checkpoint of iteration -1, so a kill after pre-training resumes at
iteration 0.

Compute accounting (``zeroleague.runlog.ComputeMeter``, cumulative over resumes, in every metrics line and
checkpoint): environment steps (moves of the self-play games), network samples in forward passes (search leaf
evaluations and training) and in backward passes, wall-clock seconds and device.

Logs: ``metrics.jsonl`` (one line per iteration) and TensorBoard event files in the run directory
(``zeroleague.runlog.RunLogger``); ``config.json`` holds the ``TrainConfig``. Resumable: a run directory
with a checkpoint continues after its last finished iteration (its ``config.json`` must match, except
``iterations``, ``device`` and ``threads``), and since every iteration's randomness derives from ``(seed, i)`` the
resumed run makes the same games as an uninterrupted one would (on the same device). The last line printed
(also written to ``result.json`` and returned) is a machine-readable result.

Scale: ``selfplay_chunk = n`` plays each iteration's games in chunks of n (``agents.alphazero.distributed``: the
network rebuilt on the CPU per chunk, chunk seeds derived from the iteration's), in this process or, with
``backend = "ray"``, as Ray tasks (``zeroleague.leagues.ray_backend``; the same samples either way). The default (0)
plays all games in one harness call on ``device``.

    python -m agents.alphazero.train --run-dir runs/go9 --iterations 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

import zeroleague.envs as envs
from zeroleague.agents.alphazero.checkpoint import load_checkpoint, save_checkpoint
from zeroleague.agents.alphazero.distributed import chunked_self_play
from zeroleague.agents.alphazero.gumbel import GumbelConfig
from zeroleague.agents.alphazero.network import NetConfig, build_network
from zeroleague.agents.alphazero.selfplay import self_play
from zeroleague.agents.alphazero.tree import MCTSConfig
from zeroleague.agents.evaluator import Evaluator, pick_device
from zeroleague.runlog import ComputeMeter, RunLogger

_RESUMABLE_CHANGES = ("iterations", "device", "threads", "backend", "ray_address")

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
    board_sizes: tuple[int, ...] = ()  # Go co-training: self-play on each size; () = env_kwargs' board only
    warm_start: str | None = None  # directory of game-record shards to pre-train on (module docstring)
    pretrain_steps: int = 0
    augment: bool = True  # train on random board symmetries (square Go boards; rules are symmetric)
    snapshot_every: int = 0  # keep snapshots/iter_{i}.pt every this many iterations (0: none)
    selfplay_chunk: int = 0  # > 0: self-play in chunks of this many games (agents.alphazero.distributed, CPU)
    backend: str = "local"  # "ray": the chunks run as Ray tasks (needs selfplay_chunk >= 1)
    ray_address: str | None = None  # with backend "ray": a cluster address (None: a local instance)
    search: str = "puct"  # self-play search: "puct" or "gumbel" (module docstring)
    gumbel_considered: int = 16  # Gumbel: actions considered at the root (m)
    full_search_prob: float = 1.0  # playout-cap randomization: share of moves with a full search (1: all)
    fast_sims: int = 8  # simulations of the other moves' fast searches
    init_checkpoint: str | None = None  # start from this checkpoint's network (module docstring)
    seed: int = 0
    device: str | None = None
    threads: int | None = None  # torch CPU threads (None: torch's default)

    def __post_init__(self) -> None:
        if self.board_sizes and self.env_id != "go_v0":
            raise ValueError(f"board_sizes (co-training) is for go_v0, not {self.env_id!r}")
        if any(not isinstance(s, int) or s < 2 for s in self.board_sizes):
            raise ValueError(f"board_sizes must be ints >= 2, got {self.board_sizes!r}")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"backend must be 'local' or 'ray', got {self.backend!r}")
        if self.backend == "ray" and self.selfplay_chunk < 1:
            raise ValueError("backend 'ray' plays self-play in chunks: set selfplay_chunk >= 1")
        if self.pretrain_steps and not self.warm_start:
            raise ValueError("pretrain_steps needs warm_start (a directory of game-record shards)")
        if self.search not in ("puct", "gumbel"):
            raise ValueError(f"search must be 'puct' or 'gumbel', got {self.search!r}")
        if not 0.0 < self.full_search_prob <= 1.0:
            raise ValueError(f"full_search_prob must be in (0, 1], got {self.full_search_prob!r}")
        if self.selfplay_chunk and (self.search != "puct" or self.full_search_prob < 1):
            raise ValueError("chunked self-play (selfplay_chunk) plays PUCT with full searches only")
        if self.init_checkpoint and self.warm_start:
            raise ValueError("init_checkpoint and warm_start both set the starting network; pick one")

    def mcts_config(self) -> MCTSConfig:
        return MCTSConfig(num_simulations=self.sims, c_puct=self.c_puct, leaves_per_wave=self.leaves_per_wave,
                          dirichlet_alpha=self.dirichlet_alpha, noise_frac=self.noise_frac,
                          temperature=self.temperature, value_scale=self.value_scale)

    def boards(self) -> dict[str, dict[str, Any]]:
        """The env kwargs of the run's games by shard suffix: ``{"": env_kwargs}``, or ``{"_s9": ..., "_s19":
        ...}`` (``env_kwargs`` with that ``board_size``) when co-training."""
        if not self.board_sizes:
            return {"": dict(self.env_kwargs)}
        return {f"_s{s}": {**self.env_kwargs, "board_size": s} for s in sorted(set(self.board_sizes))}

    def checkpoint_env_kwargs(self, game) -> dict[str, Any]:
        """The env kwargs written into checkpoints: the settings of ``game`` a network is tied to
        (``agent.game_kwargs``: board size, komi, history planes), ``env_kwargs``, and the co-trained
        ``board_sizes``."""
        from zeroleague.agents.alphazero.agent import game_kwargs

        kwargs = {**game_kwargs(game), **self.env_kwargs}
        if not self.board_sizes:
            return kwargs
        sizes = sorted(set(self.board_sizes))
        return {**kwargs, "board_size": self.env_kwargs.get("board_size", sizes[0]), "board_sizes": sizes}


def net_config_for(game, cfg: TrainConfig, board_size: int | None = None) -> NetConfig:
    """A ResNet for plane observations ``[C, S, S]`` (sized for ``board_size``, default S), the card net for
    6 nimmt!, a residual MLP for other flat observations."""
    if len(game.obs_shape) == 3:
        return NetConfig(kind="resnet", in_channels=game.obs_shape[0], board_size=board_size or game.obs_shape[1],
                         blocks=cfg.blocks, channels=cfg.channels)
    if hasattr(game, "max_card"):
        return NetConfig(kind="cards", max_card=int(game.max_card), num_players=int(game.num_players),
                         max_hand=int(game.hand_size), blocks=cfg.blocks, channels=cfg.channels)
    return NetConfig(kind="mlp", obs_dim=int(np.prod(game.obs_shape)), num_actions=game.num_actions,
                     blocks=cfg.blocks, channels=cfg.channels)


_FIELDS = ("obs", "policy", "value", "policy_weight")


def load_shards(paths: list[Path]) -> dict[tuple[int, ...], dict[str, np.ndarray]]:
    """Samples of the shards ``paths`` (``obs``, ``policy``, ``value``, ``policy_weight``: 1 where a shard has
    none), grouped by observation shape."""
    groups: dict[tuple[int, ...], list] = {}
    for p in paths:
        with np.load(p) as z:
            part = {k: z[k] for k in _FIELDS[:3]}
            part["policy_weight"] = z["policy_weight"] if "policy_weight" in z else np.ones(len(part["value"]),
                                                                                               np.float32)
        groups.setdefault(tuple(part["obs"].shape[1:]), []).append(part)
    return {shape: {k: np.concatenate([p[k] for p in parts]) for k in _FIELDS}
            for shape, parts in groups.items()}


def _window(replay: Path, upto: int, window: int) -> list[Path]:
    return [p for i in range(max(0, upto - window + 1), upto + 1) for p in sorted(replay.glob(f"shard_{i:06d}*.npz"))]


def losses(model: torch.nn.Module, obs: torch.Tensor, policy: torch.Tensor, value: torch.Tensor,
           policy_weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy cross-entropy to the search policies, averaged over the samples weighted by ``policy_weight``
    (default all 1; 0 if none is a policy target), value MSE to the outcomes, batch mean)."""
    logits_BA, value_B = model(obs)
    ce = -(policy * F.log_softmax(logits_BA, dim=1)).sum(dim=1)
    if policy_weight is None:
        policy_loss = ce.mean()
    else:
        policy_loss = (policy_weight * ce).sum() / policy_weight.sum().clamp(min=1.0)
    return policy_loss, F.mse_loss(value_B, value)


def dihedral(obs_BCSS: torch.Tensor, policy_BA: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetry ``k`` (0..7: ``k % 4`` quarter turns, then a transpose when ``k >= 4``) of square board
    planes and of policies over their ``S*S`` points (row-major) + pass (last, unchanged)."""
    b, s = policy_BA.shape[0], obs_BCSS.shape[-1]

    def f(x: torch.Tensor) -> torch.Tensor:
        x = torch.rot90(x, k % 4, dims=(-2, -1))
        return x.transpose(-2, -1) if k >= 4 else x

    points = f(policy_BA[:, :-1].reshape(b, s, s)).reshape(b, s * s)
    return f(obs_BCSS), torch.cat([points, policy_BA[:, -1:]], dim=1)


def _augmentable(buf: dict[str, np.ndarray]) -> bool:
    shape = buf["obs"].shape
    return len(shape) == 4 and shape[2] == shape[3] and buf["policy"].shape[1] == shape[2] * shape[3] + 1


def _sgd(model, opt, buffers, steps: int, batch_size: int, rng: np.random.Generator, device,
         meter: ComputeMeter, augment: bool) -> tuple[float, float]:
    """``steps`` optimizer steps, each summing the losses of one minibatch per buffer (board planes in a random
    ``dihedral`` symmetry when ``augment``); mean losses."""
    model.train()
    p_losses, v_losses = [], []
    for _ in range(steps):
        p_total = v_total = 0.0
        for buf in buffers.values():
            idx = rng.integers(0, len(buf["value"]), size=min(batch_size, len(buf["value"])))
            obs, pol, val, wgt = (torch.from_numpy(buf[k][idx]).to(device) for k in _FIELDS)
            if augment and _augmentable(buf):
                obs, pol = dihedral(obs, pol, int(rng.integers(8)))
            p_loss, v_loss = losses(model, obs, pol, val, wgt)
            p_total, v_total = p_total + p_loss, v_total + v_loss
            meter.forward_samples += len(idx)
            meter.backward_samples += len(idx)
        opt.zero_grad()
        (p_total + v_total).backward()
        opt.step()
        p_losses.append(float(p_total.detach()) / len(buffers))
        v_losses.append(float(v_total.detach()) / len(buffers))
    model.eval()
    if not p_losses:
        return float("nan"), float("nan")
    return float(np.mean(p_losses)), float(np.mean(v_losses))


def train(cfg: TrainConfig, game=None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the training loop of ``cfg`` (module docstring); ``game`` replaces the games of
    ``cfg.boards()`` (e.g. a test game outside the registry; chunked self-play needs a registered id);
    ``progress``: a progress bar over the iterations (stderr). Returns the final result line as a dict."""
    run = Path(cfg.run_dir)
    replay, snapshots = run / "replay", run / "snapshots"
    replay.mkdir(parents=True, exist_ok=True)
    boards = {"": dict(cfg.env_kwargs)} if game is not None else cfg.boards()
    games = {"": game} if game is not None else {k: envs.make_game(cfg.env_id, **kw) for k, kw in boards.items()}
    first = next(iter(games.values()))
    cfg_path = run / "config.json"
    new = json.loads(json.dumps(asdict(cfg)))
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())["config"]
        diff = sorted(k for k in new if k not in _RESUMABLE_CHANGES and old.get(k) != new[k])
        if diff:
            raise ValueError(f"{run} holds a run with a different config ({', '.join(diff)}); "
                             "use another run_dir")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    largest = max(cfg.board_sizes) if cfg.board_sizes else None
    init = None
    if cfg.init_checkpoint:
        init = load_checkpoint(cfg.init_checkpoint, expect_env_id=first.env_id)
        net_cfg = init.net_config
    else:
        net_cfg = net_config_for(first if largest is None else games[f"_s{largest}"], cfg, largest)
    model = build_network(net_cfg).to(device)
    if init is not None:
        model.load_state_dict(init.state_dict)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt_path, opt_path = run / "checkpoint.pt", run / "optimizer.pt"
    ckpt_kwargs = cfg.checkpoint_env_kwargs(first)
    meter = ComputeMeter(device=str(device))
    start, step = 0, 0
    if ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, expect_env_id=first.env_id, expect_env_kwargs=ckpt_kwargs)
        model.load_state_dict(ckpt.state_dict)
        opt.load_state_dict(torch.load(opt_path, map_location=device, weights_only=True))
        start, step = int(ckpt.extra["iteration"]) + 1, ckpt.step
        done = ckpt.extra.get("compute", {})
        for k in ("env_steps", "forward_samples", "backward_samples"):
            setattr(meter, k, int(done.get(k, 0)))
        meter.start -= float(done.get("wall_s", 0.0))
    logger = RunLogger(run, {"config": new})

    def log(record: dict[str, Any]) -> None:
        logger.log(step, {**{k: v for k, v in record.items() if k != "compute"},
                          **{f"compute/{k}": v for k, v in record["compute"].items()}})

    def save(it: int, snapshot: str | None) -> None:
        save_checkpoint(ckpt_path, model, net_cfg, first.env_id, ckpt_kwargs, step,
                        {"iteration": it, "value_scale": cfg.value_scale, "compute": meter.as_dict()})
        torch.save(opt.state_dict(), f"{opt_path}.tmp")
        Path(f"{opt_path}.tmp").replace(opt_path)
        if snapshot:
            snapshots.mkdir(exist_ok=True)
            shutil.copyfile(ckpt_path, snapshots / snapshot)

    record: dict[str, Any] = {}
    pool = None
    if cfg.backend == "ray":
        from zeroleague.leagues.ray_backend import RayBackend

        pool = RayBackend(address=cfg.ray_address)
    try:
        if cfg.warm_start and not ckpt_path.exists():
            shards = sorted(Path(cfg.warm_start).glob("*.npz"))
            if not shards:
                raise FileNotFoundError(f"warm_start {cfg.warm_start!r} holds no .npz game-record shards")
            warm = load_shards(shards)
            rng = np.random.default_rng([cfg.seed, 0x3A7])
            p_loss, v_loss = _sgd(model, opt, warm, cfg.pretrain_steps, cfg.batch_size, rng, device, meter,
                                  cfg.augment)
            step += cfg.pretrain_steps
            save(-1, "pretrained.pt")
            record = {"iteration": -1, "step": step, "pretrain_samples": sum(len(b["value"]) for b in warm.values()),
                      "policy_loss": p_loss, "value_loss": v_loss, "compute": meter.as_dict()}
            log(record)
            start = 0
        bar = tqdm(range(start, cfg.iterations), initial=start, total=cfg.iterations, desc="alphazero",
                   unit="it", disable=not progress)
        play = dict(parallel=cfg.parallel_games, temperature_moves=cfg.temperature_moves,
                    resign_threshold=cfg.resign_threshold, no_resign_frac=cfg.no_resign_frac)
        search = dict(search=cfg.search, gumbel=GumbelConfig(num_considered=cfg.gumbel_considered),
                      full_search_prob=cfg.full_search_prob, fast_sims=cfg.fast_sims)
        for it in bar:
            t0 = time.perf_counter()
            it_seed = int(np.random.SeedSequence([cfg.seed, it]).generate_state(1)[0])
            evaluator = Evaluator(model, device)
            counts: dict[str, int] = {}
            for suffix, g in games.items():
                if cfg.selfplay_chunk:
                    data, evaluated = chunked_self_play(
                        cfg.env_id, boards[suffix], net_cfg, model.state_dict(), cfg.mcts_config(),
                        cfg.games_per_iteration, it_seed, chunk_games=cfg.selfplay_chunk, threads=cfg.threads or 1,
                        backend=pool, **play)
                    meter.forward_samples += evaluated
                else:
                    data = self_play(g, evaluator.evaluate, cfg.mcts_config(), cfg.games_per_iteration, it_seed,
                                     **play, **search)
                data.save(replay / f"shard_{it:06d}{suffix}.npz")
                meter.env_steps += data.moves
                for k in ("resigned", "no_resign_games", "would_resign", "false_resign"):
                    counts[k] = counts.get(k, 0) + getattr(data, k)
                counts["samples"] = counts.get("samples", 0) + len(data.value)
            meter.forward_samples += evaluator.samples
            t_play = time.perf_counter() - t0
            buffers = load_shards(_window(replay, it, cfg.replay_window))
            p_loss, v_loss = _sgd(model, opt, buffers, cfg.train_steps, cfg.batch_size,
                                  np.random.default_rng(it_seed), device, meter, cfg.augment)
            step += cfg.train_steps
            snap = f"iter_{it:06d}.pt" if cfg.snapshot_every and (it + 1) % cfg.snapshot_every == 0 else None
            save(it, snap)
            record = {"iteration": it, "step": step, **counts,
                      "replay": sum(len(b["value"]) for b in buffers.values()),
                      "policy_loss": p_loss, "value_loss": v_loss, "selfplay_s": t_play,
                      "iteration_s": time.perf_counter() - t0, "compute": meter.as_dict()}
            log(record)
            bar.set_postfix(policy=f"{p_loss:.3f}", value=f"{v_loss:.3f}", samples=counts["samples"])
    finally:
        logger.close()
        if pool is not None:
            pool.close()
    result = {"result": "done", "run_dir": str(run), "iterations": cfg.iterations, "step": step,
              **{k: record[k] for k in ("policy_loss", "value_loss") if k in record}, "compute": meter.as_dict()}
    (run / "result.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result))
    return result


def add_config_arguments(ap: argparse.ArgumentParser) -> None:
    """One ``--flag`` per ``TrainConfig`` field (``--env-kwargs`` takes a JSON object, ``--board-sizes`` a
    comma-separated list)."""
    for f in fields(TrainConfig):
        if f.name == "env_kwargs":
            ap.add_argument("--env-kwargs", type=json.loads, default=None, help="JSON object")
        elif f.name == "board_sizes":
            ap.add_argument("--board-sizes", type=lambda v: tuple(int(x) for x in v.split(",")), default=None,
                            help="e.g. 9,19 (Go co-training)")
        elif f.name == "threads":
            ap.add_argument("--threads", type=int, default=None)
        elif isinstance(f.default, bool):
            ap.add_argument(f"--{f.name.replace('_', '-')}", type=lambda v: v.lower() in ("1", "true", "yes", "on"),
                            default=None, help=f"true/false, default: {f.default!r}")
        elif f.name in ("device", "resign_threshold", "warm_start", "ray_address", "init_checkpoint"):
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
