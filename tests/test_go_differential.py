"""The numba engine against the slow reference (tests/go_reference.py), move by move on seeded random games.

At every turn of every game: the engine's legal mask equals the reference's, and after every turn the boards,
the player to move, the terminal/truncated flags and (at the end) the areas, scores and returns agree. Random
play passes rarely so games run long (mostly to the move cap) and meet ko, longer superko cycles and suicide;
the test counts those events in the sample and asserts they occurred.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.go_reference import EMPTY, ReferenceGo
from zeroleague.envs.go.engine import GoGame


def reference_turn_stats(ref: ReferenceGo, stats: Counter) -> list[bool]:
    """The reference's legal mask, counting why moves on empty points are forbidden and how many are
    multi-stone suicides (legal moves that leave the played point empty)."""
    n2 = ref.n * ref.n
    mask = []
    for p in range(n2):
        after = ref.result_of(p)
        if after is None:
            mask.append(False)
            continue
        key = tuple(after)
        legal = key not in ref.history
        mask.append(legal)
        if not legal:
            if key == ref.colourings[-1]:
                stats["forbidden_single_suicide"] += 1
            elif key == ref.colourings[-2]:
                stats["forbidden_ko"] += 1
            else:
                stats["forbidden_longer_cycle"] += 1
        elif after[p] == EMPTY:
            stats["legal_multi_suicide"] += 1
    mask.append(True)
    return mask


def play_and_compare(
    size: int, n_games: int, seed: int, komi: float = 7.5, zobrist: np.ndarray | None = None
) -> Counter:
    """Play ``n_games`` seeded random games of ``size`` in one engine batch and one reference per game.
    ``zobrist`` replaces the engine's Zobrist keys (to force hash collisions)."""
    rng = np.random.default_rng(seed)
    game = GoGame(size, komi=komi)
    if zobrist is not None:
        game._zob = zobrist
    state = game.init(n_games, seed)
    refs = [ReferenceGo(size, komi=komi) for _ in range(n_games)]
    pass_prob = rng.choice([0.0, 0.01, 0.05], size=n_games)  # most games reach the move cap
    n2 = size * size
    stats: Counter = Counter()
    while not all(r.over for r in refs):
        masks = game.legal_mask(state)
        actions = np.full(n_games, -1, dtype=np.int64)
        for i, ref in enumerate(refs):
            if ref.over:
                assert not masks[i].any()
                continue
            ref_mask = reference_turn_stats(ref, stats)
            assert masks[i].tolist() == ref_mask, f"size {size} game {i} turn {ref.turns}: masks differ"
            points = np.flatnonzero(masks[i, :n2])
            if len(points) == 0 or rng.random() < pass_prob[i]:
                actions[i] = n2
            else:
                actions[i] = rng.choice(points)
                if ref.result_of(int(actions[i]))[actions[i]] == EMPTY:
                    stats["played_multi_suicide"] += 1
            ref.play(int(actions[i]))
        game.step(state, actions)
        for i, ref in enumerate(refs):
            assert state.board[i].tolist() == ref.board, (
                f"size {size} game {i} turn {ref.turns}: boards differ"
            )
        assert game.current_player(state).tolist() == [-1 if r.over else r.to_play - 1 for r in refs]
        assert game.terminal(state).tolist() == [r.over for r in refs]
        assert game.truncated(state).tolist() == [r.truncated for r in refs]
    assert game.area(state).tolist() == [list(r.area()) for r in refs]
    scores = [r.score() for r in refs]
    np.testing.assert_array_equal(game.score(state), np.array(scores, dtype=np.float32))
    np.testing.assert_array_equal(game.returns(state)[:, 0], np.sign(scores))
    stats["games"] += n_games
    stats["truncated"] += sum(r.truncated for r in refs)
    stats["turns"] += sum(r.turns for r in refs)
    return stats


def check_coverage(stats: Counter) -> None:
    for event in ("forbidden_single_suicide", "forbidden_ko", "legal_multi_suicide", "played_multi_suicide"):
        assert stats[event] > 0, f"no {event} in the sample: {dict(stats)}"
    assert 0 < stats["truncated"] < stats["games"], dict(stats)  # both endings occur


def test_differential_default_sample():
    stats = Counter()
    stats += play_and_compare(5, 160, seed=1)
    stats += play_and_compare(7, 48, seed=2, komi=0.0)
    stats += play_and_compare(9, 8, seed=3)
    check_coverage(stats)


def test_superko_exact_under_hash_collisions():
    """With every Zobrist key equal, a colouring's hash only tells the parity of its stone count, so nearly
    every candidate move hits the history table: only the exact colouring comparison keeps the masks right."""
    same_key = np.full((2, 25), 0x9E3779B97F4A7C15, dtype=np.uint64)
    stats = play_and_compare(5, 24, seed=4, zobrist=same_key)
    assert stats["forbidden_ko"] + stats["forbidden_longer_cycle"] > 0, dict(stats)


@pytest.mark.slow
def test_differential_2000_games():
    stats = Counter()
    stats += play_and_compare(5, 1200, seed=11)
    stats += play_and_compare(7, 500, seed=12, komi=0.0)
    stats += play_and_compare(9, 300, seed=13)
    stats += play_and_compare(19, 3, seed=14)
    check_coverage(stats)
    assert stats["games"] >= 2000
    assert stats["forbidden_longer_cycle"] > 0, dict(stats)
    print(dict(stats))
