"""The 6 nimmt! PettingZoo AEC envs: conformance suites, the docstring's spaces, rewards per step, illegal
actions, rendering."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, render_test, seed_test

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
    assert env.metadata["name"] == env_id and env.metadata["render_modes"] == ["human", "ansi", "rgb_array"]
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
    with pytest.raises(ValueError, match="'svg'"):
        sixnimmt_v0.env(render_mode="svg")
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


# ------------------------------------------------------------------------------------- ecosystem checkers


@pytest.mark.parametrize("module", MODULES)
def test_parallel_api_seed_and_render_checkers(module):
    parallel_api_test(module.parallel_env(), num_cycles=200)
    parallel_api_test(module.parallel_env(row_choice="auto", target_score=66, reward="win"), num_cycles=200)
    parallel_seed_test(module.parallel_env)  # samples unmasked actions: illegal_action="lose" ends the episode
    render_test(module.env)
    for mode, kind in (("ansi", str), ("rgb_array", np.ndarray), ("human", type(None))):
        par = module.parallel_env(render_mode=mode)  # render_test drives AEC envs only
        par.reset(seed=0)
        assert isinstance(par.render(), kind)


def test_human_render_prints_the_ansi_text(capsys):
    env = sixnimmt_v0.env(render_mode="human")
    env.reset(seed=4)
    assert env.render() is None
    printed = capsys.readouterr().out
    text = sixnimmt_v0.render_ansi(env.unwrapped.game, env.unwrapped.state_, env.possible_agents)
    assert printed.strip() == text.strip() and "row 3:" in printed


def test_rgb_array_draws_every_card_of_the_rows_and_the_hand():
    env = sixnimmt_v0.env(render_mode="rgb_array")
    env.reset(seed=4)
    raw = env.unwrapped
    raw.state_ = raw.game.deal_state([[5, 90], [35, 91]], [[1, 2, 3, 4, 6], [20], [30], [40]])
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    white, yellow = np.array([245, 245, 245]), np.array([255, 220, 90])
    # row 0 holds five 1-bullhead cards (white faces); rows 1..3 start with 20, 30, 40 (3 bullheads: yellow)
    gap, cw, ch = 6, 30, 40
    for k in range(5):
        assert (img[gap + ch // 2 - 8, gap + k * (cw + gap) + 3] == white).all()
    assert (img[gap + 1 * (ch + gap) + 3, gap + 3] == yellow).all()
    assert (img[gap + 0 * (ch + gap) + 3, gap + 5 * (cw + gap) + 3] != white).any()  # no sixth card
    # the hand of player_0 (5, 90) on the last line: card 5 has 2 bullheads (blue), 90 has 3 (yellow)
    assert (img[2 * gap + 4 * (ch + gap) + 3, gap + 3] == np.array([150, 200, 255])).all()
    assert (img[2 * gap + 4 * (ch + gap) + 3, gap + (cw + gap) + 3] == yellow).all()


@pytest.mark.parametrize("module", MODULES)
def test_state_is_every_observation_plus_the_pending_cards(module):
    env = module.env()
    env.reset(seed=6)
    raw = env.unwrapped
    g = raw.game
    a = int(np.flatnonzero(env.observe("player_0")["action_mask"])[0])
    env.step(a)  # player_0's card is pending, hidden from player_1 but part of the global state
    state = raw.state()
    assert raw.state_space.contains(state)
    d = g.obs_shape[0]
    np.testing.assert_array_equal(state[:d], env.observe("player_0")["observation"])
    np.testing.assert_array_equal(state[d : 2 * d], env.observe("player_1")["observation"])
    pending = state[2 * d :].reshape(2, g.max_card)
    assert np.flatnonzero(pending[0]).tolist() == [a] and not pending[1].any()


@pytest.mark.parametrize("bad", [4.7, 1.5, None, "a", True, np.float32(3.0), [3]])
@pytest.mark.parametrize("module", MODULES)
def test_non_integer_actions_raise_naming_the_value(module, bad):
    env = module.env()
    env.reset(seed=0)
    hand_card = int(np.flatnonzero(env.observe("player_0")["action_mask"])[0])
    before = env.unwrapped.state_.copy()
    with pytest.raises(IllegalActionError, match="player_0: action must be an int.*got " + re.escape(repr(bad))):
        env.step(bad)
    for x, y in zip(env.unwrapped.state_.arrays(), before.arrays(), strict=True):
        np.testing.assert_array_equal(x, y)
    env.step(np.int64(hand_card))  # numpy integers are fine
    assert env.agent_selection == "player_1"
    par = module.parallel_env()
    obs, _ = par.reset(seed=0)
    legal = {a: int(np.flatnonzero(o["action_mask"])[0]) for a, o in obs.items()}
    for mode in ("lose", "raise"):
        par = module.parallel_env(illegal_action=mode)
        par.reset(seed=0)
        with pytest.raises(IllegalActionError, match="player_1: action must be an int.*got " + re.escape(repr(bad))):
            par.step({"player_0": legal["player_0"], "player_1": bad})
        assert par.agents == ["player_0", "player_1"]


def _random_joint_game(module, seed, kwargs):
    """Play one game through the Parallel env with random legal actions; returns the actions (in AEC order),
    the observations seen at every decision, the rewards per agent and the final penalties."""
    rng = np.random.default_rng(seed)
    par = module.parallel_env(**kwargs)
    obs, _ = par.reset(seed=seed)
    flat, seen, totals = [], [], dict.fromkeys(par.possible_agents, 0.0)
    while par.agents:
        acting = par.acting_agents()
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in acting}
        for a in par.possible_agents:
            if a not in acting:
                assert not obs[a]["action_mask"].any()
                actions[a] = 999  # ignored: not this agent's step
        for a in acting:
            seen.append((a, obs[a]["observation"].copy(), obs[a]["action_mask"].copy()))
            flat.append(actions[a])
        obs, rew, term, trunc, _ = par.step(actions)
        for a, r in rew.items():
            totals[a] += r
        assert set(term) == set(par.possible_agents) and not any(trunc.values())
    return flat, seen, totals, par.game.penalties(par.state_)[0].tolist()


@pytest.mark.parametrize("kwargs", [{}, {"target_score": 30}, {"reward": "win"}, {"row_choice": "auto"}])
@pytest.mark.parametrize("module", MODULES)
def test_parallel_and_aec_envs_play_identical_games(module, kwargs):
    for seed in range(4):
        flat, seen, par_totals, par_pens = _random_joint_game(module, seed, kwargs)
        env = module.env(**kwargs)
        env.reset(seed=seed)
        totals, k = dict.fromkeys(env.possible_agents, 0.0), 0
        for agent in env.agent_iter():
            obs, reward, term, trunc, _ = env.last()
            totals[agent] += reward
            if term or trunc:
                env.step(None)
                continue
            want_agent, want_obs, want_mask = seen[k]
            assert agent == want_agent
            np.testing.assert_array_equal(obs["observation"], want_obs)
            np.testing.assert_array_equal(obs["action_mask"], want_mask)
            env.step(flat[k])
            k += 1
        assert k == len(flat)
        assert totals == par_totals
        assert env.unwrapped.game.penalties(env.unwrapped.state_)[0].tolist() == par_pens


def test_parallel_row_choice_step_ignores_the_other_seat():
    par = sixnimmt_v0.parallel_env(illegal_action="raise")
    par.reset(seed=0)
    par.state_ = par.game.deal_state([[5, 90], [35, 91]], [[10, 11], [20], [30], [40]])
    obs, rew, term, _, _ = par.step({"player_0": 4, "player_1": 34})
    assert par.acting_agents() == ["player_0"]
    assert obs["player_0"]["action_mask"][104:].all() and not obs["player_0"]["action_mask"][:104].any()
    assert not obs["player_1"]["action_mask"].any()
    assert rew == {"player_0": 0.0, "player_1": 0.0} and not any(term.values())
    obs, rew, term, _, _ = par.step({"player_0": 104 + 2})  # player_1 may be left out (or given anything)
    assert par.game.penalties(par.state_)[0].tolist() == [3, 0]
    assert rew == {"player_0": -3.0, "player_1": 3.0}
    assert obs["player_0"]["action_mask"][[89]].all() and obs["player_1"]["action_mask"][[90]].all()
    with pytest.raises(IllegalActionError, match="player_1 must act"):
        par.step({"player_0": 89})


def test_parallel_illegal_action_raise_and_lose():
    par = sixnimmt_v0.parallel_env(illegal_action="raise")
    obs, _ = par.reset(seed=3)
    legal0 = int(np.flatnonzero(obs["player_0"]["action_mask"])[0])
    missing = int(np.flatnonzero(~obs["player_1"]["action_mask"][:104].astype(bool))[0])
    before = par.state_.copy()
    with pytest.raises(IllegalActionError, match=f"player_1: action {missing} \\(card {missing + 1}\\).*not in"):
        par.step({"player_0": legal0, "player_1": missing})
    for x, y in zip(par.state_.arrays(), before.arrays(), strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="illegal_action must be one of"):
        sixnimmt_v0.parallel_env(illegal_action="ignore")
    for kwargs, worst in (({}, -171.0), ({"reward": "win"}, -1.0)):
        par = sixnimmt_v0.parallel_env(**kwargs)
        par.reset(seed=3)
        _, rew, term, _, infos = par.step({"player_0": legal0, "player_1": missing})
        assert rew == {"player_0": -worst, "player_1": worst} and all(term.values()) and par.agents == []
        assert infos == {"player_0": {}, "player_1": {"illegal_action": missing}}
    tac = sixnimmt_tactical_v0.parallel_env()
    obs, _ = tac.reset(seed=1)
    _, rew, _, _, infos = tac.step({"player_0": 200, "player_1": 200})  # both out of range: both lose
    assert rew == {"player_0": -38.0, "player_1": -38.0}
    assert infos["player_0"] == {"illegal_action": 200}
    with pytest.raises(RuntimeError, match="reset"):
        tac.step({"player_0": 0, "player_1": 0})
