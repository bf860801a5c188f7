"""Batched PUCT search (agents.alphazero.puct): forced wins, agreement with minimax from both seats (the value
sign convention), batched == sequential, tree invariants, subtree reuse; the AlphaZero agent and its
checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.toygames import NimGame
from zeroleague.agents.alphazero.search import make_search
from zeroleague.agents.alphazero.tree import MCTSConfig, Tree, check_tree, choose_actions, uniform_evaluate


class BonusNimGame(NimGame):
    """Nim where taking exactly ``max_take`` stones (without emptying the pile) gives the mover another turn:
    a game where a player can move twice in a row, so backup must follow the stored player to move."""

    def step(self, state, actions):
        a = np.asarray(actions)
        mover = state.player.copy()
        super().step(state, actions)
        bonus = (a == self.max_take - 1) & (state.player >= 0)
        state.player[bonus] = mover[bonus]


def solve(game, state, i: int = 0, memo: dict | None = None) -> float:
    """Exact value of game i of ``state`` for its player to move: negamax over the BatchedGame interface
    following the stored player to move — the slow independent reference. ``memo`` (optional) caches values by
    the observation, for games (Nim) whose observation determines the state."""
    one = game.take(state, np.array([i]))
    key = (int(game.current_player(one)[0]), game.observe(one, 0).tobytes())
    if memo is not None and key in memo:
        return memo[key]
    best = child_values(game, one, 0, memo).max()
    if memo is not None:
        memo[key] = best
    return best


def child_values(game, state, i: int = 0, memo: dict | None = None) -> np.ndarray:
    """Exact value of each legal action for game i's player to move (-inf on illegal actions)."""
    one = game.take(state, np.array([i]))
    p = int(game.current_player(one)[0])
    out = np.full(game.num_actions, -np.inf)
    for a in np.flatnonzero(game.legal_mask(one)[0]):
        nxt = game.copy(one)
        game.step(nxt, np.array([a]))
        if game.terminal(nxt)[0]:
            out[a] = game.returns(nxt)[0, p]
        else:
            v = solve(game, nxt, 0, memo)
            out[a] = v if game.current_player(nxt)[0] == p else -v
    return out


def exact_evaluator(game):
    """Priors uniform, value = the minimax value for the player to move (obs of a Nim pile -> its solved
    value)."""

    memo: dict = {}

    def evaluate(obs, masks):
        vals = np.empty(len(obs), np.float32)
        for r, o in enumerate(obs):
            st = game.init(1, 0)
            st.pile[:] = int(np.argmax(o))
            vals[r] = solve(game, st, 0, memo)
        return uniform_evaluate(obs, masks)[0], vals

    return evaluate


def hash_evaluator(num_actions: int):
    """Deterministic, non-uniform priors and values from a fixed random projection of each observation
    alone."""
    rng = np.random.default_rng(7)
    proj = {}

    def evaluate(obs, masks):
        flat = obs.reshape(len(obs), -1).astype(np.float64)
        if flat.shape[1] not in proj:
            proj[flat.shape[1]] = rng.standard_normal((flat.shape[1], num_actions + 1))
        z = flat @ proj[flat.shape[1]]
        logits = np.where(masks, z[:, :num_actions], -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True), np.tanh(z[:, num_actions] / 4)

    return evaluate


def nim_states(game, piles, seat):
    """Nim states with the given piles and ``seat`` to move (seat 1: one stone already taken by seat 0)."""
    st = game.init(len(piles), 0)
    st.pile[:] = np.asarray(piles) + seat
    if seat:
        game.step(st, np.zeros(len(piles), np.int64))
    assert (game.current_player(st) == seat).all()
    return st


# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seat", [0, 1])
def test_uniform_search_finds_nim_wins(seat):
    game = NimGame(min_pile=1, max_pile=12, max_take=3)
    piles = np.array([1, 2, 3, 5, 6, 7, 9, 10, 11])
    st = nim_states(game, piles, seat)
    res = make_search(game, uniform_evaluate, MCTSConfig(num_simulations=400)).search(st)
    best = choose_actions(res.visits, 0)
    np.testing.assert_array_equal(best, game.winning_action(piles))
    assert (res.root_value > 0.3).all()
    for b in range(len(piles)):
        check_tree(res.tree, b)


