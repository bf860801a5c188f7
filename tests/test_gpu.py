"""CUDA against the CPU (``pytest -m gpu``; skipped without a CUDA device): the shipped nets give the same priors
and values, and the AlphaZero agent searches to the same moves, in single searches and through the harness.

TF32 is switched off here (torch's default lets cuDNN convolutions round to TF32, ~1e-3 relative), so the device
computes in full float32 and the differences left are summation order (~1e-6). ``benchmarks/gpu_check.py``
measures how often moves agree with the default settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zeroleague.agents.alphazero.checkpoint import load_checkpoint
from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.evaluator import Evaluator
from zeroleague.agents.registry import make_agent
from zeroleague.envs.registry import make_game

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

ROOT = Path(__file__).resolve().parents[1]
GO_NET = ROOT / "checkpoints" / "go9" / "alphazero.pt"
SIXNIMMT_NET = ROOT / "checkpoints" / "sixnimmt" / "alphazero.pt"


@pytest.fixture(autouse=True)
def full_float32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def positions(game, n: int, plies: int, seed: int):
    """(state, observations, masks, players) of ``n`` live games after ``plies`` seeded random non-pass moves."""
    rng = np.random.default_rng(seed)
    state = game.init(2 * n, seed)
    for _ in range(plies):
        state = game.take(state, np.flatnonzero(~game.terminal(state)))
        mask = game.legal_mask(state)
        if hasattr(game, "board_size"):
            mask[:, -1] &= ~mask[:, :-1].any(axis=1)
        game.step(state, (rng.random(mask.shape) * mask).argmax(axis=1))
    state = game.take(state, np.flatnonzero(~game.terminal(state))[:n])
    assert len(state) == n
    players = game.current_player(state).astype(np.int64)
    return state, game.observe(state, players).astype(np.float32), game.legal_mask(state), players


@pytest.mark.parametrize("path,plies", [(GO_NET, 20), (SIXNIMMT_NET, 4)], ids=["go9", "sixnimmt"])
def test_shipped_net_cuda_matches_cpu(path, plies):
    ckpt = load_checkpoint(path)
    game = make_game(ckpt.env_id, **ckpt.env_kwargs)
    _, obs, masks, _ = positions(game, 256, plies, seed=3)
    cpu_p, cpu_v = Evaluator(ckpt.model(), "cpu").evaluate(obs, masks)
    gpu_p, gpu_v = Evaluator(ckpt.model(), "cuda").evaluate(obs, masks)
    assert (gpu_p[~masks] == 0).all()
    np.testing.assert_allclose(gpu_p, cpu_p, atol=2e-5)
    np.testing.assert_allclose(gpu_v, cpu_v, atol=2e-5)
    assert cpu_v.std() > 0.01 and cpu_p.max(axis=1).min() < 0.99  # positions the net does not find trivial


@pytest.mark.parametrize("net,plies", [("go9", 20), ("sixnimmt", 4)])
def test_search_on_cuda_picks_the_cpu_moves(net, plies):
    path = GO_NET if net == "go9" else SIXNIMMT_NET
    ckpt = load_checkpoint(path)
    game = make_game(ckpt.env_id, **ckpt.env_kwargs)
    state, obs, masks, players = positions(game, 16, plies, seed=4)
    batch = DecisionBatch(game, obs, masks, players, np.arange(16), game.information_state(state, players))
    out = {}
    for device in ("cpu", "cuda"):
        agent = make_agent(f"az:{path},sims=64,reuse=false", game, seed=7, device=device)
        actions = agent.act(batch)
        out[device] = actions, agent.last_visits.copy(), agent.last_root_values.copy()
    np.testing.assert_array_equal(out["cuda"][0], out["cpu"][0])
    np.testing.assert_array_equal(out["cuda"][1], out["cpu"][1])
    np.testing.assert_allclose(out["cuda"][2], out["cpu"][2], atol=1e-4)
    assert len(set(out["cpu"][0].tolist())) > 1  # different positions, different moves


def test_harness_match_on_cuda_replays_the_cpu_games():
    from zeroleague.leagues.harness import play_match

    game = make_game("go_v0", board_size=9, komi=7.5, max_moves=40)
    records = {}
    for device in ("cpu", "cuda"):
        az = make_agent(f"az:{GO_NET},sims=16,explore_moves=2", game, seed=1, device=device)
        rnd = make_agent("random", game, seed=2)
        records[device] = play_match(game, az, rnd, num_games=8, seed=5, max_parallel=8).records
    assert [r.actions for r in records["cuda"]] == [r.actions for r in records["cpu"]]
    assert [r.result for r in records["cuda"]] == [r.result for r in records["cpu"]]
    assert len({tuple(r.actions) for r in records["cpu"]}) == 8
