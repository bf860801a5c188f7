"""The PSRO loop: exploitability falls with exact oracles (a matrix game, a small 6 nimmt! deal), a killed
league resumes without losing finished work, harness payoffs through the store, and a PPO-oracle smoke run."""

import json

import numpy as np
import pytest

from zeroleague.envs.sixnimmt.solver import Deal, solve
from zeroleague.leagues.backends import LocalBackend, chunk_jobs, derived_seed, play_chunk
from zeroleague.leagues.exploitability import expected_margin
from zeroleague.leagues.psro import DealLeague, HarnessLeague, MatrixLeague, PSROConfig, load_state, run_psro
from zeroleague.leagues.store import ResultStore, pairing_key

# rock-paper-scissors-lizard-spock: each beats two and loses to two; the unique equilibrium is uniform
RPSLS = tuple(
    tuple(0.0 if i == j else (1.0 if (j - i) % 5 in (2, 4) else -1.0) for j in range(5)) for i in range(5)
)
# a small deal whose equilibrium mixes (found by search; solver value -1 for player_0)
DEAL = {"hands": [[1, 3, 10], [2, 4, 7]], "rows": [5, 6, 9, 8]}


def _exploitabilities(state):
    return [it["exploitability"] for it in state.iterations] + [state.final["exploitability"]]


def test_rpsls_fictitious_play_and_double_oracle(tmp_path):
    fp = run_psro(
        PSROConfig(oracle="exact", matrix=RPSLS, meta_solver="uniform", iterations=12), tmp_path / "fp"
    )
    e = _exploitabilities(fp)
    assert e[0] == pytest.approx(1.0)  # pure:0 alone loses 1 to its best response
    assert e[-1] < 0.5 * e[0]
    assert np.mean(e[-4:]) < np.mean(e[:4])
    do = run_psro(PSROConfig(oracle="exact", matrix=RPSLS, meta_solver="nash", iterations=6), tmp_path / "do")
    e = _exploitabilities(do)
    assert e[-1] == pytest.approx(0.0, abs=1e-9)
    p = np.zeros(5)
    np.add.at(p, [int(m.split(":")[1]) for m in do.members], do.final["meta"])
    np.testing.assert_allclose(p, np.full(5, 0.2), atol=1e-8)  # the mixture is the unique equilibrium
    m = np.array(do.payoffs, dtype=float)
    np.testing.assert_allclose(m, -m.T)
    a = np.array(RPSLS)
    idx = [int(s.split(":")[1]) for s in do.members]
    np.testing.assert_allclose(m, a[np.ix_(idx, idx)])


