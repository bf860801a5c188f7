"""The CLI's one way of passing env kwargs (``--env-kwarg``, aliases ``--env-kwargs JSON`` / ``--env-id``) in
``play`` and ``train reinforce|ppo|alphazero``, and the progress bars with ``--quiet`` (issue #18 item 6)."""

from __future__ import annotations

import json

import pytest
import torch

from zeroleague.cli import build_parser, main
from zeroleague.runlog import RunLogger, on_log
from zeroleague.train_cli import build_config, progress


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_play_takes_env_kwargs_both_ways_and_shows_a_progress_bar(capsys):
    argv = ["play", "sixnimmt_tactical_v0", "random", "lowest", "--games", "6", "--env-kwargs", '{"hand_size": 4}',
            "--env-kwarg", "row_choice=auto"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "6/6" in err and "random vs lowest" in err and "games" in out
    assert main([*argv, "--quiet"]) == 0
    out_quiet, err = capsys.readouterr()
    assert "6/6" not in err and out_quiet == out  # the same games, without the bar
    assert main(["play", "sixnimmt_tactical_v0", "random", "lowest", "--games", "2", "--env-kwargs",
                 '{"hand_size": 4}', "--env-kwarg", "hand_size=5", "--quiet"]) == 2  # fmt: skip
    assert "env kwarg 'hand_size' given twice: 4 (--env-kwargs) and 5 (--env-kwarg)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["play", "sixnimmt_v0", "random", "random", "--env-kwargs", "[1, 2]"])
    assert "expects a JSON object" in capsys.readouterr().err


def test_train_env_spellings_give_the_same_config():
    parser = build_parser()
    common = ["--opponent", "random", "--steps", "100", "--out", "x"]
    new = parser.parse_args(["train", "ppo", "--env", "go_v0", "--env-kwarg", "board_size=9", "--env-kwarg",
                             "komi=0.5", *common])  # fmt: skip
    old = parser.parse_args(["train", "ppo", "--env-id", "go_v0", "--env-kwargs", '{"board_size": 9, "komi": 0.5}',
                             *common])  # fmt: skip
    mixed = parser.parse_args(["train", "reinforce", "--env", "go_v0", "--env-kwargs", '{"board_size": 9}',
                               "--env-kwarg", "komi=0.5", *common])  # fmt: skip
    assert build_config(new) == build_config(old)
    assert build_config(new).env_kwargs == build_config(mixed).env_kwargs == {"board_size": 9, "komi": 0.5}


def test_train_alphazero_accepts_env_and_env_kwarg(monkeypatch):
    import zeroleague.agents.alphazero.train as az_train

    seen = []
    monkeypatch.setattr(az_train, "train", lambda cfg: seen.append(cfg))
    assert main(["train", "alphazero", "--env", "go_v0", "--env-kwarg", "board_size=5", "--iterations", "1"]) == 0
    assert main(["train", "alphazero", "--env-id", "go_v0", "--env-kwargs", '{"board_size": 5, "komi": 7.5}',
                 "--iterations", "1"]) == 0  # fmt: skip
    assert seen[0].env_id == seen[1].env_id == "go_v0"
    assert seen[0].env_kwargs == seen[1].env_kwargs == {"board_size": 5, "komi": 7.5}  # komi: the default's


def test_train_ppo_progress_bar_follows_the_run(tmp_path, capsys):
    argv = ["train", "ppo", "--env", "sixnimmt_tactical_v0", "--env-kwarg", "hand_size=4", "--opponent", "random",
            "--steps", "256", "--out", str(tmp_path / "run"), "--set", "num_envs=2", "--set", "n_steps=64",
            "--set", "batch_size=64", "--set", "n_epochs=1", "--set", 'net_config={"kind": "mlp", "hidden": [8]}',
            "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "train ppo" in err and "256/256" in err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["steps"] == 256
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["env_kwargs"] == {"hand_size": 4}


def test_progress_adds_up_consecutive_runs_and_quiet_shows_nothing(tmp_path, capsys):
    with progress(None, "league", quiet=False) as bar:
        for run in ("a", "b"):
            log = RunLogger(tmp_path / run, {})
            for step in (10, 20, 30):
                log.log(step, {"learner_mean_return": 1.0})
            log.close()
        assert bar.n == 60
    assert "league" in capsys.readouterr().err
    with progress(10, "quiet", quiet=True) as bar:
        assert bar is None
    assert capsys.readouterr().err == ""
    seen = []
    with on_log(lambda step, metrics: seen.append(step)):
        log = RunLogger(tmp_path / "c", {})
        log.log(5, {})
        log.close()
    log = RunLogger(tmp_path / "d", {})
    log.log(6, {})  # outside the block: not followed
    log.close()
    assert seen == [5]
