"""6 nimmt! random-play throughput: the batched engine (compiled whole-round playouts), the PettingZoo AEC
env, and the slow plain-Python reference (tests/sixnimmt_reference.py), in rounds per second, for the standard
(1..104) and the tactical (1..24) deck. ``ratio`` is the rate over the reference's rate on the same deck.

    python benchmarks/throughput_sixnimmt.py [--seconds 2] [--games 4096]

``sixnimmt_rows(args)`` returns the table rows for benchmarks/env_throughput.py; ``args`` may carry
``seconds`` (time budget per measurement) and ``games`` (engine batch size); missing attributes take the
defaults.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from envs.sixnimmt import sixnimmt_tactical_v0, sixnimmt_v0  # noqa: E402
from tests.sixnimmt_reference import play_random_round  # noqa: E402

VARIANTS = {"standard": sixnimmt_v0, "tactical": sixnimmt_tactical_v0}


def _timed(fn, seconds: float) -> float:
    """Call ``fn() -> rounds`` until ``seconds`` have passed; rounds per second."""
    rounds, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or rounds == 0:
        rounds += fn()
    return rounds / elapsed


def _engine_rate(module, games: int, seconds: float) -> float:
    game = module.game()
    game.random_playouts(game.init(4, 0), 0)  # compile outside the timing
    seed = iter(range(1, 1 << 30))

    def batch() -> int:
        state = game.init(games, next(seed))
        return game.random_playouts(state, next(seed))

    return _timed(batch, seconds)


def _aec_rate(module, seconds: float) -> float:
    env = module.env()
    rng = np.random.default_rng(0)
    seed = iter(range(1 << 30))

    def episode() -> int:
        env.reset(seed=next(seed))
        for _ in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            env.step(None if term or trunc else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        return 1

    return _timed(episode, seconds)


def _reference_rate(module, seconds: float) -> float:
    game = module.game()
    rnd = random.Random(0)
    return _timed(lambda: play_random_round(rnd, 2, game.max_card, game.hand_size) and 1, seconds)


def sixnimmt_rows(args) -> list[dict]:
    """Rows ``{"game", "variant", "impl", "rate", "unit", "ratio"}`` for both decks and the three
    implementations."""
    seconds = float(getattr(args, "seconds", 2.0))
    games = int(getattr(args, "games", 4096))
    rows = []
    for variant, module in VARIANTS.items():
        rates = {
            "engine (batched, compiled playouts)": _engine_rate(module, games, seconds),
            "aec env": _aec_rate(module, seconds),
            "reference (plain Python)": _reference_rate(module, seconds),
        }
        ref = rates["reference (plain Python)"]
        for impl, rate in rates.items():
            rows.append(
                {"game": "sixnimmt", "variant": variant, "impl": impl, "rate": rate, "unit": "rounds/s",
                 "ratio": rate / ref}
            )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per measurement")
    parser.add_argument("--games", type=int, default=4096, help="engine batch size")
    rows = sixnimmt_rows(parser.parse_args())
    print("| game | variant | impl | rounds/s | x reference |")
    print("|---|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['game']} | {r['variant']} | {r['impl']} | {r['rate']:,.0f} | {r['ratio']:.1f} |")


if __name__ == "__main__":
    main()