def test_matrix_league_rejects_non_symmetric_games():
    with pytest.raises(ValueError, match="antisymmetric"):
        MatrixLeague([[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="pure:0"):
        MatrixLeague(RPSLS).payoff("pure:7", "pure:0")


def test_deal_league_exploitability_falls_and_nash_reaches_the_solution(tmp_path):
    deal = Deal(tuple(tuple(h) for h in DEAL["hands"]), tuple((r,) for r in DEAL["rows"]))
    fp = run_psro(PSROConfig(oracle="exact", deal=DEAL, meta_solver="uniform", iterations=6), tmp_path / "fp")
    e = _exploitabilities(fp)
    assert all(b <= a + 1e-9 for a, b in zip(e, e[1:], strict=False)) and e[-1] < 0.5 * e[0]
    do = run_psro(PSROConfig(oracle="exact", deal=DEAL, meta_solver="nash", iterations=5), tmp_path / "do")
    assert _exploitabilities(do)[-1] == pytest.approx(0.0, abs=1e-9)
    # an unexploitable policy pair earns exactly the solver's value from either seat
    league = DealLeague(DEAL, tmp_path / "do")
    avg = league.mixture_policy(do.members, np.array(do.final["meta"]))
    assert expected_margin(deal, avg, avg) == pytest.approx(solve(deal).value, abs=1e-9)
    # the stored payoffs are the exact symmetrised margins
    a, b = do.members[0], do.members[1]
    pa, pb = league.policy(a), league.policy(b)
    want = (expected_margin(deal, pa, pb) - expected_margin(deal, pb, pa)) / 2
    assert do.payoffs[0][1] == pytest.approx(want)


class Killed(Exception):
    pass


class Interrupting:
    """A league that raises ``Killed`` at the n-th call of ``method`` (a simulated kill) and counts calls."""

    def __init__(self, inner, method=None, at=None):
        self.inner, self.method, self.at = inner, method, at
        self.calls = {"payoff": 0, "best_response": 0}

    def initial_members(self):
        return self.inner.initial_members()

    def exploitability(self, members, weights):
        return self.inner.exploitability(members, weights)

    def _count(self, method):
        self.calls[method] += 1
        if method == self.method and self.calls[method] == self.at:
            raise Killed(method)

    def payoff(self, a, b):
        self._count("payoff")
        return self.inner.payoff(a, b)

    def best_response(self, members, weights, iteration):
        self._count("best_response")
        return self.inner.best_response(members, weights, iteration)


@pytest.mark.parametrize("method,at", [("best_response", 3), ("payoff", 5)])
def test_killed_league_resumes_without_losing_finished_work(tmp_path, method, at):
    cfg = PSROConfig(oracle="exact", deal=DEAL, meta_solver="uniform", iterations=5)
    whole = run_psro(cfg, tmp_path / "whole")
    killed = tmp_path / "killed"
    with pytest.raises(Killed):
        run_psro(cfg, killed, league=Interrupting(DealLeague(DEAL, killed), method, at))
    before = load_state(killed)
    done_payoffs = sum(v is not None for i, row in enumerate(before.payoffs) for v in row[i + 1 :])
    if method == "best_response":  # killed while training the 3rd best response: two iterations are kept
        assert len(before.iterations) == 2 and len(before.members) == 3
    else:  # killed computing the 5th payoff entry: the four finished entries are kept
        assert done_payoffs == 4
    resumed = Interrupting(DealLeague(DEAL, killed))
    after = run_psro(cfg, killed, league=resumed)
    n = len(whole.members)
    assert resumed.calls["payoff"] == n * (n - 1) // 2 - done_payoffs  # nothing finished is computed again
    assert resumed.calls["best_response"] == cfg.iterations - len(before.iterations)
    assert after.members == whole.members
    assert after.payoffs == whole.payoffs
    assert after.iterations == whole.iterations and after.final == whole.final
    events = [json.loads(line)["event"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert events.count("resume") == 1 and events[-1] == "final"


def test_league_dir_refuses_another_config_and_can_be_extended(tmp_path):
    cfg = PSROConfig(oracle="exact", matrix=RPSLS, meta_solver="nash", iterations=2)
    first = run_psro(cfg, tmp_path)
    with pytest.raises(ValueError, match="meta_solver"):
        run_psro(PSROConfig(oracle="exact", matrix=RPSLS, meta_solver="uniform", iterations=2), tmp_path)
    longer = run_psro(PSROConfig(oracle="exact", matrix=RPSLS, meta_solver="nash", iterations=4), tmp_path)
    assert longer.members[:3] == first.members and len(longer.iterations) == 4


def test_config_errors():
    with pytest.raises(ValueError, match="exactly one"):
        PSROConfig(oracle="exact")
    with pytest.raises(ValueError, match="meta_solver"):
        PSROConfig(meta_solver="best")
    with pytest.raises(ValueError, match="oracle"):
        PSROConfig(oracle="dqn")


def test_harness_payoffs_go_through_the_store_and_resume_by_chunk(tmp_path):
    cfg = PSROConfig(
        name="h",
        initial=("random", "lowest", "closest_gap"),
        iterations=0,
        games_per_pairing=24,
        chunk_size=8,
        env_id="sixnimmt_v0",
        env_kwargs={"hand_size": 4},
    )
    # a pairing already half played (chunk 1 of 3) before the league starts: only the rest is played
    league = HarnessLeague(cfg, tmp_path, LocalBackend())
    key = pairing_key("random", "closest_gap")
    jobs = chunk_jobs("sixnimmt_v0", {"hand_size": 4}, "random", "closest_gap", 24, derived_seed(0, key), 8)
    (job,) = [j for j in jobs if j.chunk == 1]
    for rec in play_chunk(job):
        league.store.add_game("h", key, "sixnimmt_v0", rec)
    state = run_psro(cfg, tmp_path, league=league)
    league.close()
    m = np.array(state.payoffs, dtype=float)
    np.testing.assert_allclose(m, -m.T)
    assert m[2, 0] > 0  # closest_gap beats random on average
    with ResultStore(tmp_path / "games.sqlite") as store:
        for a, b in (("random", "lowest"), ("random", "closest_gap"), ("lowest", "closest_gap")):
            recs = store.games("h", pairing_key(a, b))
            assert sorted(r.index for r in recs) == list(range(24))
            i, j = state.members.index(a), state.members.index(b)
            want = np.mean([(r.returns[r.seat_a] - r.returns[1 - r.seat_a]) / 2 for r in recs])
            assert m[i, j] == pytest.approx(want)
    # chunks are seeded by their number: the league played from scratch stores exactly the same games
    fresh = run_psro(cfg, tmp_path / "fresh")
    assert fresh.payoffs == state.payoffs


def test_ppo_oracle_smoke(tmp_path):
    cfg = PSROConfig(
        name="ppo",
        oracle="ppo",
        meta_solver="nash",
        iterations=1,
        env_id="sixnimmt_v0",
        env_kwargs={"hand_size": 4},
        initial=("random",),
        games_per_pairing=40,
        chunk_size=20,
        ppo={"total_steps": 1024, "num_envs": 2, "n_steps": 128, "batch_size": 128, "n_epochs": 2},
    )
    state = run_psro(cfg, tmp_path)
    assert len(state.members) == 2 and state.members[1].startswith("ppo:")
    assert (tmp_path / "br_000" / "final.pt").is_file()
    assert state.iterations[0]["br_gain"] == pytest.approx(state.payoffs[1][0])
    assert state.final["population"] == 2 and state.final["exploitability"] is None