@pytest.mark.parametrize("game", [NimGame(max_pile=12, max_take=3), BonusNimGame(max_pile=12, max_take=3)],
                         ids=["nim", "bonus_nim"])
@pytest.mark.parametrize("seat", [0, 1])
def test_exact_evaluator_matches_minimax_and_sign(game, seat):
    piles = np.arange(1, 12)
    st = nim_states(game, piles, seat)
    memo: dict = {}
    res = make_search(game, exact_evaluator(game), MCTSConfig(num_simulations=60, leaves_per_wave=3)).search(st)
    best = choose_actions(res.visits, 0)
    for b in range(len(piles)):
        exact = child_values(game, st, b, memo)
        v = exact.max()
        assert exact[best[b]] == v, f"pile {piles[b]}: chose {best[b]}, exact values {exact}"
        assert np.sign(res.root_value[b]) == v, f"pile {piles[b]}: root value {res.root_value[b]}, exact {v}"
        check_tree(res.tree, b)
    if isinstance(game, BonusNimGame):
        # the bonus rule changes the solution: pile 4 is lost in Nim but won here by taking 3 and then 1
        assert child_values(game, nim_states(game, [4], seat))[2] == 1


def test_batched_search_equals_sequential_nim():
    game = BonusNimGame(max_pile=12, max_take=3)
    piles = np.array([12, 7, 4, 9, 11, 2])
    st = nim_states(game, piles, 0)
    for lpw in (1, 4):
        cfg = MCTSConfig(num_simulations=50, leaves_per_wave=lpw)
        mcts = make_search(game, hash_evaluator(game.num_actions), cfg)
        batched = mcts.search(st)
        for b in range(len(piles)):
            single = mcts.search(game.take(st, np.array([b])))
            np.testing.assert_array_equal(single.visits[0], batched.visits[b])
            assert single.root_value[0] == batched.root_value[b]


def test_self_play_noise_is_seeded_and_priors_restored():
    game = NimGame(max_pile=12)
    st = nim_states(game, [12, 11, 10], 0)
    mcts = make_search(game, hash_evaluator(game.num_actions), MCTSConfig(num_simulations=30, noise_frac=0.5))
    a = mcts.search(st, np.random.default_rng(3), self_play=True)
    b = mcts.search(st, np.random.default_rng(3), self_play=True)
    clean = mcts.search(st)
    np.testing.assert_array_equal(a.visits, b.visits)
    assert not np.array_equal(a.visits, clean.visits)
    np.testing.assert_allclose(a.tree.prior[:, 0], clean.tree.prior[:, 0])  # noise not left in the tree
    with pytest.raises(ValueError, match="rng"):
        mcts.search(st, self_play=True)


def test_choose_actions_temperature():
    visits = np.array([[0, 10, 30, 0], [5, 5, 0, 0]])
    np.testing.assert_array_equal(choose_actions(visits, 0), [2, 0])
    rng = np.random.default_rng(0)
    picks = np.array([choose_actions(visits, 1.0, rng) for _ in range(2000)])
    assert set(picks[:, 0]) == {1, 2} and abs((picks[:, 0] == 2).mean() - 0.75) < 0.05
    assert set(picks[:, 1]) == {0, 1}


def test_subtree_reuse_keeps_statistics():
    game = NimGame(max_pile=12)
    st = nim_states(game, [12, 11], 0)
    mcts = make_search(game, hash_evaluator(game.num_actions), MCTSConfig(num_simulations=80, leaves_per_wave=2))
    res = mcts.search(st)
    acts = choose_actions(res.visits, 0)
    subs = [res.tree.subtree(b, int(acts[b])) for b in range(2)]
    nxt = game.copy(st)
    game.step(nxt, acts)
    for b, sub in enumerate(subs):
        assert isinstance(sub, Tree)
        assert sub.node_visits(0)[0] == res.visits[b, acts[b]]
        check_tree(sub, 0)
    with pytest.raises(ValueError, match=r"reuse\[0\] does not fit root state 0"):
        mcts.search(st, reuse=subs)  # the subtrees' roots have the other player to move
    again = mcts.search(nxt, reuse=subs)
    for b in range(2):
        assert again.visits[b].sum() == 80 + subs[b].edge_n[0, 0].sum()
        check_tree(again.tree, b)


