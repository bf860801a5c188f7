"""Env ids -> env modules. Each registered module exposes ``env(**kw)`` (wrapped AEC env), ``raw_env(**kw)`` and
``game(**kw)`` (the batched engine behind it, a ``envs.core.BatchedGame``). Modules are imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

_MODULES: dict[str, str] = {
    "go_v0": "envs.go.go_v0",
    "sixnimmt_v0": "envs.sixnimmt.sixnimmt_v0",
    "sixnimmt_tactical_v0": "envs.sixnimmt.sixnimmt_tactical_v0",
}

registry: tuple[str, ...] = tuple(_MODULES)


def env_module(env_id: str) -> ModuleType:
    """The module registered under ``env_id``; a clear ``KeyError`` for an unknown id."""
    if env_id not in _MODULES:
        raise KeyError(f"unknown env id {env_id!r}; registered ids: {', '.join(registry)}")
    return importlib.import_module(_MODULES[env_id])


def make(env_id: str, **kwargs: Any):
    """The PettingZoo AEC env ``env_id`` (wrapped like PettingZoo's ``env()``), built with ``kwargs``."""
    return env_module(env_id).env(**kwargs)


def make_game(env_id: str, **kwargs: Any):
    """The batched engine (``envs.core.BatchedGame``) of ``env_id`` with the same keyword arguments as ``make``."""
    return env_module(env_id).game(**kwargs)
