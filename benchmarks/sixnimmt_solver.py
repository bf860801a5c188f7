"""Exact solver for small open-hand 6 nimmt! deals (envs/sixnimmt/solver.py): solve time and sub-games per
hand size, over random deals of the small tactical deck 1..2h+4 (fixed seed). Also the exploitability of the
uniformly random policy, in margin points, as a yardstick for learned agents.

    python benchmarks/sixnimmt_solver.py [--deals 7] [--seed 0] [--max-hand 5] [--row-choice player]

Prints a markdown table and writes it to benchmarks/results/sixnimmt_solver.md, with a plot beside it
(sixnimmt_solver.png).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from zeroleague.envs.sixnimmt.solver import MAX_HAND, Deal, exploitability, solve  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def uniform(deal: Deal, seat: int) -> dict[int, float]:
    """Every card in hand (every row at a row choice) equally likely."""
    if deal.pending is not None:
        return {r: 0.25 for r in range(4)}
    return {c: 1 / len(deal.hands[seat]) for c in deal.hands[seat]}


def measure(hand_size: int, deals: int, seed: int, row_choice: str) -> dict:
    """Solve ``deals`` random deals of ``hand_size`` cards; medians and maxima of CPU time and sub-games."""
    rng = np.random.default_rng([seed, hand_size])
    times, nodes, values, expl, mixed = [], [], [], [], 0
    for _ in range(deals):
        deal = Deal.random(hand_size, rng, row_choice)
        start = time.process_time()  # CPU time: robust to other processes sharing the cores
        sol = solve(deal)
        times.append(time.process_time() - start)
        nodes.append(sol.nodes)
        values.append(sol.value)
        mixed += len(sol.strategy(deal, 0)) > 1
        expl.append(exploitability(deal, uniform))
    return {
        "h": hand_size,
        "deals": deals,
        "nodes_med": statistics.median(nodes),
        "nodes_max": max(nodes),
        "time_med": statistics.median(times),
        "time_max": max(times),
        "value_mean": statistics.fmean(values),
        "mixed_root": mixed,
        "expl_uniform": statistics.median(expl),
    }


def table(rows: list[dict], args) -> str:
    lines = [
        f"Exact solver, 2 players, deck 1..2h+4, row_choice={args.row_choice!r}, {args.deals} random deals "
        f"per hand size (seed {args.seed}); one CPU core.",
        "",
        "| hand size h | deals | sub-games (median) | sub-games (max) | CPU s (median) | CPU s (max) "
        "| mean value (player_0 margin) | deals with mixed root | exploitability of uniform play (median) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['h']} | {r['deals']} | {r['nodes_med']:,.0f} | {r['nodes_max']:,} | {r['time_med']:.3f} "
            f"| {r['time_max']:.3f} | {r['value_mean']:+.3f} | {r['mixed_root']} | {r['expl_uniform']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    hs = [r["h"] for r in rows]
    ax.semilogy(hs, [r["time_med"] for r in rows], "o-", label="solve CPU time, median (s)")
    ax.semilogy(hs, [r["nodes_med"] / 1e4 for r in rows], "s--", label="sub-games, median (x 10^4)")
    ax.set_xlabel("hand size h (deck 1..2h+4)")
    ax.set_xticks(hs)
    ax.legend()
    ax.set_title("6 nimmt! exact solver")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=7, help="random deals per hand size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-hand", type=int, default=MAX_HAND, help=f"largest hand size (2..{MAX_HAND})")
    parser.add_argument("--row-choice", default="player", choices=["player", "auto"])
    args = parser.parse_args()
    solve(Deal.random(1, np.random.default_rng(0)))  # load the compiled rule helpers outside the timing
    rows = [measure(h, args.deals, args.seed, args.row_choice) for h in range(2, args.max_hand + 1)]
    text = table(rows, args)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sixnimmt_solver.md").write_text(text)
    plot(rows, RESULTS / "sixnimmt_solver.png")


if __name__ == "__main__":
    main()