def test_search_refuses_terminal_roots_and_bad_config():
    game = NimGame(max_pile=3)
    st = nim_states(game, [1, 2], 0)
    game.step(st, np.array([0, 0]))
    with pytest.raises(ValueError, match=r"terminal states \(games \[0\]\)"):
        make_search(game, uniform_evaluate).search(st)
    with pytest.raises(ValueError, match="leaves_per_wave"):
        MCTSConfig(leaves_per_wave=0)
    with pytest.raises(ValueError, match="fpu_mode"):
        MCTSConfig(fpu_mode="zero")


# --- Go -----------------------------------------------------------------------------------------------------

go_engine = pytest.importorskip("zeroleague.envs.go.engine")


def _pt(r: int, c: int) -> int:
    return r * 5 + c


# Black (to move) can capture the four white stones at (0,2),(1,1),(1,2),(2,2) in atari at (0,3):
#   . B W . .
#   B W W B .
#   . B W B .
#   . . B . .
#   . . . . .
_CAPTURE_SEQ = [_pt(0, 1), _pt(0, 2), _pt(1, 0), _pt(1, 1), _pt(2, 1), _pt(1, 2), _pt(1, 3), _pt(2, 2),
                _pt(2, 3), 25, _pt(3, 2), 25]


@pytest.mark.parametrize("seat", [0, 1])
def test_uniform_search_finds_go_capture(seat):
    """Three turns left (max_moves), komi so large for the side to move's opponent that only capturing the
    group at once wins; seat 1 plays the colour-swapped position (a leading pass) with the komi negated."""
    seq = _CAPTURE_SEQ if seat == 0 else [25, *_CAPTURE_SEQ]
    game = go_engine.GoGame(board_size=5, komi=14.5 if seat == 0 else -14.5, max_moves=len(seq) + 3)
    st = game.init(1, 0)
    for a in seq:
        game.step(st, np.array([a]))
    assert game.current_player(st)[0] == seat
    exact = child_values(game, st)
    assert np.flatnonzero(exact == 1).tolist() == [_pt(0, 3)]  # the reference agrees: one winning move
    res = make_search(game, uniform_evaluate, MCTSConfig(num_simulations=1500)).search(st)
    assert choose_actions(res.visits, 0)[0] == _pt(0, 3)
    assert res.root_value[0] > 0
    check_tree(res.tree, 0)


def random_go_states(game, n: int, moves: int, seed: int):
    rng = np.random.default_rng(seed)
    st = game.init(n, 0)
    for _ in range(moves):
        mask = game.legal_mask(st)
        mask[:, -1] &= ~mask[:, :-1].any(axis=1)  # no passes while a stone can be played: games stay running
        live = ~game.terminal(st)
        acts = np.array([rng.choice(np.flatnonzero(m)) if ok else -1
                         for m, ok in zip(mask, live, strict=True)])
        game.step(st, acts)
    assert not game.terminal(st).any()
    return st


@pytest.mark.parametrize("lpw", [1, 4])
def test_batched_search_equals_sequential_go(lpw):
    game = go_engine.GoGame(board_size=5, komi=0.5)
    st = random_go_states(game, 5, 9, seed=1)
    mcts = make_search(game, hash_evaluator(game.num_actions), MCTSConfig(num_simulations=64, leaves_per_wave=lpw))
    batched = mcts.search(st)
    for b in range(5):
        single = mcts.search(game.take(st, np.array([b])))
        np.testing.assert_array_equal(single.visits[0], batched.visits[b])
        assert single.root_value[0] == batched.root_value[b]
        check_tree(batched.tree, b)
        legal = game.legal_mask(st)[b]
        assert (batched.visits[b][~legal] == 0).all() and batched.visits[b].sum() == 64


