"""Paper-grade comparison of training algorithms on one game: rating (and exact exploitability on small
tactical deals) against training compute, several seeds per algorithm, one rating tournament for everything.

    python benchmarks/compare_algorithms.py benchmarks/compare_sixnimmt_small.toml [--axis env_steps]
        [--runs DIR] [--out DIR] [--results-md PATH]

One TOML file drives everything (see ``benchmarks/compare_sixnimmt_small.toml``):

- ``[compare]``: ``name``, ``env_id``, ``env_kwargs``, ``seeds``, ``budget_env_steps`` (the training budget every
  algorithm gets, in environment steps), ``checkpoints`` (how many along training), ``runs`` (run dirs
  ``<runs>/<name>/<algo>/seed<k>/``), ``out`` (artefacts), ``results_md``, ``device``, ``axis`` (the compute
  axis of the figures: ``env_steps`` by default, ``wall_s``, ``forward_samples``, ``backward_samples``),
  ``band`` (``minmax`` or ``sd``: the seed band);
- ``[algorithms.<algo>]`` for the algorithms to compare, each table holding that trainer's own config fields:
  ``alphazero`` (``agents.alphazero.train.TrainConfig``), ``reinforce`` (``baselines.reinforce.ReinforceConfig``),
  ``ppo`` (``baselines.ppo.PPOConfig``: a best response to fixed ``opponents``), ``psro`` (a PSRO league with PPO
  best responses, ``zeroleague.leagues.psro``: ``iterations``, ``meta_solver``, ``initial``, ``games_per_pairing``,
  ``chunk_size``, ``ppo = {...}``, ``distill = {...}``);
- ``[rating]``: the tournament (``games_per_pairing``, ``anchors``, ``design``, ``az_sims``, ``max_parallel``,
  ``bootstrap``, ``seed``);
- ``[exploitability]`` (tactical small deals only: 2 players, every card dealt, at most
  ``zeroleague.envs.sixnimmt.solver.MAX_HAND`` cards each): ``deals``, ``seed``;
- ``[time_scaling]``: read by ``benchmarks/test_time_scaling.py``.

Budgets. Each algorithm's native budget is derived from ``budget_env_steps`` with ``m``, the mean number of
environment steps of a game under uniformly random play (measured on 256 seeded games): AlphaZero plays
``budget / (m * games_per_iteration)`` iterations (a multiple of ``checkpoints``); self-play REINFORCE takes
``budget`` learner decisions (every decision is the learner's); a PPO best response ``budget / num_players``
learner steps (the opponents make the others); PSRO gives each of its ``iterations`` best responses
``budget / (iterations * num_players)`` steps (its payoff games and distillations come on top and are counted).
The figures place every checkpoint at the compute its run actually logged (``extra["compute"]``: environment
steps, network samples in forward and backward passes, wall-clock seconds, device; cumulative), so the budgets
only need to be close.

Checkpoints. AlphaZero: ``snapshots/iter_*.pt`` every ``iterations / checkpoints`` iterations, rated with search
(``az:PATH,sims=<az_sims>``). REINFORCE and PPO: their ``checkpoints/step_*.pt`` and ``final.pt``. PSRO: after
each iteration k = 1..I its meta-strategy over the population is distilled into one network
(``zeroleague.leagues.distill``, ``distilled_kKKK_<hash of the distill settings>.pt``); its compute is the
league's when that meta-strategy was computed (``league.json``) plus that distillation's (its games' steps, the
members' and the student's forward passes, the student's backward passes, its wall-clock).

Rating. All checkpoints of all runs and the fixed ``anchors`` (``random`` first: Elo 0) play one tournament
through ``zeroleague.leagues.tournament`` (SQLite store, resumable; game i of every pairing has the same deal, and the
harness plays games 2k and 2k+1 on the same deal with the seats swapped, so no agent gains from the deals).
``design = "panel"`` (default): a gauntlet whose challengers are the anchors and every run's final checkpoint;
every other checkpoint plays only them (ratings stay comparable because the panel is a connected round robin).
``design = "round_robin"``: every pair. Bradley–Terry Elo with bootstrap 95% intervals (``zeroleague.leagues.ratings``).

Outputs (``<out>/<name>_*``): ``_checkpoints.csv`` (every checkpoint: algorithm, seed, index, spec, all compute
fields, Elo and interval, exploitability), ``_curves.csv`` (per algorithm and checkpoint index over seeds: mean
compute, mean Elo, min/max/sd), ``_rating.png`` (Elo against the compute axis, one curve per algorithm with its
seed band, anchors dashed), ``_exploitability.csv``/``.png`` (same for exact exploitability, tactical deals),
``_table.md`` (final checkpoints: Elo, interval, mean margin against each anchor with its 95% interval,
exploitability; per algorithm the mean and sd over seeds). The results page ``results_md`` gets (replaces) a
section with the tables, figures, command, seeds and commit. Every run dir is resumable: finished runs are
skipped, AlphaZero and PSRO continue where they stopped, the tournament plays only missing games. Games and
exploitabilities are stored by agent spec (checkpoint path): after removing a run dir to retrain it, remove
``<runs>/<name>/ratings.sqlite`` and ``exploitability.json`` too.

Determinism: every random choice flows from the config's seeds; on CPU a re-run gives the same checkpoints and
the same table (wall-clock seconds differ and are kept out of the table). On a GPU, training is not bitwise
reproducible; the tolerance is then the table's own seed spread.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import time
import tomllib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.leagues.harness import GameRecord, play_match  # noqa: E402
from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, make_env_game, run_tournament  # noqa: E402

ALGORITHMS = ("alphazero", "reinforce", "ppo", "psro")
AXES = ("env_steps", "wall_s", "forward_samples", "backward_samples")
AXIS_LABELS = {
    "env_steps": "environment steps",
    "wall_s": "wall-clock seconds",
    "forward_samples": "network samples in forward passes",
    "backward_samples": "network samples in backward passes",
}
COMPUTE_KEYS = ("env_steps", "forward_samples", "backward_samples", "wall_s")


@dataclass(frozen=True)
class CompareConfig:
    """One comparison (module docstring). ``algorithms``: algorithm name -> its trainer's field overrides."""

    name: str
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)
    budget_env_steps: int = 100_000
    checkpoints: int = 4
    runs: str = "runs/compare"
    out: str = "benchmarks/results"
    results_md: str = "benchmarks/RESULTS.md"
    device: str = "cpu"
    axis: str = "env_steps"
    band: str = "minmax"
    algorithms: dict[str, dict[str, Any]] = field(default_factory=dict)
    rating: dict[str, Any] = field(default_factory=dict)
    exploitability: dict[str, Any] | None = None
    time_scaling: dict[str, Any] | None = None

    def __post_init__(self):
        unknown = sorted(set(self.algorithms) - set(ALGORITHMS))
        if unknown or not self.algorithms:
            raise ValueError(f"[algorithms.*] must name some of {ALGORITHMS}, got {sorted(self.algorithms)}")
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {self.axis!r}")
        if self.band not in ("minmax", "sd"):
            raise ValueError(f"band must be 'minmax' or 'sd', got {self.band!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        for key in ("budget_env_steps", "checkpoints"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        bad = sorted(set(self.rating) - set(RATING_DEFAULTS))
        if bad:
            raise ValueError(f"[rating]: unknown keys {bad}; known keys: {sorted(RATING_DEFAULTS)}")
        games = self.rating.get("games_per_pairing", RATING_DEFAULTS["games_per_pairing"])
        if games < 2 or games % 2:
            raise ValueError(f"[rating] games_per_pairing must be even (mirrored deals), got {games}")
        design = self.rating.get("design", "panel")
        if design not in ("panel", "round_robin"):
            raise ValueError(f"[rating] design must be 'panel' or 'round_robin', got {design!r}")

    def rating_opt(self, key: str) -> Any:
        return self.rating.get(key, RATING_DEFAULTS[key])

    def run_dir(self, algo: str, seed: int) -> Path:
        return Path(self.runs) / self.name / algo / f"seed{seed}"


RATING_DEFAULTS: dict[str, Any] = {
    "games_per_pairing": 100,
    "anchors": ["random", "closest_gap"],
    "optional_anchors": [],  # e.g. ["gnugo:level=1"] on Go: skipped where they cannot be built
    "design": "panel",
    "az_sims": 64,
    "max_parallel": 100,
    "bootstrap": 1000,
    "seed": 0,
}


def load_config(path: str | Path, **overrides: Any) -> CompareConfig:
    """The ``CompareConfig`` of the TOML file ``path``; ``overrides``: fields to replace (None = keep)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    unknown = sorted(set(data) - {"compare", "algorithms", "rating", "exploitability", "time_scaling"})
    if unknown or "compare" not in data:
        raise ValueError(f"{path}: need a [compare] table; unknown tables {unknown}")
    known = {f.name for f in fields(CompareConfig)}
    table = dict(data["compare"])
    bad = sorted(set(table) - known)
    if bad:
        raise ValueError(f"{path} [compare]: unknown keys {bad}; known keys: {sorted(known)}")
    table["seeds"] = tuple(table.get("seeds", (0, 1, 2)))
    cfg = CompareConfig(
        **table,
        algorithms=dict(data.get("algorithms", {})),
        rating=dict(data.get("rating", {})),
        exploitability=data.get("exploitability"),
        time_scaling=data.get("time_scaling"),
    )
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


# ------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint along a training run, as an agent spec with the run's cumulative compute there."""

    algo: str
    seed: int
    index: int
    spec: str
    compute: dict[str, Any]
    path: str = ""  # the checkpoint file (for other specs of the same network, e.g. other search budgets)


def moves_per_game(game: Any, seed: int = 0, num_games: int = 256) -> float:
    """Mean environment steps of a game of ``game`` under uniformly random play (``num_games`` seeded
    games through the harness): the conversion between episodes and environment steps for budgets."""
    a, b = (make_agent("random", game, seed=seed + k) for k in (0, 1))
    return float(np.mean([r.num_moves for r in play_match(game, a, b, num_games, seed).records]))


def _check_fields(algo: str, opts: dict[str, Any], cls: type, fixed: Sequence[str]) -> None:
    known = {f.name for f in fields(cls)} - set(fixed)
    bad = sorted(set(opts) - known)
    if bad:
        raise ValueError(f"[algorithms.{algo}]: unknown or fixed keys {bad}; allowed: {sorted(known)}")


def _compute_of(extra: dict[str, Any], path: Path) -> dict[str, Any]:
    if "compute" not in extra:
        raise ValueError(f"{path}: checkpoint has no compute record (extra['compute'])")
    return dict(extra["compute"])


def train_alphazero(cfg: CompareConfig, seed: int, run_dir: Path, m: float, game: Any) -> list[Checkpoint]:
    """AlphaZero self-play (``zeroleague.agents.alphazero.train``), resumed if its run dir holds a partial run."""
    from zeroleague.agents.alphazero.checkpoint import load_checkpoint
    from zeroleague.agents.alphazero.train import TrainConfig, train

    opts = dict(cfg.algorithms["alphazero"])
    fixed = ("env_id", "env_kwargs", "run_dir", "seed", "iterations", "snapshot_every", "device", "threads")
    _check_fields("alphazero", opts, TrainConfig, fixed)
    if "board_sizes" in opts:
        opts["board_sizes"] = tuple(opts["board_sizes"])
    if str(opts.get("resign_threshold", "")).lower() in ("none", "off"):  # TOML has no null
        opts["resign_threshold"] = None
    gpi = int(opts.get("games_per_iteration", TrainConfig.games_per_iteration))
    per = max(1, round(cfg.budget_env_steps / (cfg.checkpoints * gpi * m)))
    tc = TrainConfig(env_id=cfg.env_id, env_kwargs=dict(cfg.env_kwargs), run_dir=str(run_dir), seed=seed,
                     iterations=per * cfg.checkpoints, snapshot_every=per, device=cfg.device, threads=1, **opts)
    ckpt = run_dir / "checkpoint.pt"
    if not (ckpt.exists() and load_checkpoint(ckpt).extra.get("iteration") == tc.iterations - 1):
        train(tc)
    sims = int(cfg.rating_opt("az_sims"))
    out = []
    for k, path in enumerate(sorted((run_dir / "snapshots").glob("iter_*.pt"))):
        out.append(Checkpoint("alphazero", seed, k, f"az:{path},sims={sims}",
                              _compute_of(load_checkpoint(path).extra, path), str(path)))
    return out


def _policy_checkpoints(algo: str, seed: int, run_dir: Path) -> list[Checkpoint]:
    """``checkpoints/step_*.pt`` then ``final.pt`` of a ``zeroleague.baselines.policies`` run (``final.pt`` replaces a
    step checkpoint at the same step)."""
    from zeroleague.baselines.policies import load_checkpoint
    from zeroleague.baselines.ppo_policy import read_ppo_checkpoint  # PPO checkpoints are sb3 zips

    def read(p: Path) -> dict[str, Any]:
        return read_ppo_checkpoint(p) if algo == "ppo" else load_checkpoint(p, algo=algo)

    paths = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    blobs = [(p, read(p)) for p in [*paths, run_dir / "final.pt"]]
    if len(blobs) > 1 and blobs[-2][1]["step"] == blobs[-1][1]["step"]:
        del blobs[-2]
    return [Checkpoint(algo, seed, k, f"{algo}:{p}", _compute_of(b["extra"], p)) for k, (p, b) in enumerate(blobs)]


def _fresh(run_dir: Path, run_cfg: Any, game: Any) -> bool:
    """Whether a non-resumable run (REINFORCE, PPO) must (re)start: no ``result.json`` (a partial run dir is
    removed). A finished run whose ``config.json`` differs from ``run_cfg`` (a dataclass; its ``net_config``
    None stands for ``default_net_config(game)``, as the run logs it) raises ValueError naming the fields
    (device and thread count aside)."""
    from zeroleague.baselines.policies import default_net_config

    if (run_dir / "result.json").exists():
        stored = json.loads((run_dir / "config.json").read_text())
        new = json.loads(json.dumps({**asdict(run_cfg), "net_config": run_cfg.net_config or default_net_config(game)}))
        diff = sorted(k for k in new if k not in ("device", "torch_threads") and stored.get(k) != new[k])
        if diff:
            raise ValueError(f"{run_dir} holds a finished run with another config (differs in {diff}); "
                             "remove it or use another runs dir")
        return False
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return True


def train_reinforce(cfg: CompareConfig, seed: int, run_dir: Path, m: float, game: Any) -> list[Checkpoint]:
    """REINFORCE (``zeroleague.baselines.reinforce``): self-play unless ``opponents`` are given."""
    from zeroleague.baselines.reinforce import ReinforceConfig
    from zeroleague.baselines.reinforce import train_reinforce as train

    opts = dict(cfg.algorithms["reinforce"])
    _check_fields("reinforce", opts, ReinforceConfig,
                  ("env_id", "env_kwargs", "seed", "total_steps", "checkpoint_every", "device", "torch_threads"))
    for key in ("opponents", "opponent_weights"):
        if opts.get(key) is not None:
            opts[key] = tuple(opts[key])
    steps = cfg.budget_env_steps // (game.num_players if opts.get("opponents") else 1)
    num_games = int(opts.get("num_games", ReinforceConfig.num_games))
    decisions = num_games * m / (game.num_players if opts.get("opponents") else 1)
    every = max(1, math.ceil(steps / decisions / cfg.checkpoints))
    rc = ReinforceConfig(env_id=cfg.env_id, env_kwargs=dict(cfg.env_kwargs), seed=seed, total_steps=steps,
                         checkpoint_every=every, device=cfg.device, torch_threads=1, **opts)
    if _fresh(run_dir, rc, game):
        train(rc, run_dir, game=game)
    return _policy_checkpoints("reinforce", seed, run_dir)


def _ppo_config(cfg: CompareConfig, opts: dict[str, Any], seed: int, steps: int, checkpoints: int):
    from zeroleague.baselines.ppo import PPOConfig

    for key in ("opponents", "opponent_weights", "net_arch"):
        if opts.get(key) is not None:
            opts[key] = tuple(opts[key])
    rollout = int(opts.get("n_steps", PPOConfig.n_steps)) * int(opts.get("num_envs", PPOConfig.num_envs))
    every = rollout * max(1, math.ceil(steps / rollout / checkpoints))
    return PPOConfig(env_id=cfg.env_id, env_kwargs=dict(cfg.env_kwargs), seed=seed, total_steps=steps,
                     checkpoint_every=every, device=cfg.device, torch_threads=1, **opts)


def train_ppo(cfg: CompareConfig, seed: int, run_dir: Path, m: float, game: Any) -> list[Checkpoint]:
    """A MaskablePPO best response (``zeroleague.baselines.ppo``) to the fixed ``opponents`` mixture."""
    from zeroleague.baselines.ppo import PPOConfig
    from zeroleague.baselines.ppo import train_ppo as train

    opts = dict(cfg.algorithms["ppo"])
    _check_fields("ppo", opts, PPOConfig,
                  ("env_id", "env_kwargs", "seed", "total_steps", "checkpoint_every", "device", "torch_threads"))
    pc = _ppo_config(cfg, opts, seed, cfg.budget_env_steps // game.num_players, cfg.checkpoints)
    if _fresh(run_dir, pc, game):
        train(pc, run_dir, game=game)
    return _policy_checkpoints("ppo", seed, run_dir)


PSRO_KEYS = ("iterations", "meta_solver", "initial", "games_per_pairing", "chunk_size", "ppo", "distill")


def train_psro(cfg: CompareConfig, seed: int, run_dir: Path, m: float, game: Any) -> list[Checkpoint]:
    """A PSRO league of PPO best responses (``zeroleague.leagues.psro``, resumed), its meta-strategy after each
    iteration distilled into one network (``zeroleague.leagues.distill``)."""
    from zeroleague.baselines.ppo import PPOConfig
    from zeroleague.leagues.distill import DistillConfig, distill
    from zeroleague.leagues.psro import PSROConfig, run_psro

    opts = dict(cfg.algorithms["psro"])
    bad = sorted(set(opts) - set(PSRO_KEYS))
    if bad:
        raise ValueError(f"[algorithms.psro]: unknown keys {bad}; allowed: {sorted(PSRO_KEYS)}")
    iterations = int(opts.get("iterations", 4))
    ppo = dict(opts.get("ppo", {}))
    _check_fields("psro.ppo", ppo, PPOConfig, ("env_id", "env_kwargs", "seed", "opponents", "opponent_weights",
                                               "device", "torch_threads", "total_steps", "checkpoint_every"))
    steps = cfg.budget_env_steps // (iterations * game.num_players)
    ppo = {**ppo, "total_steps": steps, "checkpoint_every": 10**12, "torch_threads": 1}
    pc = PSROConfig(name=f"{cfg.name}_psro_seed{seed}", oracle="ppo", meta_solver=opts.get("meta_solver", "nash"),
                    iterations=iterations, env_id=cfg.env_id, env_kwargs=dict(cfg.env_kwargs),
                    initial=tuple(opts.get("initial", ("random",))),
                    games_per_pairing=int(opts.get("games_per_pairing", 200)),
                    chunk_size=int(opts.get("chunk_size", 100)), ppo=ppo, seed=seed, device=cfg.device)
    state = run_psro(pc, run_dir)
    dist = dict(opts.get("distill", {}))
    _check_fields("psro.distill", dist, DistillConfig, ("env_id", "env_kwargs", "members", "weights", "seed",
                                                        "device", "torch_threads"))
    tag = zlib.crc32(json.dumps(dist, sort_keys=True).encode())
    out = []
    for k in range(1, iterations + 1):
        rec = state.iterations[k] if k < iterations else state.final
        stem = f"distilled_k{k:03d}_{tag:08x}"  # a change of the distillation settings makes new files
        path, done = run_dir / f"{stem}.pt", run_dir / f"{stem}.compute.json"
        if not done.exists():
            meta = [float(w) for w in rec["meta"]]
            dc = DistillConfig(env_id=cfg.env_id, env_kwargs=dict(cfg.env_kwargs),
                               members=tuple(state.members[: len(meta)]), weights=tuple(meta), seed=seed,
                               device=cfg.device, torch_threads=1, **dist)
            start = time.perf_counter()
            res = distill(dc, path, game=game)
            n, members = res["samples"], sum(w > 0 for w in meta)
            own = {"env_steps": n, "forward_samples": n * members + n * dc.epochs,
                   "backward_samples": n * dc.epochs, "wall_s": round(time.perf_counter() - start, 3)}
            done.write_text(json.dumps(own, sort_keys=True) + "\n")
        own = json.loads(done.read_text())
        league = rec.get("compute")
        if league is None:
            raise ValueError(f"{run_dir / 'league.json'} has no compute record at iteration {k} (a league made "
                             "before leagues.psro counted compute); remove the dir to retrain it")
        compute = {"device": league["device"], **{key: league[key] + own[key] for key in COMPUTE_KEYS}}
        out.append(Checkpoint("psro", seed, k - 1, f"distilled:{path}", compute))
    return out


TRAINERS: dict[str, Callable[..., list[Checkpoint]]] = {
    "alphazero": train_alphazero,
    "reinforce": train_reinforce,
    "ppo": train_ppo,
    "psro": train_psro,
}


def train_all(cfg: CompareConfig, log: Callable[[str], None] = print) -> list[Checkpoint]:
    """Train (or resume / skip) every algorithm for every seed; their checkpoints in config order."""
    import torch

    torch.set_num_threads(1)
    game = make_env_game(cfg.env_id, cfg.env_kwargs)
    m = moves_per_game(game)
    log(f"[{cfg.name}] {m:.2f} environment steps per random game; budget {cfg.budget_env_steps} steps")
    out = []
    for algo in cfg.algorithms:
        for seed in cfg.seeds:
            run_dir = cfg.run_dir(algo, seed)
            start = time.perf_counter()
            ckpts = TRAINERS[algo](cfg, seed, run_dir, m, game)
            log(f"[{cfg.name}] {algo} seed {seed}: {len(ckpts)} checkpoints, "
                f"{ckpts[-1].compute['env_steps']} env steps ({time.perf_counter() - start:.0f} s this call)")
            out += ckpts
    return out


# -------------------------------------------------------------------------------------------------- rating


def finals(checkpoints: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The last checkpoint of every (algorithm, seed) run, in order."""
    last: dict[tuple[str, int], Checkpoint] = {}
    for c in checkpoints:
        if (c.algo, c.seed) not in last or c.index > last[(c.algo, c.seed)].index:
            last[(c.algo, c.seed)] = c
    return list(last.values())


def rating_tournament(
    cfg: CompareConfig, name: str, specs: Sequence[str], panel: Sequence[str], out: Path
) -> TournamentConfig:
    """The tournament rating ``specs`` with the config's anchors (``[rating]``): a gauntlet of the ``panel``
    (anchors first) against everyone, or a round robin (``design``)."""
    anchors = list(cfg.rating_opt("anchors"))
    optional = list(cfg.rating_opt("optional_anchors"))
    agents = [AgentEntry(a) for a in anchors] + [AgentEntry(a, optional=True) for a in optional]
    agents += [AgentEntry(s) for s in specs if s not in anchors + optional]
    design = cfg.rating_opt("design")
    challengers = tuple(dict.fromkeys([*anchors, *optional, *panel])) if design == "panel" else ()
    games, seed = int(cfg.rating_opt("games_per_pairing")), int(cfg.rating_opt("seed"))
    return TournamentConfig(
        name=name, env=cfg.env_id, env_kwargs=dict(cfg.env_kwargs), agents=tuple(agents),
        format="gauntlet" if design == "panel" else "round_robin", challengers=challengers,
        games_per_pairing=games, seed=seed,
        max_parallel=int(cfg.rating_opt("max_parallel")), db=str(Path(cfg.runs) / cfg.name / "ratings.sqlite"),
        out=str(out), anchor=anchors[0], bootstrap=int(cfg.rating_opt("bootstrap")),
    )


def stored_records(tcfg: TournamentConfig) -> list[GameRecord]:
    """The tournament's stored games with index below its ``games_per_pairing``."""
    from zeroleague.leagues.store import ResultStore

    with ResultStore(tcfg.db) as store:
        return [r for r in store.games(tcfg.name) if r.index < tcfg.games_per_pairing]


def mean_margin(records: Sequence[GameRecord], spec: str, opponent: str) -> tuple[float, float, int]:
    """``spec``'s mean payoff per game against ``opponent`` over ``records`` — half its return minus the
    opponent's (the bullhead margin in 2-player 6 nimmt!), whichever seat and side it had — with the 95%
    half-width (normal approximation) and the number of games; NaN without games."""
    x = []
    for r in records:
        if {r.agent_a, r.agent_b} == {spec, opponent}:
            seat = r.seat_a if r.agent_a == spec else 1 - r.seat_a
            x.append((r.returns[seat] - r.returns[1 - seat]) / 2)
    if not x:
        return math.nan, math.nan, 0
    half = 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.inf
    return float(np.mean(x)), half, len(x)


# ------------------------------------------------------------------------------------------ exploitability


def tactical_deals(game: Any, num_deals: int, seed: int) -> list[Any]:
    """``num_deals`` fresh deals of ``game`` (``game.init(num_deals, seed)``) as solver deals; ValueError if
    ``game`` is not a small tactical game (2 players, every card dealt, hands within the solver's reach)."""
    from zeroleague.envs.sixnimmt.solver import MAX_HAND, deal_from_state

    ok = (getattr(game, "num_players", 0) == 2 and getattr(game, "hidden_hands", True) is False
          and game.hand_size <= MAX_HAND)
    if not ok:
        raise ValueError(f"exact exploitability needs a 2-player tactical 6 nimmt! game with at most {MAX_HAND} "
                         f"cards each; {getattr(game, 'env_id', game)!r} is not one")
    state = game.init(num_deals, seed)
    return [deal_from_state(game, state, i) for i in range(num_deals)]


def num_deals(cfg: CompareConfig) -> int:
    """How many tactical deals the exploitability is averaged over (``[exploitability] deals``, default 8)."""
    return int((cfg.exploitability or {}).get("deals", 8))


def mean_exploitability(game: Any, spec: str, deals: Sequence[Any], seed: int, device: str | None) -> float:
    """The agent ``spec``'s exact exploitability (``zeroleague.leagues.exploitability.exact_exploitability``, margin
    points) averaged over ``deals``."""
    from zeroleague.leagues.exploitability import exact_exploitability

    agent = make_agent(spec, game, seed=seed, device=device)
    try:
        return float(np.mean([exact_exploitability(d, agent, game) for d in deals]))
    finally:
        agent.close()


def exploitabilities(cfg: CompareConfig, specs: Sequence[str], log: Callable[[str], None]) -> dict[str, float]:
    """Exact exploitability of every spec on the config's tactical deals, cached in
    ``<runs>/<name>/exploitability.json`` (keyed by spec; the deals are fixed by ``[exploitability]``)."""
    opts = cfg.exploitability or {}
    game = make_env_game(cfg.env_id, cfg.env_kwargs)
    deals = tactical_deals(game, num_deals(cfg), int(opts.get("seed", 0)))
    cache_path = Path(cfg.runs) / cfg.name / "exploitability.json"
    key = json.dumps({"deals": [repr(d) for d in deals]}, sort_keys=True)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if cache.get("key") != key:
        cache = {"key": key, "values": {}}
    for spec in specs:
        if spec not in cache["values"]:
            start = time.perf_counter()
            cache["values"][spec] = mean_exploitability(game, spec, deals, int(opts.get("seed", 0)), cfg.device)
            log(f"[{cfg.name}] exploitability {cache['values'][spec]:.3f} of {spec} "
                f"({time.perf_counter() - start:.1f} s)")
            cache_path.write_text(json.dumps(cache, sort_keys=True) + "\n")
    return {s: cache["values"][s] for s in specs}


# -------------------------------------------------------------------------------- aggregation and outputs


def seed_band(rows: Sequence[dict[str, Any]], axis: str, value: str) -> list[dict[str, Any]]:
    """Per (algorithm, checkpoint index) over the seeds: ``x`` = mean of ``axis``, ``mean``/``sd``/``min``/
    ``max`` of ``value`` and ``n`` seeds, sorted by algorithm (first appearance) then index. Rows whose
    ``value`` is None or NaN are left out."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        v = r.get(value)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        groups.setdefault((r["algo"], int(r["index"])), []).append(r)
    order = list(dict.fromkeys(r["algo"] for r in rows))
    out = []
    for (algo, index), g in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        v = np.array([float(r[value]) for r in g])
        out.append({
            "algo": algo, "index": index, "n": len(g), "x": float(np.mean([float(r[axis]) for r in g])),
            "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()),
        })
    return out


def write_csv(path: str | Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    """``rows`` (dicts) as CSV with the given ``columns`` in order; floats with 6 significant digits; a row
    lacking a column raises KeyError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in columns])
    return path


def plot_bands(
    band: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], axis: str, value: str, path: Path, *,
    title: str, ylabel: str, band_kind: str = "minmax", hlines: dict[str, float] | None = None,
) -> Path:
    """One curve per algorithm (mean over seeds against the mean compute at each checkpoint index) with its
    seed band (min..max, or mean ± sd), every seed's points faint, ``hlines`` dashed (anchors); log x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, algo in enumerate(dict.fromkeys(b["algo"] for b in band)):
        c = colors[k % len(colors)]
        pts = [b for b in band if b["algo"] == algo]
        x = np.array([b["x"] for b in pts])
        y = np.array([b["mean"] for b in pts])
        lo = np.array([b["min"] if band_kind == "minmax" else b["mean"] - b["sd"] for b in pts])
        hi = np.array([b["max"] if band_kind == "minmax" else b["mean"] + b["sd"] for b in pts])
        seeds = max(b["n"] for b in pts)
        ax.plot(x, y, "o-", color=c, label=f"{algo} ({seeds} seed{'s' * (seeds > 1)})")
        ax.fill_between(x, lo, hi, color=c, alpha=0.2, lw=0)
        own = [r for r in rows if r["algo"] == algo and r.get(value) is not None]
        ax.scatter([r[axis] for r in own], [r[value] for r in own], color=c, s=10, alpha=0.4)
    for k, (name, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, color="grey", ls=("--", ":", "-.")[k % 3], lw=1, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(f"training compute: {AXIS_LABELS[axis]} (log scale)")
    ax.set_ylabel(ylabel)
    return save_figure(fig, ax, path, title)


def save_figure(fig, ax, path: Path, title: str) -> Path:
    """Title, grid and legend on ``ax``; ``fig`` written to ``path`` (PNG, 120 dpi, parent dirs made) and
    closed."""
    import matplotlib.pyplot as plt

    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def git_commit() -> str:
    """``git describe``-like identity of the working tree: the commit, ``+dirty`` if tracked files other than the
    benchmarks' own outputs (``benchmarks/results/``, ``benchmarks/RESULTS.md``) differ from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results",
                  ":!benchmarks/RESULTS.md")
    return commit + ("+dirty" if changed.strip() else "")


