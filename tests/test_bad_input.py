"""Bad input (#17 item 3): a user mistake on the command line or in a config gets one line naming the bad value (and
the file, for configs) and exit code 2, before any game is played, with no file touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from zeroleague.cli import main

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "name": '"b"',
    "env": '"sixnimmt_v0"',
    "agents": '["random", "lowest"]',
    "games_per_pairing": "4",
    "bootstrap": "10",
}


def _toml(tmp_path: Path, **over: str) -> Path:
    table = {**BASE, "db": f'"{tmp_path / "db.sqlite"}"', "out": f'"{tmp_path / "out"}"', **over}
    table = {k: v.replace("{tmp}", str(tmp_path)) for k, v in table.items()}
    path = tmp_path / "c.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in table.items() if v is not None))
    return path


def _run(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.err


def _one_error_line(err: str, command: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"zeroleague {command}: error: ") and "Traceback" not in err
    return lines[0]


CONFIG_CASES = [
    ({"games_per_pairing": '"ten"'}, ["games_per_pairing", "'ten'"]),
    ({"bootstrap": "-1"}, ["bootstrap", "-1"]),
    ({"anchor": '"randomm"'}, ["anchor", "'randomm'"]),
    ({"agents": '"random"'}, ["agents must be a list", "'random'"]),
    ({"env_kwargs": "{hand_size = 99}"}, ["hand_size=99", "at most 50"]),
    ({"env_kwargs": "{foo = 1}"}, ["unknown env kwarg 'foo'"]),
    ({"env_kwargs": '"board_size=9"'}, ["env_kwargs", "'board_size=9'"]),
    ({"env": '"nope_v0"'}, ["'nope_v0'"]),
    ({"agents": '["random", "closest_gap:"]'}, ["'closest_gap:'", "ends with ':'"]),
    ({"agents": '["random", "lowst"]'}, ["unknown agent 'lowst'"]),
    ({"agents": '["random", "az_uniform:sims=abc"]'}, ["sims must be an integer", "'abc'"]),
    ({"agents": '["random", "gnugo:level=1"]'}, ["'gnugo' does not play 'sixnimmt_v0'"]),
    ({"agents": '["random", "lowest:foo=1"]'}, ["unknown parameter 'foo'"]),
    ({"agents": '["random", "random"]'}, ["listed twice"]),
    ({"agents": '[{spec = "random"}, {spec = "lowest", optional = "yes"}]'}, ["'optional': 'yes'"]),
    ({"seed": '"zero"'}, ["seed must be an integer", "'zero'"]),
    ({"max_parallel": "0"}, ["max_parallel must be >= 1, got 0"]),
    ({"games_per_pairing": "10.5"}, ["games_per_pairing", "10.5"]),
    ({"sgf": '"yes"'}, ["sgf must be true or false"]),
    ({"format": '"swiss"'}, ["'swiss'"]),
    ({"challengers": '"random"'}, ["challengers must be a list"]),
    ({"gamez": "3"}, ["unknown keys ['gamez']"]),
    ({"name": '"my tour"'}, ["'my tour'"]),
    ({"agents": '["random"]'}, ["needs at least two agents"]),
    ({"env_kwargs": "{num_players = 3}"}, ["two-player", "3 players"]),
    ({"out": '"{tmp}/c.toml"'}, ["is a file"]),
    ({"challengers": '["closest_gap"]'}, ["['closest_gap']"]),
    ({"anchor": "3"}, ["anchor", "3"]),
]


@pytest.mark.parametrize(("over", "says"), CONFIG_CASES, ids=[next(iter(c[0])) + str(i) for i, c in
                                                              enumerate(CONFIG_CASES)])
def test_bad_tournament_configs_get_one_line_naming_the_value_and_the_file(over, says, tmp_path, capsys):
    path = _toml(tmp_path, **over)
    rc, err = _run(["tournament", str(path), "--no-progress"], capsys)
    assert rc == 2
    line = _one_error_line(err, "tournament")
    assert str(path) in line or "c.toml" in line
    for s in says:
        assert s in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no database, no output written


def test_toml_syntax_error_names_the_file(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text('name = "b"\nenv = \n')
    rc, err = _run(["tournament", str(path)], capsys)
    assert rc == 2 and f"{path}: TOML syntax error" in _one_error_line(err, "tournament")


@pytest.mark.parametrize(("args", "says"), [
    (["--db", "{tmp}"], ["is a directory"]),
    (["--games", "0"], ["--games must be >= 1, got 0"]),
])
def test_bad_tournament_flags(args, says, tmp_path, capsys):
    path = _toml(tmp_path)
    rc, err = _run(["tournament", str(path), *(a.replace("{tmp}", str(tmp_path)) for a in args)], capsys)
    assert rc == 2
    line = _one_error_line(err, "tournament")
    assert all(s in line for s in says), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_every_tournament_of_a_file_is_checked_before_any_is_played(tmp_path, capsys):
    path = tmp_path / "two.toml"
    path.write_text(f'[[tournament]]\nname = "ok"\nenv = "sixnimmt_v0"\nagents = ["random", "lowest"]\n'
                    f'games_per_pairing = 2\nbootstrap = 0\ndb = "{tmp_path / "db.sqlite"}"\nout = "{tmp_path / "o"}"\n'
                    f'[[tournament]]\nname = "bad"\nenv = "go_v0"\nenv_kwargs = {{board_size = "abc"}}\n'
                    f'agents = ["random", "az_uniform:sims=2"]\ndb = "{tmp_path / "db.sqlite"}"\n')
    rc, err = _run(["tournament", str(path), "--no-progress"], capsys)
    assert rc == 2 and "board_size" in _one_error_line(err, "tournament")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.toml"]


PLAY_CASES = [
    (["go_v0", "random", "random", "--env-kwarg", "board_size=abc"], ["board_size", "'abc'"]),
    (["go_v0", "random", "random", "--env-kwarg", "foo=1"], ["unknown env kwarg 'foo'"]),
    (["go_v0", "random", "random", "--env-kwarg", "komi=abc"], ["komi", "'abc'"]),
    (["sixnimmt_v0", "random", "random", "--env-kwarg", "hand_size=99"], ["hand_size=99"]),
    (["go_v0", "az_uniform:sims=abc", "random"], ["sims must be an integer", "'abc'"]),
    (["go_v0", "az_uniform:sims=0", "random"], ["'az_uniform:sims=0'", "got 0"]),
    (["sixnimmt_v0", "closest_gap:", "random"], ["'closest_gap:'"]),
    (["sixnimmt_v0", "mcs:rollouts=1.5", "random"], ["rollouts must be an integer", "1.5"]),
    (["sixnimmt_v0", "mcs:policy=best", "random"], ["'best'"]),
    (["go_v0", "random:3", "random"], ["too many positional values [3]"]),
    (["go_v0", "az_uniform:sims=2,sims=3", "random"], ["'sims'"]),
    (["go_v0", "az:nope.pt", "random"], ["'az:nope.pt'", "no such file 'nope.pt'"]),
    (["sixnimmt_v0", "reinforce:checkpoints/sixnimmt/alphazero.pt", "random"], ["not a zeroleague policy"]),
    (["go_v0", "az:checkpoints/go9/alphazero.pt", "random", "--env-kwarg", "board_size=7"], ["board_size=9"]),
    (["go_v9", "random", "random"], ["'go_v9'"]),
    (["go_v0", "randm", "random"], ["unknown agent 'randm'"]),
    (["go_v0", "gnugo:level=11", "random"], ["11"]),
    (["go_v0", "random", "random", "--games", "0"], ["--games must be >= 1, got 0"]),
    (["go_v0", "random", "random", "--max-parallel", "0"], ["--max-parallel must be >= 1, got 0"]),
    (["sixnimmt_v0", "random", "random", "--sgf-dir", "{tmp}/sgf"], ["is not Go"]),
    (["go_v0", "random", "random", "--sgf-dir", "{tmp}/file"], ["is a file"]),
    (["go_v0", "random", "random", "--env-kwarg", "max_moves=-1"], ["max_moves", "-1"]),
    (["go_v0", "random", "random", "--env-kwarg", "board_size=9.5"], ["board_size", "9.5"]),
    (["sixnimmt_v0", "random", "random", "--env-kwarg", "num_players=3"], ["two-player games"]),
]


@pytest.mark.parametrize(("args", "says"), PLAY_CASES, ids=[" ".join(c[0][1:4]) for c in PLAY_CASES])
def test_bad_play_input_gets_one_line_naming_the_value(args, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    (tmp_path / "file").write_text("x")
    rc, err = _run(["play", *(a.replace("{tmp}", str(tmp_path)) for a in args)], capsys)
    assert rc == 2
    line = _one_error_line(err, "play")
    assert all(s in line for s in says), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_gtp_refuses_a_komi_that_is_not_a_finite_number(capsys):
    with pytest.raises(SystemExit) as e:
        main(["gtp", "--agent", "random", "--komi", "nan"])
    assert e.value.code == 2 and "expected a finite number, got 'nan'" in capsys.readouterr().err
