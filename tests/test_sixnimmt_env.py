"""The 6 nimmt! PettingZoo AEC envs: conformance suites, the docstring's spaces, rewards per step, illegal
actions, rendering."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

import zeroleague.envs as envs
from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.sixnimmt import sixnimmt_tactical_v0, sixnimmt_v0

MODULES = [sixnimmt_v0, sixnimmt_tactical_v0]


@pytest.mark.parametrize("module", MODULES)
def test_api_and_seed(module):
    api_test(module.env(), num_cycles=200)
    api_test(module.env(row_choice="auto", target_score=66, reward="win"), num_cycles=200)
    seed_test(module.env, num_cycles=200)


@pytest.mark.parametrize(("env_id", "m", "d"), [("sixnimmt_v0", 104, 951), ("sixnimmt_tactical_v0", 24, 231)])
def test_spaces_match_the_docstring(env_id, m, d):
    env = envs.make(env_id)
    env.reset(seed=0)
    assert env.possible_agents == ["player_0", "player_1"]
    assert env.metadata["name"] == env_id and env.metadata["render_modes"] == ["ansi"]
    assert env.action_space("player_0").n == m + 4
    space = env.observation_space("player_1")
    assert space["observation"].shape == (d,) and space["action_mask"].shape == (m + 4,)
    obs = env.observe("player_0")
    assert obs["observation"].dtype == np.float32 and obs["action_mask"].dtype == np.int8
    assert f"{d}" in envs.env_module("sixnimmt_v0").__doc__
    assert env.unwrapped.game.env_id == env_id and envs.make_game(env_id).env_id == env_id


def _play_episode(env, rng):
    total = {a: 0.0 for a in env.possible_agents}
    for agent in env.agent_iter():
        obs, reward, term, trunc, _ = env.last()
        total[agent] += reward
        if term or trunc:
            env.step(None)
            continue
        env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    return total


def test_margin_rewards_sum_to_the_penalty_margin_and_win_reward_at_the_end():
    rng = np.random.default_rng(0)
    for kw in ({}, {"target_score": 66}):
        env = sixnimmt_v0.env(**kw)
        for seed in range(5):
            env.reset(seed=seed)
            raw = env.unwrapped
            total = _play_episode(env, rng)
            pen = raw.game.penalties(raw.state_)[0]
            assert total == {"player_0": pen[1] - pen[0], "player_1": pen[0] - pen[1]}
    env = sixnimmt_tactical_v0.env(reward="win")
    env.reset(seed=3)
    raw = env.unwrapped
    nonzero_steps = 0
    for agent in env.agent_iter():
        obs, reward, term, _, _ = env.last()
        nonzero_steps += reward != 0
        if term:
            pen = raw.game.penalties(raw.state_)[0]
            mine = 0 if agent == "player_0" else 1
            assert reward == np.sign(pen[1 - mine] - pen[mine])
            env.step(None)
            continue
        assert reward == 0
        env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert nonzero_steps <= 2


def test_turn_order_and_masks():
    env = sixnimmt_v0.env()
    env.reset(seed=1)
    assert env.agent_selection == "player_0"
    assert not env.observe("player_1")["action_mask"].any()
    a = int(np.flatnonzero(env.observe("player_0")["action_mask"])[0])
    obs1_before = env.observe("player_1")["observation"].copy()
    env.step(a)
    assert env.agent_selection == "player_1"
    np.testing.assert_array_equal(env.observe("player_1")["observation"], obs1_before)  # the choice is hidden
    assert env.observe("player_1")["action_mask"][:104].sum() == 10


def test_illegal_actions_raise_and_leave_the_env_unchanged():
    env = sixnimmt_v0.env()
    env.reset(seed=2)
    raw = env.unwrapped
    hand = np.flatnonzero(raw.state_.hand[0, 0])
    missing = next(c for c in range(1, 105) if c not in hand)
    before = raw.state_.copy()
    with pytest.raises(
        IllegalActionError, match=f"player_0: action {missing - 1} \\(card {missing}\\).*not in"
    ):
        env.step(missing - 1)
    with pytest.raises(IllegalActionError, match="row action outside a row choice"):
        env.step(104 + 1)
    with pytest.raises(IllegalActionError, match="not an action"):
        env.step(500)
    for x, y in zip(raw.state_.arrays(), before.arrays(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert env.agent_selection == "player_0"
    # a card action during a row choice
    raw.state_ = raw.game.deal_state([[5, 90], [35, 91]], [[10, 11], [20], [30], [40]])
    env.step(4)
    env.step(34)
    assert env.agent_selection == "player_0" and env.observe("player_0")["action_mask"][104:].all()
    with pytest.raises(IllegalActionError, match="card action during player_0's row choice"):
        env.step(89)
    env.step(104 + 2)
    assert raw.game.penalties(raw.state_)[0].tolist() == [3, 0]
    assert env.rewards == {"player_0": -3.0, "player_1": 3.0}


def test_render_ansi_and_options():
    env = sixnimmt_v0.env(render_mode="ansi")
    env.reset(seed=4)
    text = env.render()
    raw = env.unwrapped
    hand = [c for c in range(1, 105) if raw.state_.hand[0, 0, c]]
    assert "row 0:" in text and "row 3:" in text and "player_0" in text
    assert " ".join(map(str, hand)) in text and "penalties: player_0 0, player_1 0" in text
    assert sixnimmt_v0.raw_env().render() is None  # no render mode: nothing rendered
    with pytest.raises(ValueError, match="human"):
        sixnimmt_v0.env(render_mode="human")
    with pytest.raises(ValueError, match="max_card=30"):
        sixnimmt_tactical_v0.env(max_card=30)
    with pytest.raises(ValueError, match="cheapest"):
        sixnimmt_v0.env(row_choice="cheapest")


def test_copy_and_pickle():
    env = sixnimmt_v0.env()
    env.reset(seed=5)
    env.step(int(np.flatnonzero(env.observe("player_0")["action_mask"])[0]))
    for clone in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
        np.testing.assert_array_equal(
            clone.observe("player_1")["observation"], env.observe("player_1")["observation"]
        )
        assert clone.agent_selection == "player_1"
