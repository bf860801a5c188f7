"""GPU check: the evaluation harness, the evaluator and AlphaZero self-play/training on a CUDA device, against
the CPU of the same machine in the same run (issue #19 item 3, issue #16 item 6).

Sections (each timed; every table names n, the repeats or games behind it):

1. ``gpu``-marked tests (``pytest -m gpu`` over the test files that carry the marker; they skip without CUDA).
2. Forward throughput of ``zeroleague.agents.evaluator.Evaluator`` (numpy in, masked softmax priors and values
   back in numpy: what the search pays) at batch 64..4096 for the shipped Go 9x9 net
   (``checkpoints/go9/alphazero.pt``) and the 6 nimmt! net (``checkpoints/sixnimmt/alphazero.pt``), on the
   device and on the CPU; on the device also the bare model call on a tensor already there (no copies).
   Inputs are real positions (seeded random play). Median positions/s over repeats, with the repeats' range.
3. AlphaZero self-play (``zeroleague.agents.alphazero.selfplay.self_play`` through the harness, the shipped Go net)
   on the device and on the CPU at the same settings: P games in lockstep, few simulations, games capped at
   ``selfplay_max_moves`` turns (``max_moves``: scored as they stand; the rate is the opening's). Positions/s
   (decisions searched), network evaluations/s, the mean evaluator batch, the share of wall time inside the
   evaluator, and the ratio ``forward throughput at that batch / evaluations per second in self-play`` (the
   issue's goal: <= 2).
4. A training burst (``zeroleague.agents.alphazero.train.train``, a fresh 6x64 ResNet like the shipped net's,
   capped 9x9 games): collect -> train iterations timed on the device and on the CPU: self-play positions/s and
   SGD samples/s per iteration.
4b. One game's search (B = 1) with the shipped Go net, with and without leaf batching (``leaves_per_wave``):
   simulations/s on the device and on the CPU.
5. Search agreement: the shipped Go net's ``az`` agent on the device and on the CPU searching the same seeded
   positions: the share of identical moves, with the device's default float32 settings (TF32 convolutions) and
   with TF32 off.
6. Tournaments through the harness (``zeroleague.leagues.tournament.run_tournament``, ``device`` set): Go 9x9
   (``az`` with the shipped net vs ``az_uniform`` vs ``random``) and 6 nimmt! (``az`` vs ``closest_gap`` vs
   ``random``), round robin, Elo with 95% bootstrap intervals.

Writes ``gpu_check.md`` (device, torch/CUDA versions, every table) and ``gpu_check.json`` into ``--out``.

    python benchmarks/gpu_check.py --device cuda --out benchmarks/results
    python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gpu_check   # the CPU smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GO_NET = ROOT / "checkpoints" / "go9" / "alphazero.pt"
SIXNIMMT_NET = ROOT / "checkpoints" / "sixnimmt" / "alphazero.pt"


@dataclass(frozen=True)
class CheckConfig:
    """Every setting of a check (defaults: the full run on a CUDA machine; ``quick()``: a CPU smoke run)."""

    device: str = "cuda"
    batches: tuple[int, ...] = (64, 256, 1024, 4096)
    fwd_min_time: float = 0.5  # seconds of repeats per cell (at least fwd_min_reps, at most fwd_max_reps)
    fwd_min_reps: int = 3
    fwd_max_reps: int = 50
    selfplay_parallel: tuple[int, ...] = (256, 1024)
    selfplay_device_parallel: tuple[int, ...] = (4096,)  # on the device only (the CPU would take minutes)
    selfplay_sims: int = 8
    selfplay_max_moves: int = 12
    burst_iterations: int = 3
    burst_games: int = 256
    burst_sims: int = 8
    burst_max_moves: int = 24
    burst_train_steps: int = 20
    burst_batch: int = 256
    burst_blocks: int = 6
    burst_channels: int = 64
    agree_positions: int = 64
    agree_sims: int = 64
    single_sims: int = 200  # one-game search (B = 1) with the shipped Go net
    single_leaves: tuple[int, ...] = (1, 8, 32)
    single_repeats: int = 3
    tournament_games: int = 32
    tournament_sims: int = 32
    tournament_max_moves: int | None = None  # Go turn cap in the tournament (None: the engine's 2*N*N)
    run_tests: bool = True
    seed: int = 0

    def quick(self) -> CheckConfig:
        return replace(self, batches=(8, 32), fwd_min_time=0.0, fwd_min_reps=2, fwd_max_reps=2,
                       selfplay_parallel=(8,), selfplay_device_parallel=(), selfplay_sims=4, selfplay_max_moves=4,
                       burst_iterations=1,
                       burst_games=4, burst_sims=2, burst_max_moves=4, burst_train_steps=2, burst_batch=16,
                       burst_blocks=1, burst_channels=8, agree_positions=4, agree_sims=4, tournament_games=2,
                       single_sims=8, single_leaves=(1, 4), single_repeats=1, tournament_sims=2, tournament_max_moves=8)


# --------------------------------------------------------------------------------------------- helpers


def _sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _repeat(fn, min_time: float, min_reps: int, max_reps: int) -> list[float]:
    """Seconds of each call of ``fn`` (after one untimed warm-up call): at least ``min_reps`` calls, more until
    ``min_time`` seconds have passed, at most ``max_reps``."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def random_positions(game, n: int, plies: int, seed: int):
    """``n`` live positions after ``plies`` seeded uniformly random legal moves (Go: passes only when nothing
    else is legal): ``(state, observations of the player to move, legal masks, players)``."""
    rng = np.random.default_rng(seed)
    state = game.init(n + n // 4 + 8, seed)
    for _ in range(plies):
        state = game.take(state, np.flatnonzero(~game.terminal(state)))
        mask = game.legal_mask(state)
        if hasattr(game, "board_size"):  # Go: avoid passes, so games stay alive
            no_pass = mask.copy()
            no_pass[:, -1] = False
            mask = np.where(no_pass.any(axis=1, keepdims=True), no_pass, mask)
        u = rng.random(mask.shape) * mask
        game.step(state, u.argmax(axis=1).astype(np.int64))
    state = game.take(state, np.flatnonzero(~game.terminal(state))[:n])
    if len(state) < n:
        raise RuntimeError(f"only {len(state)} of {n} random games are still running after {plies} plies")
    players = game.current_player(state).astype(np.int64)
    obs = game.observe(state, players).astype(np.float32)
    return state, obs, game.legal_mask(state), players


def _versions() -> dict[str, Any]:
    import numba
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "numba": numba.__version__, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(), "cuda_available": torch.cuda.is_available(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(), gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count,
                    cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    try:
        info["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


# --------------------------------------------------------------------------------------------- 1. tests


def run_gpu_tests() -> dict[str, Any]:
    """``pytest -m gpu`` over the test files that mention the marker (in a subprocess)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if "pytest.mark.gpu" in p.read_text())
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-m", "gpu", "-p", "no:cacheprovider", *files]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    summary = next((ln for ln in reversed(lines) if re.search(r"passed|failed|skipped|error|deselected", ln)), "")
    return {"files": files, "returncode": proc.returncode, "summary": summary.strip("= "),
            "seconds": time.perf_counter() - t0, "tail": "\n".join(lines[-40:])}


# --------------------------------------------------------------------------------------------- 2. forward


def _nets() -> dict[str, tuple[Any, Any]]:
    """``{name: (game, checkpoint)}`` of the shipped nets."""
    from zeroleague.agents.alphazero.checkpoint import load_checkpoint
    from zeroleague.envs.registry import make_game

    out = {}
    for name, path in (("go9", GO_NET), ("sixnimmt", SIXNIMMT_NET)):
        ckpt = load_checkpoint(path)
        out[name] = (make_game(ckpt.env_id, **ckpt.env_kwargs), ckpt)
    return out


def forward_throughput(cfg: CheckConfig, devices: list[str]) -> list[dict[str, Any]]:
    import torch

    from zeroleague.agents.evaluator import Evaluator

    rows = []
    for name, (game, ckpt) in _nets().items():
        _, obs_all, mask_all, _ = random_positions(game, max(cfg.batches), 20 if name == "go9" else 4, cfg.seed)
        for device in devices:
            ev = Evaluator(ckpt.model(), device)
            for b in cfg.batches:
                obs, mask = obs_all[:b], mask_all[:b]
                times = _repeat(lambda obs=obs, mask=mask, ev=ev: ev.evaluate(obs, mask), cfg.fwd_min_time,
                                cfg.fwd_min_reps, cfg.fwd_max_reps)
                rows.append(_rate_row(name, device, "evaluator", b, times))
                if ev.device.type != "cpu":
                    x = torch.from_numpy(obs).to(ev.device)

                    def bare(x=x, model=ev.model, dev=ev.device):
                        with torch.inference_mode():
                            model(x)
                        _sync(dev)

                    times = _repeat(bare, cfg.fwd_min_time, cfg.fwd_min_reps, cfg.fwd_max_reps)
                    rows.append(_rate_row(name, device, "model only", b, times))
    return rows


def _rate_row(net: str, device: str, path: str, batch: int, times: list[float]) -> dict[str, Any]:
    rates = batch / np.asarray(times)
    return {"net": net, "device": device, "path": path, "batch": batch, "n": len(times),
            "median_pos_s": float(np.median(rates)), "min_pos_s": float(rates.min()),
            "max_pos_s": float(rates.max()), "median_ms": float(np.median(times) * 1e3)}


def evaluator_rate(ckpt, game, device: str, batch: int, cfg: CheckConfig) -> float:
    """Median positions/s of the Evaluator at ``batch`` (the self-play comparison's reference)."""
    from zeroleague.agents.evaluator import Evaluator

    ev = Evaluator(ckpt.model(), device)
    _, obs, mask, _ = random_positions(game, batch, 20, cfg.seed + 1)
    times = _repeat(lambda: ev.evaluate(obs, mask), max(cfg.fwd_min_time, 0.3), max(cfg.fwd_min_reps, 3),
                    cfg.fwd_max_reps)
    return float(np.median(batch / np.asarray(times)))


# --------------------------------------------------------------------------------------------- 3. self-play


class _TimedEvaluate:
    """An ``Evaluate`` that sums the seconds spent inside the wrapped evaluator."""

    def __init__(self, evaluate):
        self.evaluate, self.seconds = evaluate, 0.0

    def __call__(self, obs, masks):
        t0 = time.perf_counter()
        out = self.evaluate(obs, masks)
        self.seconds += time.perf_counter() - t0
        return out


def selfplay_throughput(cfg: CheckConfig, devices: list[str]) -> list[dict[str, Any]]:
    from zeroleague.agents.alphazero import MCTSConfig, self_play
    from zeroleague.agents.alphazero.checkpoint import load_checkpoint
    from zeroleague.agents.evaluator import Evaluator
    from zeroleague.envs.registry import make_game

    ckpt = load_checkpoint(GO_NET)
    game = make_game("go_v0", **ckpt.env_kwargs, max_moves=cfg.selfplay_max_moves)
    mcfg = MCTSConfig(num_simulations=cfg.selfplay_sims)
    rows = []
    for device in devices:
        warm = Evaluator(ckpt.model(), device)  # compile the search and warm the device up (untimed)
        self_play(game, warm.evaluate, mcfg, num_games=2, seed=cfg.seed, parallel=2)
        for p in cfg.selfplay_parallel + (cfg.selfplay_device_parallel if device != "cpu" else ()):
            ev = Evaluator(ckpt.model(), device)
            timed = _TimedEvaluate(ev.evaluate)
            t0 = time.perf_counter()
            data = self_play(game, timed, mcfg, num_games=p, seed=cfg.seed, parallel=p)
            wall = time.perf_counter() - t0
            mean_batch = ev.samples / max(ev.forward_calls, 1)
            fwd = evaluator_rate(ckpt, make_game("go_v0", **ckpt.env_kwargs), device, max(1, round(mean_batch)),
                                 cfg)
            evals_s = ev.samples / wall
            rows.append({"device": device, "games": p, "sims": cfg.selfplay_sims,
                         "max_moves": cfg.selfplay_max_moves, "positions": len(data.value), "seconds": wall,
                         "positions_s": len(data.value) / wall, "evaluations": ev.samples, "evals_s": evals_s,
                         "forward_calls": ev.forward_calls, "mean_batch": mean_batch,
                         "evaluator_share": timed.seconds / wall, "forward_pos_s_at_batch": fwd,
                         "forward_over_selfplay": fwd / evals_s})
    return rows


# --------------------------------------------------------------------------------------------- 4. burst


def training_burst(cfg: CheckConfig, devices: list[str], work: Path) -> list[dict[str, Any]]:
    from zeroleague.agents.alphazero.train import TrainConfig, train

    rows = []
    for device in devices:
        run = work / f"burst_{device.replace(':', '_')}"
        tcfg = TrainConfig(env_id="go_v0", env_kwargs={"board_size": 9, "komi": 7.5,
                                                       "max_moves": cfg.burst_max_moves},
                           run_dir=str(run), iterations=cfg.burst_iterations, games_per_iteration=cfg.burst_games,
                           parallel_games=cfg.burst_games, sims=cfg.burst_sims, blocks=cfg.burst_blocks,
                           channels=cfg.burst_channels, train_steps=cfg.burst_train_steps,
                           batch_size=cfg.burst_batch, resign_threshold=None, seed=cfg.seed, device=device)
        t0 = time.perf_counter()
        train(tcfg, progress=False)
        wall = time.perf_counter() - t0
        lines = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines() if ln.strip()]
        for rec in lines:
            it = rec.get("iteration")
            if it is None or it < 0:
                continue
            sgd_s = rec["iteration_s"] - rec["selfplay_s"]
            rows.append({"device": device, "iteration": it, "games": cfg.burst_games, "sims": cfg.burst_sims,
                         "max_moves": cfg.burst_max_moves, "samples": rec["samples"],
                         "selfplay_s": rec["selfplay_s"], "positions_s": rec["samples"] / rec["selfplay_s"],
                         "train_steps": cfg.burst_train_steps, "train_s": sgd_s,
                         "sgd_samples_s": cfg.burst_train_steps * cfg.burst_batch / max(sgd_s, 1e-9),
                         "iteration_s": rec["iteration_s"], "run_wall_s": wall,
                         "policy_loss": rec["policy_loss"], "value_loss": rec["value_loss"]})
    return rows


# --------------------------------------------------------------------------------------------- 5. agreement


def single_game(cfg: CheckConfig, devices: list[str]) -> list[dict[str, Any]]:
    """Simulations/s of one game's search (B = 1, the shipped Go net, a seeded mid-game position) with L leaves
    per wave (L > 1: leaf batching under virtual loss, ``MCTSConfig.leaves_per_wave``): median of repeats."""
    from zeroleague.agents.alphazero import MCTSConfig
    from zeroleague.agents.alphazero.checkpoint import load_checkpoint
    from zeroleague.agents.alphazero.search import make_search
    from zeroleague.agents.evaluator import Evaluator
    from zeroleague.envs.registry import make_game

    ckpt = load_checkpoint(GO_NET)
    game = make_game("go_v0", **ckpt.env_kwargs)
    state = random_positions(game, 1, 30, cfg.seed + 3)[0]
    rows = []
    for device in devices:
        ev = Evaluator(ckpt.model(), device)
        for leaves in cfg.single_leaves:
            search = make_search(game, ev.evaluate, MCTSConfig(num_simulations=cfg.single_sims,
                                                               leaves_per_wave=leaves))
            times = _repeat(lambda search=search: search.search(state), 0.0, cfg.single_repeats,
                            cfg.single_repeats)
            rows.append({"device": device, "leaves": leaves, "sims": cfg.single_sims, "n": len(times),
                         "sims_s": float(np.median(cfg.single_sims / np.asarray(times))),
                         "ms_per_search": float(np.median(times) * 1e3)})
    return rows


def search_agreement(cfg: CheckConfig, device: str) -> list[dict[str, Any]]:
    """Moves of the ``az`` agent (shipped Go net) on ``device`` vs the CPU on the same seeded positions."""
    import torch

    from zeroleague.agents.base import DecisionBatch
    from zeroleague.agents.registry import make_agent
    from zeroleague.envs.registry import make_game

    game = make_game("go_v0", board_size=9, komi=7.5)
    state, obs, masks, players = random_positions(game, cfg.agree_positions, 20, cfg.seed + 2)
    batch = DecisionBatch(game, obs, masks, players, np.arange(len(players)),
                          game.information_state(state, players))
    spec = f"az:{GO_NET},sims={cfg.agree_sims},reuse=false"

    def moves(dev: str):
        agent = make_agent(spec, game, seed=cfg.seed, device=dev)
        actions = agent.act(batch)
        return actions, agent.last_root_values

    rows = []
    cpu_actions, cpu_values = moves("cpu")
    if torch.device(device).type != "cuda":
        return rows
    settings = [("default", torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32),
                ("tf32 off", False, False)]
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        for label, conv, mm in settings:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm
            dev_actions, dev_values = moves(device)
            rows.append({"setting": label, "cudnn_tf32": conv, "matmul_tf32": mm, "positions": len(players),
                         "sims": cfg.agree_sims, "same_move": int((dev_actions == cpu_actions).sum()),
                         "max_root_value_diff": float(np.abs(dev_values - cpu_values).max())})
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    return rows


# --------------------------------------------------------------------------------------------- 6. tournament


def tournaments(cfg: CheckConfig, device: str, work: Path) -> list[dict[str, Any]]:
    from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, run_tournament

    go_kwargs: dict[str, Any] = {"board_size": 9, "komi": 7.5}
    if cfg.tournament_max_moves:
        go_kwargs["max_moves"] = cfg.tournament_max_moves
    s = cfg.tournament_sims
    plans = [
        ("gpu_check_go9", "go_v0", go_kwargs,
         [f"az:{GO_NET.relative_to(ROOT)},sims={s}", f"az_uniform:sims={s}", "random"]),
        ("gpu_check_sixnimmt", "sixnimmt_v0", {},
         [f"az:{SIXNIMMT_NET.relative_to(ROOT)},sims={s}", "closest_gap", "random"]),
    ]
    out = []
    cwd = os.getcwd()
    os.chdir(ROOT)  # the specs name the checkpoints relative to the repository
    try:
        for name, env, kwargs, specs in plans:
            tc = TournamentConfig(name=name, env=env, env_kwargs=kwargs, agents=tuple(AgentEntry(a) for a in specs),
                                  games_per_pairing=cfg.tournament_games, max_parallel=cfg.tournament_games,
                                  seed=cfg.seed, db=str(work / "tournaments.sqlite"), out=str(work / name),
                                  bootstrap=200)
            t0 = time.perf_counter()
            res = run_tournament(tc, device=device, progress=False, log=lambda m: print(m, file=sys.stderr))
            wall = time.perf_counter() - t0
            table = res.table_path.read_text() if res.table_path else ""
            out.append({"name": name, "env": env, "env_kwargs": kwargs, "agents": specs, "device": device,
                        "games_per_pairing": cfg.tournament_games, "games_played": res.games_played,
                        "seconds": wall, "table": table})
    finally:
        os.chdir(cwd)
    return out


# --------------------------------------------------------------------------------------------- report


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) if isinstance(c, float) else str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    v, cfg = report["versions"], report["config"]
    dev = v.get("gpu", "no GPU") if cfg["device"].startswith("cuda") else f"CPU ({v['cpu_count']} cores)"
    md = [f"# GPU check: {dev}", "",
          f"`python benchmarks/gpu_check.py --device {cfg['device']}{' --quick' if report['quick'] else ''}` "
          f"on {v['date_utc']} UTC, commit {v.get('commit')}.", "",
          _table(["what", "value"], [[k, v[k]] for k in v]), ""]
    t = report.get("tests")
    if t:
        md += ["## 1. `gpu`-marked tests", "", f"`pytest -m gpu {' '.join(t['files'])}`: **{t['summary']}** "
               f"(exit {t['returncode']}, {t['seconds']:.0f} s)", "", "```", t["tail"][-3000:], "```", ""]
    f = report.get("forward", [])
    md += ["## 2. Evaluator forward throughput (positions/s)", "",
           "Median over n timed calls after a warm-up (range in brackets); `evaluator` = numpy in, masked softmax "
           "priors and values back in numpy; `model only` = the bare forward pass on a tensor already on the "
           "device (synchronised).", "",
           _table(["net", "device", "path", "batch", "n", "positions/s (median)", "range", "ms/call"],
                  [[r["net"], r["device"], r["path"], r["batch"], r["n"], r["median_pos_s"],
                    f"{_fmt(r['min_pos_s'])}..{_fmt(r['max_pos_s'])}", r["median_ms"]] for r in f]), ""]
    s = report.get("selfplay", [])
    md += ["## 3. AlphaZero self-play, Go 9x9 (shipped net), games in lockstep", "",
           f"`self_play` through the harness, {cfg['selfplay_sims']} simulations per move, games capped at "
           f"{cfg['selfplay_max_moves']} turns; one run per row. `evals/s`: network evaluations per second; "
           "`forward/self-play`: the Evaluator's throughput at the run's mean batch divided by the run's evals/s "
           "(goal <= 2).", "",
           _table(["device", "games", "positions", "s", "positions/s", "evals/s", "mean batch",
                   "in evaluator", "forward pos/s at batch", "forward/self-play"],
                  [[r["device"], r["games"], r["positions"], r["seconds"], r["positions_s"], r["evals_s"],
                    r["mean_batch"], f"{r['evaluator_share']:.0%}", r["forward_pos_s_at_batch"],
                    r["forward_over_selfplay"]] for r in s]), ""]
    by = {(r["device"], r["games"]): r for r in s}
    devs = sorted({r["device"] for r in s})
    if len(devs) == 2:
        gpu = next(d for d in devs if d != "cpu")
        pairs = [[g, by[(gpu, g)]["positions_s"] / by[("cpu", g)]["positions_s"]]
                 for g in cfg["selfplay_parallel"] if (gpu, g) in by and ("cpu", g) in by]
        md += [_table(["games", f"self-play positions/s {gpu} / cpu"], pairs), ""]
    b = report.get("burst", [])
    md += ["## 4. Training burst (collect -> train), Go 9x9", "",
           f"`agents/alphazero/train.py` `TrainConfig`: fresh {cfg['burst_blocks']}x{cfg['burst_channels']} ResNet, "
           f"{cfg['burst_games']} games per iteration in lockstep, {cfg['burst_sims']} simulations, games capped at "
           f"{cfg['burst_max_moves']} turns, {cfg['burst_train_steps']} SGD steps of {cfg['burst_batch']} per "
           "iteration; one row per iteration (the first includes the device's warm-up).", "",
           _table(["device", "iteration", "samples", "self-play s", "positions/s", "train s", "SGD samples/s",
                   "iteration s", "policy loss", "value loss"],
                  [[r["device"], r["iteration"], r["samples"], r["selfplay_s"], r["positions_s"], r["train_s"],
                    r["sgd_samples_s"], r["iteration_s"], r["policy_loss"], r["value_loss"]] for r in b]), ""]
    one = report.get("single", [])
    if one:
        md += ["## 4b. One game's search (B = 1), shipped Go net", "",
               f"A seeded mid-game position (30 random moves), {cfg['single_sims']} simulations per search, L leaves "
               "per wave (L = 1: one network call per simulation; L > 1: leaf batching under virtual loss); median "
               "of n searches after a warm-up.", "",
               _table(["device", "L", "n", "sims/s", "ms per search"],
                      [[r["device"], r["leaves"], r["n"], r["sims_s"], r["ms_per_search"]] for r in one]), ""]
    a = report.get("agreement", [])
    if a:
        md += ["## 5. Search agreement with the CPU (shipped Go net)", "",
               f"`az` agent, {cfg['agree_sims']} simulations, no subtree reuse, the same {cfg['agree_positions']} "
               "seeded positions (20 random plies) searched on the device and on the CPU.", "",
               _table(["device setting", "cudnn TF32", "matmul TF32", "positions", "same move",
                       "max abs root value diff"],
                      [[r["setting"], r["cudnn_tf32"], r["matmul_tf32"], r["positions"], r["same_move"],
                        f"{r['max_root_value_diff']:.2e}"] for r in a]), ""]
    md += ["## 6. Tournaments through the harness", ""]
    for r in report.get("tournaments", []):
        md += [f"### {r['name']} ({r['env']} {r['env_kwargs'] or ''}), device {r['device']}", "",
               f"Round robin, {r['games_per_pairing']} games per pairing (seats alternate, paired deals), "
               f"{r['games_played']} games played in {r['seconds']:.1f} s; agents: "
               + ", ".join(f"`{a}`" for a in r["agents"]) + ".", "",
               re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 3) + " ", r["table"].strip(), flags=re.M), ""]
    md += ["## Timings", "", _table(["section", "seconds"], [[k, v] for k, v in report["seconds"].items()]), ""]
    if report["errors"]:
        md += ["## Errors", "", *[f"- {k}: `{v}`" for k, v in report["errors"].items()], ""]
    return "\n".join(md)


