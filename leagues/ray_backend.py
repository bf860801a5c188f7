"""Ray backend for match batches and self-play chunks (the optional extra ``zeroleague[ray]``; nothing else
imports Ray).

``RayBackend(address=None, num_cpus=None)`` runs each ``leagues.backends.ChunkJob`` (a league's payoff games, a
tournament's games) as one Ray task calling ``leagues.backends.play_chunk`` in a worker process and yields the
chunks' game records to the driver as they finish; the driver alone writes them to the SQLite store (the
single writer). Each chunk builds its agents from seeds derived from the match seed and the chunk number, so
the records are those the ``LocalBackend`` gives for the same seeds, whatever worker plays which chunk and in
whatever order they finish. ``map`` runs any picklable function over jobs the same way (AlphaZero self-play
chunks: ``zeroleague.agents.alphazero.distributed``).

``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``, ...); None starts a local instance with
``num_cpus`` CPUs (None: all of this machine's). If Ray is already initialized in this process the backend
uses that instance and ignores both. Workers import the project from the driver's working directory (added to
their ``PYTHONPATH``), so a cluster's nodes need the same checkout there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from zeroleague.leagues.backends import ChunkJob, play_chunk
from zeroleague.leagues.harness import GameRecord

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)

T = TypeVar("T")


def _import_ray():
    try:
        import ray
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "the Ray backend needs the optional dependency ray: pip install 'zeroleague[ray]'"
        ) from e
    return ray


class RayBackend:
    """Jobs as Ray tasks (see the module docstring). ``close()`` shuts down a Ray instance this object
    started. A ValueError for ``num_cpus`` < 1, or ``num_cpus`` together with an ``address``."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        if num_cpus is not None and (address is not None or num_cpus < 1):
            raise ValueError(
                f"num_cpus sizes a new local Ray instance: it must be >= 1 and given without an address, "
                f"got num_cpus={num_cpus!r}, address={address!r}"
            )
        ray = _import_ray()
        self._ray = ray
        self._started = False
        self._remote: dict[Callable, Any] = {}
        if not ray.is_initialized():
            path = os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(
                address=address,
                num_cpus=num_cpus,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
                include_dashboard=False,
                log_to_driver=False,
            )
            self._started = True

    def map(
        self, fn: Callable[..., T], jobs: Sequence[Any], *shared: Any, num_cpus: float = 1
    ) -> Iterator[tuple[int, T]]:
        """``fn(job, *shared)`` for every job, each as a Ray task reserving ``num_cpus`` CPUs; the ``shared``
        arguments (e.g. network weights) go to the object store once, not into every task. Yields ``(k,
        result)`` as each task completes, ``k`` the job's position in ``jobs``. A task's exception is raised
        here (as Ray's error type, which subclasses the task's)."""
        if fn not in self._remote:
            self._remote[fn] = self._ray.remote(fn)
        task = self._remote[fn].options(num_cpus=num_cpus)
        refs = [self._ray.put(x) for x in shared]
        pending = {task.remote(job, *refs): k for k, job in enumerate(jobs)}
        while pending:
            done, _ = self._ray.wait(list(pending), num_returns=1)
            yield pending.pop(done[0]), self._ray.get(done[0])

    def run(self, jobs: Sequence[ChunkJob]) -> Iterator[list[GameRecord]]:
        """Submit every job, then yield each one's records as it completes (``zeroleague.leagues.backends.Backend``)."""
        for _, records in self.map(play_chunk, jobs):
            yield records

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
