"""The Ray backend plays the same games as the local one for the same seeds: league payoffs, tournaments
(records and ratings, fresh and resumed, through the command line too) and chunked AlphaZero self-play. One
local 2-CPU Ray instance serves the module (skipped without ray)."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

from zeroleague.agents.alphazero.distributed import chunked_self_play  # noqa: E402
from zeroleague.agents.alphazero.network import NetConfig, build_network  # noqa: E402
from zeroleague.agents.alphazero.tree import MCTSConfig  # noqa: E402
from zeroleague.cli import main  # noqa: E402
from zeroleague.leagues.backends import LocalBackend, chunk_jobs  # noqa: E402
from zeroleague.leagues.psro import PSROConfig, run_psro  # noqa: E402
from zeroleague.leagues.ray_backend import RayBackend  # noqa: E402
from zeroleague.leagues.store import ResultStore  # noqa: E402
from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, run_tournament  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _strip(records):
    """Records sorted by pairing and game, without the wall-clock times."""
    return [
        {k: v for k, v in r.to_dict().items() if k not in ("time_a", "time_b")}
        for r in sorted(records, key=lambda r: (r.agent_a, r.agent_b, r.index))
    ]


@pytest.fixture(scope="module")
def backend():
    b = RayBackend(num_cpus=2)
    yield b
    b.close()


def test_ray_chunks_equal_local_chunks(backend):
    # stochastic agents on both sides: equal records need the per-chunk seeding, not luck
    jobs = chunk_jobs("sixnimmt_v0", {"hand_size": 5}, "random", "closest_gap", 30, seed=11, chunk_size=7)
    local = [r for recs in LocalBackend().run(jobs) for r in recs]
    remote = [r for recs in backend.run(jobs) for r in recs]
    assert len(remote) == 30 and _strip(remote) == _strip(local)


def test_league_payoffs_equal_across_backends(backend, tmp_path):
    cfg = PSROConfig(
        name="r",
        initial=("random", "lowest", "closest_gap"),
        iterations=0,
        games_per_pairing=16,
        chunk_size=5,
        env_id="sixnimmt_v0",
        env_kwargs={"hand_size": 4},
    )
    local = run_psro(cfg, tmp_path / "local")
    remote = run_psro(replace(cfg, backend="ray"), tmp_path / "ray")  # joins the running local instance
    assert remote.payoffs == local.payoffs


def _tournament(tmp_path, where: str, games: int) -> TournamentConfig:
    return TournamentConfig(
        name="six",
        env="sixnimmt_v0",
        env_kwargs={"hand_size": 4},
        agents=(AgentEntry("random"), AgentEntry("lowest"), AgentEntry("closest_gap")),
        games_per_pairing=games,
        max_parallel=3,  # chunks of 3 games: several per pairing
        seed=5,
        db=str(tmp_path / f"{where}.sqlite"),
        out=str(tmp_path / where),
        anchor="random",
        bootstrap=30,
    )


def _stored(cfg: TournamentConfig):
    with ResultStore(cfg.db) as store:
        return _strip(store.games(cfg.name))


def test_tournament_records_and_ratings_equal_across_backends(backend, tmp_path):
    quiet = dict(progress=False, log=lambda m: None)
    local = run_tournament(_tournament(tmp_path, "local", 8), **quiet)
    remote = run_tournament(_tournament(tmp_path, "ray", 8), backend=backend, **quiet)
    assert local.games_played == remote.games_played == 24
    assert _stored(_tournament(tmp_path, "ray", 8)) == _stored(_tournament(tmp_path, "local", 8))
    assert remote.ratings.players == local.ratings.players
    for k in ("elo", "lo", "hi", "points", "counts"):
        np.testing.assert_array_equal(getattr(remote.ratings, k), getattr(local.ratings, k))
    # resumed: 4 games per pairing stored, extended to 10 on either backend (chunk 1 is finished in part)
    for where, b in (("local_r", None), ("ray_r", backend)):
        run_tournament(_tournament(tmp_path, where, 4), backend=b, **quiet)
        assert run_tournament(_tournament(tmp_path, where, 10), backend=b, **quiet).games_played == 18
    assert _stored(_tournament(tmp_path, "ray_r", 10)) == _stored(_tournament(tmp_path, "local_r", 10))
    assert len(_stored(_tournament(tmp_path, "ray_r", 10))) == 30


def test_cli_tournament_on_ray(backend, tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        'name = "c"\nenv = "sixnimmt_v0"\nenv_kwargs = {hand_size = 3}\ngames_per_pairing = 4\nmax_parallel = 2\n'
        'bootstrap = 10\nagents = ["random", "lowest"]\n'
    )
    argv = ["tournament", str(cfg), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*argv, "--db", str(tmp_path / "ray.sqlite"), "--backend", "ray"]) == 0
    assert "4 played and stored by this run" in capsys.readouterr().out
    assert ray.is_initialized()  # the command joined the module's instance and left it running
    assert main([*argv, "--db", str(tmp_path / "local.sqlite")]) == 0
    with ResultStore(tmp_path / "ray.sqlite") as a, ResultStore(tmp_path / "local.sqlite") as b:
        assert _strip(a.games("c")) == _strip(b.games("c"))


@pytest.mark.parametrize(
    "flags, match",
    [(["--num-cpus", "2"], "--address and --num-cpus are for --backend ray"),
     (["--backend", "ray", "--address", "auto", "--num-cpus", "2"], "num_cpus sizes a new local Ray instance")],
)
def test_cli_backend_flags_are_checked(flags, match, tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text('name = "c"\nenv = "sixnimmt_v0"\nagents = ["random", "lowest"]\n')
    assert main(["tournament", str(cfg), "--db", str(tmp_path / "x.sqlite"), *flags]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists()


@pytest.mark.parametrize(
    "env, env_kwargs",
    [("tests.toygames:NimGame", {"min_pile": 4, "max_pile": 12}),
     ("zeroleague.envs.sixnimmt.engine:SixNimmtGame", {"max_card": 10, "hand_size": 3})],
)
def test_chunked_self_play_equals_local(backend, env, env_kwargs):
    from zeroleague.envs.registry import make_env_game

    game = make_env_game(env, env_kwargs)
    net = NetConfig(kind="mlp", obs_dim=int(np.prod(game.obs_shape)), num_actions=game.num_actions, blocks=1,
                    channels=16)
    torch.manual_seed(3)
    weights = build_network(net).state_dict()
    args = (env, env_kwargs, net, weights, MCTSConfig(num_simulations=8), 7, 13)
    kw = dict(chunk_games=3, parallel=2, temperature_moves=2, resign_threshold=0.1, no_resign_frac=0.5)
    local, local_evals = chunked_self_play(*args, **kw)
    remote, remote_evals = chunked_self_play(*args, **kw, backend=backend)
    for k in ("obs", "policy", "value"):
        np.testing.assert_array_equal(getattr(remote, k), getattr(local, k))
    counts = ("games", "moves", "resigned", "no_resign_games", "would_resign", "false_resign")
    assert [getattr(remote, k) for k in counts] == [getattr(local, k) for k in counts]
    assert remote.games == 7 and remote_evals == local_evals > 0


def test_the_core_never_imports_ray(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('name = "c"\nenv = "sixnimmt_v0"\ngames_per_pairing = 2\nbootstrap = 5\n'
                   'agents = ["random", "lowest"]\n')
    code = (
        "import sys, zeroleague.envs, zeroleague.agents, zeroleague.leagues, zeroleague.leagues.psro\n"
        "import zeroleague.agents.alphazero.distributed\n"
        "from zeroleague.cli import main\n"
        f"assert main(['tournament', {str(cfg)!r}, '--db', {str(tmp_path / 'db.sqlite')!r}, "
        f"'--out', {str(tmp_path)!r}, '--no-progress']) == 0\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_training_with_ray_self_play_workers_equals_local_chunks(backend, tmp_path):
    from zeroleague.agents.alphazero.train import TrainConfig, train

    cfg = TrainConfig(env_id="sixnimmt_v0", env_kwargs={}, iterations=1, games_per_iteration=6, parallel_games=3,
                      sims=4, channels=8, batch_size=16, train_steps=2, resign_threshold=None, value_scale=10.0,
                      device="cpu", selfplay_chunk=3, threads=1)
    results = {}
    for name in ("local", "ray"):
        run = tmp_path / name
        res = train(replace(cfg, run_dir=str(run), backend=name))
        shard = np.load(run / "replay" / "shard_000000.npz")
        results[name] = ({k: shard[k] for k in ("obs", "policy", "value")}, res["compute"])
    for k in ("obs", "policy", "value"):
        np.testing.assert_array_equal(results["local"][0][k], results["ray"][0][k])
    for k in ("env_steps", "forward_samples", "backward_samples"):
        assert results["local"][1][k] == results["ray"][1][k] > 0
    with pytest.raises(ValueError, match="selfplay_chunk"):
        replace(cfg, selfplay_chunk=0, backend="ray")
