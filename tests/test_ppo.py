"""PPO best response (sb3-contrib MaskablePPO over SingleAgentView): masking, runs, checkpoints as Agents."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.toygames import HighCardGame
from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.gym_views import SingleAgentView
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.policies import CheckpointError, save_checkpoint
from zeroleague.baselines.ppo import PPOConfig, train_ppo
from zeroleague.baselines.ppo_policy import (
    convert_ppo_checkpoint,
    is_sb3_zip,
    load_ppo_policy,
    read_ppo_checkpoint,
)
from zeroleague.envs.registry import make_game


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tiny(**kw):
    base = dict(
        env_id="toy_highcard",
        opponents=("toy_random",),
        total_steps=256,
        num_envs=2,
        n_steps=64,
        batch_size=64,
        n_epochs=2,
        checkpoint_every=128,
        net_config={"kind": "mlp", "hidden": [16]},
        net_arch=(8,),
        seed=4,
        device="cpu",
    )
    return PPOConfig(**{**base, **kw})


def test_maskable_ppo_never_predicts_masked_actions():
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    game = make_game("sixnimmt_v0")
    venv = DummyVecEnv([lambda: SingleAgentView(game, opponent="random") for _ in range(2)])
    model = MaskablePPO("MlpPolicy", venv, n_steps=16, batch_size=16, seed=0, device="cpu")
    rng = np.random.default_rng(0)
    obs = venv.reset()
    for _ in range(100):
        masks = np.stack(venv.env_method("action_masks"))
        assert masks.any(axis=1).all()
        actions, _ = model.predict(obs, action_masks=masks)
        assert masks[np.arange(2), actions].all()
        random_masks = rng.random((2, game.num_actions)) < 0.05
        random_masks[np.arange(2), rng.integers(0, game.num_actions, 2)] = True
        for deterministic in (False, True):
            a, _ = model.predict(obs, action_masks=random_masks, deterministic=deterministic)
            assert random_masks[np.arange(2), a].all()
        obs, _, _, _ = venv.step(actions)  # an illegal action would raise inside the view


def test_training_run_and_checkpoint_agent(tmp_path):
    game = HighCardGame(deck=8, hand=3)
    result = train_ppo(_tiny(), tmp_path, game=game)
    assert json.loads((tmp_path / "result.json").read_text()) == result and result["steps"] == 256
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["algo"] == "ppo" and config["opponents"] == ["toy_random"]
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    returns = [x["learner_mean_return"] for x in lines if "learner_mean_return" in x]
    assert len(returns) == 2 and all(-3 <= r <= 3 for r in returns)
    last = lines[-1]
    assert last["checkpoint"] == result["final_checkpoint"]
    # one opponent move per learner move, plus an opponent's opening move in each env's unfinished episode
    assert 2 * last["step"] <= last["env_steps"] <= 2 * last["step"] + 2
    assert last["backward_samples"] == 2 * 2 * 64 * 2  # epochs x rollouts x rollout size
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step_000000128.pt",
        "step_000000256.pt",
    ]

    policy = load_ppo_policy(game, result["final_checkpoint"], "cpu")
    state = game.init(64, 1)
    batch = DecisionBatch(game, game.observe(state, 0), game.legal_mask(state), np.zeros(64, np.int64), np.arange(64))
    greedy = make_agent(f"ppo:{result['final_checkpoint']},greedy=true", game, device="cpu")
    expected, _ = policy.predict(batch.observations, action_masks=batch.masks, deterministic=True)
    assert np.array_equal(greedy.act(batch), expected)  # our logits path agrees with sb3's own predict
    sampler = make_agent(f"ppo:{result['final_checkpoint']}", game, seed=3, device="cpu")
    again = make_agent(f"ppo:{result['final_checkpoint']}", game, seed=3, device="cpu")
    a = sampler.act(batch)
    assert np.array_equal(a, again.act(batch)) and batch.masks[np.arange(64), a].all()

    ckpt = read_ppo_checkpoint(result["final_checkpoint"], env_id="toy_highcard", env_kwargs={})
    assert ckpt["format_kind"] == "sb3" and is_sb3_zip(result["final_checkpoint"])
    assert ckpt["step"] == 256 and ckpt["extra"]["policy_kwargs"]["net_arch"] == [8]
    with pytest.raises(CheckpointError, match="does not fit this game"):
        make_agent(f"ppo:{result['final_checkpoint']}", HighCardGame(deck=6, hand=2))
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):  # an sb3 zip is no REINFORCE file
        make_agent(f"reinforce:{result['final_checkpoint']}", game)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        make_agent(f"ppo:{tmp_path / 'junk.pt'}", game)


def test_card_net_policy_round_trip(tmp_path):
    from zeroleague.baselines.policies import ActionScores, CardTrunk

    game = make_game("sixnimmt_tactical_v0")
    net_config = {"kind": "cards", "max_card": 24, "num_players": 2, "max_hand": 10, "hidden": 8}
    cfg = _tiny(env_id="sixnimmt_tactical_v0", opponents=("closest_gap",), net_config=net_config)
    result = train_ppo(cfg, tmp_path)
    ckpt = read_ppo_checkpoint(result["final_checkpoint"], game=game)
    assert ckpt["net_config"] == net_config and ckpt["extra"]["policy_kwargs"]["net_config"] == net_config
    policy = load_ppo_policy(game, result["final_checkpoint"], device="cpu")
    assert isinstance(policy.action_net, ActionScores) and isinstance(policy.features_extractor.trunk, CardTrunk)
    state = game.init(6, 3)
    obs, mask = game.observe(state, 0), game.legal_mask(state)
    with torch.no_grad():
        t = torch.as_tensor(obs)
        logits = policy.get_distribution(t).distribution.logits
        scores = policy.features_extractor.trunk(t)[:, : game.num_actions]
    # the policy's logits are the trunk's action scores (up to the softmax's normalisation)
    torch.testing.assert_close(logits - logits.logsumexp(-1, keepdim=True), torch.log_softmax(scores, -1))
    agent = make_agent(f"ppo:{result['final_checkpoint']},greedy=true", game, device="cpu")
    a = agent.act(DecisionBatch(game, obs, mask, np.zeros(6, np.int64), np.arange(6)))
    want = np.where(mask, scores.numpy(), -np.inf).argmax(1)
    np.testing.assert_array_equal(a, want)


def test_conv_features_for_go(tmp_path):
    cfg = _tiny(
        env_id="go_v0",
        env_kwargs={"board_size": 5, "max_moves": 30},
        opponents=("random",),
        net_config={"kind": "conv", "channels": 4, "blocks": 1, "head_channels": 2},
        total_steps=128,
        checkpoint_every=10_000,
    )
    result = train_ppo(cfg, tmp_path)
    game = make_game("go_v0", board_size=5, max_moves=30)
    agent = make_agent(f"ppo:{result['final_checkpoint']}", game, device="cpu")
    state = game.init(3, 0)
    a = agent.act(
        DecisionBatch(game, game.observe(state, 0), game.legal_mask(state), np.zeros(3, np.int64), np.arange(3))
    )
    assert a.shape == (3,) and game.legal_mask(state)[np.arange(3), a].all()
    with pytest.raises(CheckpointError, match="board_size=9"):
        make_agent(f"ppo:{result['final_checkpoint']}", make_game("go_v0", board_size=9))


def test_needs_an_opponent(tmp_path):
    with pytest.raises(ValueError, match="at least one opponent"):
        train_ppo(_tiny(opponents=()), tmp_path, game=HighCardGame(deck=8, hand=3))


@pytest.mark.slow
def test_ppo_best_response_exploits_lowest(tmp_path):
    # On the tactical deck both hands are known, so `lowest` (always its lowest card) is fully predictable: a
    # best response must beat it clearly, and by far more than a uniformly random player does.
    from zeroleague.leagues.harness import play_match

    cfg = PPOConfig(env_id="sixnimmt_tactical_v0", opponents=("lowest",), total_steps=100_000, seed=0, device="cpu")
    path = train_ppo(cfg, tmp_path)["final_checkpoint"]
    game = make_game("sixnimmt_tactical_v0")
    margin = {}
    for name, spec in (("br", f"ppo:{path}"), ("random", "random")):
        match = play_match(game, make_agent(spec, game, seed=1), make_agent("lowest", game, seed=2), 1000, seed=7)
        margin[name] = float(np.mean([r.returns[r.seat_a] for r in match.records]))
    assert margin["br"] > 1.0 and margin["br"] - margin["random"] > 3.0, margin


def test_train_cli_ppo_config():
    import argparse

    from zeroleague.train_cli import add_train_parser, build_config

    parser = argparse.ArgumentParser(prog="zeroleague")
    add_train_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "train",
            "ppo",
            "--env",
            "go_v0",
            "--env-kwarg",
            "board_size=9",
            "--opponent",
            "random",
            "--steps",
            "1000",
            "--out",
            "x",
            "--set",
            "net_arch=[32, 32]",
            "--set",
            "learner_seat=1",
        ]
    )
    cfg = build_config(args)
    assert cfg == PPOConfig(
        env_id="go_v0",
        env_kwargs={"board_size": 9},
        opponents=("random",),
        total_steps=1000,
        net_arch=(32, 32),
        learner_seat=1,
    )
    with pytest.raises(ValueError, match="at least one --opponent"):
        build_config(parser.parse_args(["train", "ppo", "--env", "go_v0", "--steps", "1", "--out", "x"]))


def _greedy_actions(spec: str, game, seed: int = 1) -> np.ndarray:
    state = game.init(32, seed)
    batch = DecisionBatch(game, game.observe(state, 0), game.legal_mask(state), np.zeros(32, np.int64), np.arange(32))
    return make_agent(spec, game, device="cpu").act(batch), batch


def test_checkpoints_open_with_maskable_ppo_load_and_agree_with_our_loader(tmp_path):
    from sb3_contrib import MaskablePPO

    game = make_game("sixnimmt_tactical_v0")
    net_config = {"kind": "cards", "max_card": 24, "num_players": 2, "max_hand": 10, "hidden": 8}
    cfg = _tiny(env_id="sixnimmt_tactical_v0", opponents=("closest_gap",), net_config=net_config)
    final = train_ppo(cfg, tmp_path)["final_checkpoint"]
    model = MaskablePPO.load(final, device="cpu")  # sb3's own loader, no custom_objects
    assert model.num_timesteps == 256 and type(model.policy).__name__ == "CardsActorCriticPolicy"
    ours, batch = _greedy_actions(f"ppo:{final},greedy=true", game)
    theirs, _ = model.predict(batch.observations, action_masks=batch.masks, deterministic=True)
    np.testing.assert_array_equal(ours, theirs)


def test_legacy_checkpoints_still_load_and_convert(tmp_path):
    game = HighCardGame(deck=8, hand=3)
    final = train_ppo(_tiny(), tmp_path / "run", game=game)["final_checkpoint"]
    new = read_ppo_checkpoint(final, game=game)
    legacy = save_checkpoint(
        tmp_path / "legacy.pt", algo="ppo", weights=new["weights"], net_config=new["net_config"], game=game,
        env_kwargs={}, step=new["step"], extra=new["extra"],
    )  # fmt: skip
    assert not is_sb3_zip(legacy) and read_ppo_checkpoint(legacy, game=game)["format_kind"] == "legacy"
    want, _ = _greedy_actions(f"ppo:{final},greedy=true", game)
    got, _ = _greedy_actions(f"ppo:{legacy},greedy=true", game)
    np.testing.assert_array_equal(got, want)
    converted = convert_ppo_checkpoint(legacy, tmp_path / "converted.pt", game=game)
    assert is_sb3_zip(converted) and read_ppo_checkpoint(converted, game=game)["step"] == new["step"]
    again, _ = _greedy_actions(f"ppo:{converted},greedy=true", game)
    np.testing.assert_array_equal(again, want)
    with pytest.raises(CheckpointError, match="already an sb3 zip"):
        convert_ppo_checkpoint(converted, tmp_path / "twice.zip", game=game)


def test_shipped_checkpoint_is_an_sb3_zip_that_both_loaders_read():
    from pathlib import Path

    from sb3_contrib import MaskablePPO

    path = Path(__file__).resolve().parents[1] / "checkpoints" / "sixnimmt" / "ppo_br_closest_gap.pt"
    game = make_game("sixnimmt_v0")
    assert is_sb3_zip(path)
    ckpt = read_ppo_checkpoint(path, game=game)
    assert ckpt["step"] == 1501184 and ckpt["net_config"]["kind"] == "cards"
    model = MaskablePPO.load(path, device="cpu")
    ours, batch = _greedy_actions(f"ppo:{path},greedy=true", game)
    theirs, _ = model.predict(batch.observations, action_masks=batch.masks, deterministic=True)
    np.testing.assert_array_equal(ours, theirs)
    assert batch.masks[np.arange(32), ours].all()
