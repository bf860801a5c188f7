"""Match batches and the backends that play them: the harness layer's way to play many matches in chunks, in this
process (``LocalBackend``) or on a Ray cluster (``zeroleague.leagues.ray_backend.RayBackend``, imported only when
asked for). Tournaments, leagues, exploitability estimates and AlphaZero's distributed self-play all use it.

A match (spec_a, spec_b, seed) of ``num_games`` games is cut into chunks (``chunk_jobs``): game i belongs to chunk
``i // chunk_size``; every chunk builds its own agents seeded ``agent_seed(seed, spec)``, and every agent keys its
draws by (seed, game, seat, decision index) (``zeroleague.agents.base.DecisionKeys``), so a game is the same
whatever the backend, the chunk size, the batch size or a resume, and the same as game i of ``zeroleague play``
with that seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from zeroleague.agents.registry import make_agent
from zeroleague.envs.registry import make_env_game
from zeroleague.leagues.harness import GameRecord, play_match


def derived_seed(*parts: int | str) -> int:
    """A 62-bit seed from integers and strings (strings by CRC-32), stable across runs and machines."""
    ints = [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(1, dtype=np.uint64)[0] >> 2)


def agent_seed(seed: int, spec: str) -> int:
    """The seed of the agent ``spec`` in a match seeded ``seed`` (stable across runs; the two seats of a game
    still draw differently, since every draw is keyed by the seat too)."""
    return int(np.random.SeedSequence([seed, zlib.crc32(spec.encode())]).generate_state(1)[0] >> 2)


@dataclass(frozen=True)
class ChunkJob:
    """Games ``indices`` (all in chunk number ``chunk``) of the match (spec_a, spec_b, seed) on env
    ``env_id``: one unit of work of a backend. Its agents are built for this chunk alone, seeded
    ``agent_seed(seed, spec)``."""

    env_id: str
    env_kwargs: dict[str, Any]
    spec_a: str
    spec_b: str
    num_games: int
    seed: int
    indices: tuple[int, ...]
    chunk: int
    device: str | None = "cpu"
    max_parallel: int = 256


def play_chunk(job: ChunkJob) -> list[GameRecord]:
    """Play one chunk through the harness (in whatever process runs it) and return its game records."""
    game = make_env_game(job.env_id, job.env_kwargs)
    a = make_agent(job.spec_a, game, seed=agent_seed(job.seed, job.spec_a), device=job.device)
    b = make_agent(job.spec_b, game, seed=agent_seed(job.seed, job.spec_b), device=job.device)
    try:
        return play_match(game, a, b, job.num_games, job.seed, indices=job.indices,
                          max_parallel=job.max_parallel).records
    finally:
        a.close()
        b.close()


def chunk_jobs(
    env_id: str,
    env_kwargs: dict[str, Any],
    spec_a: str,
    spec_b: str,
    num_games: int,
    seed: int,
    chunk_size: int,
    todo: Iterable[int] | None = None,
    device: str | None = "cpu",
    max_parallel: int = 256,
) -> list[ChunkJob]:
    """The chunks of games ``todo`` (default all) of a match: game i belongs to chunk ``i // chunk_size``, so
    a chunk's deals, seats and agent seeds are the same however much of the match was already played."""
    todo = sorted(set(range(num_games) if todo is None else todo))
    by_chunk: dict[int, list[int]] = {}
    for i in todo:
        by_chunk.setdefault(i // chunk_size, []).append(i)
    return [
        ChunkJob(env_id, dict(env_kwargs), spec_a, spec_b, num_games, seed, tuple(ix), c, device, max_parallel)
        for c, ix in sorted(by_chunk.items())
    ]


class Backend(Protocol):
    """Runs chunk jobs and yields each job's records as it finishes (any order)."""

    def run(self, jobs: Sequence[ChunkJob]) -> Iterator[list[GameRecord]]: ...


class LocalBackend:
    """Every chunk in this process, one after another."""

    def run(self, jobs: Sequence[ChunkJob]) -> Iterator[list[GameRecord]]:
        for job in jobs:
            yield play_chunk(job)


def make_backend(name: str, address: str | None = None, num_cpus: int | None = None) -> Backend:
    """``"local"`` or ``"ray"`` (``zeroleague.leagues.ray_backend``, imported only here; needs the ``ray`` extra) on the
    cluster at ``address`` or a local instance of ``num_cpus`` CPUs."""
    if name == "local":
        if address is not None or num_cpus is not None:
            raise ValueError("address and num_cpus are settings of the ray backend, not of 'local'")
        return LocalBackend()
    if name == "ray":
        from zeroleague.leagues.ray_backend import RayBackend

        return RayBackend(address=address, num_cpus=num_cpus)
    raise ValueError(f"unknown backend {name!r} (expected 'local' or 'ray')")


def symmetric_payoff(records: Sequence[GameRecord]) -> tuple[float, float]:
    """agent_a's mean payoff per game, half its return minus agent_b's, and the 95% half-width."""
    x = np.array([(r.returns[r.seat_a] - r.returns[1 - r.seat_a]) / 2 for r in records])
    if len(x) == 0:
        raise ValueError("no games to score")
    return float(x.mean()), float(1.96 * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("inf")


def harness_payoff(game: Any, spec_a: str, spec_b: str, num_games: int, seed: int) -> tuple[float, float]:
    """``symmetric_payoff`` of ``num_games`` harness games of spec_a against spec_b (agents built in this
    process with seeds derived from ``seed``)."""
    a = make_agent(spec_a, game, seed=derived_seed(seed, 0), device="cpu")
    b = make_agent(spec_b, game, seed=derived_seed(seed, 1), device="cpu")
    try:
        return symmetric_payoff(play_match(game, a, b, num_games, seed).records)
    finally:
        a.close()
        b.close()