def test_first_play_urgency_rules():
    """Uniform evaluator (all values 0) on the empty 5x5 board, 26 legal actions, 26 simulations: an
    optimistic absolute FPU (+1) tries every action once; a pessimistic one (-1) keeps revisiting the first
    action tried (the lowest index on the all-equal first choice); the default reduction 0 (Q = Q(s) = 0)
    spreads too."""
    game = go_engine.GoGame(board_size=5)
    st = game.init(1, 0)
    visits = {}
    for mode, fpu in (("absolute", 1.0), ("absolute", -1.0), ("reduction", 0.0)):
        cfg = MCTSConfig(num_simulations=26, fpu_mode=mode, fpu=fpu)
        visits[mode, fpu] = make_search(game, uniform_evaluate, cfg).search(st).visits[0]
    assert (visits["absolute", 1.0] == 1).all()
    assert visits["absolute", -1.0][0] == 26
    assert (visits["reduction", 0.0] == 1).all()


def test_virtual_loss_spreads_leaves_and_keeps_invariants():
    game = go_engine.GoGame(board_size=5, komi=0.5)
    st = random_go_states(game, 3, 6, seed=2)
    cfg = MCTSConfig(num_simulations=100, leaves_per_wave=8, virtual_loss=3)
    res = make_search(game, uniform_evaluate, cfg).search(st)
    for b in range(3):
        check_tree(res.tree, b)
        assert res.visits[b].sum() == 100
        assert (res.visits[b] > 0).sum() > 8  # the first wave alone reaches 8 distinct children


# --- networks and checkpoints -------------------------------------------------------------------------------

torch = pytest.importorskip("torch")

from zeroleague.agents.alphazero.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from zeroleague.agents.alphazero.network import NetConfig, build_network, pad_planes, unpad_policy  # noqa: E402

GO_NET = NetConfig(kind="resnet", in_channels=4, board_size=9, blocks=2, channels=16, value_hidden=16)


