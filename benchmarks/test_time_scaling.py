"""Test-time scaling of AlphaZero: rating against MCTS simulations per move, one curve per checkpoint along
training (and, optionally, the network-free search ``az_uniform`` as the curve of no learning at all). A
better network lifts the whole curve: the same strength at fewer simulations.

    python benchmarks/test_time_scaling.py benchmarks/compare_sixnimmt_small.toml [--runs DIR] [--out DIR]
        [--results-md PATH]

It reads the comparison config's ``[time_scaling]`` table (``benchmarks/compare_algorithms.py``):
``algo`` (``alphazero``), ``seed`` (which run), ``sims`` (simulations per move, e.g. ``[1, 4, 16, 64, 256,
1024]``), ``checkpoints`` (indices among the run's snapshots; default all), ``uniform`` (add ``az_uniform``),
``games_per_pairing`` and ``design`` (``round_robin``, or ``panel``: every agent plays only the anchors and
every checkpoint searching with ``panel_sims`` simulations, default the middle of ``sims``); anchors,
bootstrap and tournament seed come from ``[rating]``. The AlphaZero run is the comparison's own
(``<runs>/<name>/alphazero/seed<k>/``), trained here first if missing.

Every (checkpoint, sims) agent and the anchors play one tournament (``leagues.tournament``, SQLite, resumable);
Bradley–Terry Elo anchored at ``random`` = 0 with bootstrap 95% intervals. Writes
``<out>/time_scaling_<config>.csv`` (checkpoint, its training compute, sims, Elo, interval) and ``.png`` (Elo
against simulations, log scale, with the intervals as error bars), and a section of the results page with the
table, the figure, the command, seeds and commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks.compare_algorithms import (  # noqa: E402
    CompareConfig,
    _rel,
    git_commit,
    load_config,
    moves_per_game,
    rating_tournament,
    save_figure,
    train_alphazero,
    update_results_md,
    write_csv,
)
from zeroleague.envs.registry import make_env_game  # noqa: E402
from zeroleague.leagues.tournament import run_tournament  # noqa: E402

DEFAULTS: dict[str, Any] = {
    "algo": "alphazero",
    "seed": 0,
    "sims": [1, 4, 16, 64, 256, 1024],
    "checkpoints": None,
    "uniform": True,
    "games_per_pairing": 100,
    "design": "round_robin",
    "panel_sims": None,
}
COLUMNS = ("checkpoint", "index", "env_steps", "sims", "spec", "elo", "elo_lo", "elo_hi")


def options(cfg: CompareConfig) -> dict[str, Any]:
    """The ``[time_scaling]`` table over its defaults; ValueError for unknown keys or bad values."""
    ts = dict(cfg.time_scaling or {})
    bad = sorted(set(ts) - set(DEFAULTS))
    if bad:
        raise ValueError(f"[time_scaling]: unknown keys {bad}; known keys: {sorted(DEFAULTS)}")
    opts = {**DEFAULTS, **ts}
    if opts["algo"] != "alphazero":
        raise ValueError(f"[time_scaling] algo must be 'alphazero' (a search agent), got {opts['algo']!r}")
    sims = [int(s) for s in opts["sims"]]
    if not sims or min(sims) < 1 or len(set(sims)) != len(sims):
        raise ValueError(f"[time_scaling] sims must be distinct positive integers, got {opts['sims']!r}")
    opts["sims"] = sorted(sims)
    if opts["games_per_pairing"] < 2 or opts["games_per_pairing"] % 2:
        raise ValueError(f"[time_scaling] games_per_pairing must be even (mirrored deals), got "
                         f"{opts['games_per_pairing']!r}")
    if opts["panel_sims"] is None:
        opts["panel_sims"] = opts["sims"][len(sims) // 2]
    elif opts["panel_sims"] not in opts["sims"]:
        raise ValueError(f"[time_scaling] panel_sims {opts['panel_sims']!r} is not among sims {opts['sims']}")
    return opts


def run_time_scaling(cfg: CompareConfig, command: str = "", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train the AlphaZero run if needed, rate every (checkpoint, sims) agent, write the CSV, the PNG and the
    results page's section; returns ``{"rows": [...], "paths": {...}}``."""
    start = time.perf_counter()
    opts = options(cfg)
    if "alphazero" not in cfg.algorithms:
        raise ValueError(f"{cfg.name}: [time_scaling] needs an [algorithms.alphazero] table")
    import torch

    torch.set_num_threads(1)
    game = make_env_game(cfg.env_id, cfg.env_kwargs)
    seed = int(opts["seed"])
    ckpts = train_alphazero(cfg, seed, cfg.run_dir("alphazero", seed), moves_per_game(game), game)
    if opts["checkpoints"] is not None:
        ckpts = [ckpts[int(k)] for k in opts["checkpoints"]]
    agents: list[dict[str, Any]] = []
    for c in ckpts:
        label = f"{Path(c.path).stem} ({c.compute['env_steps']} env steps)"
        agents += [{"checkpoint": label, "index": c.index, "env_steps": c.compute["env_steps"], "sims": s,
                    "spec": f"az:{c.path},sims={s}"} for s in opts["sims"]]
    if opts["uniform"]:
        agents += [{"checkpoint": "no network (az_uniform)", "index": -1, "env_steps": 0, "sims": s,
                    "spec": f"az_uniform:sims={s}"} for s in opts["sims"]]
    panel = [a["spec"] for a in agents if a["sims"] == opts["panel_sims"]]
    rated = replace(cfg, rating={**cfg.rating, "games_per_pairing": opts["games_per_pairing"],
                                 "design": opts["design"]})
    short = cfg.name.removeprefix("compare_")
    tcfg = rating_tournament(rated, f"{cfg.name}_time_scaling", [a["spec"] for a in agents], panel,
                             Path(cfg.runs) / cfg.name / "time_scaling")
    log(f"[{cfg.name}] time scaling: {len(tcfg.agents)} agents, {tcfg.format}")
    ratings = run_tournament(tcfg, device=cfg.device, progress=False, log=log).ratings
    pos = {p: k for k, p in enumerate(ratings.players)}
    rows = [{**a, "elo": float(ratings.elo[pos[a["spec"]]]), "elo_lo": float(ratings.lo[pos[a["spec"]]]),
             "elo_hi": float(ratings.hi[pos[a["spec"]]])} for a in agents]
    out = Path(cfg.out)
    paths = {"csv": write_csv(out / f"time_scaling_{short}.csv", rows, COLUMNS)}
    anchors = {a: float(ratings.elo[pos[a]]) for a in cfg.rating_opt("anchors") if a in pos}
    paths["png"] = plot_scaling(rows, anchors, out / f"time_scaling_{short}.png",
                                f"{cfg.name}: AlphaZero rating vs simulations per move")
    elapsed = time.perf_counter() - start
    body = section(cfg, opts, rows, anchors, paths, command, tcfg, elapsed)
    paths["results_md"] = update_results_md(cfg.results_md, f"time_scaling_{cfg.name}", body)
    return {"rows": rows, "paths": paths, "elapsed_s": elapsed}


