"""zeroleague environments: Go (strict Tromp-Taylor) and 6 nimmt! as PettingZoo AEC envs over batched engines.

    import zeroleague.envs as envs
    env = envs.make("go_v0", board_size=9)          # or: from zeroleague.envs import go_v0; go_v0.env(board_size=9)
    game = envs.make_game("go_v0", board_size=9)    # the batched engine (envs.core.BatchedGame)
    envs.registry                                   # the registered ids
    gymnasium.make("zeroleague/SixNimmt-v0", opponent="closest_gap")   # single-agent views (agents/gym_views.py)
"""

if __name__ != "zeroleague.envs":  # this folder installs as zeroleague.envs; one module, one name
    raise ImportError(f"import zeroleague.envs, not {__name__}: the folder envs/ installs as zeroleague.envs")

from zeroleague.envs.core import BatchedGame, IllegalActionError
from zeroleague.envs.registry import GYM_IDS, env_module, make, make_game, register_gym_envs, registry

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
    # Module style access, ``from zeroleague.envs import go_v0``, imported lazily so the package import stays cheap.
    if name in registry:
        return env_module(name)
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