def test_resnet_shapes_and_padding_equivalence():
    torch.manual_seed(0)
    net = build_network(GO_NET).eval()
    game5 = go_engine.GoGame(board_size=5)
    obs5 = torch.from_numpy(game5.observe(random_go_states(game5, 3, 7, seed=3), 0))
    logits5, v5 = net(obs5)
    assert logits5.shape == (3, 26) and v5.shape == (3,) and (v5.abs() <= 1).all()
    padded, mask = pad_planes(obs5, 9)
    logits9, v9 = net(padded, mask)
    assert logits9.shape == (3, 82)
    torch.testing.assert_close(unpad_policy(logits9, 5, 9), logits5, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(v9, v5, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="does not fit"):
        net(torch.zeros(1, 4, 11, 11))
    fixed = build_network(NetConfig(in_channels=4, board_size=5, blocks=1, channels=8, global_pool=False))
    fixed.eval()
    assert fixed(obs5)[0].shape == (3, 26)


def test_mlp_shapes():
    net = build_network(NetConfig(kind="mlp", obs_dim=13, num_actions=3, blocks=2, channels=16)).eval()
    logits, v = net(torch.zeros(4, 13))
    assert logits.shape == (4, 3) and v.shape == (4,)
    with pytest.raises(ValueError, match="obs_dim"):
        NetConfig(kind="mlp", obs_dim=0, num_actions=3)


def test_checkpoint_round_trip_and_refusals(tmp_path):
    torch.manual_seed(1)
    net = build_network(GO_NET).eval()
    path = tmp_path / "net.pt"
    save_checkpoint(path, net, GO_NET, "go_v0", {"board_size": 9, "komi": 7.5, "history": 0}, step=17)
    ckpt = load_checkpoint(path, expect_env_id="go_v0", expect_env_kwargs={"board_size": 9, "komi": 7.5})
    assert ckpt.step == 17 and ckpt.net_config == GO_NET
    x = torch.randn(2, 4, 9, 9)
    for a, b in zip(net(x), ckpt.model()(x), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(CheckpointError, match=r"trained for env 'go_v0', not 'sixnimmt_v0'"):
        load_checkpoint(path, expect_env_id="sixnimmt_v0")
    with pytest.raises(CheckpointError, match="trained with board_size=9, not board_size=13"):
        load_checkpoint(path, expect_env_id="go_v0", expect_env_kwargs={"board_size": 13})
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(path.read_bytes()[: 200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a zeroleague AlphaZero checkpoint"):
        load_checkpoint(foreign)
    blob = torch.load(path, weights_only=True)
    blob["state_dict"].pop("stem.weight")
    torch.save(blob, foreign)
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(foreign)


# --- the agent ----------------------------------------------------------------------------------------------

from zeroleague.agents.alphazero.agent import AlphaZeroAgent, game_kwargs  # noqa: E402
from zeroleague.agents.base import RESIGN, DecisionBatch  # noqa: E402
from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.leagues.harness import play_match  # noqa: E402


def _batch(game, st, game_ids):
    player = game.current_player(st).astype(np.int64)
    return DecisionBatch(game=game, observations=game.observe(st, player), masks=game.legal_mask(st),
                         players=player, game_ids=np.asarray(game_ids),
                         states=game.information_state(st, player))


def test_az_uniform_plays_nim_perfectly_through_the_harness():
    game = NimGame(min_pile=1, max_pile=11)
    az = make_agent("az_uniform:sims=400", game)
    opt = make_agent("toy_nim_optimal", game)
    match = play_match(game, az, opt, num_games=16, seed=5)
    for rec in match.records:
        pile = int(game.init(1, np.array([rec.seed])).pile[0])
        first_wins = pile % 4 != 0
        assert rec.result == (1 if first_wins == (rec.seat_a == 0) else -1), (pile, rec)


def test_agent_reuses_the_subtree_after_the_opponent_reply():
    game = go_engine.GoGame(board_size=5, komi=0.5)
    st = random_go_states(game, 2, 4, seed=4)
    agent = make_agent("az_uniform:sims=60", game)
    acts = agent.act(_batch(game, st, [10, 11]))
    game.step(st, acts)
    tree_replies = [agent._kept[g][0] for g in (10, 11)]
    reply = np.array([int(np.argmax(t.edge_n[0, 0])) for t in tree_replies])  # the most explored reply
    game.step(st, reply)
    agent.act(_batch(game, st, [10, 11]))
    assert agent.last_reused.tolist() == [True, True]
    agent.reset(np.array([10]))
    game.step(st, np.array([25, 25]))  # both pass: a reply the kept tree may or may not hold
    agent.act(_batch(game, st, [10, 11]))
    assert agent.last_reused[0] == False  # noqa: E712 - forgotten by reset


def test_agent_resigns_lost_positions_only_when_asked():
    game = NimGame(max_pile=12)
    st = nim_states(game, [8, 7], 0)  # pile 8 is lost, pile 7 won
    evaluate = exact_evaluator(game)
    cfg = MCTSConfig(num_simulations=40)
    acts = AlphaZeroAgent(game, evaluate, cfg, resign=0.3).act(_batch(game, st, [0, 1]))
    assert acts[0] == RESIGN and acts[1] == game.winning_action(np.array([7]))[0]
    acts = AlphaZeroAgent(game, evaluate, cfg).act(_batch(game, st, [0, 1]))
    assert (acts >= 0).all()


def test_hidden_information_games_are_refused_clearly():
    from tests.toygames import HighCardGame

    with pytest.raises(NotImplementedError, match="simultaneous-move"):
        make_agent("az_uniform", HighCardGame())
    with pytest.raises(ValueError, match="perfect-information"):
        make_search(HighCardGame(), uniform_evaluate)


def test_checkpoint_search_settings_are_applied_and_overridable(tmp_path):
    pytest.importorskip("zeroleague.agents.evaluator")
    from zeroleague.agents.alphazero.checkpoint import store_search_settings

    game = go_engine.GoGame(board_size=9, komi=7.5)
    path = tmp_path / "go9.pt"
    save_checkpoint(path, build_network(GO_NET), GO_NET, "go_v0", game_kwargs(game), step=3)
    plain = make_agent(f"az:{path}", game).config  # no stored settings: today's defaults
    assert (plain.num_simulations, plain.c_puct, plain.joint_selection, plain.rollouts) == (200, 1.25, "rm", 0)
    store_search_settings(path, {"sims": 24, "c_puct": 2.5, "leaves_per_wave": 4})
    assert load_checkpoint(path).step == 3 and load_checkpoint(path).search == {"sims": 24, "c_puct": 2.5,
                                                                                "leaves_per_wave": 4}
    stored = make_agent(f"az:{path}", game).config
    assert (stored.num_simulations, stored.c_puct, stored.leaves_per_wave, stored.fpu) == (24, 2.5, 4, 0.0)
    over = make_agent(f"az:{path},sims=8,fpu=0.1", game).config
    assert (over.num_simulations, over.c_puct, over.leaves_per_wave, over.fpu) == (8, 2.5, 4, 0.1)
    store_search_settings(path, {"simulations": 24})
    with pytest.raises(ValueError, match="unknown stored search settings"):
        make_agent(f"az:{path}", game)


def test_shipped_sixnimmt_checkpoint_plays_its_stored_settings():
    from pathlib import Path

    from zeroleague.envs.sixnimmt.engine import SixNimmtGame

    path = Path(__file__).resolve().parents[1] / "checkpoints/sixnimmt/alphazero.pt"
    cfg = make_agent(f"az:{path}", SixNimmtGame()).config
    stored = load_checkpoint(path).search
    assert stored and cfg.num_simulations == stored["sims"] and cfg.joint_selection == stored["joint_selection"]
    assert cfg.rollouts == stored["rollouts"] and cfg.c_puct == stored["c_puct"] and cfg.value_scale == 10.0


def test_az_factory_checks_the_checkpoint_game(tmp_path):
    pytest.importorskip("zeroleague.agents.evaluator")
    game = go_engine.GoGame(board_size=9, komi=7.5)
    net = build_network(GO_NET)
    path = tmp_path / "go9.pt"
    save_checkpoint(path, net, GO_NET, "go_v0", game_kwargs(game), step=0)
    agent = make_agent(f"az:{path},sims=16,leaves_per_wave=4", game)
    st = random_go_states(game, 3, 5, seed=6)
    acts = agent.act(_batch(game, st, [0, 1, 2]))
    assert game.legal_mask(st)[np.arange(3), acts].all()
    with pytest.raises(CheckpointError, match="board_size=9, not board_size=7"):
        make_agent(f"az:{path}", go_engine.GoGame(board_size=7, komi=7.5))
    with pytest.raises(CheckpointError, match="komi=7.5, not komi=6.5"):
        make_agent(f"az:{path}", go_engine.GoGame(board_size=9, komi=6.5))


def test_az_searches_in_the_value_scale_its_network_was_trained_with(tmp_path):
    pytest.importorskip("zeroleague.agents.evaluator")
    game = go_engine.GoGame(board_size=9, komi=7.5)
    path = tmp_path / "go9.pt"
    save_checkpoint(path, build_network(GO_NET), GO_NET, "go_v0", game_kwargs(game), step=0,
                    extra={"value_scale": 7.0})
    assert make_agent(f"az:{path}", game).config.value_scale == 7.0
    assert make_agent(f"az:{path},value_scale=2", game).config.value_scale == 2.0
    assert make_agent("az_uniform:value_scale=3", game).config.value_scale == 3.0


# --- self-play and training ---------------------------------------------------------------------------------

from dataclasses import replace  # noqa: E402

from zeroleague.agents.alphazero.selfplay import self_play  # noqa: E402
from zeroleague.agents.alphazero.train import TrainConfig, train  # noqa: E402


def test_self_play_value_targets_have_the_mover_sign():
    game = NimGame(min_pile=4, max_pile=12)
    data = self_play(game, uniform_evaluate, MCTSConfig(num_simulations=64), num_games=12, seed=3, parallel=6,
                     temperature_moves=2)
    pile = np.argmax(data.obs, axis=1)
    assert data.games == 12 and len(data.value) == len(data.obs) >= 12
    np.testing.assert_allclose(data.policy.sum(axis=1), 1.0, rtol=1e-5)
    # a greedy player to move with at most 3 stones takes them all and wins: its target is +1
    late = pile <= 3
    assert late.sum() >= 12 and (data.value[late] == 1).all()
    assert set(np.unique(data.value)) <= {-1.0, 1.0}


def test_train_smoke_and_resume(tmp_path):
    cfg = TrainConfig(env_kwargs={"board_size": 5, "komi": 0.5, "max_moves": 12},
                      run_dir=str(tmp_path / "run"), iterations=1, games_per_iteration=4, parallel_games=4,
                      sims=6, blocks=1, channels=8, batch_size=16, train_steps=3, temperature_moves=3,
                      resign_threshold=0.5, no_resign_frac=0.5, device="cpu")
    assert train(cfg)["step"] == 3
    shard = np.load(tmp_path / "run" / "replay" / "shard_000000.npz")
    assert shard["obs"].shape[1:] == (4, 5, 5) and shard["policy"].shape[1] == 26
    np.testing.assert_allclose(shard["policy"].sum(axis=1), 1.0, rtol=1e-5)
    assert set(np.unique(shard["value"])) <= {-1.0, 0.0, 1.0}
    result = train(replace(cfg, iterations=2))  # resumes after iteration 0
    assert result["step"] == 6
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [0, 1]
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt", "go_v0", cfg.env_kwargs).step == 6
    assert json.loads((tmp_path / "run" / "result.json").read_text())["step"] == 6
    with pytest.raises(ValueError, match="different config .*sims"):
        train(replace(cfg, sims=7))


def test_self_play_is_reproducible_from_its_seed():
    game = NimGame(max_pile=12)
    runs = [self_play(game, hash_evaluator(game.num_actions), MCTSConfig(num_simulations=16), num_games=6,
                      seed=9, parallel=3) for _ in range(2)]
    for k in ("obs", "policy", "value"):
        np.testing.assert_array_equal(getattr(runs[0], k), getattr(runs[1], k))


@pytest.mark.slow
def test_training_learns_nim_values(tmp_path):
    """Six iterations on Nim (piles 1..12, take 1..3) teach the network the solution: a won pile
    (pile % 4 != 0) gets a positive value and its winning move the top policy logit, a lost one a negative
    value."""
    game = NimGame(min_pile=1, max_pile=12)
    cfg = TrainConfig(env_id="toy_nim", env_kwargs={}, run_dir=str(tmp_path / "nim"), iterations=6,
                      games_per_iteration=64, parallel_games=64, sims=32, blocks=1, channels=32,
                      batch_size=128, train_steps=150, temperature_moves=2, resign_threshold=None, lr=3e-3,
                      device="cpu")
    train(cfg, game=game)
    net = load_checkpoint(tmp_path / "nim" / "checkpoint.pt", "toy_nim").model()
    piles = np.arange(1, 13)
    with torch.no_grad():
        logits, v = net(torch.from_numpy(np.eye(13, dtype=np.float32)[piles]))
    np.testing.assert_array_equal(np.sign(v.numpy()), np.where(piles % 4 != 0, 1, -1))
    won = piles % 4 != 0
    np.testing.assert_array_equal(logits.numpy().argmax(axis=1)[won], game.winning_action(piles[won]))


def test_self_play_value_targets_are_the_returns_from_each_state_on():
    """6 nimmt! (margin rewards taken during the game; deck 1..8, 2 cards each, 9 bullheads in all): with
    value_scale 100 nothing is clipped and every target is (final return - return so far) / 100, a whole
    number of bullheads no larger than the deck's 9, and the targets differ from the final outcome (0 or
    +-1); with value_scale 1 they are whole bullheads clipped to [-1, 1]."""
    from zeroleague.envs.sixnimmt.engine import SixNimmtGame

    game = SixNimmtGame(max_card=8, hand_size=2)
    data = {s: self_play(game, uniform_evaluate, MCTSConfig(num_simulations=16, value_scale=s), num_games=12,
                         seed=5, parallel=6) for s in (100.0, 1.0)}
    bullheads = data[100.0].value * 100
    np.testing.assert_allclose(bullheads, np.round(bullheads), atol=1e-4)
    assert np.abs(bullheads).max() <= 9 + 1e-4 and (np.abs(bullheads) > 0.5).any()
    assert not set(np.unique(data[100.0].value)) <= {-1.0, 0.0, 1.0}
    assert set(np.unique(data[1.0].value)) <= {-1.0, 0.0, 1.0}  # whole bullheads, clipped
    assert (data[1.0].value != 0).any()
