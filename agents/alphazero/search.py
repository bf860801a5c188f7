"""The one way to build an AlphaZero search for a game: ``make_search`` picks the driver that fits it —
``puct.PUCTSearch`` for perfect-information games (Go), ``simultaneous.SimultaneousSearch`` for 2-player games
with simultaneous selections and hidden hands (6 nimmt!; ``tree.selection_actions``). Both share the array tree
of ``zeroleague.agents.alphazero.tree`` and have ``search(root_states, rng, self_play, reuse, players)``."""

from __future__ import annotations

from zeroleague.agents.alphazero.puct import PUCTSearch
from zeroleague.agents.alphazero.simultaneous import SimultaneousSearch
from zeroleague.agents.alphazero.tree import Evaluate, MCTSConfig, selection_actions
from zeroleague.envs.core import BatchedGame


def make_search(game: BatchedGame, evaluate: Evaluate,
                config: MCTSConfig | None = None) -> PUCTSearch | SimultaneousSearch:
    """The search of ``game`` (2 players, zero-sum) with leaf evaluator ``evaluate`` and ``config``."""
    if game.num_players != 2:
        raise ValueError(f"MCTS needs a 2-player zero-sum game, {game.env_id!r} has {game.num_players} "
                         "players")
    if game.perfect_information:
        return PUCTSearch(game, evaluate, config)
    if selection_actions(game) is not None:
        return SimultaneousSearch(game, evaluate, config)
    raise ValueError(f"MCTS searches perfect-information games and simultaneous-selection games "
                     f"(6 nimmt!); {game.env_id!r} has hidden information and no selection_actions")
