"""Reproducible games (#17 items 1, 2): every registered agent's games depend on (seed, game index) only — not on
the batch size, a kill and resume, or the seat's twin — and the two seats of a same-spec match draw differently."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from zeroleague.agents.base import DecisionBatch, DecisionKeys, RowStreams, hash_keys, key_uniform
from zeroleague.agents.registry import agent_names, make_agent
from zeroleague.baselines.gtp import find_binary
from zeroleague.envs.registry import make_env_game
from zeroleague.leagues.backends import LocalBackend, agent_seed
from zeroleague.leagues.harness import play_match
from zeroleague.leagues.store import ResultStore, pairing_key
from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, run_tournament

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
SIX = ("sixnimmt_v0", {})
GO9 = ("go_v0", {"board_size": 9, "max_moves": 24})
GO5 = ("go_v0", {"board_size": 5})
GNUGO = find_binary("gnugo", "GNUGO_BIN") or ("/usr/games/gnugo" if Path("/usr/games/gnugo").exists() else None)
PACHI = find_binary("pachi", "PACHI_BIN")


@pytest.fixture(scope="module")
def distilled_ckpt(tmp_path_factory) -> str:
    """A distilled-policy checkpoint (random weights): the registry's ``distilled`` agent needs a file."""
    from zeroleague.baselines.policies import PolicyValueNet, default_net_config, save_checkpoint

    game = make_env_game(*SIX)
    torch.manual_seed(0)
    cfg = default_net_config(game)
    net = PolicyValueNet(cfg, game.obs_shape, game.num_actions)
    path = tmp_path_factory.mktemp("distilled") / "distilled.pt"
    save_checkpoint(path, algo="distilled", weights=net.state_dict(), net_config=cfg, game=game, env_kwargs={},
                    step=0)
    return str(path)


# (env, spec) for every registered agent: checkpoints shipped in checkpoints/, tiny searches
CASES = [
    (SIX, "random"),
    (GO9, "random"),
    (SIX, "lowest"),
    (SIX, "highest"),
    (SIX, "lowest_fitting"),
    (SIX, "closest_gap"),
    (SIX, "mcs:rollouts=2"),
    (SIX, "reinforce:checkpoints/sixnimmt/reinforce_selfplay.pt"),
    (SIX, "ppo:checkpoints/sixnimmt/ppo_br_closest_gap.pt"),
    (SIX, "distilled:{distilled}"),
    (SIX, "az:checkpoints/sixnimmt/alphazero.pt,sims=2,rollouts=1"),
    pytest.param(SIX, "az:checkpoints/sixnimmt/alphazero.pt,sims=4", marks=pytest.mark.slow),
    (SIX, "az_uniform:sims=4"),
    pytest.param(GO9, "az:checkpoints/go9/alphazero.pt,sims=2,explore_moves=4", marks=pytest.mark.slow),
    (GO5, "az_uniform:sims=4,explore_moves=4"),
    pytest.param(GO9, "gnugo:level=0,processes=3", marks=pytest.mark.slow),
    (GO9, "pachi:playouts=500,processes=16"),
]


def _case(c):
    return c.values if hasattr(c, "values") else c


def _spec(spec: str, distilled: str) -> str:
    return spec.replace("{distilled}", distilled)


def _skip_missing(spec: str) -> None:
    if spec.startswith("gnugo") and GNUGO is None:
        pytest.skip("GNU Go is not installed")
    if spec.startswith("pachi") and PACHI is None:
        pytest.skip("Pachi is not installed")


def _env(spec: str):
    if spec.startswith("gnugo") and GNUGO is not None:
        os.environ.setdefault("GNUGO_BIN", GNUGO)


def _games(env, spec_a, spec_b, n, seed, max_parallel, indices=None):
    game = make_env_game(*env)
    a = make_agent(spec_a, game, seed=agent_seed(seed, spec_a), device="cpu")
    b = make_agent(spec_b, game, seed=agent_seed(seed, spec_b), device="cpu")
    try:
        res = play_match(game, a, b, n, seed, max_parallel=max_parallel, indices=indices)
    finally:
        a.close()
        b.close()
    return [(r.index, r.seat_a, r.actions, r.result) for r in res.records]


def test_cases_cover_the_registry():
    from zeroleague.agents.registry import _AGENTS

    shipped = {n for n in agent_names() if _AGENTS[n].factory.__module__.startswith("zeroleague.")}  # not tests'
    assert {_case(c)[1].split(":")[0] for c in CASES} == shipped


