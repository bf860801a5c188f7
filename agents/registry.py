"""Agents from short specs: ``NAME`` or ``NAME:ARG,KEY=VALUE,...`` (e.g. ``random``, ``closest_gap``,
``gnugo:level=1``, ``az:runs/go9/best.pt,sims=200``). One registry, one parser.

A factory is registered with ``@register_agent("name", games=(...))`` and called as
``factory(game, *args, seed=..., device=..., **kwargs)`` where ``args``/``kwargs`` come from the spec, values
converted to int/float/bool where they parse as such. ``games`` lists the env-id prefixes the agent supports
(None = any game).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zeroleague.envs.core import BatchedGame

# Modules whose import registers agents; imported on first lookup so `import zeroleague.agents` stays cheap.
_PROVIDERS = (
    "zeroleague.baselines.heuristics",
    "zeroleague.baselines.gtp_agent",
    "zeroleague.baselines.policies",
    "zeroleague.baselines.ppo_policy",
    "zeroleague.baselines.mcs",
    "zeroleague.agents.alphazero.agent",
)


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., Any]
    games: tuple[str, ...] | None
    doc: str


_AGENTS: dict[str, _Entry] = {}
_loaded = False


def register_agent(name: str, games: tuple[str, ...] | None = None):
    """Decorator registering ``factory`` under ``name`` (see the module docstring)."""

    def deco(factory):
        if name in _AGENTS and _AGENTS[name].factory is not factory:
            raise ValueError(f"agent name {name!r} registered twice")
        _AGENTS[name] = _Entry(factory, games, (factory.__doc__ or "").strip().split("\n")[0])
        return factory

    return deco


def _load_providers() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # skip only a provider module that is absent itself
            if not mod.startswith(e.name or "\0"):
                raise


def convert_value(v: str) -> Any:
    """A spec/CLI value as bool, int or float where it parses as one, else the string."""
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return v


def parse_spec(spec: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``"az:ckpt.pt,sims=200"`` -> ``("az", ["ckpt.pt"], {"sims": 200})``; a clear ValueError if malformed."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"agent spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"bad agent name {name!r} in spec {spec!r}")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if rest:
        for part in rest.split(","):
            if not part:
                raise ValueError(f"empty parameter in agent spec {spec!r}")
            if "=" in part:
                k, _, v = part.partition("=")
                if not k.isidentifier() or k in kwargs:
                    raise ValueError(f"bad or repeated parameter {k!r} in agent spec {spec!r}")
                kwargs[k] = convert_value(v)
            elif kwargs:
                raise ValueError(f"positional value {part!r} after keyword parameters in agent spec {spec!r}")
            else:
                args.append(convert_value(part))
    return name, args, kwargs


def agent_names() -> list[str]:
    _load_providers()
    return sorted(_AGENTS)


def make_agent(spec: str, game: BatchedGame, *, seed: int = 0, device: str | None = None):
    """Build the agent described by ``spec`` for ``game``; its ``name`` is the spec as given."""
    _load_providers()
    name, args, kwargs = parse_spec(spec)
    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r} in spec {spec!r}; known agents: {', '.join(sorted(_AGENTS))}")
    entry = _AGENTS[name]
    if entry.games is not None and not any(game.env_id.startswith(g) for g in entry.games):
        raise ValueError(f"agent {name!r} does not play {game.env_id!r} (it plays: {', '.join(entry.games)})")
    try:
        agent = entry.factory(game, *args, seed=seed, device=device, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad parameters in agent spec {spec!r}: {e}") from e
    agent.name = spec.strip()
    return agent
