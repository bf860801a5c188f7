"""6 nimmt! random-play throughput in rounds per second, for the standard (1..104) and the tactical (1..24)
deck, two players, one round per game (the env defaults):

  * ``engine playouts``: the batched engine's compiled whole-round playouts (``init`` + ``random_playouts`` of
    a batch of ``--games`` games);
  * ``engine step``: the batched ``step`` path the harness uses: a Python loop of ``legal_mask`` + ``step``
    over a batch of ``--step-games`` games, uniformly random legal actions drawn with numpy. Two rates: over
    the whole loop, and over the time spent in the engine's calls only (``init``, ``legal_mask``, ``step``,
    ``terminal``), without the action choice, which numpy spends most of the loop on;
  * ``aec env``: the PettingZoo AEC env, one game at a time (``reset``, ``agent_iter``, ``last``, ``step``),
    uniformly random legal actions drawn with ``random.Random``;
  * ``reference``: the slow plain-Python reference (tests/sixnimmt_reference.py), same random play.

Every implementation plays uniformly random legal actions, row choices included, and counts deal and play.
Each rate is the median of ``--repeats`` measurements of ``--seconds`` / ``--repeats`` seconds each; the
implementations are interleaved within each repeat, so background load hits them alike. ``x reference`` is
the rate over the reference's on the same deck.

    python benchmarks/throughput_sixnimmt.py [--seconds 2] [--repeats 5] [--games 4096] [--step-games 256]

``sixnimmt_rows(args)`` returns the table rows for benchmarks/env_throughput.py; ``args`` may carry the
attributes above (``seconds``, ``repeats``, ``games``, ``step_games``); missing ones take the defaults.
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

from tests.sixnimmt_reference import play_random_round  # noqa: E402
from zeroleague.envs.sixnimmt import sixnimmt_tactical_v0, sixnimmt_v0  # noqa: E402

VARIANTS = {"standard": sixnimmt_v0, "tactical": sixnimmt_tactical_v0}
REFERENCE = "reference (plain Python)"


def _timed(fn, seconds: float) -> float:
    """Call ``fn() -> rounds`` until ``seconds`` have passed (at least once); rounds per second."""
    rounds, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or rounds == 0:
        rounds += fn()
    return rounds / elapsed


def _engine_playouts(module, games: int):
    game = module.game()
    game.random_playouts(game.init(4, 0), 0)  # compile outside the timing
    seed = iter(range(1, 1 << 30))

    def batch() -> int:
        return game.random_playouts(game.init(games, next(seed)), next(seed))

    return batch


def _engine_step(module, games: int):
    """``(batch, engine_rate)``: ``batch() -> rounds`` plays ``games`` games to the end through the step path;
    ``engine_rate()`` is the rounds per second of engine time of the batches since its last call."""
    game = module.game()
    rng = np.random.default_rng(0)
    seed = iter(range(1 << 30))
    clock = time.perf_counter
    tally = {"rounds": 0, "seconds": 0.0}

    def batch() -> int:
        t0 = clock()
        state = game.init(games, next(seed))
        while not game.terminal(state).all():
            mask = game.legal_mask(state)
            t1 = clock()
            u = rng.random(mask.shape)
            u[~mask] = -1.0  # argmax of uniform noise over the legal actions: a uniform legal action
            actions = np.where(mask.any(1), u.argmax(1), -1)
            t2 = clock()
            game.step(state, actions)
            t0 += t2 - t1  # leave the action choice out
        tally["seconds"] += clock() - t0
        tally["rounds"] += games
        return games

    def engine_rate() -> float:
        rate = tally["rounds"] / tally["seconds"]
        tally.update(rounds=0, seconds=0.0)
        return rate

    batch()  # compile outside the timing
    engine_rate()
    return batch, engine_rate


def _aec(module):
    env = module.env()
    rnd = random.Random(0)
    seed = iter(range(1 << 30))

    def episode() -> int:
        env.reset(seed=next(seed))
        for _ in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                env.step(None)
            else:
                legal = np.flatnonzero(obs["action_mask"])
                env.step(int(legal[rnd.randrange(len(legal))]))
        return 1

    episode()  # compile outside the timing
    return episode


def _reference(module):
    game = module.game()
    rnd = random.Random(0)
    return lambda: play_random_round(rnd, 2, game.max_card, game.hand_size) and 1


def sixnimmt_rows(args) -> list[dict]:
    """Rows ``{"game", "variant", "impl", "rate", "unit", "ratio"}`` for both decks and the measurements
    listed in the module docstring."""
    seconds = float(getattr(args, "seconds", 2.0))
    repeats = int(getattr(args, "repeats", 5))
    games = int(getattr(args, "games", 4096))
    step_games = int(getattr(args, "step_games", 256))
    rows = []
    for variant, module in VARIANTS.items():
        step, step_engine_rate = _engine_step(module, step_games)
        engine_only = f"engine step, engine calls only (N={step_games})"
        impls = {
            f"engine playouts (batched, compiled, N={games})": _engine_playouts(module, games),
            f"engine step (batched, Python loop, N={step_games})": step,
            engine_only: None,  # timed with the loop above
            "aec env": _aec(module),
            REFERENCE: _reference(module),
        }
        samples: dict[str, list[float]] = {impl: [] for impl in impls}
        for _ in range(repeats):
            for impl, fn in impls.items():
                if fn is not None:
                    samples[impl].append(_timed(fn, seconds / repeats))
            samples[engine_only].append(step_engine_rate())
        rates = {impl: float(np.median(s)) for impl, s in samples.items()}
        for impl, rate in rates.items():
            rows.append(
                {"game": "sixnimmt", "variant": variant, "impl": impl, "rate": rate, "unit": "rounds/s",
                 "ratio": rate / rates[REFERENCE]}
            )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per implementation and deck")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per rate (median reported)")
    parser.add_argument("--games", type=int, default=4096, help="batch size of the compiled playouts")
    parser.add_argument("--step-games", type=int, default=256, help="batch size of the step path")
    rows = sixnimmt_rows(parser.parse_args())
    print("| game | variant | impl | rounds/s | x reference |")
    print("|---|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['game']} | {r['variant']} | {r['impl']} | {r['rate']:,.0f} | {r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
