"""AlphaZero training extras (agents.alphazero.train / warmstart / network): board symmetries, warm-start
records from bot games, pre-training, Go 9x9/19x19-style co-training with one size-agnostic net, compute
accounting, the 6 nimmt! card net; and (slow) tiny end-to-end runs that must beat their own untrained start
against random."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import zeroleague.envs as envs
from zeroleague.agents.alphazero.checkpoint import CheckpointError, load_checkpoint
from zeroleague.agents.alphazero.network import NetConfig, build_network
from zeroleague.agents.alphazero.train import TrainConfig, dihedral, train
from zeroleague.agents.alphazero.warmstart import generate
from zeroleague.agents.registry import make_agent
from zeroleague.leagues.harness import play_match


def test_dihedral_moves_each_point_with_its_policy_entry_and_gives_eight_distinct_boards():
    rng = np.random.default_rng(0)
    s = 5
    obs = torch.from_numpy(rng.random((1, 3, s, s)).astype(np.float32))
    pol = torch.from_numpy(rng.random((1, s * s + 1)).astype(np.float32))
    seen = set()
    for k in range(8):
        o, p = dihedral(obs, pol, k)
        # the point holding value x in plane 0 keeps its policy entry: plane-0 values map as policy values do
        src = {float(v): float(q) for v, q in zip(obs[0, 0].reshape(-1), pol[0, :-1], strict=True)}
        assert all(src[float(v)] == float(q) for v, q in zip(o[0, 0].reshape(-1), p[0, :-1], strict=True))
        assert float(p[0, -1]) == float(pol[0, -1])  # pass is not a point
        seen.add(o[0, 0].numpy().tobytes())
    assert len(seen) == 8
    assert torch.equal(dihedral(obs, pol, 0)[0], obs)


def test_warm_start_records_are_the_players_moves_with_their_outcomes(tmp_path):
    game = envs.make_game("sixnimmt_v0")
    bot = make_agent("closest_gap", game)
    meta = generate(game, bot, bot, num_games=12, seed=4, out=tmp_path / "w", value_scale=10.0, shard_games=5)
    assert meta["samples"] > 12 * 10 and sorted(p.name for p in (tmp_path / "w").glob("*.npz")) == [
        "records_0000.npz", "records_0001.npz", "records_0002.npz"]
    z = np.load(tmp_path / "w" / "records_0000.npz")
    assert (z["policy"].sum(axis=1) == 1).all() and (z["policy"].max(axis=1) == 1).all()
    assert (np.abs(z["value"]) <= 1).all() and len(np.unique(z["value"])) > 3  # margins, not just win/loss
    # the games replayed: the same match, summed over each game's recorded values of seat decisions
    res = play_match(game, bot, bot, num_games=12, seed=4)
    total = sum(len(r.actions) for r in res.records)
    assert meta["samples"] == total  # every decision recorded once (6 nimmt! has no random opening here)
    # resume: a missing shard is regenerated identically; another generation in the same dir is refused
    first = np.load(tmp_path / "w" / "records_0001.npz")["obs"].copy()
    (tmp_path / "w" / "records_0001.npz").unlink()
    assert generate(game, bot, bot, 12, 4, tmp_path / "w", value_scale=10.0, shard_games=5) == meta
    np.testing.assert_array_equal(np.load(tmp_path / "w" / "records_0001.npz")["obs"], first)
    with pytest.raises(ValueError, match="another generation"):
        generate(game, bot, bot, 12, 5, tmp_path / "w", value_scale=10.0, shard_games=5)


def test_random_openings_are_played_but_not_recorded(tmp_path):
    game = envs.make_game("go_v0", board_size=5, komi=0.5, max_moves=30)
    rnd = make_agent("random", game, seed=1)
    k = 4
    meta = generate(game, rnd, rnd, num_games=10, seed=2, out=tmp_path / "g", random_opening=k, shard_games=10)
    res = play_match(game, rnd, rnd, num_games=10, seed=2)
    # recorded = decisions minus each game's opening (a draw in 0..k); openings differ between games
    skipped = sum(len(r.actions) for r in res.records) - meta["samples"]
    assert 0 < skipped <= 10 * k


def _tiny_go(tmp_path, **kw) -> TrainConfig:
    base = TrainConfig(env_kwargs={"board_size": 5, "komi": 0.5, "max_moves": 20}, run_dir=str(tmp_path / "run"),
                       iterations=1, games_per_iteration=4, parallel_games=4, sims=4, blocks=1, channels=8,
                       batch_size=16, train_steps=2, temperature_moves=2, resign_threshold=None, device="cpu",
                       snapshot_every=1)
    return replace(base, **kw)


def test_warm_start_pretrains_then_self_play_counts_compute(tmp_path):
    game = envs.make_game("go_v0", board_size=5, komi=0.5, max_moves=20)
    rnd = make_agent("random", game, seed=0)
    generate(game, rnd, rnd, num_games=6, seed=0, out=tmp_path / "warm", shard_games=6)
    cfg = _tiny_go(tmp_path, warm_start=str(tmp_path / "warm"), pretrain_steps=5, iterations=2)
    result = train(cfg)
    run = tmp_path / "run"
    pre = load_checkpoint(run / "snapshots" / "pretrained.pt", "go_v0")
    assert pre.extra["iteration"] == -1 and pre.step == 5
    assert pre.extra["compute"]["backward_samples"] == 5 * 16 and pre.extra["compute"]["env_steps"] == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["iteration"] for x in lines] == [-1, 0, 1]
    moves = sum(len(np.load(run / "replay" / f"shard_{i:06d}.npz")["value"]) for i in range(2))
    final = load_checkpoint(run / "checkpoint.pt", "go_v0").extra["compute"]
    assert final == result["compute"] or final["env_steps"] == result["compute"]["env_steps"]
    assert final["env_steps"] >= moves  # every decision is a move; passes at the end count too
    assert final["backward_samples"] == (5 + 2 * 2) * 16
    assert final["forward_samples"] > final["backward_samples"]  # search leaves are evaluated too
    assert (run / "snapshots" / "iter_000000.pt").exists() and (run / "snapshots" / "iter_000001.pt").exists()
    # resuming does not pre-train again and keeps the compute totals growing
    result2 = train(replace(cfg, iterations=3))
    assert result2["step"] == 5 + 3 * 2
    assert result2["compute"]["env_steps"] > final["env_steps"]


def test_warm_start_needs_records(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npz"):
        train(_tiny_go(tmp_path, warm_start=str(tmp_path / "empty"), pretrain_steps=1))
    with pytest.raises(ValueError, match="pretrain_steps needs warm_start"):
        _tiny_go(tmp_path, pretrain_steps=1)


def test_co_training_one_net_plays_every_trained_size(tmp_path):
    cfg = _tiny_go(tmp_path, board_sizes=(5, 7), env_kwargs={"board_size": 5, "komi": 0.5, "max_moves": 20})
    train(cfg)
    replay = tmp_path / "run" / "replay"
    assert np.load(replay / "shard_000000_s5.npz")["obs"].shape[1:] == (4, 5, 5)
    assert np.load(replay / "shard_000000_s7.npz")["obs"].shape[1:] == (4, 7, 7)
    path = tmp_path / "run" / "checkpoint.pt"
    ckpt = load_checkpoint(path, "go_v0")
    assert ckpt.env_kwargs["board_sizes"] == [5, 7] and ckpt.net_config.board_size == 7
    for size in (5, 7):
        g = envs.make_game("go_v0", board_size=size, komi=0.5, max_moves=20)
        agent = make_agent(f"az:{path},sims=4", g)
        res = play_match(g, agent, make_agent("random", g), num_games=2, seed=0)
        assert len(res.records) == 2
    with pytest.raises(CheckpointError, match="board_size=5, not board_size=9"):
        make_agent(f"az:{path}", envs.make_game("go_v0", board_size=9, komi=0.5, max_moves=20))
    with pytest.raises(ValueError, match="board_sizes"):
        TrainConfig(env_id="sixnimmt_v0", env_kwargs={}, board_sizes=(5,))


def test_sixnimmt_trains_the_card_net(tmp_path):
    cfg = TrainConfig(env_id="sixnimmt_v0", env_kwargs={}, run_dir=str(tmp_path / "sn"), iterations=1,
                      games_per_iteration=4, parallel_games=4, sims=4, channels=16, batch_size=16, train_steps=2,
                      resign_threshold=None, value_scale=10.0, device="cpu")
    train(cfg)
    ckpt = load_checkpoint(tmp_path / "sn" / "checkpoint.pt", "sixnimmt_v0")
    assert ckpt.net_config.kind == "cards" and ckpt.extra["value_scale"] == 10.0
    game = envs.make_game("sixnimmt_v0")
    res = play_match(game, make_agent(f"az:{tmp_path / 'sn' / 'checkpoint.pt'},sims=4", game),
                     make_agent("random", game), num_games=2, seed=0)
    assert len(res.records) == 2
    with pytest.raises(ValueError, match="cards needs"):
        NetConfig(kind="cards", max_card=104, num_players=1, max_hand=10)
    net = build_network(NetConfig(kind="cards", max_card=104, num_players=2, max_hand=10, channels=16))
    with pytest.raises(ValueError, match="observation size"):
        net(torch.zeros(2, 7))


# --- tiny end-to-end runs (slow) --------------------------------------------------------------------------


def _margin_vs_random(game, spec: str, games: int) -> float:
    """Mean (agent - random) return over ``games`` games, seats alternated."""
    res = play_match(game, make_agent(spec, game), make_agent("random", game, seed=7), num_games=games, seed=123)
    return float(np.mean([r.returns[r.seat_a] - r.returns[1 - r.seat_a] for r in res.records]))


@pytest.mark.slow
def test_tiny_training_improves_5x5_go_against_random(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(env_kwargs={"board_size": 5, "komi": 0.5}, run_dir=str(tmp_path / "go5"), iterations=8,
                      games_per_iteration=48, parallel_games=48, sims=24, blocks=2, channels=16, batch_size=128,
                      train_steps=80, temperature_moves=4, resign_threshold=None, lr=3e-3, device="cpu",
                      snapshot_every=8, seed=3)
    train(cfg)
    game = envs.make_game("go_v0", board_size=5, komi=0.5)
    run = tmp_path / "go5"
    assert load_checkpoint(run / "checkpoint.pt", "go_v0").step == 8 * 80
    # an untrained network vs the trained one, behind the same small search
    untrained = tmp_path / "untrained.pt"
    from zeroleague.agents.alphazero.checkpoint import save_checkpoint
    from zeroleague.agents.alphazero.train import net_config_for

    net_cfg = net_config_for(game, cfg)
    torch.manual_seed(0)
    save_checkpoint(untrained, build_network(net_cfg), net_cfg, "go_v0", cfg.checkpoint_env_kwargs(game), 0)
    before = _margin_vs_random(game, f"az:{untrained},sims=8", 60)
    after = _margin_vs_random(game, f"az:{run / 'snapshots' / 'iter_000007.pt'},sims=8", 60)
    assert after > before + 0.2 and after > 0.5, (before, after)


@pytest.mark.slow
def test_tiny_training_improves_sixnimmt_against_random(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(env_id="sixnimmt_v0", env_kwargs={}, run_dir=str(tmp_path / "sn"), iterations=6,
                      games_per_iteration=64, parallel_games=64, sims=16, channels=32, batch_size=128,
                      train_steps=60, resign_threshold=None, value_scale=10.0, lr=3e-3, device="cpu",
                      snapshot_every=6, seed=3)
    train(cfg)
    game = envs.make_game("sixnimmt_v0")
    from zeroleague.agents.alphazero.checkpoint import save_checkpoint
    from zeroleague.agents.alphazero.train import net_config_for

    net_cfg = net_config_for(game, cfg)
    torch.manual_seed(0)
    untrained = tmp_path / "untrained.pt"
    save_checkpoint(untrained, build_network(net_cfg), net_cfg, "sixnimmt_v0", {}, 0, {"value_scale": 10.0})
    before = _margin_vs_random(game, f"az:{untrained},sims=2", 200)
    after = _margin_vs_random(game, f"az:{tmp_path / 'sn' / 'snapshots' / 'iter_000005.pt'},sims=2", 200)
    assert after > before + 1.0, (before, after)


def test_explore_moves_vary_the_games_of_deterministic_players():
    game = envs.make_game("go_v0", board_size=5, komi=0.5, max_moves=16)

    def openings(spec: str) -> set:
        res = play_match(game, make_agent(spec, game, seed=3), make_agent("az_uniform:sims=16", game),
                         num_games=8, seed=0)
        return {tuple(r.actions[:6]) for r in res.records}

    assert len(openings("az_uniform:sims=16")) <= 2  # both deterministic: at most one game per seat assignment
    varied = openings("az_uniform:sims=16,explore_moves=3")
    assert len(varied) > 4
    # the same seed replays the same games whatever the batching
    a = play_match(game, make_agent("az_uniform:sims=16,explore_moves=3", game, seed=3),
                   make_agent("az_uniform:sims=16", game), num_games=8, seed=0, max_parallel=3)
    assert {tuple(r.actions[:6]) for r in a.records} == varied
    with pytest.raises(ValueError, match="explore_moves"):
        make_agent("az_uniform:explore_moves=-1", game)


def test_bad_warm_start_and_agent_settings_are_refused(tmp_path):
    from zeroleague.agents.alphazero.warmstart import RecordingAgent

    game = envs.make_game("sixnimmt_v0")
    with pytest.raises(ValueError, match="random_opening"):
        RecordingAgent(game, make_agent("closest_gap", game), random_opening=-1)
    cfg = TrainConfig(env_id="sixnimmt_v0", env_kwargs={}, run_dir=str(tmp_path / "sn"), iterations=1,
                      games_per_iteration=2, parallel_games=2, sims=2, channels=8, batch_size=8, train_steps=1,
                      resign_threshold=None, device="cpu")
    train(cfg, progress=False)
    path = tmp_path / "sn" / "checkpoint.pt"
    assert make_agent(f"az:{path},sims=2", game).config.num_simulations == 2
    threads = torch.get_num_threads()
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        make_agent(f"az:{path},threads=0", game)
    assert torch.get_num_threads() == threads  # a refused spec leaves the process's setting alone
    with pytest.raises(ValueError, match="backend"):
        TrainConfig(backend="slurm")


@pytest.mark.slow
def test_gumbel_playout_cap_training_starts_from_a_checkpoint_and_resumes(tmp_path):
    """Gumbel self-play with playout-cap randomization: the shards mark full searches (policy_weight 1) and
    fast ones (0), the run starts from ``init_checkpoint``'s weights and network shape (not blocks/channels) and
    resumes; settings that cannot work together are refused."""
    kw = {"board_size": 5, "komi": 0.5, "max_moves": 16}
    game = envs.make_game("go_v0", **kw)
    start = TrainConfig(env_kwargs=kw, run_dir=str(tmp_path / "start"), iterations=1, games_per_iteration=2,
                        parallel_games=2, sims=2, blocks=1, channels=12, batch_size=8, train_steps=1,
                        resign_threshold=None, device="cpu")
    train(start, progress=False)
    init = tmp_path / "start" / "checkpoint.pt"
    cfg = TrainConfig(env_kwargs=kw, run_dir=str(tmp_path / "run"), iterations=1, games_per_iteration=6,
                      parallel_games=6, sims=8, search="gumbel", gumbel_considered=4, full_search_prob=0.5,
                      fast_sims=2, init_checkpoint=str(init), blocks=3, channels=4, batch_size=16, train_steps=0,
                      resign_threshold=None, device="cpu")
    train(cfg, progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt", "go_v0")
    assert (ckpt.net_config.blocks, ckpt.net_config.channels) == (1, 12)  # the init checkpoint's shape
    before = load_checkpoint(init, "go_v0").state_dict
    assert all(torch.equal(before[k], v) for k, v in ckpt.state_dict.items())  # 0 train steps: same weights
    shard = np.load(tmp_path / "run" / "replay" / "shard_000000.npz")
    assert set(np.unique(shard["policy_weight"])) == {0.0, 1.0}
    np.testing.assert_allclose(shard["policy"].sum(axis=1), 1.0, rtol=1e-5)
    assert train(replace(cfg, iterations=2), progress=False)["iterations"] == 2
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert make_agent(f"az:{tmp_path / 'run' / 'checkpoint.pt'},sims=4", game).config.num_simulations == 4
    with pytest.raises(ValueError, match="chunked self-play"):
        TrainConfig(search="gumbel", selfplay_chunk=4)
    with pytest.raises(ValueError, match="full_search_prob"):
        TrainConfig(full_search_prob=1.5)
    with pytest.raises(ValueError, match="pick one"):
        TrainConfig(init_checkpoint=str(init), warm_start=str(tmp_path))
