"""Env ids -> env modules. Each registered module exposes ``env(**kw)`` (wrapped AEC env), ``raw_env(**kw)`` and
``game(**kw)`` (the batched engine behind it, a ``envs.core.BatchedGame``). Modules are imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

_MODULES: dict[str, str] = {
    "go_v0": "zeroleague.envs.go.go_v0",
    "sixnimmt_v0": "zeroleague.envs.sixnimmt.sixnimmt_v0",
    "sixnimmt_tactical_v0": "zeroleague.envs.sixnimmt.sixnimmt_tactical_v0",
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


GYM_IDS: dict[str, tuple[str, dict[str, Any]]] = {
    "zeroleague/SixNimmt-v0": ("sixnimmt_v0", {}),
    "zeroleague/SixNimmtTactical-v0": ("sixnimmt_tactical_v0", {}),
    "zeroleague/Go9x9-v0": ("go_v0", {"board_size": 9}),
    "zeroleague/Go19x19-v0": ("go_v0", {"board_size": 19}),
}
"""Gymnasium id -> (zeroleague env id, default engine keyword arguments) of the single-agent views
(``agents.gym_views.SingleAgentView``), e.g. ``gymnasium.make("zeroleague/SixNimmt-v0", opponent="closest_gap")``."""


# By string: the views play an opponent agent, and games never import players (registration stays lazy).
VIEW_ENTRY_POINT = "zeroleague.agents.gym_views:SingleAgentView"


def register_gym_envs() -> None:
    """Register the ``GYM_IDS`` with gymnasium (idempotent; ``import zeroleague.envs`` does it). The views' module is
    imported only when one is made."""
    import gymnasium

    for gym_id, (env_id, defaults) in GYM_IDS.items():
        if gym_id not in gymnasium.registry:
            gymnasium.register(
                id=gym_id, entry_point=VIEW_ENTRY_POINT, kwargs={"game": env_id, **defaults}
            )


_OLD_TOP_LEVEL = ("envs", "agents", "baselines", "leagues")


def make_env_game(env: str, env_kwargs: dict[str, Any] | None = None) -> Any:
    """The batched game of a registered env id, or of ``"package.module:factory"`` called with the kwargs."""
    kwargs = env_kwargs or {}
    if ":" in env:
        module, _, attr = env.partition(":")
        if module.split(".")[0] in _OLD_TOP_LEVEL:  # configs written before the zeroleague.* namespace
            module = f"zeroleague.{module}"
        return getattr(importlib.import_module(module), attr)(**kwargs)
    return make_game(env, **kwargs)
