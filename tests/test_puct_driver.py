"""The PUCT driver's wave bookkeeping (agents.alphazero.puct): deep paths (longer than the replay buffer it
starts with), leaf batching with collisions on a single line of play, and a batched wave mixing new,
terminal and colliding descents across games."""

from __future__ import annotations

import numpy as np
import pytest

from tests.toygames import NimGame
from zeroleague.agents.alphazero.search import make_search
from zeroleague.agents.alphazero.tree import MCTSConfig, check_tree, uniform_evaluate


@pytest.mark.parametrize("leaves", [1, 4])
def test_a_single_line_of_play_deeper_than_the_first_replay_buffer(leaves):
    # one legal action per turn: the tree is a chain, every wave's first descent extends it by one node and the
    # other descents of the wave collide with that pending node; the chain runs to the terminal state at depth 40
    game = NimGame(min_pile=40, max_pile=40, max_take=1)
    root = game.init(1, 0)
    res = make_search(game, uniform_evaluate, MCTSConfig(num_simulations=60, leaves_per_wave=leaves)).search(root)
    tree = res.tree
    check_tree(tree, 0)
    assert int(tree.num_nodes[0]) == 41  # root + 40 moves; the terminal node is revisited, not re-expanded
    assert res.visits[0].tolist() == [60]
    depth, n = 0, 0
    while tree.to_play[0, n] >= 0:
        n, depth = int(tree.child[0, n, 0]), depth + 1
    assert depth == 40 and tree.node_value[0, n] != 0  # a terminal leaf whose exact value was backed up
    # pile 40, one stone a turn: seat 1 takes the last stone and wins; the root player (seat 0) loses, so the
    # root's value is pulled below 0 by the terminal visits (the other leaves are worth 0)
    assert res.root_value[0] < 0


def test_batched_leaf_waves_equal_single_game_searches():
    game = NimGame(min_pile=5, max_pile=30, max_take=3)
    roots = game.init(6, 1)
    cfg = MCTSConfig(num_simulations=120, leaves_per_wave=8, fpu=0.3)
    together = make_search(game, uniform_evaluate, cfg).search(roots)
    for b in range(6):
        alone = make_search(game, uniform_evaluate, cfg).search(game.take(roots, np.array([b])))
        check_tree(together.tree, b)
        assert together.visits[b].tolist() == alone.visits[0].tolist()
        assert together.root_value[b] == pytest.approx(alone.root_value[0], abs=1e-6)
        assert together.visits[b].sum() == 120  # collisions are not counted: every game gets exactly its simulations
