"""zeroleague.leagues.harness.play_match: batching, validation, resignation, records, seeding and seat fairness."""

from __future__ import annotations

import numpy as np
import pytest

from tests.toygames import HighCardGame, NimGame, NimOptimalAgent, ToyRandomAgent
from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.leagues.harness import AgentActionError, game_seeds, play_match


class Recorder(BaseAgent):
    """Wraps an agent; logs every act call (into a shared log) and every reset."""

    def __init__(self, inner, log: list, name: str, needs_states: bool = False):
        self.inner, self.log, self.name, self.needs_states = inner, log, name, needs_states
        self.resets: list[int] = []
        self.batches: list[DecisionBatch] = []
        self.observations: list[np.ndarray] = []

    def reset(self, game_ids):
        self.resets.extend(int(g) for g in game_ids)
        self.inner.reset(game_ids)

    def act(self, batch):
        self.log.append((self.name, len(batch)))
        self.batches.append(batch)
        self.observations.append(batch.observations)
        return self.inner.act(batch)


class CountingNim(NimGame):
    """Nim that logs each step (how many games it moved) into the shared log."""

    def __init__(self, log, **kw):
        super().__init__(**kw)
        self.log = log

    def step(self, state, actions):
        self.log.append(("step", int((np.asarray(actions) != -1).sum())))
        super().step(state, actions)


def test_one_act_call_per_agent_per_step_and_reset_before_play():
    log: list = []
    game = CountingNim(log, max_pile=20)
    a = Recorder(ToyRandomAgent(game, seed=1), log, "a")
    b = Recorder(ToyRandomAgent(game, seed=2), log, "b")
    res = play_match(game, a, b, num_games=50, seed=3, max_parallel=16)
    assert len(res.records) == 50
    interval: list = []
    steps = 0
    for entry in log:
        if entry[0] == "step":
            names = [n for n, _ in interval]
            assert len(names) == len(set(names)) and names, (
                "an agent was called twice (or no agent) in a step"
            )
            assert sum(k for _, k in interval) == entry[1]  # every pending decision answered, one move each
            interval, steps = [], steps + 1
        else:
            interval.append(entry)
    assert interval == []
    assert steps < sum(r.num_moves for r in res.records)  # lockstep: fewer steps than moves
    assert sorted(a.resets) == sorted(b.resets) == list(range(50))


def _nim_pile(seed: int, game: NimGame) -> int:
    return int(game.init(1, np.array([seed])).pile[0])


def test_records_match_known_optimal_play():
    game = NimGame(max_pile=25)
    opt_a, opt_b = NimOptimalAgent(game), NimOptimalAgent(game)
    opt_a.name, opt_b.name = "opt_a", "opt_b"
    res = play_match(game, opt_a, opt_b, num_games=60, seed=9, max_parallel=13)
    assert [r.index for r in res.records] == list(range(60))
    for r in res.records:
        pile = _nim_pile(r.seed, game)
        first_wins = pile % 4 != 0
        assert r.seed == game_seeds(9, [r.index])[0] and r.seat_a == r.index % 2
        assert r.result == (1 if first_wins == (r.seat_a == 0) else -1)
        assert sum(a + 1 for a in r.actions) == pile and r.num_moves == len(r.actions)
        winner = (len(r.actions) - 1) % 2  # seat that took the last stone
        assert r.returns[winner] == 1.0 and r.returns[1 - winner] == -1.0
        if first_wins:
            assert r.actions[0] == pile % 4 - 1
        assert not r.truncated and r.resigned is None and r.score is None
        assert r.time_a >= 0 and r.time_b >= 0 and (r.agent_a, r.agent_b) == ("opt_a", "opt_b")
    # the perfect player never loses a won position against a random one
    rnd = ToyRandomAgent(game, seed=4)
    for r in play_match(game, NimOptimalAgent(game), rnd, num_games=40, seed=1).records:
        if r.seat_a == 0 and _nim_pile(r.seed, game) % 4:
            assert r.result == 1


def test_truncated_games_are_draws():
    game = NimGame(min_pile=30, max_pile=40, max_moves=4)
    res = play_match(game, ToyRandomAgent(game, seed=1), ToyRandomAgent(game, seed=2), num_games=10, seed=0)
    assert all(r.truncated and r.result == 0 and r.num_moves == 4 for r in res.records)
    assert res.draws == 10


