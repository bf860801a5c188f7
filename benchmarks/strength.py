"""Head-to-head strength of one agent against a fixed anchor, through the match harness: the numbers a shipped
checkpoint is judged by (e.g. AlphaZero on 6 nimmt! vs ``closest_gap``; on Go 9x9 vs ``gnugo:level=1``).

Games ``0..N-1`` of the match ``(agent, opponent, seed)``, seats alternated by the harness. Reported: how many
distinct games (seat and move sequence) the match holds (a deterministic pairing repeats games, and then N
overstates the evidence), wins / draws / losses, the score rate (win = 1, draw = 1/2) with its Wilson 95%
interval, the mean margin per game (the agent's return: bullheads for 6 nimmt!, +-1 for Go) with a normal 95%
interval (1.96 standard errors), and each side's mean seconds per move (time inside ``act`` per own move; games
played ``--parallel`` at once share each call's time, so this is the amortised cost on this machine, ``--parallel
1`` gives the latency of one game). The mean margin also gets the interval over deals (``margin_ci95_deals``:
games ``2k`` and ``2k + 1`` share a deal with the seats swapped, so the per-deal mean is the unit of the duplicate
format; this interval is the one to quote, and is tighter than the per-game one). ``--jobs N`` splits the games
over N worker processes (each with one torch thread; the same games and seats, the agents' own draws may differ
from a one-process run). Writes ``--out`` (markdown, with the command) and prints one JSON line.

    python benchmarks/strength.py --env sixnimmt_v0 --agent az:checkpoints/sixnimmt/az.pt,sims=100 \\
        --opponent closest_gap --games 2000 --seed 2026 --out benchmarks/results/strength_az_sixnimmt.md
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import zeroleague.envs as envs  # noqa: E402
from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.leagues.backends import symmetric_payoff  # noqa: E402
from zeroleague.leagues.harness import MatchResult, play_match  # noqa: E402


def summarize(result: MatchResult) -> dict:
    """Score rate, margin and seconds per move of agent_a in ``result`` (module docstring)."""
    recs = result.records
    n = len(recs)
    margin, half = symmetric_payoff(recs)  # zero-sum returns: half the difference is agent_a's own return
    deal = {}
    for r in recs:
        deal.setdefault(r.index // 2, []).append((r.returns[r.seat_a] - r.returns[1 - r.seat_a]) / 2)
    per_deal = np.array([np.mean(v) for v in deal.values()])
    half_deals = float(1.96 * per_deal.std(ddof=1) / math.sqrt(len(per_deal))) if len(per_deal) > 1 else math.inf
    moves_a = sum((r.num_moves + (r.seat_a == 0)) // 2 for r in recs)  # seat 0 moves first
    moves_b = sum(r.num_moves for r in recs) - moves_a
    rate, lo, hi = result.score_rate()  # wins + draws/2 over games, Wilson 95% interval
    return {"games": n, "distinct_games": result.distinct_games, "wins": result.wins, "draws": result.draws,
            "losses": result.losses,
            "score": rate, "score_ci95": [lo, hi], "margin": margin, "margin_ci95": half,
            "deals": len(per_deal), "margin_ci95_deals": half_deals,
            "s_per_move_agent": sum(r.time_a for r in recs) / max(moves_a, 1),
            "s_per_move_opponent": sum(r.time_b for r in recs) / max(moves_b, 1),
            "moves_per_game": sum(r.num_moves for r in recs) / max(n, 1)}


def _play_part(env: str, env_kwargs: dict, agent: str, opponent: str, games: int, seed: int, parallel: int,
               device: str | None, indices: list[int]) -> list:
    """Worker of ``--jobs``: games ``indices`` of the match, one torch thread."""
    import torch

    torch.set_num_threads(1)
    game = envs.make_game(env, **env_kwargs)
    a = make_agent(agent, game, seed=seed, device=device)
    b = make_agent(opponent, game, seed=seed + 1, device=device)
    try:
        return play_match(game, a, b, num_games=games, seed=seed, max_parallel=parallel, indices=indices).records
    finally:
        a.close()
        b.close()


def play_parallel(env: str, env_kwargs: dict, agent: str, opponent: str, games: int, seed: int, parallel: int,
                  device: str | None, jobs: int) -> MatchResult:
    """Games ``0..games-1`` of the match split into ``jobs`` contiguous runs of whole deals, one process each."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    deals = (games + 1) // 2
    bounds = [2 * (deals * j // jobs) for j in range(jobs + 1)]
    parts = [list(range(lo, min(hi, games))) for lo, hi in zip(bounds, bounds[1:], strict=False) if lo < games]
    with ProcessPoolExecutor(len(parts), mp_context=get_context("spawn")) as pool:
        futs = [pool.submit(_play_part, env, env_kwargs, agent, opponent, games, seed, parallel, device, idx)
                for idx in parts]
        records = [r for f in futs for r in f.result()]
    game = envs.make_game(env, **env_kwargs)
    return MatchResult(game.env_id, agent, opponent, sorted(records, key=lambda r: r.index))


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip() or "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--env-kwargs", type=json.loads, default={})
    ap.add_argument("--agent", required=True)
    ap.add_argument("--opponent", required=True)
    ap.add_argument("--games", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--parallel", type=int, default=256)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--sgf-dir", default=None)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (one torch thread each)")
    ap.add_argument("--out", default=None, help="markdown report")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.jobs > 1:
        result = play_parallel(args.env, args.env_kwargs, args.agent, args.opponent, args.games, args.seed,
                               args.parallel, args.device, args.jobs)
    else:
        game = envs.make_game(args.env, **args.env_kwargs)
        agent = make_agent(args.agent, game, seed=args.seed, device=args.device)
        opponent = make_agent(args.opponent, game, seed=args.seed + 1, device=args.device)
        try:
            result = play_match(game, agent, opponent, num_games=args.games, seed=args.seed,
                                max_parallel=args.parallel, sgf_dir=args.sgf_dir)
        finally:
            agent.close()
            opponent.close()
    s = {"env": args.env, "env_kwargs": args.env_kwargs, "agent": args.agent, "opponent": args.opponent,
         "seed": args.seed, **summarize(result), "wall_s": round(time.perf_counter() - t0, 1), "commit": _commit()}
    print(json.dumps(s))
    if args.out:
        cmd = "python benchmarks/strength.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        lo, hi = s["score_ci95"]
        unit = "bullheads: opponent's minus agent's" if "sixnimmt" in args.env else "+1 win, -1 loss"
        Path(args.out).write_text(
            f"# {args.agent} vs {args.opponent} on {args.env}\n\n"
            f"| games (deals; distinct games) | W / D / L | score (95% CI) | mean margin (95% CI over deals) "
            f"| s/move agent "
            f"| s/move opponent |\n"
            f"|---:|:---:|:---:|:---:|---:|---:|\n"
            f"| {s['games']} ({s['deals']}; {s['distinct_games']}) | {s['wins']} / {s['draws']} / {s['losses']} "
            f"| {s['score']:.3f} [{lo:.3f}, {hi:.3f}] "
            f"| {s['margin']:+.2f} +- {s['margin_ci95_deals']:.2f} | {s['s_per_move_agent']:.4f} "
            f"| {s['s_per_move_opponent']:.3f} |\n\n"
            f"Margin = the agent's return per game ({unit}); seconds per move are amortised over up to "
            f"{args.parallel} games played at once (moves split between the seats as if they alternated).\n"
            f"Env kwargs {json.dumps(args.env_kwargs)}, seed {args.seed}, commit {s['commit']}, "
            f"wall {s['wall_s']} s.\n\n"
            f"    {cmd}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
