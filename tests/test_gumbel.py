"""Gumbel root search with sequential halving (agents.alphazero.gumbel) and the self-play levers around it:
the halving schedule, the exact simulation budget, tree invariants, policy improvement on Nim with an exact
evaluator, completed Q values, playout-cap randomization (only full searches are policy targets) and the
weighted policy loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zeroleague.envs as envs
from tests.test_mcts import exact_evaluator, nim_states
from tests.toygames import NimGame
from zeroleague.agents.alphazero.gumbel import (
    GumbelConfig,
    GumbelSearch,
    completed_q,
    halving_schedule,
    improved_policy,
    sigma,
)
from zeroleague.agents.alphazero.selfplay import SelfPlayAgent, self_play
from zeroleague.agents.alphazero.train import losses
from zeroleague.agents.alphazero.tree import MCTSConfig, check_tree, uniform_evaluate
from zeroleague.agents.base import DecisionBatch


def test_halving_schedule_matches_mctx_and_spends_the_budget():
    # mctx get_sequence_of_considered_visits(16, 32): 16 actions once, the best 8 once more, the best 4 twice
    assert halving_schedule(16, 32) == (0,) * 16 + (1,) * 8 + (2,) * 4 + (3,) * 4
    assert halving_schedule(4, 8) == (0, 0, 0, 0, 1, 1, 2, 2)
    assert halving_schedule(1, 5) == (0, 1, 2, 3, 4)
    for m in (1, 2, 3, 5, 8, 16, 32):
        for n in (1, 2, 7, 8, 16, 32, 50, 200):
            seq = halving_schedule(m, n)
            assert len(seq) == n
            # a block of equal entries v visits actions that have exactly v visits: entries never jump by > 1
            assert seq[0] == 0 and all(b - a in (0, 1) for a, b in zip(seq, seq[1:], strict=False))
    with pytest.raises(ValueError, match="num_considered"):
        halving_schedule(0, 8)


@pytest.mark.parametrize("n", [1, 5, 16, 32])
def test_search_spends_exactly_the_budget_and_keeps_tree_invariants(n):
    game = envs.make_game("go_v0", board_size=5, komi=0.5)
    st = game.init(6, 3)
    rng = np.random.default_rng(0)
    for _ in range(6):
        mask = game.legal_mask(st)
        game.step(st, np.array([rng.choice(np.flatnonzero(r)) for r in mask]))
    search = GumbelSearch(game, uniform_evaluate, MCTSConfig(num_simulations=n), GumbelConfig(num_considered=8))
    sims = np.array([n, n, 1, 2, n, 3])
    res = search.search(st, np.random.default_rng(1), num_simulations=sims)
    np.testing.assert_array_equal(res.visits.sum(axis=1), sims)
    assert ((res.visits > 0).sum(axis=1) <= 8).all()  # only considered actions are visited
    for b in range(6):
        check_tree(res.tree, b)
        assert res.visits[b, search.last_actions[b]] == res.visits[b].max()  # played: a most-visited action
    np.testing.assert_allclose(res.policy.sum(axis=1), 1.0, rtol=1e-5)
    assert (res.policy[~game.legal_mask(st)] == 0).all()


@pytest.mark.parametrize("seat", [0, 1])
def test_improved_policy_finds_the_winning_nim_move_with_few_simulations(seat):
    """Nim with take 1..8: from pile p (p % 9 != 0) the only winning move takes p % 9. Uniform priors, the exact
    value as evaluator, 16 simulations over 8 considered actions: the improved policy puts most of its mass on
    the winning move (from 1/8) whatever the Gumbel draws (which may eliminate it in the halving, so the played
    move is checked without them)."""
    game = NimGame(min_pile=1, max_pile=30, max_take=8)
    piles = np.array([10, 11, 13, 16, 20, 25, 26])
    st = nim_states(game, piles, seat)
    search = GumbelSearch(game, exact_evaluator(game), MCTSConfig(num_simulations=16))
    for draw in range(3):
        res = search.search(st, np.random.default_rng(draw))
        win = piles % 9 - 1  # action a takes a + 1 stones
        # (the winning move's Q is below +1: the opponent's PUCT replies below it are not all best replies)
        assert (res.policy[np.arange(len(piles)), win] > 0.5).all()
        np.testing.assert_array_equal(res.policy.argmax(axis=1), win)
    # without Gumbel noise (evaluation mode) sequential halving keeps the winning move to the end and plays it
    greedy = GumbelSearch(game, exact_evaluator(game), MCTSConfig(num_simulations=16), GumbelConfig(gumbel_scale=0))
    greedy.search(st)
    np.testing.assert_array_equal(greedy.last_actions, win)


def test_completed_q_mixes_the_value_into_unvisited_actions_and_sigma_rescales():
    q = np.array([0.5, -0.5, 0.0, 0.0])
    visits = np.array([3, 1, 0, 0])
    prior = np.array([0.25, 0.25, 0.25, 0.25])
    legal = np.array([True, True, True, False])
    cq = completed_q(q, visits, prior, legal, raw_value=0.2)
    # mixed = (0.2 + 4 * (0.25*0.5 + 0.25*-0.5) / 0.5) / 5 = 0.04
    np.testing.assert_allclose(cq, [0.5, -0.5, 0.04, 0.04])
    s = sigma(cq, legal, max_visits=3, cfg=GumbelConfig(c_visit=50, c_scale=0.1))
    np.testing.assert_allclose(s[:3], 5.3 * np.array([1.0, 0.0, 0.54]))
    pi = improved_policy(np.log(prior), s, legal)
    assert pi[3] == 0 and abs(pi.sum() - 1) < 1e-6 and pi[0] > pi[2] > pi[1]


def _nim_batch(game, st, ids):
    players = game.current_player(st).astype(np.int64)
    return DecisionBatch(game=game, observations=game.observe(st, players), masks=game.legal_mask(st),
                         players=players, game_ids=np.asarray(ids), states=st)


@pytest.mark.parametrize("search", ["gumbel", "puct"])
def test_playout_cap_marks_only_full_searches_as_policy_targets(search):
    game = NimGame(min_pile=20, max_pile=30, max_take=8)
    agent = SelfPlayAgent(game, uniform_evaluate, MCTSConfig(num_simulations=24), seed=4, search=search,
                          full_search_prob=0.5, fast_sims=3)
    seen = []
    for srch in {id(s): s for s in (agent.mcts, getattr(agent, "fast_mcts", None)) if s is not None}.values():
        orig = srch.search

        def spy(*args, _orig=orig, **kwargs):
            res = _orig(*args, **kwargs)
            seen.append(res.visits.sum(axis=1))
            return res

        srch.search = spy
    ids = np.arange(40)
    agent.reset(ids)
    st = game.init(40, 1)
    agent.act(_nim_batch(game, st, ids))
    visits = np.concatenate(seen)
    weights = np.array([agent.samples[g][0][4] for g in ids])
    assert set(np.unique(weights)) == {0.0, 1.0} and 8 <= weights.sum() <= 32
    # full searches spend 24 simulations, fast ones 3: as many of each as there are weights of 1 and 0
    assert sorted(visits.tolist()) == sorted(np.where(weights == 1, 24, 3).tolist())


def test_self_play_data_carries_policy_weights_and_all_full_by_default():
    game = NimGame(min_pile=8, max_pile=12, max_take=3)
    full = self_play(game, uniform_evaluate, MCTSConfig(num_simulations=8), num_games=4, seed=2, parallel=4,
                     search="gumbel")
    assert (full.policy_weight == 1).all() and len(full.policy_weight) == len(full.value)
    capped = self_play(game, uniform_evaluate, MCTSConfig(num_simulations=8), num_games=8, seed=2, parallel=8,
                       search="gumbel", full_search_prob=0.3, fast_sims=2)
    assert 0 < capped.policy_weight.mean() < 1
    np.testing.assert_allclose(capped.policy.sum(axis=1), 1.0, rtol=1e-5)


def test_weighted_policy_loss_ignores_fast_search_samples():
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 4)

    def net(x):
        out = model(x)
        return out[:, :3], torch.tanh(out[:, 3])

    obs = torch.randn(6, 5)
    pol = torch.softmax(torch.randn(6, 3), dim=1)
    val = torch.ones(6)
    w = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    p1, v1 = losses(net, obs, pol, val, w)
    pol2 = pol.clone()
    pol2[w == 0] = torch.softmax(torch.randn(3, 3), dim=1)
    p2, v2 = losses(net, obs, pol2, val, w)
    assert torch.allclose(p1, p2) and torch.allclose(v1, v2)
    p_full, _ = losses(net, obs[w == 1], pol[w == 1], val[w == 1])
    assert torch.allclose(p1, p_full)
    p_none, _ = losses(net, obs, pol, val, torch.zeros(6))
    assert p_none.item() == 0.0


def test_bad_settings_are_refused():
    game = NimGame()
    with pytest.raises(ValueError, match="num_considered"):
        GumbelConfig(num_considered=0)
    with pytest.raises(ValueError, match="search must be"):
        SelfPlayAgent(game, uniform_evaluate, MCTSConfig(), seed=0, search="mcts")
    with pytest.raises(ValueError, match="full_search_prob"):
        SelfPlayAgent(game, uniform_evaluate, MCTSConfig(), seed=0, full_search_prob=0.0)
    search = GumbelSearch(game, uniform_evaluate, MCTSConfig(num_simulations=4))
    with pytest.raises(ValueError, match="needs an rng"):
        search.search(game.init(2, 0))
    with pytest.raises(ValueError, match="num_simulations must be >= 1"):
        search.search(game.init(2, 0), np.random.default_rng(0), num_simulations=np.array([4, 0]))
