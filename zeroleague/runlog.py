"""Run directories and compute accounting shared by every training loop (AlphaZero, REINFORCE, PPO, leagues): a
neutral module that imports nothing of the project, so learning code of any folder can use it.

``RunLogger``: ``config.json`` (config + git commit), ``metrics.jsonl``, TensorBoard under ``tb/``.
``ComputeMeter``: env steps, forward/backward samples, wall-clock seconds and the device of a run.
``on_log(fn)``: a context manager under which every ``RunLogger.log(step, metrics)`` also calls
``fn(step, metrics)`` (the CLI's progress bars follow training runs this way).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_LOG_HOOKS: list[Callable[[int, dict[str, Any]], None]] = []


@contextmanager
def on_log(fn: Callable[[int, dict[str, Any]], None]) -> Iterator[None]:
    """Within the block, every ``RunLogger.log(step, metrics)`` of this process also calls ``fn``."""
    _LOG_HOOKS.append(fn)
    try:
        yield
    finally:
        _LOG_HOOKS.remove(fn)


@dataclass
class ComputeMeter:
    """Compute spent by a training run: env transitions (every seat's moves), network samples in forward
    passes (acting and training) and in backward passes, wall-clock seconds since creation, and the device."""

    device: str
    env_steps: int = 0
    forward_samples: int = 0
    backward_samples: int = 0
    start: float = field(default_factory=time.perf_counter)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["start"]
        d["wall_s"] = round(time.perf_counter() - self.start, 3)
        return d


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class RunLogger:
    """A run directory: ``config.json`` (the config plus the git commit), ``metrics.jsonl`` (one JSON object
    per ``log`` call) and TensorBoard event files under ``tb/``."""

    def __init__(self, run_dir: str | Path, config: dict[str, Any]):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(
            json.dumps({**config, "git_commit": _git_commit()}, indent=2, sort_keys=True) + "\n"
        )
        self._jsonl = open(self.run_dir / "metrics.jsonl", "a")  # noqa: SIM115 - closed in close()
        self._tb = SummaryWriter(str(self.run_dir / "tb"))

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """One line ``{"step": step, **metrics}``; numeric values also go to TensorBoard."""
        self._jsonl.write(json.dumps({"step": int(step), **metrics}, sort_keys=True) + "\n")
        self._jsonl.flush()
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self._tb.add_scalar(k, v, int(step))
        self._tb.flush()
        for hook in list(_LOG_HOOKS):
            hook(int(step), metrics)

    def close(self) -> None:
        self._jsonl.close()
        self._tb.close()
