"""zeroleague environments: Go (strict Tromp-Taylor) and 6 nimmt! as PettingZoo AEC envs over batched engines.

    import envs
    env = envs.make("go_v0", board_size=9)          # or: from envs import go_v0; go_v0.env(board_size=9)
    game = envs.make_game("go_v0", board_size=9)    # the batched engine (envs.core.BatchedGame)
    envs.registry                                   # the registered ids
    gymnasium.make("zeroleague/SixNimmt-v0", opponent="closest_gap")   # single-agent views (envs/gym_views.py)
"""

from envs.core import BatchedGame, IllegalActionError
from envs.registry import GYM_IDS, env_module, make, make_game, register_gym_envs, registry

register_gym_envs()

__all__ = [
    "GYM_IDS",
    "BatchedGame",
    "IllegalActionError",
    "env_module",
    "make",
    "make_game",
    "register_gym_envs",
    "registry",
]


def __getattr__(name: str):
    # Module style access, ``from envs import go_v0``, imported lazily so ``import envs`` stays cheap.
    if name in registry:
        return env_module(name)
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