class _Killed(Exception):
    pass


class _KillMidChunk:
    """A backend that plays the chunks, stores all of the first and part of the second, then dies (as a kill -9
    between two games' commits would leave the store)."""

    def run(self, jobs):
        for k, records in enumerate(LocalBackend().run(jobs)):
            if k == 0:
                yield records
            else:
                yield records[: len(records) // 2]
                raise _Killed


def _opponent(env, spec: str) -> str:
    if spec != "random":
        return "random"
    return "closest_gap" if env == SIX else "az_uniform:sims=2"


def _tournament(env, spec, opponent, db, max_parallel, n, backend=None):
    cfg = TournamentConfig(name="repro", env=env[0], env_kwargs=env[1], agents=(AgentEntry(spec), AgentEntry(opponent)),
                           games_per_pairing=n, seed=5, max_parallel=max_parallel, db=str(db),
                           out=str(Path(db).parent / "out"), bootstrap=10)
    return run_tournament(cfg, device="cpu", progress=False, log=lambda s: None, backend=backend)


@pytest.mark.parametrize(("env", "spec"), CASES, ids=[_case(c)[1].split(",")[0] for c in CASES])
def test_same_games_at_every_batch_size_and_after_a_kill(env, spec, distilled_ckpt, tmp_path, monkeypatch):
    _skip_missing(spec)
    _env(spec)
    monkeypatch.chdir(ROOT)
    spec = _spec(spec, distilled_ckpt)
    opponent = _opponent(env, spec)
    n = 8
    ref = _games(env, spec, opponent, n, 5, 256)
    assert len({tuple(g[2]) for g in ref}) > 2  # not a degenerate replay of one deal
    for mp in (1, 7):  # (64 plays these 8 games in one wave, as 256 does: test_..._many_games has more)
        assert _games(env, spec, opponent, n, 5, mp) == ref, f"max_parallel={mp}"
    # a tournament killed between two commits of its second chunk, resumed with another batch size
    db = tmp_path / "t.sqlite"
    with pytest.raises(_Killed):
        _tournament(env, spec, opponent, db, 3, n, backend=_KillMidChunk())
    with ResultStore(db) as store:
        assert 3 <= len(store.games("repro")) < n
    res = _tournament(env, spec, opponent, db, 4, n)
    assert res.games_played == n - 3 - 1  # only the games missing from the store
    with ResultStore(db) as store:
        stored = [(r.index, r.seat_a, r.actions, r.result) for r in store.games("repro", pairing_key(spec, opponent))]
    assert stored == ref


def test_the_two_seats_of_a_same_spec_match_draw_differently():
    """``zeroleague play go_v0 random random``: both agents have one seed; White must not copy Black's draws."""
    game = make_env_game("go_v0", {"board_size": 9})
    seed = agent_seed(0, "random")
    a, b = make_agent("random", game, seed=seed), make_agent("random", game, seed=seed)
    state = game.init(1, np.array([0]))
    mask = np.asarray(game.legal_mask(state))
    picks = []
    for k in range(40):  # the same game, the same decision index, the same legal moves: only the seat differs
        rows = [DecisionBatch(game, None, mask, np.array([seat]), np.array([k]), match_seed=0,
                              decisions=np.array([3])) for seat in (0, 1)]
        picks.append((int(a.act(rows[0])[0]), int(b.act(rows[1])[0])))
    assert sum(x != y for x, y in picks) >= 35
    moves = [len(r.actions) for r in play_match(game, a, b, 16, 0).records]
    assert np.mean(moves) > 90  # copying seats made ~63-move games on 9x9, independent seats ~128


def test_decision_keys_and_row_streams():
    keys = DecisionKeys(7)
    batch = DecisionBatch(None, None, np.ones((3, 2), bool), np.array([0, 1, 0]), np.array([4, 4, 5]),
                          match_seed=9, decisions=np.array([0, 0, 2]))
    k = keys(batch)
    assert k[0] != k[1]  # seat
    assert k[2] == hash_keys(7, 9, 5, 0, 2)
    # without decisions the agent counts per (game, seat); reset starts a game anew
    plain = DecisionBatch(None, None, np.ones((2, 2), bool), np.array([0, 1]), np.array([4, 4]))
    first, second = keys(plain), keys(plain)
    assert (first == hash_keys(7, 0, 4, np.array([0, 1]), 0)).all() and (first != second).all()
    keys.reset(np.array([4]))
    assert (keys(plain) == first).all()
    keys.MAX_GAMES = 3  # games numbered afresh and never reset (training loops) keep a bounded table
    for g in range(10):
        keys(DecisionBatch(None, None, np.ones((1, 2), bool), np.array([0]), np.array([100 + g])))
    assert sorted(keys._counts) == [107, 108, 109]
    u = key_uniform(hash_keys(1, np.arange(20000)))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    # a root's draws depend on its key, the tag and its occurrence only, not on the other rows
    s = RowStreams(hash_keys(3, np.arange(5)))
    alone = RowStreams(s.keys[[2]]).rows(np.array([0, 0]), 1)
    mixed = s.rows(np.array([4, 2, 1, 2]), 1)
    assert np.array_equal(alone.random(2), mixed.random(4)[[1, 3]])
    assert not np.array_equal(s.rows(np.array([2]), 1).random(1), s.rows(np.array([2]), 2).random(1))
    ints = s.rows(np.arange(5), 0).integers(0, 1 << 62, size=5, dtype=np.int64)
    assert ints.dtype == np.int64 and (ints >= 0).all() and len(set(ints.tolist())) == 5


def test_harness_passes_decision_indices_per_seat():
    seen = []

    class Spy:
        name, needs_states = "spy", False

        def act(self, batch):
            seen.append((batch.match_seed, batch.game_ids.tolist(), batch.players.tolist(), batch.decisions.tolist()))
            return np.argmax(batch.masks, axis=1)

        def reset(self, ids):
            pass

        def close(self):
            pass

    game = make_env_game("go_v0", {"board_size": 5, "max_moves": 6})
    spy = Spy()
    play_match(game, spy, spy, 2, 11, max_parallel=2)
    assert {s[0] for s in seen} == {11}
    per = {}
    for _, ids, players, decisions in seen:
        for g, p, d in zip(ids, players, decisions, strict=True):
            assert d == per.get((g, p), 0)
            per[(g, p)] = d + 1
    assert per == {(0, 0): 3, (0, 1): 3, (1, 0): 3, (1, 1): 3}


@pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed")
def test_gnugo_gets_a_fresh_seed_per_game(monkeypatch):
    """Against a deterministic opponent, GNU Go's fixed seed replayed the same game in every game of a seat."""
    monkeypatch.setenv("GNUGO_BIN", GNUGO)
    games = _games(("go_v0", {"board_size": 9, "max_moves": 40}), "gnugo:level=1,processes=4", "az_uniform:sims=2",
                   12, 2027, 12)
    assert len({(s, tuple(a)) for _, s, a, _ in games}) > 4


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["random", "reinforce:checkpoints/sixnimmt/reinforce_selfplay.pt",
                                  "az:checkpoints/sixnimmt/alphazero.pt,sims=8", "mcs:rollouts=4"])
