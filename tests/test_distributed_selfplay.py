"""zeroleague.agents.alphazero.distributed: chunked self-play is the merge of per-chunk ``self_play`` runs (the Ray
backend's equality with it is in tests/test_ray_backend.py)."""

import numpy as np
import pytest
import torch

from tests.toygames import NimGame
from zeroleague.agents.alphazero.distributed import chunked_self_play, merge_self_play
from zeroleague.agents.alphazero.network import NetConfig, build_network
from zeroleague.agents.alphazero.selfplay import SelfPlayData, self_play
from zeroleague.agents.alphazero.tree import MCTSConfig
from zeroleague.agents.evaluator import Evaluator
from zeroleague.leagues.backends import derived_seed

NIM = "tests.toygames:NimGame"
NIM_KWARGS = {"min_pile": 4, "max_pile": 12}
NET = NetConfig(kind="mlp", obs_dim=13, num_actions=3, blocks=1, channels=16)
SEARCH = MCTSConfig(num_simulations=12)
SETTINGS = dict(parallel=3, temperature_moves=2, resign_threshold=0.05, no_resign_frac=0.5)


def weights(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return build_network(NET).state_dict()


def assert_same(a: SelfPlayData, b: SelfPlayData) -> None:
    for k in ("obs", "policy", "value"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    counts = ("games", "moves", "resigned", "no_resign_games", "would_resign", "false_resign")
    assert [getattr(a, k) for k in counts] == [getattr(b, k) for k in counts]


def test_chunks_are_self_play_runs_seeded_per_chunk_and_merged_in_order():
    w = weights()
    data, evaluated = chunked_self_play(NIM, NIM_KWARGS, NET, w, SEARCH, 10, seed=7, chunk_games=4, **SETTINGS)
    # the definition, spelled out: chunks of 4, 4 and 2 games, seeds derived from (7, chunk), one thread
    parts, samples = [], 0
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for c, n in enumerate((4, 4, 2)):
            model = build_network(NET)
            model.load_state_dict(w)
            ev = Evaluator(model, "cpu")
            parts.append(self_play(NimGame(**NIM_KWARGS), ev.evaluate, SEARCH, n, derived_seed(7, c), **SETTINGS))
            samples += ev.samples
    finally:
        torch.set_num_threads(before)
    assert_same(data, merge_self_play(parts))
    assert evaluated == samples > 0
    assert data.games == 10 and len(data.obs) == len(data.policy) == len(data.value) == sum(len(p.value) for p in parts)
    assert data.no_resign_games > 0 and data.resigned > 0  # the resignation counts were exercised and summed
    assert torch.get_num_threads() == before


def test_seed_and_chunking_decide_the_games():
    w = weights()
    once = chunked_self_play(NIM, NIM_KWARGS, NET, w, SEARCH, 6, seed=1, chunk_games=3, **SETTINGS)[0]
    again = chunked_self_play(NIM, NIM_KWARGS, NET, w, SEARCH, 6, seed=1, chunk_games=3, **SETTINGS)[0]
    assert_same(once, again)
    other_seed = chunked_self_play(NIM, NIM_KWARGS, NET, w, SEARCH, 6, seed=2, chunk_games=3, **SETTINGS)[0]
    assert len(once.value) != len(other_seed.value) or not np.array_equal(once.obs, other_seed.obs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_games": 0}, "num_games must be an int >= 1, got 0"),
        ({"chunk_games": 0}, "chunk_games must be an int >= 1, got 0"),
        ({"parallel": -2}, "parallel must be an int >= 1, got -2"),
        ({"threads": 1.5}, "threads must be an int >= 1, got 1.5"),
    ],
)
def test_bad_sizes_are_refused(kwargs, match):
    args = {"num_games": 4, "chunk_games": 2, "parallel": 2, "threads": 1, **kwargs}
    n = args.pop("num_games")
    with pytest.raises(ValueError, match=match):
        chunked_self_play(NIM, NIM_KWARGS, NET, weights(), SEARCH, n, 0, **args)


def test_merge_needs_parts():
    with pytest.raises(ValueError, match="no self-play data"):
        merge_self_play([])
