"""Harness overhead: random-vs-random games per second through ``zeroleague.leagues.harness.play_match`` against a bare
engine loop (the same uniformly random legal actions drawn directly from the engine's masks, no agents, no
observations, no records), at the same batch size. Medians of ``--repeats`` runs after a warm-up (numba
compilation excluded). Targets: harness >= 50% of bare on 6 nimmt!, >= 70% on Go 9x9.

    python benchmarks/harness_overhead.py [--batch 256] [--repeats 5]

Writes benchmarks/results/harness_overhead.md and harness_overhead.png.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

import zeroleague.envs as envs  # noqa: E402
from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.leagues.harness import play_match  # noqa: E402

CASES = {  # label -> (env id, kwargs, target ratio)
    "6 nimmt! (sixnimmt_v0)": ("sixnimmt_v0", {}, 0.5),
    "Go 9x9 (go_v0)": ("go_v0", {"board_size": 9}, 0.7),
}


def bare_loop(game, n: int, seed: int) -> float:
    """Seconds to play n games to the end with random legal actions straight on the engine."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    state = game.init(n, seed)
    while not game.terminal(state).all():
        mask = game.legal_mask(state)
        keys = np.where(mask, rng.random(mask.shape), -1.0)
        game.step(state, np.where(mask.any(axis=1), keys.argmax(axis=1), -1))
    return time.perf_counter() - t0


def harness_run(game, n: int, seed: int) -> float:
    """Seconds to play n random-vs-random games through the harness (n in lockstep)."""
    a, b = make_agent("random", game, seed=seed), make_agent("random", game, seed=seed + 1)
    t0 = time.perf_counter()
    play_match(game, a, b, num_games=n, seed=seed, max_parallel=n)
    return time.perf_counter() - t0


def measure(batch: int, repeats: int) -> list[dict]:
    rows = []
    for label, (env_id, kwargs, target) in CASES.items():
        game = envs.make_game(env_id, **kwargs)
        bare_loop(game, 8, 0)  # warm-up: compile
        harness_run(game, 8, 0)
        bare, harn = [], []
        for s in range(repeats):  # interleaved, so that load from elsewhere hits both alike
            bare.append(batch / bare_loop(game, batch, s))
            harn.append(batch / harness_run(game, batch, s))
        rows.append(
            {
                "case": label,
                "bare": statistics.median(bare),
                "harness": statistics.median(harn),
                "target": target,
            }
        )
        rows[-1]["ratio"] = rows[-1]["harness"] / rows[-1]["bare"]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    rows = measure(args.batch, args.repeats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Harness overhead (batch {args.batch}, median of {args.repeats})",
        "",
        "| game | bare engine games/s | harness games/s | harness / bare | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['bare']:.0f} | {r['harness']:.0f} | {r['ratio']:.0%} | "
            f"{r['target']:.0%} | {'yes' if r['ratio'] >= r['target'] else 'NO'} |"
        )
    lines += [
        "",
        "Random vs random, all games in lockstep. Bare: `legal_mask` + random legal action + `step` "
        "until every game ends. Harness: `play_match` with two `random` agents (observations, grouping, "
        "validation, per-game records and timing included).",
    ]
    text = "\n".join(lines) + "\n"
    (out / "harness_overhead.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["bare"] for r in rows], 0.4, label="bare engine loop")
    ax.bar(x + 0.2, [r["harness"] for r in rows], 0.4, label="harness (play_match)")
    for k, r in enumerate(rows):
        ax.text(k + 0.2, r["harness"], f"{r['ratio']:.0%}", ha="center", va="bottom")
    ax.set_xticks(x, [r["case"] for r in rows])
    ax.set_ylabel("games / s")
    ax.set_yscale("log")
    ax.set_title(f"random vs random, batch {args.batch}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "harness_overhead.png", dpi=120)
    print(f"wrote {out / 'harness_overhead.md'} and {out / 'harness_overhead.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