def test_same_games_at_every_batch_size_many_games(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    ref = _games(SIX, spec, "closest_gap", 300, 9, 256)
    for mp in (1, 7, 64, 100):
        assert _games(SIX, spec, "closest_gap", 300, 9, mp) == ref, f"max_parallel={mp}"


@pytest.mark.slow
def test_a_tournament_killed_with_sigkill_and_resumed_stores_the_unbroken_games(tmp_path):
    spec = f"reinforce:{ROOT / 'checkpoints/sixnimmt/reinforce_selfplay.pt'}"
    toml = tmp_path / "t.toml"
    toml.write_text(f'name = "k"\nenv = "sixnimmt_v0"\ngames_per_pairing = 600\nmax_parallel = 50\n'
                    f'bootstrap = 10\nseed = 3\nagents = ["{spec}", "random"]\ndb = "{tmp_path / "k.sqlite"}"\n'
                    f'out = "{tmp_path / "out"}"\n')
    cmd = [sys.executable, "-m", "zeroleague", "tournament", str(toml), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "k.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if not db.exists():  # (connecting would create an empty file the tournament then refuses)
            continue
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                if con.execute("SELECT COUNT(*) FROM games").fetchone()[0] >= 100:
                    break
        except sqlite3.Error:
            pass
    assert proc.poll() is None, "the tournament ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        assert 0 < con.execute("SELECT COUNT(*) FROM games").fetchone()[0] < 600
    toml.write_text(toml.read_text().replace("max_parallel = 50", "max_parallel = 64"))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with ResultStore(db) as store:
        stored = [(r.index, r.seat_a, r.actions, r.result) for r in store.games("k")]
    assert stored == _games(SIX, spec, "random", 600, 3, 256)