class BadAgent(BaseAgent):
    def __init__(self, answer):
        self.answer, self.name = answer, "bad"

    def act(self, batch):
        return self.answer(batch)


@pytest.mark.parametrize(
    "answer, match",
    [
        (lambda b: np.full(len(b), 3, dtype=np.int64), r"agent 'bad' returned illegal action 3 in game \d+"),
        (lambda b: np.full(len(b), 7, dtype=np.int64), r"illegal action 7"),
        (lambda b: np.full(len(b), -1, dtype=np.int64), r"illegal action -1"),
        (
            lambda b: np.zeros(len(b) + 1, dtype=np.int64),
            r"agent 'bad' must return an integer array of shape",
        ),
        (lambda b: np.zeros(len(b), dtype=np.float32), r"integer array"),
    ],
)
def test_bad_actions_are_refused_with_a_clear_error(answer, match):
    game = NimGame(min_pile=1, max_pile=2, max_take=4)  # action 3 (take 4) is never legal
    with pytest.raises(AgentActionError, match=match):
        play_match(game, BadAgent(answer), ToyRandomAgent(game), num_games=4, seed=0)


class Resigner(BaseAgent):
    """Resigns its first move in games whose id is a multiple of 3; else plays optimally."""

    name = "resigner"

    def __init__(self, game):
        self.opt = NimOptimalAgent(game)

    def act(self, batch):
        return np.where(batch.game_ids % 3 == 0, RESIGN, self.opt.act(batch))


def test_resignation_ends_the_game_as_a_loss_for_the_resigner():
    game = NimGame(min_pile=5, max_pile=15)
    res = play_match(game, Resigner(game), NimOptimalAgent(game), num_games=30, seed=2, max_parallel=8)
    for r in res.records:
        if r.index % 3 == 0:
            assert r.resigned == r.seat_a and r.result == -1
            assert r.num_moves == (0 if r.seat_a == 0 else 1)
        else:
            assert r.resigned is None


def test_states_are_information_states_only_for_agents_that_ask():
    game = HighCardGame(deck=8, hand=3)
    log: list = []
    a = Recorder(ToyRandomAgent(game, seed=1), log, "a", needs_states=True)
    b = Recorder(ToyRandomAgent(game, seed=2), log, "b")
    play_match(game, a, b, num_games=12, seed=5, max_parallel=5)
    assert all(batch.states is None for batch in b.batches)
    for batch, obs in zip(a.batches, a.observations, strict=True):
        st = batch.states
        assert len(st.player) == len(batch)
        np.testing.assert_array_equal(game.observe(st, batch.players), obs)
        assert batch.observations is obs
        opponent = 1 - batch.players
        assert not st.hand[np.arange(len(batch)), opponent].any()  # the opponent's hand is hidden
        kept = game.current_player(st) == batch.players
        np.testing.assert_array_equal(game.legal_mask(st)[kept], batch.masks[kept])
        assert (batch.players[~kept] == 1).all()  # seat 1's choice rewinds the trick (simultaneous moves)


class Lazy(BaseAgent):
    """Keeps its batches without reading their observations."""

    def __init__(self, game):
        self.inner, self.batches, self.name = ToyRandomAgent(game), [], "lazy"

    def reset(self, game_ids):
        self.inner.reset(game_ids)

    def act(self, batch):
        self.batches.append(batch)
        return self.inner.act(batch)


def test_observations_are_computed_lazily_and_must_be_read_inside_act():
    game = NimGame(min_pile=6, max_pile=6)
    calls = []
    game.observe = lambda state, player, _obs=game.observe: calls.append(1) or _obs(state, player)
    lazy = Lazy(game)
    play_match(game, lazy, Lazy(game), num_games=4, seed=0)
    assert calls == []
    with pytest.raises(RuntimeError, match="read them inside act"):
        _ = lazy.batches[0].observations
    log: list = []
    eager = Recorder(ToyRandomAgent(game), log, "eager")
    play_match(game, eager, Lazy(game), num_games=4, seed=0)
    assert len(calls) == len(log)  # one observe per step in which the eager agent acted


def _strip_times(res):
    return [{k: v for k, v in r.to_dict().items() if k not in ("time_a", "time_b")} for r in res.records]


