"""Head-to-head strength of one agent against a fixed anchor, through the match harness: the numbers a shipped
checkpoint is judged by (e.g. AlphaZero on 6 nimmt! vs ``closest_gap``; on Go 9x9 vs ``gnugo:level=1``).

Games ``0..N-1`` of the match ``(agent, opponent, seed)``, seats alternated by the harness. Reported: wins /
draws / losses, the score rate (win = 1, draw = 1/2) with its Wilson 95% interval, the mean margin per game
(the agent's return: bullheads for 6 nimmt!, +-1 for Go) with a normal 95% interval (1.96 standard errors),
and each side's mean seconds per move (time inside ``act`` per own move; games played ``--parallel`` at once
share each call's time, so this is the amortised cost on this machine, ``--parallel 1`` gives the latency of
one game). Writes ``--out`` (markdown, with the command) and prints one JSON line.

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

import zeroleague.envs as envs  # noqa: E402
from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.leagues.backends import symmetric_payoff  # noqa: E402
from zeroleague.leagues.harness import MatchResult, play_match  # noqa: E402


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a rate ``successes / n``."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def summarize(result: MatchResult) -> dict:
    """Score rate, margin and seconds per move of agent_a in ``result`` (module docstring)."""
    recs = result.records
    n = len(recs)
    margin, half = symmetric_payoff(recs)  # zero-sum returns: half the difference is agent_a's own return
    moves_a = sum((r.num_moves + (r.seat_a == 0)) // 2 for r in recs)  # seat 0 moves first
    moves_b = sum(r.num_moves for r in recs) - moves_a
    score = result.wins + 0.5 * result.draws
    lo, hi = wilson(score, n)
    return {"games": n, "wins": result.wins, "draws": result.draws, "losses": result.losses,
            "score": score / max(n, 1), "score_ci95": [lo, hi], "margin": margin, "margin_ci95": half,
            "s_per_move_agent": sum(r.time_a for r in recs) / max(moves_a, 1),
            "s_per_move_opponent": sum(r.time_b for r in recs) / max(moves_b, 1),
            "moves_per_game": sum(r.num_moves for r in recs) / max(n, 1)}


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
    ap.add_argument("--out", default=None, help="markdown report")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    game = envs.make_game(args.env, **args.env_kwargs)
    agent = make_agent(args.agent, game, seed=args.seed, device=args.device)
    opponent = make_agent(args.opponent, game, seed=args.seed + 1, device=args.device)
    t0 = time.perf_counter()
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
            f"| games | W / D / L | score (95% CI) | mean margin (95% CI) | s/move agent | s/move opponent |\n"
            f"|---:|:---:|:---:|:---:|---:|---:|\n"
            f"| {s['games']} | {s['wins']} / {s['draws']} / {s['losses']} | {s['score']:.3f} [{lo:.3f}, {hi:.3f}] "
            f"| {s['margin']:+.2f} +- {s['margin_ci95']:.2f} | {s['s_per_move_agent']:.3f} "
            f"| {s['s_per_move_opponent']:.3f} |\n\n"
            f"Margin = the agent's return per game ({unit}); seconds per move are amortised over up to "
            f"{args.parallel} games played at once (moves split between the seats as if they alternated).\n"
            f"Env kwargs {json.dumps(args.env_kwargs)}, seed {args.seed}, commit {s['commit']}, "
            f"wall {s['wall_s']} s.\n\n"
            f"    {cmd}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
