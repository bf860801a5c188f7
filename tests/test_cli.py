"""zeroleague.cli: the subcommands, and one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import zeroleague.envs as envs
from zeroleague.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_envs_and_agents(capsys):
    assert main(["envs"]) == 0
    assert capsys.readouterr().out.split() == list(envs.registry)
    assert main(["agents"]) == 0
    names = capsys.readouterr().out.split()
    assert {"random", "closest_gap", "lowest"} <= set(names) and names == sorted(names)


def test_play_a_match(capsys):
    assert main(["play", "sixnimmt_v0", "closest_gap", "random", "--games", "20", "--max-parallel", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("closest_gap vs random on sixnimmt_v0: 20 games")
    assert (
        main(
            [
                "play",
                "tests.toygames:NimGame",
                "toy_nim_optimal",
                "toy_nim_optimal",
                "--games",
                "8",
                "--env-kwarg",
                "min_pile=4",
                "--env-kwarg",
                "max_pile=4",
            ]
        )
        == 0
    )
    assert "+4 =0 -4" in capsys.readouterr().out  # pile 4: the second player wins, seats alternate


def test_play_writes_sgf(tmp_path, capsys):
    assert (
        main(
            [
                "play",
                "go_v0",
                "random",
                "random",
                "--games",
                "2",
                "--env-kwarg",
                "board_size=5",
                "--sgf-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["game_000000.sgf", "game_000001.sgf"]


def test_tournament_prints_the_table_and_where_outputs_are(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        'name = "c"\nenv = "tests.toygames:NimGame"\ngames_per_pairing = 4\nbootstrap = 10\n'
        'agents = ["toy_random", "toy_nim_optimal"]\n'
    )
    assert (
        main(
            [
                "tournament",
                str(cfg),
                "--db",
                str(tmp_path / "db.sqlite"),
                "--out",
                str(tmp_path / "o"),
                "--games",
                "6",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| rank | player | Elo |" in out and "12 played" not in out and "6 played and stored by this run" in out
    assert str(tmp_path / "o" / "c" / "ratings.md") in out and (tmp_path / "o" / "c" / "ratings.png").exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["play", "sixnimmt_v0", "nosuchbot", "random"], "unknown agent 'nosuchbot'"),
        (["play", "nosuchenv_v0", "random", "random"], "unknown env id 'nosuchenv_v0'"),
        (["tournament", "/nonexistent/t.toml"], "no such file"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_unusable_database_is_refused(tmp_path, capsys):
    db = tmp_path / "x.sqlite"
    db.write_bytes(b"not a database at all")
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        f'name = "c"\nenv = "tests.toygames:NimGame"\ndb = "{db}"\n'
        'agents = ["toy_random", "toy_nim_optimal"]\n'
    )
    assert main(["tournament", str(cfg), "--no-progress"]) == 2
    assert "not an SQLite database" in capsys.readouterr().err
    assert db.read_bytes() == b"not a database at all"


def test_gtp_calls_the_server_lazily(monkeypatch):
    import zeroleague.leagues.gtp_server as gtp_server

    calls = []
    monkeypatch.setattr(gtp_server, "serve", lambda spec, **kw: calls.append((spec, kw)))
    assert main(["gtp", "--agent", "random", "--board-size", "9", "--komi", "6.5", "--seed", "3"]) == 0
    assert calls == [("random", {"board_size": 9, "komi": 6.5, "seed": 3, "device": None, "rules": "tromp-taylor"})]


def test_console_module_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "zeroleague", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "tournament" in done.stdout and "gtp" in done.stdout


def test_train_alphazero_subcommand_runs_a_tiny_go_iteration(tmp_path, capsys):
    run = tmp_path / "az"
    argv = ["train", "alphazero", "--env-id", "go_v0", "--env-kwargs", '{"board_size": 5}', "--run-dir", str(run),
            "--iterations", "1", "--games-per-iteration", "2", "--parallel-games", "2", "--sims", "4",
            "--blocks", "1", "--channels", "8", "--train-steps", "2", "--batch-size", "8"]
    assert main(argv) == 0
    result = json.loads((run / "result.json").read_text())
    assert result["iterations"] == 1 and result["step"] > 0