def test_same_seed_same_games_whatever_the_batching():
    game = HighCardGame(deck=10, hand=4)

    def run(max_parallel, indices=None):
        return _strip_times(
            play_match(
                game,
                ToyRandomAgent(game, seed=1),
                ToyRandomAgent(game, seed=2),
                num_games=40,
                seed=7,
                max_parallel=max_parallel,
                indices=indices,
            )
        )

    full = run(40)
    assert run(1) == full and run(7) == full
    assert run(3, indices=[5, 30, 11]) == [full[5], full[11], full[30]]
    other = _strip_times(
        play_match(game, ToyRandomAgent(game, seed=1), ToyRandomAgent(game, seed=2), num_games=40, seed=8)
    )
    assert other != full


def test_on_game_sees_every_game_once():
    game = NimGame()
    seen = []
    res = play_match(
        game,
        ToyRandomAgent(game),
        NimOptimalAgent(game),
        num_games=25,
        seed=0,
        max_parallel=6,
        on_game=lambda r: seen.append(r.index),
    )
    assert sorted(seen) == list(range(25)) == [r.index for r in res.records]


@pytest.mark.parametrize("kind", ["nim", "highcard", "sixnimmt"])
def test_seat_swapping_is_fair_for_equal_agents(kind):
    if kind == "sixnimmt":
        import zeroleague.envs as envs

        game = envs.make_game("sixnimmt_v0")
        a, b = make_agent("random", game, seed=1), make_agent("random", game, seed=2)
        n = 1000
    else:
        game = NimGame(max_pile=30) if kind == "nim" else HighCardGame(deck=12, hand=5)
        a, b, n = ToyRandomAgent(game, seed=1), ToyRandomAgent(game, seed=2), 2000
    res = play_match(game, a, b, num_games=n, seed=11)
    rate, lo, hi = res.score_rate()
    assert lo < 0.5 < hi, res.summary()
    assert sum(r.seat_a == 0 for r in res.records) == n // 2


def test_sixnimmt_records_carry_penalties_consistent_with_the_result():
    import zeroleague.envs as envs

    game = envs.make_game("sixnimmt_v0")
    res = play_match(
        game,
        make_agent("closest_gap", game),
        make_agent("random", game, seed=3),
        num_games=40,
        seed=1,
        max_parallel=16,
    )
    for r in res.records:
        pen_a, pen_b = r.score[r.seat_a], r.score[1 - r.seat_a]
        assert r.result == int(np.sign(pen_b - pen_a))
        assert r.returns[r.seat_a] == pytest.approx(pen_b - pen_a)
        assert r.num_moves >= 20  # 10 tricks x 2 selections (+ row choices)
    assert res.wins > res.losses


def test_deterministic_agents_on_a_real_engine_give_the_same_games_whatever_the_batching():
    import zeroleague.envs as envs

    game = envs.make_game("sixnimmt_v0")
    runs = [
        _strip_times(
            play_match(
                game,
                make_agent("closest_gap", game),
                make_agent("lowest_fitting", game),
                30,
                seed=4,
                max_parallel=m,
            )
        )
        for m in (30, 7)
    ]
    assert runs[0] == runs[1]
    assert runs[0] == _strip_times(
        play_match(
            game,
            make_agent("closest_gap", game),
            make_agent("lowest_fitting", game),
            30,
            seed=4,
            indices=range(30),
        )
    )


def test_go_games_export_as_sgf(tmp_path):
    import zeroleague.envs as envs
    from zeroleague.envs.go.sgf import from_sgf

    game = envs.make_game("go_v0", board_size=5)
    res = play_match(
        game,
        make_agent("random", game, seed=1),
        make_agent("random", game, seed=2),
        num_games=4,
        seed=0,
        sgf_dir=tmp_path,
    )
    for r in res.records:
        size, komi, moves = from_sgf((tmp_path / f"game_{r.index:06d}.sgf").read_bytes())
        assert (size, komi, list(moves)) == (5, game.komi, r.actions)
        assert len(r.score) == 1 and r.result == int(np.sign(r.score[0] * (1 if r.seat_a == 0 else -1)))


