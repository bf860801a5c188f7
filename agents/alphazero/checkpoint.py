"""AlphaZero checkpoints: one file (``torch.save`` of a plain dict) holding everything needed to rebuild and
check a network: ``format`` (``FORMAT``), ``version`` (``VERSION``), ``net_config`` (``NetConfig`` fields),
``state_dict``, ``env_id``, ``env_kwargs`` and ``step`` (training steps taken), plus an optional ``extra``
dict of plain values (``extra["search"]``: the recommended search settings, ``Checkpoint.search``).

``load_checkpoint`` reads with ``torch.load(weights_only=True)`` (no code execution from the file) and
refuses, with a message naming what differs, a file that is not such a checkpoint, a newer format version,
weights that do not fit the config, or a game/board size other than the expected one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

from zeroleague.agents.alphazero.network import NetConfig, build_network

FORMAT = "zeroleague-alphazero-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that cannot be used as the requested checkpoint (corrupt, foreign, or for another game)."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint. ``model()`` builds the network with the weights, in eval mode, on the CPU."""

    net_config: NetConfig
    state_dict: dict[str, torch.Tensor]
    env_id: str
    env_kwargs: dict[str, Any]
    step: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def search(self) -> dict[str, Any]:
        """The recommended search settings stored with the network (``extra["search"]``: ``az`` spec
        parameter -> value, e.g. ``{"sims": 200, "joint_selection": "puct"}``; empty for checkpoints saved
        without them). ``zeroleague.agents.alphazero.agent.make_az`` plays with them unless a spec overrides."""
        return dict(self.extra.get("search", {}))

    def model(self) -> nn.Module:
        net = build_network(self.net_config)
        net.load_state_dict(self.state_dict)
        return net.eval()


def save_checkpoint(path: str | os.PathLike, model: nn.Module, net_config: NetConfig, env_id: str,
                    env_kwargs: dict[str, Any], step: int, extra: dict[str, Any] | None = None) -> None:
    """Write ``model``'s weights with their config and the game they are for to ``path`` (atomically: a
    temporary file renamed into place, so a crash never leaves a half-written checkpoint)."""
    blob = {
        "format": FORMAT,
        "version": VERSION,
        "net_config": asdict(net_config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "env_id": str(env_id),
        "env_kwargs": dict(env_kwargs),
        "step": int(step),
        "extra": dict(extra or {}),
    }
    tmp = f"{os.fspath(path)}.tmp"
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, expect_env_id: str | None = None,
                    expect_env_kwargs: dict[str, Any] | None = None) -> Checkpoint:
    """Read and check a checkpoint. ``expect_env_id``: the game it must be for; ``expect_env_kwargs``: values
    it must have been trained with (only the keys given are compared, e.g. ``{"board_size": 9}``; a key the
    checkpoint lacks counts as a mismatch; a ``board_size`` among the checkpoint's co-trained ``board_sizes``
    matches). Raises ``CheckpointError`` naming the file and what differs."""
    path = os.fspath(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # torch raises many kinds (pickle, zip, unpickler) for corrupt files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a zeroleague AlphaZero checkpoint (no format tag {FORMAT!r})")
    if not isinstance(blob.get("version"), int) or blob["version"] > VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {blob.get('version')!r}; this code reads "
                              f"versions up to {VERSION}")
    missing = [k for k in ("net_config", "state_dict", "env_id", "env_kwargs", "step") if k not in blob]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    known = {f.name for f in fields(NetConfig)}
    unknown = set(blob["net_config"]) - known
    if unknown:
        raise CheckpointError(f"{path}: unknown network config fields {sorted(unknown)}")
    try:
        cfg = NetConfig(**blob["net_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad network config: {e}") from e
    if expect_env_id is not None and blob["env_id"] != expect_env_id:
        raise CheckpointError(f"{path}: trained for env {blob['env_id']!r}, not {expect_env_id!r}")
    for k, v in (expect_env_kwargs or {}).items():
        have = blob["env_kwargs"].get(k, "<missing>")
        if k == "board_size" and v in blob["env_kwargs"].get("board_sizes", ()):
            continue  # a co-trained (size-agnostic) network plays every size it was trained on
        if have != v:
            raise CheckpointError(f"{path}: trained with {k}={have!r}, not {k}={v!r} "
                                  f"(checkpoint env kwargs: {blob['env_kwargs']})")
    search = blob.get("extra", {}).get("search", {})
    if not isinstance(search, dict) or not all(isinstance(k, str) for k in search):
        raise CheckpointError(f"{path}: stored search settings must be a dict of names, got {search!r}")
    ckpt = Checkpoint(net_config=cfg, state_dict=blob["state_dict"], env_id=blob["env_id"],
                      env_kwargs=dict(blob["env_kwargs"]), step=int(blob["step"]),
                      extra=dict(blob.get("extra", {})))
    try:
        ckpt.model()
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the network config: {e}") from e
    return ckpt


def store_search_settings(path: str | os.PathLike, settings: dict[str, Any]) -> None:
    """Rewrite the checkpoint at ``path`` with ``settings`` as its recommended search settings
    (``Checkpoint.search``; replacing any stored before), the weights and everything else unchanged."""
    ckpt = load_checkpoint(path)
    extra = {**ckpt.extra, "search": dict(settings)}
    save_checkpoint(path, ckpt.model(), ckpt.net_config, ckpt.env_id, ckpt.env_kwargs, ckpt.step, extra)
