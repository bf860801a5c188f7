"""The Ray backend plays the same games as the local one for the same seeds (skipped without ray)."""

from dataclasses import replace

import pytest

ray = pytest.importorskip("ray")

from leagues.psro import LocalBackend, PSROConfig, chunk_jobs, run_psro  # noqa: E402
from leagues.ray_backend import RayBackend  # noqa: E402


def _strip(records):
    """Records sorted by game, without the wall-clock times."""
    return [
        {k: v for k, v in r.to_dict().items() if k not in ("time_a", "time_b")}
        for r in sorted(records, key=lambda r: r.index)
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
