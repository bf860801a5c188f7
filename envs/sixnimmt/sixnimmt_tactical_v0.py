"""6 nimmt! "Tactics" variant for two players: cards 1..24 (= 10*2 + 4), so nothing is left unseen and both
hands are known to both players; selections stay simultaneous (the opponent's pending card is still hidden),
so the engine reports ``perfect_information = False``.

Everything else (creation keywords except ``max_card``, agents, action and observation spaces, rewards,
illegal actions, the Parallel API ``parallel_env()``, rendering, ``state()``) is ``sixnimmt_v0``'s; see its
docstring. The deck is ``max_card = num_players * hand_size +
4`` (24 by default); observation length D = 7*24 + 4 + 4 + 2*2 + 3 + 2*24 = 231 for the defaults.

Version history:
  v0: initial release.
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv, ParallelEnv

from zeroleague.envs.sixnimmt import sixnimmt_v0
from zeroleague.envs.sixnimmt.engine import SixNimmtGame

ENV_ID = "sixnimmt_tactical_v0"


def _deck(kwargs: dict[str, Any]) -> dict[str, Any]:
    if "max_card" in kwargs:
        raise ValueError(
            f"{ENV_ID} fixes max_card = num_players * hand_size + 4; got max_card={kwargs['max_card']!r}"
        )
    return {**kwargs, "max_card": kwargs.get("num_players", 2) * kwargs.get("hand_size", 10) + 4}


def game(**kwargs: Any) -> SixNimmtGame:
    """The batched engine of this env (same keyword arguments as ``env`` minus ``render_mode``)."""
    return SixNimmtGame(env_id=ENV_ID, **_deck(kwargs))


def raw_env(**kwargs: Any) -> sixnimmt_v0.raw_env:
    """``sixnimmt_v0.raw_env`` on the tactical deck."""
    return sixnimmt_v0.raw_env(env_id=ENV_ID, **_deck(kwargs))


def env(**kwargs: Any) -> AECEnv:
    """The wrapped AEC env (order enforcing, like PettingZoo classic)."""
    return sixnimmt_v0._OrderEnforcingWrapper(raw_env(**kwargs))


def parallel_env(**kwargs: Any) -> ParallelEnv:
    """``sixnimmt_v0.parallel_env`` on the tactical deck (``illegal_action`` "lose" or "raise")."""
    return sixnimmt_v0.parallel_raw_env(env_id=ENV_ID, **_deck(kwargs))
