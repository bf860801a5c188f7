"""AlphaZero's 6 nimmt! search against flat Monte Carlo (``mcs``): a settings sweep, the held-out strength of the
chosen settings, an ablation and a test-time scaling curve, all in one run over a process pool (one torch thread
per process), so that a many-core machine does it at once.

    python benchmarks/sixnimmt_search_eval.py --jobs 16 --out DIR [--sweep-deals 200] [--final-deals 2000]
        [--scaling-deals 200] [--budget-ms 50]

Every match is played through the match harness in the duplicate format (games ``2k``, ``2k + 1`` share deal k
with the seats swapped), split into chunks of whole deals; the margin (bullheads per game, positive = the
AlphaZero side better) gets a 95% interval over deals. Phases:

1. sweep: every candidate search setting (``SWEEP``) vs ``mcs:rollouts=100`` on the deals of seed 101;
2. the best sweep setting whose mean seconds per own move (amortised over the games a process plays at once,
   one thread) is within ``--budget-ms``, on fresh deals (seed 202): vs ``mcs:rollouts=100`` and
   ``mcs:rollouts=400`` (``--final-deals`` each); ``mcs:rollouts=100`` vs ``closest_gap`` on the same deals;
3. ablation: each lever of the chosen setting switched back to today's default, one at a time (seed 101, the
   sweep's deals); 4. scaling: the chosen setting at several simulation counts (seed 303).

Writes ``DIR/sixnimmt_search_eval.jsonl`` (one line per match) and ``DIR/sixnimmt_search_eval.md`` (tables).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

CKPT = "checkpoints/sixnimmt/alphazero.pt"
BASE = {"sims": 100, "joint_selection": "rm", "rollouts": 0, "rollout_mix": 0.5, "c_puct": 1.25}
"""Today's defaults (the settings every ``az`` spec below spells out, so stored settings never interfere)."""
SWEEP = [
    {},
    {"joint_selection": "puct"},
    {"joint_selection": "puct", "rollouts": 4},
    {"joint_selection": "puct", "sims": 200, "rollouts": 16},
    {"joint_selection": "puct", "sims": 400, "rollouts": 4},
    {"joint_selection": "puct", "sims": 400, "rollouts": 8},
    {"joint_selection": "puct", "sims": 400, "rollouts": 4, "rollout_mix": 0.8},
    {"joint_selection": "puct", "sims": 400, "rollouts": 4, "rollout_mix": 1.0},
    {"joint_selection": "puct", "sims": 400, "rollouts": 4, "c_puct": 2.5},
    {"joint_selection": "puct", "sims": 800, "rollouts": 4},
]
SCALING_SIMS = [25, 50, 100, 200, 400, 800]


def az_spec(settings: dict) -> str:
    s = {**BASE, **settings}
    return f"az:{CKPT}," + ",".join(f"{k}={v}" for k, v in s.items())


