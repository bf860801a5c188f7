"""AlphaZero self-play in chunks, played in this process or as Ray tasks, with the same samples either way.

``chunked_self_play`` splits ``num_games`` self-play games into chunks of ``chunk_games`` (the last one may be
smaller). Chunk ``c`` is one ``SelfPlayJob``: wherever it runs, ``play_selfplay_chunk`` rebuilds the game
(``zeroleague.envs.registry.make_env_game``) and the network (``build_network(net_config)`` with the given weights)
on the CPU with ``threads`` torch threads, and calls ``zeroleague.agents.alphazero.selfplay.self_play`` for its games
with the seed ``leagues.backends.derived_seed(seed, c)``. The chunks' ``SelfPlayData`` are merged in chunk order
(samples concatenated, counts summed), so the result depends on the seed, the chunking (``chunk_games``,
``parallel``) and ``threads`` — never on the backend, the workers or the order in which chunks finish.

Backends: ``backend=None`` plays the chunks here, one after another; a ``zeroleague.leagues.ray_backend.RayBackend``
plays each as a Ray task reserving ``threads`` CPUs, with the weights put in Ray's object store once per call.
Ray is never imported here (only the caller who builds a ``RayBackend`` needs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from zeroleague.agents.alphazero.network import NetConfig, build_network
from zeroleague.agents.alphazero.selfplay import SelfPlayData, self_play
from zeroleague.agents.alphazero.tree import MCTSConfig
from zeroleague.agents.evaluator import Evaluator

if TYPE_CHECKING:
    from zeroleague.leagues.ray_backend import RayBackend

_SAMPLE_FIELDS = ("obs", "policy", "value", "policy_weight")


@dataclass(frozen=True)
class SelfPlayJob:
    """Chunk ``chunk`` of a chunked self-play run: ``num_games`` games seeded ``seed`` (already derived from
    the run's seed and ``chunk``) on env ``env`` (a registered id or ``"package.module:factory"``) with
    ``env_kwargs``; the rest are ``self_play``'s settings, and ``threads`` torch CPU threads."""

    env: str
    env_kwargs: dict[str, Any]
    net_config: NetConfig
    mcts_config: MCTSConfig
    num_games: int
    seed: int
    chunk: int
    parallel: int
    temperature_moves: int
    resign_threshold: float | None
    no_resign_frac: float
    threads: int


def play_selfplay_chunk(job: SelfPlayJob, state_dict: Mapping[str, torch.Tensor]) -> tuple[SelfPlayData, int]:
    """Play one chunk on the CPU (in whatever process runs it); returns its data and the number of positions
    the network evaluated. The process's torch thread count is restored afterwards."""
    from zeroleague.envs.registry import make_env_game

    game = make_env_game(job.env, job.env_kwargs)
    model = build_network(job.net_config)
    model.load_state_dict(state_dict)
    evaluator = Evaluator(model, "cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(job.threads)
    try:
        data = self_play(game, evaluator.evaluate, job.mcts_config, job.num_games, job.seed,
                         parallel=job.parallel, temperature_moves=job.temperature_moves,
                         resign_threshold=job.resign_threshold, no_resign_frac=job.no_resign_frac)
    finally:
        torch.set_num_threads(threads)
    return data, evaluator.samples


def merge_self_play(parts: list[SelfPlayData]) -> SelfPlayData:
    """One ``SelfPlayData`` of ``parts`` in order: samples concatenated, every count summed."""
    if not parts:
        raise ValueError("no self-play data to merge")
    merged = {k: np.concatenate([getattr(p, k) for p in parts]) for k in _SAMPLE_FIELDS}
    counts = {f.name: sum(getattr(p, f.name) for p in parts) for f in fields(SelfPlayData)
              if f.name not in _SAMPLE_FIELDS}
    return SelfPlayData(**merged, **counts)


def chunked_self_play(env: str, env_kwargs: Mapping[str, Any], net_config: NetConfig,
                      state_dict: Mapping[str, torch.Tensor], mcts_config: MCTSConfig, num_games: int, seed: int,
                      *, chunk_games: int = 64, parallel: int = 64, temperature_moves: int = 15,
                      resign_threshold: float | None = None, no_resign_frac: float = 0.1, threads: int = 1,
                      backend: RayBackend | None = None) -> tuple[SelfPlayData, int]:
    """``num_games`` self-play games of the network ``(net_config, state_dict)`` in chunks (module
    docstring); returns the merged data and the positions evaluated by the network over all chunks.

    ``backend``: None plays here, a ``RayBackend`` as Ray tasks — the same result. A ValueError names a
    ``num_games``, ``chunk_games``, ``parallel`` or ``threads`` below 1."""
    from zeroleague.leagues.backends import derived_seed

    for name, value in (("num_games", num_games), ("chunk_games", chunk_games), ("parallel", parallel),
                        ("threads", threads)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    weights = {k: v.detach().to("cpu") for k, v in state_dict.items()}
    jobs = [SelfPlayJob(env, dict(env_kwargs), net_config, mcts_config, min(chunk_games, num_games - start),
                        derived_seed(seed, c), c, parallel, temperature_moves, resign_threshold, no_resign_frac,
                        threads)
            for c, start in enumerate(range(0, num_games, chunk_games))]
    if backend is None:
        results = [play_selfplay_chunk(job, weights) for job in jobs]
    else:
        results = [None] * len(jobs)
        for k, result in backend.map(play_selfplay_chunk, jobs, weights, num_cpus=threads):
            results[k] = result
    return merge_self_play([data for data, _ in results]), sum(n for _, n in results)
