"""Random and 6 nimmt! heuristic agents: legal actions only, the documented rules on hand-made positions, the
observation decoder, and strength against random (played through the engine directly)."""

from __future__ import annotations

import numpy as np
import pytest

import zeroleague.envs as envs
from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.envs.sixnimmt.engine import ROW_CHOICE, SixNimmtGame, decode_observation

BOTS = ["lowest", "highest", "lowest_fitting", "closest_gap"]


def batch_for(game: SixNimmtGame, state, idx: np.ndarray) -> DecisionBatch:
    players = game.current_player(state)[idx]
    sub = game.take(state, idx)
    return DecisionBatch(game, game.observe(sub, players), game.legal_mask(sub), players, idx)


def play(game: SixNimmtGame, agents: list, n: int, seed: int):
    """n games; seat p played by agents[p]; returns the final state. Every action is checked legal by step."""
    s = game.init(n, seed)
    while not game.terminal(s).all():
        cur = game.current_player(s)
        actions = np.full(n, -1, dtype=np.int64)
        for p, agent in enumerate(agents):
            idx = np.flatnonzero(cur == p)
            if len(idx):
                batch = batch_for(game, s, idx)
                a = agent.act(batch)
                assert batch.masks[np.arange(len(idx)), a].all()
                actions[idx] = a
        game.step(s, actions)
    return s


@pytest.mark.parametrize("kw", [{}, {"max_card": 24}, {"row_choice": "auto"}])
@pytest.mark.parametrize("bot", BOTS)
def test_bots_play_legal_actions(bot, kw):
    game = SixNimmtGame(**kw)
    rnd = make_agent("random", game, seed=1)
    s = play(game, [make_agent(bot, game), rnd], 60, 3)
    s2 = play(game, [rnd, make_agent(bot, game)], 60, 4)
    assert game.terminal(s).all() and game.terminal(s2).all()


def test_random_agent_is_seeded_and_uniform():
    game = SixNimmtGame()
    s = game.init(1, 0)
    b = batch_for(game, game.take(s, np.zeros(20000, dtype=np.int64)), np.arange(20000))
    a = make_agent("random", game, seed=7).act(b)
    np.testing.assert_array_equal(a, make_agent("random", game, seed=7).act(b))
    assert not np.array_equal(a, make_agent("random", game, seed=8).act(b))
    legal = np.flatnonzero(b.masks[0])
    counts = np.bincount(a, minlength=game.num_actions)
    assert counts[legal].sum() == 20000 and counts[legal].min() > 2000 * 0.85


def test_decoder_inverts_the_observation():
    game = SixNimmtGame()
    s = game.init(30, 5)
    rng = np.random.default_rng(0)
    for _ in range(12):
        mask = game.legal_mask(s)
        game.step(s, np.where(mask, rng.random(mask.shape), -1).argmax(1))
    players = game.current_player(s)
    v = decode_observation(game.observe(s, players), 104, 2)
    np.testing.assert_array_equal(v.hand, s.hand[np.arange(30), players])
    np.testing.assert_array_equal(v.rows, s.rows)
    np.testing.assert_array_equal(v.row_len, s.row_len)
    np.testing.assert_array_equal(v.row_choice, s.phase == ROW_CHOICE)


def test_rules_on_a_hand_made_position():
    game = SixNimmtGame()
    # rows end 10, 20 (full), 50, 60; hand: 3 (too low), 21 (6th card on row 1), 52 (gap 2), 57 (gap 7),
    # 61 (gap 1)
    s = game.deal_state([[3, 21, 52, 57, 61], [1, 2, 4, 5, 6]], [10, [16, 17, 18, 19, 20], 50, 60])
    expect = {"lowest": 3, "highest": 61, "lowest_fitting": 52, "closest_gap": 61}
    for bot, c in expect.items():
        assert make_agent(bot, game).act(batch_for(game, s, np.array([0])))[0] == c - 1, bot
    # no card fits: closest_gap plays the card with the smallest cost (21 takes 16..20 = 7; 3 takes row 0 = 3)
    s = game.deal_state([[3, 21], [1, 2]], [10, [16, 17, 18, 19, 20], [50, 51, 52, 53, 54], 60])
    assert make_agent("closest_gap", game).act(batch_for(game, s, np.array([0])))[0] == 3 - 1
    assert make_agent("lowest_fitting", game).act(batch_for(game, s, np.array([0])))[0] == 3 - 1
    # a row choice: the cheapest row, ties -> lowest index
    s = game.deal_state([[3, 90], [4, 91]], [[10, 11], 20, 30, 40])
    game.step(s, np.array([2]))
    game.step(s, np.array([3]))
    assert s.phase[0] == ROW_CHOICE
    for bot in BOTS:
        assert make_agent(bot, game).act(batch_for(game, s, np.array([0])))[0] == 104 + 1


def test_closest_gap_beats_random():
    game = SixNimmtGame()
    n = 300
    a = play(game, [make_agent("closest_gap", game), make_agent("random", game, seed=2)], n, 10)
    b = play(game, [make_agent("random", game, seed=3), make_agent("closest_gap", game)], n, 11)
    margin = np.concatenate([game.returns(a)[:, 0], game.returns(b)[:, 1]])
    se = margin.std() / np.sqrt(len(margin))
    assert margin.mean() > 5 * se and margin.mean() > 2.0, (margin.mean(), se)


def test_random_agent_plays_the_same_games_whatever_the_batching():
    from zeroleague.leagues.harness import play_match

    game = envs.make_game("sixnimmt_v0")
    runs = []
    for parallel in (5, 64):
        a, b = make_agent("random", game, seed=1), make_agent("random", game, seed=2)
        runs.append([r.actions for r in play_match(game, a, b, 12, seed=3, max_parallel=parallel).records])
    assert runs[0] == runs[1]
    a, b = make_agent("random", game, seed=1), make_agent("random", game, seed=4)
    assert [r.actions for r in play_match(game, a, b, 12, seed=3).records] != runs[0]