PAGE_HEADER = """# zeroleague: algorithm comparisons

Every section below is written by the script named in it and replaced when that script runs again (do not edit
between the markers). To reproduce a section, run its command from the repository root at its commit:

    python benchmarks/compare_algorithms.py benchmarks/compare_sixnimmt_small.toml   # minutes on 2 CPU cores
    python benchmarks/test_time_scaling.py benchmarks/compare_sixnimmt_small.toml
    python benchmarks/compare_algorithms.py benchmarks/compare_sixnimmt_full.toml    # hours: see the config
    python benchmarks/test_time_scaling.py benchmarks/compare_sixnimmt_full.toml

Run dirs go to runs/compare/<config>/<algorithm>/seed<k>/ (checkpoints with their compute); re-running resumes
(finished runs are skipped, the rating tournaments play only missing games).
"""


def update_results_md(path: str | Path, section: str, body: str) -> Path:
    """Replace (or append) the section ``section`` of the results page ``path``: the text between the
    markers ``<!-- BEGIN section -->`` and ``<!-- END section -->``; other sections are kept."""
    path = Path(path)
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    text = path.read_text() if path.exists() else PAGE_HEADER
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path


def _num(v: float, digits: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def final_table(
    cfg: CompareConfig, rows: Sequence[dict[str, Any]], records: Sequence[GameRecord], anchors: Sequence[str],
    expl: bool,
) -> str:
    """The markdown of the final table: per algorithm (mean ± sd over seeds) and per run (Elo, 95% CI,
    margins against the anchors with 95% intervals, exploitability). Only deterministic quantities (no
    wall-clock)."""
    last = {(c.algo, c.seed): c.spec for c in finals([Checkpoint(r["algo"], r["seed"], r["index"], r["spec"], {})
                                                       for r in rows])}
    by_spec = {r["spec"]: r for r in rows}
    margins_order = list(anchors)
    head = ["algorithm", "seeds", "env steps (mean)", "Elo mean ± sd"]
    head += [f"margin vs {a}" for a in margins_order] + (["exploitability"] if expl else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    per_run = ["| algorithm | seed | env steps | Elo | 95% CI | "
               + " | ".join(f"margin vs {a} (95%)" for a in margins_order) + (" | exploitability" if expl else "")
               + " |", "|---|---:|---:|---:|---|" + "---:|" * (len(margins_order) + expl)]
    for algo in cfg.algorithms:
        specs = [s for (a, _), s in last.items() if a == algo]
        if not specs:
            continue
        elo = np.array([by_spec[s]["elo"] for s in specs])
        cells = [algo, str(len(specs)), f"{np.mean([by_spec[s]['env_steps'] for s in specs]):.0f}",
                 f"{elo.mean():.0f} ± {elo.std(ddof=1) if len(elo) > 1 else 0.0:.0f}"]
        for a in margins_order:
            cells.append(_num(float(np.mean([mean_margin(records, s, a)[0] for s in specs]))))
        if expl:
            cells.append(_num(float(np.mean([by_spec[s]["exploitability"] for s in specs])), 3))
        lines.append("| " + " | ".join(cells) + " |")
        for s in specs:
            r = by_spec[s]
            cells = [algo, str(r["seed"]), str(r["env_steps"]), f"{r['elo']:.0f}",
                     f"{r['elo_lo']:.0f} .. {r['elo_hi']:.0f}"]
            for a in margins_order:
                mu, half, n = mean_margin(records, s, a)
                cells.append(f"{_num(mu)} ± {_num(half)} ({n})")
            if expl:
                cells.append(_num(r["exploitability"], 3))
            per_run.append("| " + " | ".join(cells) + " |")
    anchor_rows = [f"| `{a}` | {by_spec[a]['elo']:.0f} | {by_spec[a]['elo_lo']:.0f} .. {by_spec[a]['elo_hi']:.0f}"
                   + (f" | {_num(by_spec[a]['exploitability'], 3)}" if expl else "") + " |"
                   for a in anchors if a in by_spec]
    anchor_head = ["| anchor | Elo | 95% CI" + (" | exploitability" if expl else "") + " |",
                   "|---|---:|---|" + ("---:|" if expl else "")]
    return "\n".join([
        "Final checkpoints, per algorithm (mean over seeds; margin = mean payoff per game, bullheads, against "
        "the anchor, seats alternating):", "", *lines, "", "Per run (margin ± 95% half-width (games)):", "",
        *per_run, "", "Anchors:", "", *anchor_head, *anchor_rows,
    ]) + "\n"


CHECKPOINT_COLUMNS = ("algo", "seed", "index", "spec", "device", *COMPUTE_KEYS, "elo", "elo_lo", "elo_hi",
                      "exploitability")
BAND_COLUMNS = ("algo", "index", "n", "x", "mean", "sd", "min", "max")


@dataclass
class CompareResult:
    """What ``run_compare`` produced: per-checkpoint rows, the artefacts' paths, the final table."""

    rows: list[dict[str, Any]]
    paths: dict[str, Path]
    table: str
    elapsed_s: float


def run_compare(cfg: CompareConfig, command: str = "", log: Callable[[str], None] = print) -> CompareResult:
    """Train, rate, measure and write every artefact of ``cfg`` (module docstring)."""
    start = time.perf_counter()
    ckpts = train_all(cfg, log)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    panel = [c.spec for c in finals(ckpts)]
    tcfg = rating_tournament(cfg, f"{cfg.name}_rating", [c.spec for c in ckpts], panel,
                             Path(cfg.runs) / cfg.name / "tournament")
    log(f"[{cfg.name}] rating tournament: {len(tcfg.agents)} agents, {tcfg.format}")
    res = run_tournament(tcfg, device=cfg.device, progress=False, log=log)
    ratings = res.ratings
    anchors = [a for a in [*cfg.rating_opt("anchors"), *cfg.rating_opt("optional_anchors")] if a in ratings.players]
    expl = cfg.exploitability is not None
    specs = [*anchors, *(c.spec for c in ckpts)]
    ex = exploitabilities(cfg, specs, log) if expl else {}
    pos = {p: k for k, p in enumerate(ratings.players)}
    rows = []
    for c in [*(Checkpoint("anchor", 0, 0, a, {"device": "", **dict.fromkeys(COMPUTE_KEYS, 0)}) for a in anchors),
              *ckpts]:
        k = pos[c.spec]
        rows.append({"algo": c.algo, "seed": c.seed, "index": c.index, "spec": c.spec,
                     "device": c.compute["device"], **{key: c.compute[key] for key in COMPUTE_KEYS},
                     "elo": float(ratings.elo[k]), "elo_lo": float(ratings.lo[k]), "elo_hi": float(ratings.hi[k]),
                     "exploitability": ex.get(c.spec)})
    trained = [r for r in rows if r["algo"] != "anchor"]
    paths: dict[str, Path] = {}
    prefix = out / cfg.name
    paths["checkpoints_csv"] = write_csv(f"{prefix}_checkpoints.csv",
                                         [{**r, "exploitability": "" if r["exploitability"] is None
                                           else r["exploitability"]} for r in rows], CHECKPOINT_COLUMNS)
    band = seed_band(trained, cfg.axis, "elo")
    paths["curves_csv"] = write_csv(f"{prefix}_curves.csv", band, BAND_COLUMNS)
    anchor_elo = {f"{a} (Elo {ratings.elo[pos[a]]:.0f})": float(ratings.elo[pos[a]]) for a in anchors}
    paths["rating_png"] = plot_bands(band, trained, cfg.axis, "elo", Path(f"{prefix}_rating.png"),
                                     title=f"{cfg.name}: rating vs training compute",
                                     ylabel="Bradley–Terry Elo (random = 0)", band_kind=cfg.band, hlines=anchor_elo)
    if expl:
        eband = seed_band(trained, cfg.axis, "exploitability")
        paths["exploitability_csv"] = write_csv(f"{prefix}_exploitability.csv", eband, BAND_COLUMNS)
        anchor_ex = {f"{a} ({ex[a]:.2f})": ex[a] for a in anchors}
        paths["exploitability_png"] = plot_bands(
            eband, trained, cfg.axis, "exploitability", Path(f"{prefix}_exploitability.png"),
            title=f"{cfg.name}: exact exploitability vs training compute",
            ylabel=f"exploitability (bullheads, mean of {num_deals(cfg)} deals)",
            band_kind=cfg.band, hlines=anchor_ex)
    records = stored_records(tcfg)
    table = final_table(cfg, rows, records, anchors, expl)
    paths["table_md"] = prefix.with_name(f"{cfg.name}_table.md")
    paths["table_md"].write_text(f"# {cfg.name}: final table\n\n{table}")
    elapsed = time.perf_counter() - start
    paths["results_md"] = update_results_md(cfg.results_md, cfg.name,
                                            _section(cfg, command, table, paths, res, rows, elapsed))
    return CompareResult(rows, paths, table, elapsed)


def _rel(path: Path, md: Path) -> str:
    try:
        return str(path.resolve().relative_to(md.resolve().parent))
    except ValueError:
        return str(path)


def _section(cfg: CompareConfig, command: str, table: str, paths: dict[str, Path], res: Any,
             rows: Sequence[dict[str, Any]], elapsed: float) -> str:
    md = Path(cfg.results_md)
    trained = [r for r in rows if r["algo"] != "anchor"]
    timing = ["| algorithm | seed | wall-clock s (training) | device |", "|---|---:|---:|---|"]
    for c in finals([Checkpoint(r["algo"], r["seed"], r["index"], r["spec"], r) for r in trained]):
        timing.append(f"| {c.algo} | {c.seed} | {c.compute['wall_s']:.1f} | {c.compute['device']} |")
    figs = [f"![rating vs compute]({_rel(paths['rating_png'], md)})"]
    if "exploitability_png" in paths:
        figs.append(f"![exploitability vs compute]({_rel(paths['exploitability_png'], md)})")
    tc = res.config
    design = "gauntlet of the panel (anchors + every final checkpoint)" if tc.format == "gauntlet" else "round robin"
    return "\n".join([
        f"## `{cfg.name}`: {', '.join(cfg.algorithms)} on `{cfg.env_id}` {cfg.env_kwargs or ''}", "",
        f"Command: `{command or 'python benchmarks/compare_algorithms.py <config>'}` — commit `{git_commit()}`, "
        f"seeds {list(cfg.seeds)}, budget {cfg.budget_env_steps} environment steps per run, "
        f"{cfg.checkpoints} checkpoints per run; this invocation took {elapsed / 60:.1f} min (stages found done are "
        "skipped: see the wall-clock table for training).",
        "", f"Rating: {design}, "
        f"{tc.games_per_pairing} games per pairing, tournament seed {tc.seed}, AlphaZero rated with "
        f"{cfg.rating_opt('az_sims')} simulations per move; Bradley–Terry Elo anchored at `{tc.anchor}` = 0, "
        f"95% intervals from {tc.bootstrap} bootstrap resamples. Compute axis: {AXIS_LABELS[cfg.axis]}; seed band: "
        f"{'min..max' if cfg.band == 'minmax' else 'mean ± sd'} over seeds at matching checkpoint indices."
        + (f" Exploitability: exact (envs/sixnimmt/solver.py), mean over {num_deals(cfg)} fixed "
           f"deals (seed {(cfg.exploitability or {}).get('seed', 0)})." if cfg.exploitability is not None else ""),
        "", "Re-running the command with the same seeds reproduces the table exactly on CPU (wall-clock aside); "
        "on a GPU training is not bitwise reproducible and the tolerance is the seed spread shown.", "",
        *figs, "", table, "Training wall-clock (not reproducible, for orientation):", "", *timing, "",
        "Data: " + ", ".join(f"[{p.name}]({_rel(p, md)})" for k, p in paths.items()
                             if k not in ("results_md",) and p.suffix in (".csv", ".md")),
    ]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", help="TOML file (module docstring)")
    ap.add_argument("--axis", choices=AXES, default=None, help="compute axis of the figures")
    ap.add_argument("--runs", default=None, help="root of the run dirs (overrides [compare] runs)")
    ap.add_argument("--out", default=None, help="artefact dir (overrides [compare] out)")
    ap.add_argument("--results-md", default=None, help="results page to update (overrides [compare] results_md)")
    ap.add_argument("--device", default=None, help="torch device for training and agents (overrides [compare])")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, axis=args.axis, runs=args.runs, out=args.out, results_md=args.results_md,
                      device=args.device)
    command = "python benchmarks/compare_algorithms.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res = run_compare(cfg, command)
    print(res.table)
    print(json.dumps({k: str(v) for k, v in res.paths.items()} | {"elapsed_s": round(res.elapsed_s, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
