"""Go under strict Tromp-Taylor rules: the batched engine, the AEC env (``go_v0``) and SGF records."""

from zeroleague.envs.go.engine import GoGame, GoState

__all__ = ["GoGame", "GoState"]