def _chunk(task: tuple) -> dict:
    """Worker: games ``indices`` of the match (agent, opponent, seed); per-deal margins and timings."""
    label, agent, opponent, seed, games, indices = task
    import torch

    torch.set_num_threads(1)
    import zeroleague.envs as envs
    from zeroleague.agents.registry import make_agent
    from zeroleague.leagues.harness import play_match

    game = envs.make_game("sixnimmt_v0")
    a = make_agent(agent, game, seed=seed, device="cpu")
    b = make_agent(opponent, game, seed=seed + 1, device="cpu")
    recs = play_match(game, a, b, num_games=games, seed=seed, max_parallel=256, indices=indices).records
    moves_a = sum((r.num_moves + (r.seat_a == 0)) // 2 for r in recs)
    moves_b = sum(r.num_moves for r in recs) - moves_a
    return {"label": label, "margins": {r.index: (r.returns[r.seat_a] - r.returns[1 - r.seat_a]) / 2 for r in recs},
            "results": [r.result for r in recs], "time_a": sum(r.time_a for r in recs), "moves_a": moves_a,
            "time_b": sum(r.time_b for r in recs), "moves_b": moves_b}


def _per_move(parts: list[dict], side: str) -> float:
    return 1000 * sum(p[f"time_{side}"] for p in parts) / max(sum(p[f"moves_{side}"] for p in parts), 1)


def run_matches(pool, matches: list[tuple[str, str, str, int, int]], chunk_deals: int) -> list[dict]:
    """Play every (label, agent, opponent, seed, deals) match in chunks over the pool; a summary per match."""
    tasks = []
    for m, (_, agent, opponent, seed, deals) in enumerate(matches):
        games = 2 * deals
        for lo in range(0, games, 2 * chunk_deals):
            tasks.append((m, agent, opponent, seed, games, list(range(lo, min(lo + 2 * chunk_deals, games)))))
    parts = list(pool.map(_chunk, tasks))
    out = []
    for m, (label, agent, opponent, seed, deals) in enumerate(matches):
        mine = [p for p in parts if p["label"] == m]
        margins: dict[int, float] = {}
        for p in mine:
            margins.update(p["margins"])
        per_deal = np.array([np.mean([margins[2 * k], margins[2 * k + 1]]) for k in range(deals)])
        results = [x for p in mine for x in p["results"]]
        out.append({"label": label, "agent": agent, "opponent": opponent, "seed": seed, "deals": deals,
                    "margin": float(per_deal.mean()),
                    "ci95": float(1.96 * per_deal.std(ddof=1) / math.sqrt(deals)),
                    "wins": sum(r > 0 for r in results), "draws": sum(r == 0 for r in results),
                    "losses": sum(r < 0 for r in results),
                    "ms_per_move_agent": _per_move(mine, "a"), "ms_per_move_opponent": _per_move(mine, "b")})
    return out


def _row(r: dict) -> str:
    return (f"| {r['label']} | {r['opponent']} | {r['deals']} | {r['wins']} / {r['draws']} / {r['losses']} "
            f"| {r['margin']:+.2f} ± {r['ci95']:.2f} | {r['ms_per_move_agent']:.1f} "
            f"| {r['ms_per_move_opponent']:.1f} |")


HEADER = ("| setting | opponent | deals | W / D / L | margin (95% CI over deals) | ms/move agent | ms/move opp. |\n"
          "|---|---|---:|:---:|:---:|---:|---:|")


PHASES = ("sweep", "final", "ablation", "scaling")
TITLES = {
    "sweep": "## 1. Sweep (seed 101): candidate settings vs mcs:rollouts=100",
    "final": "## 2. Held-out strength of the chosen setting (seeds 202-204)",
    "ablation": "## 3. Ablation (seed 101, the sweep's deals): each lever of the chosen setting back to its default",
    "scaling": "## 4. Test-time scaling (seed 303): the chosen setting at other simulation counts vs mcs:rollouts=100",
}


def render(jsonl: Path, note: str = "") -> str:
    """The markdown tables of every phase in ``jsonl`` (for a phase run more than once: its latest run)."""
    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    md = ["# AlphaZero's 6 nimmt! search vs flat Monte Carlo (`benchmarks/sixnimmt_search_eval.py`)\n",
          f"Checkpoint `{CKPT}`; every `az` spec spells out {BASE} except where a row changes them. Duplicate "
          "deals (each played twice, seats swapped); margin = bullheads per game, positive = the first agent "
          "better; 95% CI over deals; ms/move = seconds inside `act` per own move, amortised over up to 256 games "
          "a process plays at once, one torch thread per process.\n"]
    for phase in PHASES:
        mine = [r for r in rows if r["phase"] == phase]
        runs = sorted({r.get("run", 0) for r in mine})
        mine = [r for r in mine if r.get("run", 0) == runs[-1]] if runs else []
        if mine:
            md += [TITLES[phase] + "\n", HEADER, *[_row(r) for r in mine], ""]
    return "\n".join(md) + ("\n" + note if note else "")


def plot_scaling(jsonl: Path, png: Path) -> bool:
    """Margin vs mcs:rollouts=100 against simulations (log scale) with the 95% intervals, from the latest
    scaling run in ``jsonl``; False when there is none."""
    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["phase"] == "scaling"]
    if not rows:
        return False
    last = max(r.get("run", 0) for r in rows)
    rows = sorted((r for r in rows if r.get("run", 0) == last), key=lambda r: int(r["label"].split("=")[1]))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sims = [int(r["label"].split("=")[1]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(sims, [r["margin"] for r in rows], yerr=[r["ci95"] for r in rows], marker="o", capsize=3)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xticks(sims, [str(n) for n in sims])
    ax.minorticks_off()
    ax.set_xlabel("simulations per move (log scale)")
    ax.set_ylabel("margin vs mcs:rollouts=100 (bullheads/round)")
    ax.set_title(f"AlphaZero 6 nimmt! search, {rows[0]['deals']} deals per point", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--sweep-deals", type=int, default=200)
    ap.add_argument("--final-deals", type=int, default=2000)
    ap.add_argument("--scaling-deals", type=int, default=200)
    ap.add_argument("--scaling-sims", default=",".join(map(str, SCALING_SIMS)))
    ap.add_argument("--chunk-deals", type=int, default=50)
    ap.add_argument("--budget-ms", type=float, default=50.0)
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset of " + ",".join(PHASES))
    ap.add_argument("--settings", default=None, help="JSON settings to use without a sweep")
    ap.add_argument("--note", default="", help="text appended to the markdown")
    ap.add_argument("--render-only", action="store_true", help="only rewrite the markdown and plot from the jsonl")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.render_only:
        (out / "sixnimmt_search_eval.md").write_text(render(out / "sixnimmt_search_eval.jsonl", args.note))
        plot_scaling(out / "sixnimmt_search_eval.jsonl", out / "sixnimmt_search_scaling.png")
        return 0
    phases = args.phases.split(",")
    if "sweep" not in phases and args.settings is None:
        ap.error("without the sweep phase, --settings names the setting to evaluate")
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "sixnimmt_search_eval.jsonl"
    log = open(jsonl, "a")
    run = int(time.time())
    t0 = time.perf_counter()

    def record(rows, phase):
        for r in rows:
            log.write(json.dumps({"phase": phase, "run": run, **r}) + "\n")
            print(phase, _row(r), f"[{time.perf_counter() - t0:.0f} s]", flush=True)
        log.flush()

    sweep: list[dict] = []
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        if "sweep" in phases:
            sweep = run_matches(pool, [(json.dumps(s), az_spec(s), "mcs:rollouts=100", 101, args.sweep_deals)
                                       for s in SWEEP], args.chunk_deals)
            record(sweep, "sweep")
            ok = [r for r in sweep if r["ms_per_move_agent"] <= args.budget_ms] or sweep
            best = json.loads(max(ok, key=lambda r: r["margin"])["label"])
        else:
            best = json.loads(args.settings)
        spec = az_spec(best)
        if "final" in phases:
            record(run_matches(pool, [("chosen " + json.dumps(best), spec, "mcs:rollouts=100", 202, args.final_deals),
                                      ("chosen " + json.dumps(best), spec, "mcs:rollouts=400", 203, args.final_deals),
                                      ("mcs:rollouts=100", "mcs:rollouts=100", "closest_gap", 204,
                                       args.final_deals)], args.chunk_deals), "final")
        if "ablation" in phases:
            ablate = [{**r, "label": "chosen " + r["label"]} for r in sweep if json.loads(r["label"]) == best]
            for k, v in best.items():
                if BASE.get(k) != v:
                    off = {kk: vv for kk, vv in best.items() if kk != k}
                    label = f"{json.dumps(off)} ({k} back to {BASE[k]})"
                    hit = [r for r in sweep if json.loads(r["label"]) == off]
                    ablate += [{**hit[0], "label": label}] if hit else run_matches(
                        pool, [(label, az_spec(off), "mcs:rollouts=100", 101, args.sweep_deals)], args.chunk_deals)
            record(ablate, "ablation")
        if "scaling" in phases:
            sims = [int(n) for n in args.scaling_sims.split(",")]
            record(run_matches(pool, [(f"sims={n}", az_spec({**best, "sims": n}), "mcs:rollouts=100", 303,
                                       args.scaling_deals) for n in sims], args.chunk_deals), "scaling")
    cmd = "python benchmarks/sixnimmt_search_eval.py " + " ".join(argv or sys.argv[1:])
    note = f"{args.note}\nLast run: wall {time.perf_counter() - t0:.0f} s, {args.jobs} processes.\n\n    {cmd}\n"
    (out / "sixnimmt_search_eval.md").write_text(render(jsonl, note))
    plot_scaling(jsonl, out / "sixnimmt_search_scaling.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
