"""AlphaZero: batched search (``search.make_search`` over the array tree ``tree`` and the drivers ``puct`` and
``simultaneous``), policy/value networks (``network``), checkpoints
(``checkpoint``), the search agent (``agent``: specs ``az:PATH`` and ``az_uniform``), self-play (``selfplay``)
and the synchronous training loop (``train``). Public names are imported lazily, so ``import
agents.alphazero`` does not load torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "make_search": "search", "PUCTSearch": "puct", "SimultaneousSearch": "simultaneous",
    "MCTSConfig": "tree", "SearchResult": "tree", "Tree": "tree", "choose_actions": "tree",
    "uniform_evaluate": "tree", "check_tree": "tree",
    "NetConfig": "network", "build_network": "network", "pad_planes": "network", "unpad_policy": "network",
    "Checkpoint": "checkpoint", "CheckpointError": "checkpoint", "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "AlphaZeroAgent": "agent",
    "SelfPlayAgent": "selfplay", "SelfPlayData": "selfplay", "self_play": "selfplay",
    "TrainConfig": "train", "train": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"zeroleague.agents.alphazero.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'zeroleague.agents.alphazero' has no attribute {name!r}")