def plot_scaling(rows: Sequence[dict[str, Any]], anchors: dict[str, float], path: Path, title: str) -> Path:
    """Elo against simulations per move (log2 axis), one curve with 95% error bars per checkpoint (the
    network-free search dashed), anchors as grey horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    cmap = plt.get_cmap("viridis")
    labels = list(dict.fromkeys(r["checkpoint"] for r in rows))
    trained = [lab for lab in labels if not lab.startswith("no network")]
    for lab in labels:
        pts = sorted((r for r in rows if r["checkpoint"] == lab), key=lambda r: r["sims"])
        x = np.array([r["sims"] for r in pts])
        y = np.array([r["elo"] for r in pts])
        err = [y - np.array([r["elo_lo"] for r in pts]), np.array([r["elo_hi"] for r in pts]) - y]
        if lab in trained:
            style = {"color": cmap(0.15 + 0.7 * trained.index(lab) / max(1, len(trained) - 1)), "fmt": "o-"}
        else:
            style = {"color": "black", "fmt": "s--"}
        ax.errorbar(x, y, yerr=err, capsize=3, label=lab, **style)
    for k, (name, v) in enumerate(anchors.items()):
        ax.axhline(v, color="grey", ls=("--", ":")[k % 2], lw=1, label=f"{name} (Elo {v:.0f})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("MCTS simulations per move (log scale)")
    ax.set_ylabel("Bradley–Terry Elo (random = 0), 95% CI")
    return save_figure(fig, ax, path, title)


def section(cfg: CompareConfig, opts: dict[str, Any], rows: Sequence[dict[str, Any]], anchors: dict[str, float],
            paths: dict[str, Path], command: str, tcfg: Any, elapsed: float) -> str:
    """The results page's section: what was run, the figure, Elo [95% CI] per checkpoint and budget."""
    md = Path(cfg.results_md)
    sims = opts["sims"]
    lines = ["| checkpoint | " + " | ".join(f"{s} sims" for s in sims) + " |", "|---|" + "---:|" * len(sims)]
    for lab in dict.fromkeys(r["checkpoint"] for r in rows):
        by = {r["sims"]: r for r in rows if r["checkpoint"] == lab}
        lines.append(f"| {lab} | " + " | ".join(
            f"{by[s]['elo']:.0f} [{by[s]['elo_lo']:.0f}, {by[s]['elo_hi']:.0f}]" for s in sims) + " |")
    anchor_text = ", ".join(f"`{a}` {v:.0f}" for a, v in anchors.items())
    return "\n".join([
        f"## Test-time scaling: `{cfg.name}` AlphaZero (seed {opts['seed']})", "",
        f"Command: `{command or 'python benchmarks/test_time_scaling.py <config>'}` — commit `{git_commit()}`; "
        f"{tcfg.format.replace('_', ' ')}, {tcfg.games_per_pairing} games per pairing, tournament seed {tcfg.seed}, "
        f"{tcfg.bootstrap} bootstrap resamples; anchors: {anchor_text}; took {elapsed / 60:.1f} min.", "",
        f"![rating vs simulations]({_rel(paths['png'], md)})", "",
        "Elo [95% CI] by checkpoint (its training compute) and simulations per move:", "", *lines, "",
        f"Data: [{paths['csv'].name}]({_rel(paths['csv'], md)})",
    ]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", help="comparison TOML file with a [time_scaling] table")
    ap.add_argument("--runs", default=None, help="root of the run dirs (overrides [compare] runs)")
    ap.add_argument("--out", default=None, help="artefact dir (overrides [compare] out)")
    ap.add_argument("--results-md", default=None, help="results page to update (overrides [compare] results_md)")
    ap.add_argument("--device", default=None, help="torch device for training and agents (overrides [compare])")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, runs=args.runs, out=args.out, results_md=args.results_md,
                      device=args.device)
    command = "python benchmarks/test_time_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res = run_time_scaling(cfg, command)
    print(json.dumps({k: str(v) for k, v in res["paths"].items()} | {"elapsed_s": round(res["elapsed_s"], 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
