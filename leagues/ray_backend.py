"""Ray backend for match batches (the optional extra ``zeroleague[ray]``; nothing else imports Ray).

``RayBackend(address=None, num_cpus=None)`` runs each ``leagues.psro.ChunkJob`` as one Ray task calling
``leagues.psro.play_chunk`` in a worker process and yields the chunks' game records to the driver as they
finish; the driver alone writes them to the SQLite store (the single writer). Each chunk builds its agents
from seeds derived from the match seed and the chunk number, so the records are those the ``LocalBackend``
gives for the same seeds, whatever worker plays which chunk and in whatever order they finish.

``address``: an existing cluster (``"auto"``, ``"ray://host:10001"``, ...); None starts (or joins) a local
instance with ``num_cpus`` CPUs. Workers import the project from the driver's working directory (added to
their ``PYTHONPATH``), so a cluster's nodes need the same checkout there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from leagues.harness import GameRecord
from leagues.psro import ChunkJob, play_chunk

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)


def _import_ray():
    try:
        import ray
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "the Ray backend needs the optional dependency ray: pip install 'zeroleague[ray]'"
        ) from e
    return ray


class RayBackend:
    """Chunk jobs as Ray tasks (see the module docstring). ``close()`` shuts down a Ray instance this object
    started."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        ray = _import_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            path = os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
                include_dashboard=False,
                log_to_driver=False,
            )
            self._started = True
        self._task = ray.remote(play_chunk)

    def run(self, jobs: Sequence[ChunkJob]) -> Iterator[list[GameRecord]]:
        """Submit every job, then yield each one's records as it completes."""
        pending = [self._task.remote(job) for job in jobs]
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            yield self._ray.get(done[0])

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