def run_check(cfg: CheckConfig, out: Path, quick: bool = False) -> dict[str, Any]:
    """Run every section of ``cfg``; write ``gpu_check.md``/``gpu_check.json`` into ``out``; return the report."""
    import torch

    from zeroleague.agents.evaluator import pick_device

    device = str(pick_device(cfg.device))
    devices = [device] if device == "cpu" else [device, "cpu"]
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"config": asdict(cfg), "quick": quick, "versions": _versions(), "seconds": {},
                              "errors": {}}
    report["config"]["device"] = device

    def section(name: str, fn):
        """Run one section; a failure is recorded (and the report written) rather than ending the check."""
        print(f"[gpu_check] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            report[name] = fn()
        except Exception as e:  # noqa: BLE001 -- one broken section must not lose the others' figures
            import traceback

            traceback.print_exc()
            report["errors"][name] = f"{type(e).__name__}: {e}"
        report["seconds"][name] = time.perf_counter() - t0
        print(f"[gpu_check] {name}: {report['seconds'][name]:.1f} s", file=sys.stderr, flush=True)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
        (out / "gpu_check.md").write_text(render(report))

    torch.manual_seed(cfg.seed)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = Path(tmp)
        if cfg.run_tests:
            section("tests", run_gpu_tests)
        section("forward", lambda: forward_throughput(cfg, devices))
        section("selfplay", lambda: selfplay_throughput(cfg, devices))
        section("burst", lambda: training_burst(cfg, devices, work))
        section("single", lambda: single_game(cfg, devices))
        section("agreement", lambda: search_agreement(cfg, device))
        section("tournaments", lambda: tournaments(cfg, device, work))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for gpu_check.md/.json")
    ap.add_argument("--quick", action="store_true", help="tiny settings (a smoke run, e.g. on the CPU)")
    ap.add_argument("--no-tests", action="store_true", help="skip the pytest -m gpu section")
    args = ap.parse_args(argv)
    if args.device not in ("cuda", "cpu") and not re.fullmatch(r"cuda:\d+", args.device):
        raise SystemExit(f"--device must be cuda, cuda:N or cpu, got {args.device!r}")
    try:
        from zeroleague.agents.evaluator import pick_device

        pick_device(args.device)
    except ValueError as e:
        raise SystemExit(f"gpu_check: {e}") from None
    cfg = CheckConfig(device=args.device, run_tests=not args.no_tests)
    if args.quick:
        cfg = cfg.quick()
    report = run_check(cfg, Path(args.out), quick=args.quick)
    print(f"wrote {Path(args.out) / 'gpu_check.md'}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
