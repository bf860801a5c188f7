"""Flat Monte Carlo search for 6 nimmt! (baselines/mcs.py): a smoke match, hand-made positions with a known
best card and a known best row, seeds independent of the batching, and that it never reads the opponent's hand."""

from __future__ import annotations

import numpy as np
import pytest

import zeroleague.envs as envs
from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.envs.sixnimmt.engine import SixNimmtGame
from zeroleague.leagues.harness import play_match


def _batch(game, states, players, game_ids=None):
    players = np.asarray(players, dtype=np.int64)
    info = game.information_state(states, players)
    masks = game.legal_mask(info)
    ids = np.arange(len(players)) if game_ids is None else np.asarray(game_ids)
    return DecisionBatch(game, game.observe(info, players), masks, players, ids, info)


def test_smoke_match_and_explain():
    game = envs.make_game("sixnimmt_v0")
    agent = make_agent("mcs:rollouts=4", game, seed=3)
    res = play_match(game, agent, make_agent("random", game), num_games=4, seed=1)
    assert res.wins + res.draws + res.losses == 4
    st = game.init(3, seed=5)
    expl = make_agent("mcs:rollouts=8", game, seed=1).explain(_batch(game, st, [0, 0, 0]))
    acts = make_agent("mcs:rollouts=8", game, seed=1).act(_batch(game, st, [0, 0, 0]))
    for e, a, hand in zip(expl, acts, st.hand[:, 0], strict=True):
        assert e["kind"] == "mcs" and e["chosen"] == a
        assert e["actions"] == (np.flatnonzero(hand) - 1).tolist() and len(e["margins"]) == 10
        assert e["margins"][e["actions"].index(a)] == max(e["margins"])


@pytest.mark.parametrize("policy", ["random", "closest_gap"])
def test_known_best_card_and_row(policy):
    # Tactical deck (both hands known). Row 0 is full: either of our cards 6, 7 takes it (6 bullheads). Playing
    # 6 first leaves row [6] for 7 (safe); playing 7 first leaves 6 below every row next trick (a row more to
    # take). The opponent's 21, 22 go safely onto row [20]. Best: card 6 (action 5), margin exactly -6.
    game = envs.make_game("sixnimmt_tactical_v0")
    st = game.deal_state([[6, 7], [21, 22]], [[1, 2, 3, 4, 5], 10, 15, 20])
    e = make_agent(f"mcs:rollouts=16,policy={policy}", game).explain(_batch(game, st, [0]))[0]
    assert e["actions"] == [5, 6] and e["chosen"] == 5
    assert e["margins"][0] == pytest.approx(-6.0) and e["margins"][1] <= -7.0
    # Row choice on the last trick: our 5 is below every row; taking row 3 ([41]: 1 bullhead) is best, the
    # opponent's 50 then lands on [33] whatever we take. Margins: -(row's bullheads).
    game = SixNimmtGame()
    st = game.deal_state([[5], [50]], [11, [22, 23], 33, 41])
    game.step(st, np.array([4]))
    game.step(st, np.array([49]))
    assert st.phase[0] == 1 and st.to_act[0] == 0
    e = make_agent(f"mcs:rollouts=4,policy={policy}", game).explain(_batch(game, st, [0]))[0]
    m = game.max_card
    assert e["actions"] == [m, m + 1, m + 2, m + 3] and e["chosen"] == m + 3
    assert e["margins"] == pytest.approx([-5.0, -6.0, -5.0, -1.0])


def test_same_games_whatever_the_batching():
    game = envs.make_game("sixnimmt_v0")
    st = game.init(4, seed=9)
    together = make_agent("mcs:rollouts=6", game, seed=2).act(_batch(game, st, [0, 0, 0, 0], [10, 11, 12, 13]))
    alone = make_agent("mcs:rollouts=6", game, seed=2)
    one_by_one = [alone.act(_batch(game, game.take(st, np.array([i])), [0], [10 + i]))[0] for i in range(4)]
    assert together.tolist() == one_by_one


def _swap_hidden_hand(game, st, seat):
    """A copy of one-game ``st`` where seat ``seat`` holds other cards (and selected another, if it has a
    pending card): as many, drawn from the cards nobody holds and nobody has seen."""
    other = game.copy(st)
    held = np.flatnonzero(st.hand[0, seat])
    free = [c for c in range(1, game.max_card + 1)
            if not st.hand[0, :, c].any() and not st.seen[0, c] and c not in st.pending[0]]
    other.hand[0, seat] = False
    other.hand[0, seat, free[: len(held)]] = True
    if st.pending[0, seat]:
        other.pending[0, seat] = free[len(held)]
    return other


@pytest.mark.parametrize("me", [0, 1])
def test_never_reads_the_opponent_hand(me):
    # States differing only in the opponent's hidden cards give identical decisions and margins. At seat 0's
    # decision (trick start) even the true states, handed instead of information states, do: the worlds
    # redeal the opponent's hand. Seat 1 decides after seat 0's hidden selection, which only the information
    # state rewinds, so there the harness's information states are compared.
    game = envs.make_game("sixnimmt_v0")
    st = game.init(1, seed=4)
    if me == 1:
        game.step(st, np.array([int(np.flatnonzero(game.legal_mask(st)[0])[0])]))
    other = _swap_hidden_hand(game, st, 1 - me)
    assert not (other.hand[0, 1 - me] == st.hand[0, 1 - me]).all()
    results = []
    for s in (st, other):
        for states in (game.information_state(s, me), s)[: 2 - me]:
            b = DecisionBatch(game, game.observe(s, me), game.legal_mask(s), np.array([me]), np.array([0]),
                              states)
            results.append(make_agent("mcs:rollouts=12", game, seed=5).explain(b)[0])
    assert all(r == results[0] for r in results[1:])


def test_bad_specs_are_refused():
    game = envs.make_game("sixnimmt_v0")
    with pytest.raises(ValueError, match="rollouts"):
        make_agent("mcs:rollouts=0", game)
    with pytest.raises(ValueError, match="policy"):
        make_agent("mcs:policy=greedy", game)
    with pytest.raises(ValueError, match="single-round"):
        make_agent("mcs", envs.make_game("sixnimmt_v0", target_score=66))


@pytest.mark.slow
def test_strength_benchmark_splits_a_match_over_processes_without_changing_it():
    # benchmarks/strength.py --jobs: the same games (deals, seats, keyed draws) as one process; the per-deal
    # interval of the duplicate format.
    from benchmarks.strength import play_parallel, summarize

    game = envs.make_game("sixnimmt_v0")
    one = play_match(game, make_agent("mcs:rollouts=3", game, seed=4), make_agent("closest_gap", game, seed=5),
                     num_games=12, seed=4)
    split = play_parallel("sixnimmt_v0", {}, "mcs:rollouts=3", "closest_gap", 12, 4, 256, None, 3)
    assert [(r.index, r.actions, r.returns) for r in split.records] == [(r.index, r.actions, r.returns)
                                                                        for r in one.records]
    s = summarize(split)
    per_deal = [np.mean([(r.returns[r.seat_a] - r.returns[1 - r.seat_a]) / 2 for r in split.records[2 * k:2 * k + 2]])
                for k in range(6)]
    assert s["deals"] == 6 and s["margin"] == pytest.approx(np.mean(per_deal))
    assert s["margin_ci95_deals"] == pytest.approx(1.96 * np.std(per_deal, ddof=1) / np.sqrt(6))