def test_bad_arguments():
    game = NimGame()
    a, b = ToyRandomAgent(game), ToyRandomAgent(game)
    with pytest.raises(ValueError, match="max_parallel"):
        play_match(game, a, b, 4, 0, max_parallel=0)
    with pytest.raises(ValueError, match="indices"):
        play_match(game, a, b, 4, 0, indices=[4])


def test_self_play_makes_one_act_call_per_step_over_both_seats():
    """The same agent object in both seats: one act call per step over every pending decision, agent_a's and
    agent_b's games in one batch, reset once per wave, and the same games as two separate copies of that
    (deterministic) agent."""
    log: list = []
    game = CountingNim(log, max_pile=20)
    agent = Recorder(NimOptimalAgent(game), log, "self")
    res = play_match(game, agent, agent, num_games=40, seed=5, max_parallel=16)
    steps = [e for e in log if e[0] == "step"]
    calls = [e for e in log if e[0] == "self"]
    assert len(calls) == len(steps)  # exactly one call before every step
    assert all(n == k for (_, n), (_, k) in zip(calls, steps, strict=True))  # covering all pending decisions
    # agent_a's games (even ids) and agent_b's (odd ids) in one batch
    assert all(len(np.unique(np.asarray(b.game_ids) % 2)) == 2 for b in agent.batches[:3])
    assert sorted(agent.resets) == list(range(40))
    log2: list = []
    twin = CountingNim(log2, max_pile=20)
    ref = play_match(twin, NimOptimalAgent(twin), NimOptimalAgent(twin), num_games=40, seed=5,
                     max_parallel=16)
    assert [(r.result, r.actions) for r in res.records] == [(r.result, r.actions) for r in ref.records]


def test_each_deal_is_played_from_both_seats():
    """Games 2k and 2k+1 share a deal with the seats swapped: the same deterministic agent on both sides plays
    them alike seat by seat, so agent_a (seat 0, then seat 1) scores them opposite, whatever the batching."""
    import zeroleague.envs as envs

    game = envs.make_game("sixnimmt_tactical_v0", hand_size=3)
    state = game.init(40, game_seeds(4, range(40)))
    assert (state.hand[0::2] == state.hand[1::2]).all() and (state.rows[0::2] == state.rows[1::2]).all()
    assert len({state.hand[i].tobytes() for i in range(0, 40, 2)}) == 20
    a, b = make_agent("closest_gap", game, seed=0), make_agent("closest_gap", game, seed=1)
    recs = play_match(game, a, b, 40, 4, max_parallel=7).records
    for k in range(20):
        assert recs[2 * k].returns == recs[2 * k + 1].returns
        assert recs[2 * k].result == -recs[2 * k + 1].result
    assert sum(r.result for r in recs) == 0


def _result(results: list[int]):
    from zeroleague.leagues.harness import GameRecord, MatchResult

    recs = [GameRecord(i, 0, i % 2, "a", "b", r, [0.0, 0.0], None, [i % 3], 1, 0.0, 0.0, False, None)
            for i, r in enumerate(results)]
    return MatchResult("toy", "a", "b", recs)


@pytest.mark.parametrize("results", [[1, -1], [1, 1, 1], [-1, -1], [1, 0, -1, 1, 1, 1, 1, 1, -1, 0]])
def test_score_interval_is_wilsons_and_stays_in_the_unit_interval(results):
    """``play`` printed ``0.500 (95% CI -0.066..1.066)``: a normal interval leaves [0, 1] on few games."""
    from scipy.stats import binomtest

    res = _result(results)
    rate, lo, hi = res.score_rate()
    assert 0.0 <= lo <= rate <= hi <= 1.0
    if 0 not in results:  # no draws: the rate is a binomial proportion, scipy's Wilson interval is the reference
        ref = binomtest(res.wins, len(results)).proportion_ci(0.95, method="wilson")
        assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert "Wilson" in res.summary() and f"({res.distinct_games} distinct)" in res.summary()


def test_distinct_games_counts_seat_and_moves():
    res = _result([1, 1, 1, 1, 1, 1])  # actions [i % 3] with seat i % 2: 6 games, all different (i mod 6)
    assert res.distinct_games == 6
    res.records[3].actions = [0]  # seat 1, moves [0]: game 3 now repeats nothing (game 0 has seat 0)
    assert res.distinct_games == 6
    res.records[3].seat_a = 0  # now the same as game 0
    assert res.distinct_games == 5
