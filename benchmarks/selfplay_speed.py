"""Self-play speed on Go 9x9 (issue #16 item 2): self-play positions per hour, and policy-target positions per
hour, for the AlphaZero self-play settings before and after this issue's levers, on this machine, in one run.

Configurations (all with the shipped warm-start net ``checkpoints/go9/alphazero.pt``, one torch thread,
resignation at root value < -0.9 with 10% no-resign games, komi 7.5):

- ``puct64``: the previous training default — PUCT, 64 simulations on every move, root Dirichlet noise, visit
  counts as targets, subtree reuse; ``P`` games in lockstep.
- ``gumbel32``: Gumbel root search with sequential halving, 32 simulations over 16 considered actions on every
  move (improved-policy targets).
- ``gumbel32_cap``: as gumbel32 with playout-cap randomization: a full 32-simulation search on 25% of the moves
  (the policy targets), 8 simulations on the others.
- ``gumbel32_cap_b128``: gumbel32_cap with 128 games in lockstep (larger evaluator batches).

Each configuration plays its games ``--repeats`` times, the configurations interleaved (A B C D A B C D ...) so
the machine's load (shared by other jobs) falls on all alike; reported: the median over repeats of positions
per hour (every searched decision is a training sample), policy-target positions per hour, network
evaluations per position and per second, with the repeats' range. Writes ``--out`` markdown.

    python benchmarks/selfplay_speed.py --games 32 --repeats 2 --out benchmarks/results/selfplay_speed_go9.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import zeroleague.envs as envs  # noqa: E402
from zeroleague.agents.alphazero.checkpoint import load_checkpoint  # noqa: E402
from zeroleague.agents.alphazero.gumbel import GumbelConfig  # noqa: E402
from zeroleague.agents.alphazero.selfplay import self_play  # noqa: E402
from zeroleague.agents.alphazero.tree import MCTSConfig  # noqa: E402
from zeroleague.agents.evaluator import Evaluator  # noqa: E402

CONFIGS = {
    "puct64": dict(sims=64, search="puct", full_search_prob=1.0, parallel=1),
    "gumbel32": dict(sims=32, search="gumbel", full_search_prob=1.0, parallel=1),
    "gumbel32_cap": dict(sims=32, search="gumbel", full_search_prob=0.25, parallel=1),
    "gumbel32_cap_b128": dict(sims=32, search="gumbel", full_search_prob=0.25, parallel=4),
}


def run_one(name: str, evaluator: Evaluator, game, games: int, seed: int) -> dict:
    c = CONFIGS[name]
    n = games * c["parallel"]
    evaluator.samples = 0
    t0 = time.perf_counter()
    data = self_play(game, evaluator.evaluate, MCTSConfig(num_simulations=c["sims"]), n, seed, parallel=n,
                     resign_threshold=0.9, no_resign_frac=0.1, search=c["search"],
                     gumbel=GumbelConfig(num_considered=16), full_search_prob=c["full_search_prob"], fast_sims=8)
    wall = time.perf_counter() - t0
    pos = len(data.value)
    targets = float(data.policy_weight.sum())
    return {"config": name, "games": n, "positions": pos, "policy_targets": targets,
            "wall_s": wall, "pos_per_h": pos / wall * 3600, "targets_per_h": targets / wall * 3600,
            "evals_per_pos": evaluator.samples / pos, "evals_per_s": evaluator.samples / wall,
            "resigned": data.resigned}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--games", type=int, default=32, help="games per repeat (x4 for the b128 configuration)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    game = envs.make_game("go_v0", board_size=9, komi=7.5)
    evaluator = Evaluator(load_checkpoint("checkpoints/go9/alphazero.pt").model(), "cpu")
    names = args.configs.split(",")
    run_one(names[-1], evaluator, game, 2, 0)  # compile the kernels before timing
    rows = []
    for r in range(args.repeats):
        for name in names:
            row = {"repeat": r, **run_one(name, evaluator, game, args.games, args.seed + r)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = np.median([x["pos_per_h"] for x in rows if x["config"] == names[0]])
    lines = ["# Self-play speed, Go 9x9 (one torch thread, this machine, one run)", "",
             "| config | games x repeats | positions/h (median, range) | policy targets/h | evals/position "
             "| evals/s | positions/h vs " + names[0] + " |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        xs = [x for x in rows if x["config"] == name]
        p = [x["pos_per_h"] for x in xs]
        lines.append(f"| {name} | {xs[0]['games']} x {len(xs)} | {np.median(p):,.0f} ({min(p):,.0f}-{max(p):,.0f}) "
                     f"| {np.median([x['targets_per_h'] for x in xs]):,.0f} "
                     f"| {np.median([x['evals_per_pos'] for x in xs]):.1f} "
                     f"| {np.median([x['evals_per_s'] for x in xs]):,.0f} | {np.median(p) / base:.2f}x |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    cmd = "python benchmarks/selfplay_speed.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    lines += ["", "A position is one searched decision (one training sample; with playout-cap randomization only "
              "the full searches are policy targets). The machine is shared with other jobs: compare rows, "
              "interleaved in one run, not absolute rates across runs. Settings: " + json.dumps(CONFIGS) +
              " (parallel = multiple of --games played in lockstep).",
              f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "", f"    {cmd}", ""]
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
