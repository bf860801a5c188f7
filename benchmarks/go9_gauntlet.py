"""One gauntlet for Go 9x9 AlphaZero snapshots: every snapshot against GNU Go level 1 and against the warm-start
net (``checkpoints/go9/alphazero.pt`` as it was before self-play), through the match harness, then a table and
a plot of the score / Elo difference against the training iteration and the self-play positions behind each
snapshot.

``play``: the games. Snapshots are named ``LABEL=PATH`` (PATH a checkpoint). Pairings: each snapshot vs
``--opponent`` (default ``gnugo:level=1``) and each snapshot other than the warm start vs the warm start (label
``warm``). Each pairing's games ``0..N-1`` are the games of the match ``(agent, opponent, --seed)``: seats
alternate (games 2k and 2k+1 share a seed with the seats swapped), GNU Go draws a fresh seed per decision
(``baselines.gtp_agent``), the AlphaZero agents sample their first ``explore_moves`` own moves in proportion
to the root visits. Work is split into tasks of ``--chunk`` games spread round-robin over the pairings and run
in ``--jobs`` processes (one torch thread each); every finished task's game records are appended to
``--records`` (JSON lines), so an interrupted or time-boxed run (``--budget-s``: no new task starts after it)
keeps everything it played and a re-run skips the tasks already recorded.

``report``: reads the records (and the run's ``metrics.jsonl`` files for positions per snapshot) and writes
``--out`` markdown (games, W/D/L, score with Wilson 95% CI, Elo difference with the CI mapped from the score's)
and a PNG plot.

    python benchmarks/go9_gauntlet.py play --snapshot warm=checkpoints/go9/alphazero.pt \\
        --snapshot cpu_it10=runs/go9_gumbel/snapshots/iter_000010.pt --games 100 --jobs 2 \\
        --records benchmarks/results/go9_gauntlet_records.jsonl
    python benchmarks/go9_gauntlet.py report --records benchmarks/results/go9_gauntlet_records.jsonl \\
        --out benchmarks/results/go9_gauntlet.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENV_KWARGS = {"board_size": 9, "komi": 7.5}


def _spec(path: str, sims: int, explore: int) -> str:
    return f"az:{path},sims={sims},explore_moves={explore},threads=1"


def _task(agent: str, opponent: str, games: int, seed: int, indices: list[int]) -> list[dict]:
    import torch

    import zeroleague.envs as envs
    from zeroleague.agents.registry import make_agent
    from zeroleague.leagues.harness import play_match

    torch.set_num_threads(1)
    game = envs.make_game("go_v0", **ENV_KWARGS)
    a = make_agent(agent, game, seed=seed)
    b = make_agent(opponent, game, seed=seed + 1)
    try:
        recs = play_match(game, a, b, num_games=games, seed=seed, max_parallel=len(indices), indices=indices).records
    finally:
        a.close()
        b.close()
    return [{k: v for k, v in asdict(r).items() if k != "actions"} for r in recs]


def play(args) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    snaps = dict(s.split("=", 1) for s in args.snapshot)
    if "warm" not in snaps:
        raise SystemExit("need a snapshot labelled warm (the warm-start net)")
    pairings = [(lab, "opp") for lab in snaps] + [(lab, "warm") for lab in snaps if lab != "warm"]
    specs = {lab: _spec(p, args.sims, args.explore_moves) for lab, p in snaps.items()}
    out = Path(args.records)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["label"], r["vs"], r["index"]))
    tasks = []
    for start in range(0, args.games, args.chunk):
        idx = list(range(start, min(start + args.chunk, args.games)))
        for lab, vs in pairings:
            todo = [i for i in idx if (lab, vs, i) not in done]
            if todo:
                tasks.append((lab, vs, todo))
    print(f"[gauntlet] {len(pairings)} pairings, {len(tasks)} tasks", flush=True)
    t0 = time.time()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool, out.open("a") as f:
        pending = {}
        it = iter(tasks)

        def submit() -> bool:
            if time.time() - t0 > args.budget_s:
                return False
            nxt = next(it, None)
            if nxt is None:
                return False
            lab, vs, idx = nxt
            opp = args.opponent if vs == "opp" else specs["warm"]
            pending[pool.submit(_task, specs[lab], opp, args.games, args.seed, idx)] = (lab, vs)
            return True

        for _ in range(args.jobs):
            submit()
        while pending:
            fin, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in fin:
                lab, vs = pending.pop(fut)
                try:
                    recs = fut.result()
                except Exception as e:  # a failed task is reported, the others go on
                    print(f"[gauntlet] task {lab} vs {vs} failed: {type(e).__name__}: {e}", flush=True)
                    continue
                for r in recs:
                    f.write(json.dumps({"label": lab, "vs": vs, "path": snaps[lab], "agent": specs[lab],
                                        "opponent": args.opponent if vs == "opp" else specs["warm"], **r}) + "\n")
                f.flush()
                submit()
    print(f"[gauntlet] done in {time.time() - t0:.0f} s", flush=True)


def elo(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return -400 * math.log10(1 / p - 1)


def report(args) -> None:
    from zeroleague.leagues.harness import wilson_interval

    rows: dict[tuple[str, str], list[dict]] = {}
    for line in Path(args.records).read_text().splitlines():
        r = json.loads(line)
        rows.setdefault((r["label"], r["vs"]), []).append(r)
    meta = {}
    for spec in args.run or []:
        tag, path = spec.split("=", 1)
        cum = 0
        for line in Path(path).read_text().splitlines():
            m = json.loads(line)
            if m["iteration"] >= 0:
                cum += m.get("samples", 0)
                meta[(tag, m["iteration"])] = cum
    table = []
    for (lab, vs), recs in sorted(rows.items()):
        n = len(recs)
        w = sum(r["result"] > 0 for r in recs)
        d = sum(r["result"] == 0 for r in recs)
        s = w + 0.5 * d
        lo, hi = wilson_interval(s / n, n)
        tag, it = (lab.rsplit("_it", 1) + [None])[:2] if "_it" in lab else (lab, None)
        it = int(it) if it is not None else -1
        pos = meta.get((tag, it), 0)
        moves = sum(r["num_moves"] for r in recs)
        t_a = sum(r["time_a"] for r in recs) / max(1, sum((r["num_moves"] + (r["seat_a"] == 0)) // 2 for r in recs))
        table.append({"label": lab, "vs": vs, "run": tag, "iteration": it, "positions": pos, "games": n, "wins": w,
                      "draws": d, "losses": n - w - d, "score": s / n, "ci": [lo, hi], "elo": elo(s / n),
                      "elo_ci": [elo(lo), elo(hi)], "s_per_move": t_a, "moves_per_game": moves / n,
                      "opponent": recs[0]["opponent"], "agent": recs[0]["agent"]})
    opp_name = next((t["opponent"] for t in table if t["vs"] == "opp"), "opponent")
    lines = [f"# Go 9x9 gauntlet: snapshots vs {opp_name} and vs the warm start", "",
             "| snapshot | run | iteration | self-play positions | vs | games | W / D / L | score (95% CI) "
             "| Elo diff (95% CI) | s/move |", "|---|---|---:|---:|---|---:|:---:|:---:|:---:|---:|"]
    for t in sorted(table, key=lambda t: (t["vs"], t["run"], t["iteration"])):
        vs = opp_name if t["vs"] == "opp" else "warm start"
        lines.append(f"| {t['label']} | {t['run']} | {t['iteration']} | {t['positions']:,} | {vs} | {t['games']} "
                     f"| {t['wins']} / {t['draws']} / {t['losses']} | {t['score']:.3f} [{t['ci'][0]:.3f}, "
                     f"{t['ci'][1]:.3f}] | {t['elo']:+.0f} [{t['elo_ci'][0]:+.0f}, {t['elo_ci'][1]:+.0f}] "
                     f"| {t['s_per_move']:.3f} |")
    agent = table[0]["agent"] if table else ""
    lines += ["", f"Agent spec (PATH = the snapshot): `{agent}`; env kwargs {json.dumps(ENV_KWARGS)}. Seats "
              "alternate; GNU Go is seeded per decision; Elo difference = -400 log10(1/score - 1), its CI the "
              "score's Wilson interval mapped through the same function. s/move: the agent's mean seconds per "
              "own move, amortised over the games a worker plays at once (one torch thread).", ""]
    if args.note:
        lines += [args.note, ""]
    Path(args.out).write_text("\n".join(lines))
    Path(args.out).with_suffix(".json").write_text(json.dumps(table, indent=1))
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, xkey, xlabel in ((axes[0], "iteration", "training iteration"),
                             (axes[1], "positions", "self-play positions")):
        for vs, marker in (("opp", "o"), ("warm", "s")):
            for run in sorted({t["run"] for t in table}):
                pts = sorted((t for t in table if t["vs"] == vs and (t["run"] == run or t["label"] == "warm")),
                             key=lambda t: t[xkey])
                if not pts:
                    continue
                x = [t[xkey] for t in pts]
                y = [t["elo"] for t in pts]
                err = [[t["elo"] - t["elo_ci"][0] for t in pts], [t["elo_ci"][1] - t["elo"] for t in pts]]
                name = opp_name if vs == "opp" else "warm start"
                ax.errorbar(x, y, yerr=err, marker=marker, capsize=3, label=f"{run} vs {name}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Elo difference (95% CI)")
        ax.legend(fontsize=7)
    fig.suptitle("Go 9x9 AlphaZero self-play snapshots")
    fig.tight_layout()
    fig.savefig(Path(args.out).with_suffix(".png"), dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("play")
    p.add_argument("--snapshot", action="append", required=True, help="LABEL=PATH (one labelled warm)")
    p.add_argument("--opponent", default="gnugo:level=1")
    p.add_argument("--games", type=int, default=100)
    p.add_argument("--chunk", type=int, default=4)
    p.add_argument("--sims", type=int, default=100)
    p.add_argument("--explore-moves", type=int, default=4)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--budget-s", type=float, default=math.inf)
    p.add_argument("--records", required=True)
    r = sub.add_parser("report")
    r.add_argument("--records", required=True)
    r.add_argument("--run", action="append", help="TAG=metrics.jsonl (snapshot labels TAG_itN)")
    r.add_argument("--note", default=None)
    r.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    (play if args.cmd == "play" else report)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
