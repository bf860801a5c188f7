"""The ``go_v0`` PettingZoo AEC env: conformance suites, the docstring spec against the real spaces, rewards,
truncation, illegal actions, rendering, pickling, and independence of envs of different sizes."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest
from pettingzoo.test import api_test, render_test, seed_test

import zeroleague.envs as envs
from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.go import go_v0


@pytest.mark.parametrize("size, cycles", [(5, 1000), (9, 1000), (19, 1000)])
def test_pettingzoo_api_and_seed_tests(size, cycles):
    api_test(go_v0.env(board_size=size), num_cycles=cycles)
    seed_test(lambda: go_v0.env(board_size=size), num_cycles=cycles)


def test_make_and_module_style_give_the_same_env():
    a = envs.make("go_v0", board_size=7)
    b = envs.go_v0.env(board_size=7)
    assert type(a.unwrapped) is type(b.unwrapped) is go_v0.raw_env
    assert envs.make_game("go_v0", board_size=7, render_mode="ansi").board_size == 7
    assert go_v0.raw_env.metadata["name"] == "go_v0"
    assert set(go_v0.raw_env.metadata["render_modes"]) == {"human", "ansi", "rgb_array"}


def test_docstring_spec_matches_the_spaces():
    doc = go_v0.__doc__
    assert "Discrete(N*N + 1)" in doc and "(4 + history, N, N), float32" in doc and "(N*N + 1,)" in doc
    for size, history in ((9, 0), (19, 3)):
        e = go_v0.env(board_size=size, history=history)
        e.reset()
        for agent in ("black_0", "white_0"):
            space = e.observation_space(agent)
            assert space["observation"].shape == (4 + history, size, size)
            assert space["observation"].dtype == np.float32
            assert space["action_mask"].shape == (size * size + 1,) and space["action_mask"].dtype == np.int8
            assert e.action_space(agent).n == size * size + 1
        assert e.agents == ["black_0", "white_0"]
        obs = e.observe("black_0")
        assert e.observation_space("black_0").contains(obs)


def random_game_steps(e, seed: int, pass_prob: float = 0.0):
    """Play a seeded random legal game, yielding (agent, action, reward, termination, truncation[, score]) per
    step (a generator, so envs can be interleaved)."""
    rng = np.random.default_rng(seed)
    e.reset(seed=seed)
    for agent in e.agent_iter():
        obs, reward, term, trunc, info = e.last()
        if term or trunc:
            e.step(None)
            yield (agent, None, reward, term, trunc, info.get("score"))
            continue
        legal = np.flatnonzero(obs["action_mask"])
        action = int(legal[-1] if rng.random() < pass_prob else rng.choice(legal))
        e.step(action)
        yield (agent, action, reward, term, trunc)


def legal_random_game(e, seed: int, pass_prob: float = 0.0) -> list[tuple]:
    return list(random_game_steps(e, seed, pass_prob))


def test_rewards_zero_sum_at_the_end_only_and_truncation_scores_the_position():
    e = go_v0.env(board_size=5, max_moves=12)
    log = legal_random_game(e, seed=3)
    moves = [x for x in log if x[1] is not None]
    assert len(moves) == 12 and all(x[2] == 0 for x in moves)
    ends = [x for x in log if x[1] is None]
    assert {x[0] for x in ends} == {"black_0", "white_0"}
    assert all(x[4] and not x[3] for x in ends)  # truncated, not terminated
    raw = e.unwrapped
    score = float(raw.game.score(raw.game_state)[0])
    rewards = {x[0]: x[2] for x in ends}
    assert rewards["black_0"] == np.sign(score) == -rewards["white_0"] and score != 0
    assert all(x[5] == score for x in ends)


def test_two_passes_terminate():
    e = go_v0.env(board_size=5, komi=0.5)
    e.reset()
    e.step(12)
    e.step(25)
    e.step(25)
    obs, reward, term, trunc, info = e.last()
    assert term and not trunc and reward == -1.0  # white, to move, lost 25 - 0 - 0.5
    assert obs["action_mask"].sum() == 0
    assert e.rewards == {"black_0": 1.0, "white_0": -1.0} and info["score"] == 24.5


def snapshot(e) -> tuple:
    raw = e.unwrapped
    return (
        raw.agent_selection,
        copy.deepcopy(raw.game_state),
        dict(raw._cumulative_rewards),
        {a: raw.observe(a)["action_mask"].copy() for a in raw.agents},
    )


def assert_same(a: tuple, b: tuple) -> None:
    assert a[0] == b[0] and a[2] == b[2]
    for name in vars(a[1]):
        np.testing.assert_array_equal(getattr(a[1], name), getattr(b[1], name))
    for k in a[3]:
        np.testing.assert_array_equal(a[3][k], b[3][k])


@pytest.mark.parametrize(
    "action, pattern",
    [
        (12, r"white_0: action 12 \(row 2, col 2, C3\) is illegal: the point is occupied"),
        (26, r"white_0: action 26 is out of range 0..25"),
        (-1, r"white_0: action -1 is out of range"),
        (3.0, r"white_0: action must be an int .*3.0"),
        (None, r"white_0: action must be an int .*None"),
        (True, r"white_0: action must be an int .*True"),
    ],
)
def test_illegal_action_raises_and_changes_nothing(action, pattern):
    e = go_v0.env(board_size=5)
    e.reset()
    e.step(12)
    before = snapshot(e)
    with pytest.raises(IllegalActionError, match=pattern):
        e.step(action)
    assert_same(before, snapshot(e))
    e.step(np.int32(13))  # the env still works


def test_superko_in_the_env():
    e = go_v0.env(board_size=3)
    e.reset()
    for a in (5, 4, 1, 3, 0, 2):
        e.step(a)
    assert e.agent_selection == "black_0" and e.last()[0]["action_mask"][1] == 0
    with pytest.raises(IllegalActionError, match="superko"):
        e.step(1)


def test_render_modes():
    e = go_v0.env(board_size=9, render_mode="ansi")
    e.reset()
    e.step(0)  # black A9 (top-left)
    e.step(80)  # white J1 (bottom-right)
    text = e.render()
    lines = text.splitlines()
    assert "A B C D E F G H J" in lines[0]
    assert re.match(r"\s*9 X \. \. \. \. \. \. \. \.", lines[1]) and re.match(r"\s*1 (\. ){8}O", lines[9])
    board = "".join(lines[1:10])
    assert board.count("X") == 1 and board.count("O") == 1 and "Black (X) to play" in text
    e = go_v0.env(board_size=9, render_mode="rgb_array")
    e.reset()
    e.step(0)
    e.step(80)
    img = e.render()
    assert img.dtype == np.uint8 and img.shape == (240, 240, 3)
    assert (img[24, 24] < 50).all() and (
        img[216, 216] > 200
    ).all()  # black stone top-left, white bottom-right
    e = go_v0.env(board_size=9)
    e.reset()
    assert e.render() is None  # no render mode
    with pytest.raises(ValueError, match="'svg'"):
        go_v0.env(board_size=9, render_mode="svg")


def test_render_checker_and_human_mode(capsys):
    from pettingzoo.test import render_test

    render_test(lambda render_mode=None: go_v0.env(board_size=5, render_mode=render_mode))
    capsys.readouterr()
    e = go_v0.env(board_size=5, render_mode="human")
    e.reset()
    e.step(0)
    assert e.render() is None
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:3] == ["5", "X", "."] and "White (O) to play" in out


def test_state_is_blacks_view_of_the_board():
    e = go_v0.env(board_size=5, history=1)
    e.reset()
    e.step(6)  # black B4
    e.step(12)  # white C3
    raw = e.unwrapped
    st = raw.state()
    assert raw.state_space.contains(st) and st.shape == (5, 5, 5)
    assert st[0].reshape(-1).nonzero()[0].tolist() == [6] and st[1].reshape(-1).nonzero()[0].tolist() == [12]
    assert st[3].all()  # the Black plane: the state is always Black's view, whoever is to play
    np.testing.assert_array_equal(st, e.observe("black_0")["observation"])


def test_pettingzoo_render_test():
    # render_test builds a "human" env only to read the metadata's render modes; go_v0 has no human mode.
    render_test(lambda render_mode=None: go_v0.env(board_size=5, render_mode=None if render_mode == "human"
                                                   else render_mode))  # fmt: skip


@pytest.mark.parametrize(
    "bad, error", [(1, ValueError), (26, ValueError), ("9", TypeError), (9.0, TypeError)]
)
def test_bad_board_size_is_named(bad, error):
    with pytest.raises(error, match=re.escape(repr(bad))):
        go_v0.env(board_size=bad)


def test_pickle_and_deepcopy_continue_identically():
    e = go_v0.env(board_size=5)
    e.reset()
    for a in (12, 13, 7):
        e.step(a)
    for clone in (pickle.loads(pickle.dumps(e)), copy.deepcopy(e)):
        if clone.unwrapped.game_state.num_moves[0] == 0:  # pickle rebuilds from the constructor arguments
            clone.reset()
            for a in (12, 13, 7):
                clone.step(a)
        assert_same(snapshot(e), snapshot(clone))


def test_envs_of_different_sizes_interleaved_match_each_alone():
    alone = [
        legal_random_game(go_v0.env(board_size=5), seed=1, pass_prob=0.05),
        legal_random_game(go_v0.env(board_size=9), seed=2, pass_prob=0.05),
    ]
    envs_ = [go_v0.env(board_size=5), go_v0.env(board_size=9)]
    gens = [random_game_steps(e, seed, 0.05) for e, seed in zip(envs_, (1, 2), strict=True)]
    logs: list[list] = [[], []]
    live = [True, True]
    turn = 0
    while any(live):
        k = turn % 2 if all(live) else live.index(True)
        try:
            logs[k].append(next(gens[k]))
        except StopIteration:
            live[k] = False
        turn += 1
    assert logs == alone
