"""Agents from short specs: ``NAME`` or ``NAME:ARG,KEY=VALUE,...`` (e.g. ``random``, ``closest_gap``,
``gnugo:level=1``, ``az:runs/go9/best.pt,sims=200``). One registry, one parser.

A factory is registered with ``@register_agent("name", games=(...))`` and called as
``factory(game, *args, seed=..., device=..., **kwargs)`` where ``args``/``kwargs`` come from the spec, values
converted to int/float/bool where they parse as such. ``games`` lists the env-id prefixes the agent supports
(None = any game).
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
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
    name, colon, rest = spec.strip().partition(":")
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"bad agent name {name!r} in spec {spec!r}")
    if colon and not rest.strip():
        raise ValueError(f"agent spec {spec!r} ends with ':' but gives no parameters (write {name!r} alone)")
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


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _accepted(annotation: Any) -> set[type]:
    """The plain types (bool, int, float, str) an annotation admits; empty when it admits others too (Any)."""
    if annotation in _TYPE_WORDS:
        return {annotation}
    members = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and members:
        out: set[type] = set()
        for m in members:
            if m is type(None):
                continue
            sub = _accepted(m)
            if not sub:
                return set()
            out |= sub
        return out
    return set()


def _fits(value: Any, accepted: set[type]) -> bool:
    if isinstance(value, bool):
        return bool in accepted
    if isinstance(value, int):
        return bool({int, float} & accepted)
    if isinstance(value, float):
        return float in accepted
    return str in accepted


def _check_parameters(spec: str, factory: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse, naming it, a parameter the factory does not take or a value of the wrong type for its
    annotation (e.g. ``sims=abc`` for an int), before the factory runs."""
    try:
        sig = inspect.signature(factory)
        hints = typing.get_type_hints(factory)
    except (TypeError, ValueError, NameError):
        return
    params = list(sig.parameters.values())[1:]  # after the game
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    settable = [p.name for p in params if p.name not in ("seed", "device") and p.kind is not p.VAR_POSITIONAL]
    if len(args) > len(positional) and not any(p.kind is p.VAR_POSITIONAL for p in params):
        raise ValueError(f"agent spec {spec!r}: too many positional values {args!r} (parameters: "
                         f"{', '.join(settable) or 'none'})")
    given = dict(zip((p.name for p in positional), args, strict=False))
    for key, value in kwargs.items():
        if key not in settable:
            raise ValueError(f"agent spec {spec!r}: unknown parameter {key!r} (parameters: "
                             f"{', '.join(settable) or 'none'})")
        if key in given:
            raise ValueError(f"agent spec {spec!r}: parameter {key!r} given twice")
        given[key] = value
    for key, value in given.items():
        accepted = _accepted(hints.get(key, Any))
        if accepted and not _fits(value, accepted):
            want = " or ".join(_TYPE_WORDS[t] for t in (bool, int, float, str) if t in accepted)
            raise ValueError(f"agent spec {spec!r}: {key} must be {want}, got {value!r}")


def check_spec(spec: str, game: BatchedGame | None = None) -> tuple[str, list[Any], dict[str, Any]]:
    """``parse_spec`` plus what can be checked without building the agent: a registered name, a game it plays
    (when ``game`` is given), parameters its factory takes, with values of the right types. A ValueError
    naming the bad part otherwise."""
    _load_providers()
    name, args, kwargs = parse_spec(spec)
    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r} in spec {spec!r}; known agents: {', '.join(sorted(_AGENTS))}")
    entry = _AGENTS[name]
    if game is not None and entry.games is not None and not any(game.env_id.startswith(g) for g in entry.games):
        raise ValueError(f"agent {name!r} does not play {game.env_id!r} (it plays: {', '.join(entry.games)})")
    _check_parameters(spec, entry.factory, args, kwargs)
    return name, args, kwargs


def make_agent(spec: str, game: BatchedGame, *, seed: int = 0, device: str | None = None):
    """Build the agent described by ``spec`` for ``game``; its ``name`` is the spec as given."""
    name, args, kwargs = check_spec(spec, game)
    entry = _AGENTS[name]
    try:
        agent = entry.factory(game, *args, seed=seed, device=device, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad parameters in agent spec {spec!r}: {e}") from e
    except (ValueError, FileNotFoundError) as e:  # name the spec the message is about (a subclass keeps its type)
        text = str(e) if not isinstance(e, FileNotFoundError) or not e.filename else f"no such file {e.filename!r}"
        if spec in text:
            raise
        cls = type(e) if issubclass(type(e), ValueError) else ValueError
        try:
            err = cls(f"agent spec {spec!r}: {text}")
        except TypeError:  # an exception class with another constructor
            raise e from None
        raise err from e
    agent.name = spec.strip()
    return agent
