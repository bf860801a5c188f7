"""zeroleague.leagues.tournament: configs, round robin / gauntlet, resume (in process and after a SIGKILL), outputs."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zeroleague.leagues.store import ResultStore, StoreError, pairing_key
from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, load_config, pairings, run_tournament

ROOT = Path(__file__).resolve().parents[1]


def toml(tmp_path: Path, body: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def nim_config(tmp_path: Path, **over) -> TournamentConfig:
    base = dict(
        name="nim",
        env="tests.toygames:NimGame",
        env_kwargs={"max_pile": 15},
        agents=(AgentEntry("toy_random"), AgentEntry("toy_nim_optimal"), AgentEntry("toy_random:delay=0")),
        games_per_pairing=10,
        max_parallel=4,
        db=str(tmp_path / "r.sqlite"),
        out=str(tmp_path / "out"),
        anchor="toy_random",
        bootstrap=50,
    )
    return TournamentConfig(**{**base, **over})


def test_round_robin_plays_every_pairing_and_writes_outputs(tmp_path):
    cfg = nim_config(tmp_path)
    res = run_tournament(cfg, progress=False, log=lambda m: None)
    assert res.games_played == 30 and res.skipped_agents == []
    with ResultStore(cfg.db) as st:
        for a, b in pairings(cfg, [e.spec for e in cfg.agents]):
            assert st.stored_indices("nim", pairing_key(a, b)) == set(range(10))
    assert res.ratings.players == ["toy_random", "toy_nim_optimal", "toy_random:delay=0"]
    best = res.ratings.players[int(res.ratings.elo.argmax())]
    assert best == "toy_nim_optimal"
    out = Path(cfg.out)
    for f in ("ratings.md", "ratings.csv", "pairings.csv", "ratings.png", "winrates.png"):
        assert (out / f).stat().st_size > 0
    assert "virtual draw" in (out / "ratings.md").read_text()


def test_resume_plays_only_missing_games_and_keeps_stored_ones(tmp_path):
    first = run_tournament(nim_config(tmp_path, games_per_pairing=6), progress=False, log=lambda m: None)
    with ResultStore(tmp_path / "r.sqlite") as st:
        before = st.games("nim")
    again = run_tournament(nim_config(tmp_path, games_per_pairing=6), progress=False, log=lambda m: None)
    assert (first.games_played, again.games_played) == (18, 0)
    more = run_tournament(nim_config(tmp_path, games_per_pairing=10), progress=False, log=lambda m: None)
    assert more.games_played == 12 and int(more.ratings.games.sum()) == 2 * 30
    with ResultStore(tmp_path / "r.sqlite") as st:
        after = st.games("nim")
    assert [r for r in after if r.index < 6] == before and len(after) == 30
    fewer = run_tournament(nim_config(tmp_path, games_per_pairing=4), progress=False, log=lambda m: None)
    assert fewer.games_played == 0 and int(fewer.ratings.games.sum()) == 2 * 12  # only games 0..3 count
    with open(tmp_path / "out" / "pairings.csv") as f:
        assert [int(row["games"]) for row in csv.DictReader(f)] == [4, 4, 4]
    with pytest.raises(StoreError, match="configuration"):
        run_tournament(nim_config(tmp_path, seed=1), progress=False, log=lambda m: None)


def test_gauntlet_pairings():
    cfg = TournamentConfig(
        name="g",
        env="x",
        agents=tuple(AgentEntry(s) for s in "abcd"),
        format="gauntlet",
        challengers=("c", "a"),
    )
    assert pairings(cfg, ["a", "b", "c", "d"]) == [("c", "a"), ("c", "b"), ("c", "d"), ("a", "b"), ("a", "d")]
    assert pairings(cfg, ["a", "b", "d"]) == [("a", "b"), ("a", "d")]  # challenger c unavailable


def test_optional_agents_are_skipped_and_required_ones_fail(tmp_path):
    messages = []
    agents = (AgentEntry("toy_random"), AgentEntry("toy_nim_optimal"), AgentEntry("nosuchbot:level=1", True))
    res = run_tournament(nim_config(tmp_path, agents=agents), progress=False, log=messages.append)
    assert res.skipped_agents == ["nosuchbot:level=1"] and res.games_played == 10
    assert any("skipping optional agent 'nosuchbot:level=1'" in m for m in messages)
    agents = agents[:2] + (AgentEntry("nosuchbot"),)
    with pytest.raises(ValueError, match="unknown agent 'nosuchbot'"):
        run_tournament(nim_config(tmp_path, agents=agents, name="nim2"), progress=False, log=messages.append)
    lonely = run_tournament(
        nim_config(tmp_path, agents=agents[:1] + (AgentEntry("x", True),), name="nim3"),
        progress=False,
        log=messages.append,
    )
    assert lonely.ratings is None and "nothing to play" in messages[-1]


def test_load_config_forms_and_errors(tmp_path):
    one = toml(tmp_path, 'name = "a"\nenv = "sixnimmt_v0"\nagents = ["random", {spec = "lowest"}]\n')
    (cfg,) = load_config(one)
    assert cfg.agents == (AgentEntry("random"), AgentEntry("lowest")) and cfg.out == "results/a"
    two = toml(
        tmp_path,
        '[[tournament]]\nname = "a"\nenv = "e"\nagents = ["x", "y"]\n'
        '[[tournament]]\nname = "b"\nenv = "e"\nagents = [{spec = "z", optional = true}, "w"]\n',
    )
    assert [c.name for c in load_config(two)] == ["a", "b"] and load_config(two)[1].agents[0].optional
    bad = {
        'name = "a"\nenv = "e"\nagents = ["x"]\ngames = 3\n': "unknown keys \\['games'\\]",
        'name = "a"\nagents = ["x"]\n': "missing key 'env'",
        'name = "a"\nenv = "e"\nagents = ["x", "x"]\n': "listed twice",
        'name = "a"\nenv = "e"\nagents = ["x"]\nformat = "gauntlet"\n': "needs challengers",
        'name = "a"\nenv = "e"\nagents = ["x"]\nchallengers = ["y"]\nformat = "gauntlet"\n': "not among",
        'name = "a b"\nenv = "e"\nagents = ["x"]\n': "tournament name",
        'name = "a"\nenv = "e"\nagents = [{spec = "x", weight = 2}]\n': "each agent",
        'name = "a"\nenv = "e"\nagents = ["x"]\ngames_per_pairing = 0\n': "games_per_pairing must be >= 1",
    }
    for body, match in bad.items():
        with pytest.raises(ValueError, match=match):
            load_config(toml(tmp_path, body))


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute("SELECT COUNT(*) FROM games").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    finally:
        con.close()


def test_a_killed_tournament_resumed_ends_with_exactly_the_planned_games(tmp_path):
    db = tmp_path / "kill.sqlite"
    cfg = toml(
        tmp_path,
        f'''
name = "killme"
env = "tests.toygames:NimGame"
env_kwargs = {{max_pile = 20}}
games_per_pairing = 24
max_parallel = 2
db = "{db}"
out = "{tmp_path / "out"}"
anchor = "toy_random:delay=0.01"
bootstrap = 20
agents = ["toy_random:delay=0.01", "toy_nim_optimal", "toy_random:delay=0.011"]
''',
    )
    cmd = [sys.executable, "-m", "zeroleague", "tournament", str(cfg), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = _count(db)
    assert 10 <= stored < 72
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{72 - stored} played and stored by this run, {stored} stored before" in done.stdout
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT pairing, COUNT(*), COUNT(DISTINCT game_index), MIN(game_index), MAX(game_index) "
        "FROM games GROUP BY pairing"
    ).fetchall()
    con.close()
    assert len(rows) == 3 and all(r[1:] == (24, 24, 0, 23) for r in rows), rows


def test_played_now_counts_only_the_games_this_process_stored(tmp_path):
    """Two writers on one database both said "6000 played now": a game another writer stored first is not ours."""
    from zeroleague.leagues.backends import LocalBackend

    cfg = nim_config(tmp_path)

    class OtherWriterFirst:
        """Plays the chunks here, but another connection (another writer) stores every other game first."""

        def run(self, jobs):
            for records in LocalBackend().run(jobs):
                with ResultStore(cfg.db) as other:
                    for rec in records[::2]:
                        other.add_game("nim", pairing_key(rec.agent_a, rec.agent_b), "toy_nim", rec)
                yield records

    res = run_tournament(cfg, progress=False, log=lambda m: None, backend=OtherWriterFirst())
    assert (res.games_played, res.games_total) == (15, 30)


def test_cli_says_what_this_run_stored(tmp_path, capsys):
    from zeroleague.cli import main

    body = (f'name = "nim"\nenv = "tests.toygames:NimGame"\nagents = ["toy_random", "toy_nim_optimal"]\n'
            f'games_per_pairing = 6\nmax_parallel = 4\nbootstrap = 10\nanchor = "toy_random"\n'
            f'db = "{tmp_path / "r.sqlite"}"\nout = "{tmp_path / "out"}"\n')
    path = toml(tmp_path, body)
    assert main(["tournament", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "6 played and stored by this run)" in out and "before" not in out  # a fresh run stored everything
    assert main(["tournament", str(path), "--no-progress", "--games", "8"]) == 0
    assert "2 played and stored by this run, 6 stored before or by another writer)" in capsys.readouterr().out
    table = (tmp_path / "out" / "ratings.md").read_text()
    assert "distinct games" in table
