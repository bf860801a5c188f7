"""REINFORCE: the loss's gradient, returns-to-go, masked sampling, training runs, checkpoints as Agents."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.toygames import HighCardGame, NimGame
from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.policies import (
    CardTrunk,
    CheckpointError,
    PolicyAgent,
    PolicyValueNet,
    build_trunk,
    default_net_config,
    load_checkpoint,
    masked_logits,
    select_actions,
)
from zeroleague.baselines.reinforce import ReinforceConfig, discounted_returns, reinforce_loss, train_reinforce
from zeroleague.envs.registry import make_game
from zeroleague.envs.sixnimmt.engine import decode_observation, obs_slices
from zeroleague.envs.sixnimmt.rules import bullheads, cheapest_row, row_bullheads, target_row


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_loss_gradient_matches_softmax_bandit_policy_gradient():
    # A 5-armed bandit with a softmax policy over logits theta, arm 3 illegal. The exact policy gradient is
    # d E[r] / d theta_k = pi_k (r_k - sum_j pi_j r_j). Feeding each of the n legal arms once with the
    # constant advantage n pi_a r_a gives -grad(loss) = sum_a pi_a r_a grad log pi_a = grad E[r], exactly.
    torch.manual_seed(0)
    theta = torch.randn(5, dtype=torch.float64, requires_grad=True)
    r = torch.tensor([1.0, -2.0, 0.5, 7.0, 3.0], dtype=torch.float64)
    mask = torch.tensor([True, True, True, False, True])
    pi = torch.softmax(masked_logits(theta, mask), dim=0).detach()
    arms = torch.nonzero(mask).squeeze(1)
    n = len(arms)
    loss = reinforce_loss(theta.expand(n, 5), mask.expand(n, 5), arms, pi[arms] * r[arms] * n)
    loss.backward()
    exact = pi * (r - (pi * torch.where(mask, r, 0.0)).sum())
    assert pi[3] == 0.0
    torch.testing.assert_close(-theta.grad, exact)
    assert theta.grad[3] == 0.0


def test_loss_gradient_is_unbiased_monte_carlo():
    # Sampled arms with advantage = reward: the average of many REINFORCE gradients approaches the exact one.
    g = torch.Generator().manual_seed(1)
    theta = torch.tensor([0.3, -0.2, 0.8, 0.0], dtype=torch.float64, requires_grad=True)
    r = torch.tensor([1.0, 0.0, -1.0, 2.0], dtype=torch.float64)
    mask = torch.ones(4, dtype=torch.bool)
    pi = torch.softmax(theta, 0).detach()
    n = 200_000
    arms = torch.multinomial(pi, n, replacement=True, generator=g)
    reinforce_loss(theta.expand(n, 4), mask.expand(n, 4), arms, r[arms]).backward()
    exact = pi * (r - (pi * r).sum())
    torch.testing.assert_close(-theta.grad, exact, atol=0.01, rtol=0)


def test_discounted_returns_by_game_and_seat():
    # Two games interleaved; game 0 has two seats. Rewards are changes of the seat's return between its
    # decisions.
    game = np.array([0, 1, 0, 0, 1, 0])
    seat = np.array([0, 0, 1, 0, 0, 1])
    ret_at = np.array([0.0, 0.0, 0.0, -2.0, 1.0, 2.0])
    final = np.array([[-5.0, 5.0], [3.0, -3.0]])
    g1 = discounted_returns(game, seat, ret_at, final, 1.0)
    np.testing.assert_allclose(g1, final[game, seat] - ret_at)
    g = discounted_returns(game, seat, ret_at, final, 0.5)
    # game 0 seat 0: rewards -2 (to its next decision) then -3 -> G = -2 + 0.5 * -3, then -3
    # game 0 seat 1: rewards 2 then 3; game 1 seat 0: rewards 1 then 2
    np.testing.assert_allclose(g, [-3.5, 2.0, 3.5, -3.0, 2.0, 3.0])


def test_sampler_never_picks_masked_actions():
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        mask = torch.as_tensor(rng.random((64, 12)) < 0.3)
        mask[torch.arange(64), torch.as_tensor(rng.integers(0, 12, 64))] = True
        logits = torch.as_tensor(rng.normal(size=(64, 12)) * 10, dtype=torch.float32)
        logits[~mask] += 100.0  # illegal actions look best
        a = select_actions(logits, mask, gen, greedy=False)
        assert mask[torch.arange(64), a].all()
        a = select_actions(logits, mask, gen, greedy=True)
        assert torch.equal(a, masked_logits(logits, mask).argmax(-1)) and mask[torch.arange(64), a].all()
    with pytest.raises(ValueError, match="no legal action"):
        select_actions(torch.zeros(2, 3), torch.tensor([[True, False, False], [False, False, False]]), gen, False)


def test_policy_agent_never_picks_masked_actions():
    game = HighCardGame(deck=12, hand=6)
    torch.manual_seed(0)
    net = PolicyValueNet({"kind": "mlp", "hidden": [8]}, game.obs_shape, game.num_actions)
    with torch.no_grad():
        net.policy_head.bias[:6] += 50.0  # the first six cards look best, legal or not
    rng = np.random.default_rng(0)
    agent, greedy = PolicyAgent(net, device="cpu", seed=1), PolicyAgent(net, device="cpu", greedy=True)
    counts = np.zeros(game.num_actions)
    for _ in range(200):
        masks = rng.random((32, game.num_actions)) < 0.3
        masks[np.arange(32), rng.integers(0, game.num_actions, 32)] = True
        obs = rng.random((32, *game.obs_shape)).astype(np.float32)
        batch = DecisionBatch(game, obs, masks, np.zeros(32, np.int64), np.arange(32))
        a = agent.act(batch)
        assert masks[np.arange(32), a].all()
        counts += np.bincount(a, minlength=game.num_actions)
        g = greedy.act(batch)
        assert masks[np.arange(32), g].all()
        with torch.no_grad():
            best = masked_logits(net(torch.as_tensor(obs))[0], torch.as_tensor(masks)).argmax(-1).numpy()
        assert np.array_equal(g, best)
    assert (counts > 0).all()  # every action gets sampled when it is the only legal one or favoured
    assert agent.evaluator.forward_calls == 200 and agent.evaluator.samples == 200 * 32


def _tiny(game_id="toy_highcard", **kw):
    base = dict(
        env_id=game_id,
        opponents=("toy_random",),
        total_steps=600,
        num_games=16,
        checkpoint_every=2,
        net_config={"kind": "mlp", "hidden": [16]},
        seed=3,
    )
    return ReinforceConfig(**{**base, **kw})


# --- the card-structured 6 nimmt! net -------------------------------------------------------------------------

OWN = ("hand", "seen", "unseen", "in_row", "value", "bulls", "below_all", "takes", "cost", "gap", "target_len",
       "unseen_between", "hand_between")  # fmt: skip


def _own(cards: torch.Tensor, name: str) -> np.ndarray:
    return cards[..., OWN.index(name)].numpy()


def _hand_made_obs(m=104, p=2):
    """Rows [5], [20..24] (full), [50], [90]; hand 3, 25, 51, 60, 95; unseen 52, 55, 70; the rest seen."""
    sl = obs_slices(m, p)
    obs = np.zeros((1, sl["revealed"].stop), np.float32)
    rows = [[5], [20, 21, 22, 23, 24], [50], [90]]
    for j, row in enumerate(rows):
        for c in row:
            obs[0, sl["rows"].start + j * m + c - 1] = 1
    hand, unseen = [3, 25, 51, 60, 95], [52, 55, 70]
    obs[0, sl["hand"].start + np.array(hand) - 1] = 1
    obs[0, sl["unseen"].start + np.array(unseen) - 1] = 1
    obs[0, sl["seen"].start + np.array([c for r in rows for c in r]) - 1] = 1
    obs[0, sl["phase"].start] = 1
    return obs


def test_card_features_on_a_hand_made_position():
    trunk = CardTrunk(104, 2, 10, 8)
    hand, cards, rows, glob = trunk.card_features(torch.as_tensor(_hand_made_obs()))
    c = np.array([3, 25, 51, 60, 95]) - 1
    assert hand[0, c].tolist() == [1] * 5 and hand.sum() == 5
    assert _own(cards, "below_all")[0, c].tolist() == [1, 0, 0, 0, 0]
    assert _own(cards, "takes")[0, c].tolist() == [0, 1, 0, 0, 0]  # 25 is the 6th card of row 1
    # 3 takes the cheapest row (row 0, [5] = 2 bullheads); 25 takes 20..24 = 3 + 1 + 5 + 1 + 1 bullheads
    np.testing.assert_allclose(_own(cards, "cost")[0, c] * 35, [2, 11, 0, 0, 0])
    np.testing.assert_allclose(_own(cards, "gap")[0, c] * 104, [0, 1, 1, 10, 5])
    np.testing.assert_allclose(_own(cards, "target_len")[0, c] * 5, [0, 5, 1, 1, 1])
    # unseen cards in (target's last, c): 3 -> none below 3; 60 -> 52, 55; 95 -> none in (90, 95)
    np.testing.assert_allclose(_own(cards, "unseen_between")[0, c] * 10, [0, 0, 0, 2, 0])
    np.testing.assert_allclose(_own(cards, "hand_between")[0, c] * 10, [0, 0, 0, 1, 0])  # 51 below 60
    np.testing.assert_allclose(_own(cards, "bulls")[0, [4, 54, 21]] * 7, [2, 7, 5])
    assert _own(cards, "in_row")[0, [4, 19, 89, 2]].tolist() == [1, 1, 1, 0]
    np.testing.assert_allclose(rows[0, :, 0] * 5, [1, 5, 1, 1])
    np.testing.assert_allclose(rows[0, :, 1] * 35, [2, 11, 3, 3])
    assert rows[0, :, 3].tolist() == [1, 0, 0, 0]  # row 0 ([5], 2 bullheads) is the cheapest


def _random_positions(game, n, seed):
    """Observations of the player to act after a random number of uniformly random moves in n games."""
    rng = np.random.default_rng(seed)
    state = game.init(n, seed)
    stop = rng.integers(0, 2 * game.hand_size * game.num_players, n)
    for t in range(int(stop.max())):
        mask = game.legal_mask(state)
        live = (game.current_player(state) >= 0) & (t < stop)
        acts = np.where(live, np.where(mask, rng.random(mask.shape), -1).argmax(1), -1)
        game.step(state, acts)
    cur = game.current_player(state)
    keep = cur >= 0
    return game.observe(game.take(state, np.flatnonzero(keep)), cur[keep])


@pytest.mark.parametrize("env_id", ["sixnimmt_v0", "sixnimmt_tactical_v0"])
def test_card_features_match_a_reference_on_random_positions(env_id):
    game = make_game(env_id)
    m, p = game.max_card, game.num_players
    obs = _random_positions(game, 40, seed=3)
    trunk = CardTrunk(m, p, game.hand_size, 8)
    _, cards, _, _ = trunk.card_features(torch.as_tensor(obs))
    view = decode_observation(obs, m, p)
    unseen = obs[:, obs_slices(m, p)["unseen"]] > 0.5
    for b in range(len(obs)):
        lens = view.row_len[b].astype(np.int64)
        last = np.array([view.rows[b, r, lens[r] - 1] for r in range(4)], np.int16)
        cheap = cheapest_row(view.rows[b], view.row_len[b])
        for c in np.flatnonzero(view.hand[b]):
            r = target_row(last, c)
            lo = last[r] if r >= 0 else 0
            full = r >= 0 and lens[r] == 5
            cost = row_bullheads(view.rows[b, cheap], lens[cheap]) if r < 0 else (
                row_bullheads(view.rows[b, r], lens[r]) if full else 0)  # fmt: skip
            got = {k: _own(cards, k)[b, c - 1] for k in OWN}
            assert got["below_all"] == (r < 0) and got["takes"] == full
            assert got["cost"] * 35 == pytest.approx(cost)
            assert got["bulls"] * 7 == pytest.approx(bullheads(c))
            assert got["gap"] * m == pytest.approx(c - lo if r >= 0 else 0)
            assert got["unseen_between"] * 10 == pytest.approx(unseen[b, lo : c - 1].sum())
            assert got["hand_between"] * 10 == pytest.approx(view.hand[b, lo + 1 : c].sum())


def test_card_logits_are_permutation_equivariant_over_cards():
    game = make_game("sixnimmt_v0")
    obs = torch.as_tensor(_random_positions(game, 16, seed=5))
    torch.manual_seed(0)
    trunk = CardTrunk(104, 2, 10, 16).eval()
    hand, cards, rows, glob = trunk.card_features(obs)
    logits, ctx = trunk.card_logits(hand, cards, rows, glob)
    assert (logits[:, :104][hand < 0.5] == 0).all()  # cards not in hand
    for seed in range(3):
        perm = torch.randperm(104, generator=torch.Generator().manual_seed(seed))
        logits_p, ctx_p = trunk.card_logits(hand[:, perm], cards[:, perm], rows, glob)
        torch.testing.assert_close(logits_p[:, :104], logits[:, :104][:, perm])
        torch.testing.assert_close(logits_p[:, 104:], logits[:, 104:])  # row logits
        torch.testing.assert_close(ctx_p, ctx)
    in_hand = logits[:, :104][hand > 0.5]
    assert in_hand.std() > 1e-3  # the cards' logits differ, so the permutation check has teeth


def test_card_net_config_and_refusals():
    game = make_game("sixnimmt_tactical_v0")
    cfg = default_net_config(game)
    assert cfg == {"kind": "cards", "max_card": 24, "num_players": 2, "max_hand": 10, "hidden": 64}
    net = PolicyValueNet(cfg, game.obs_shape, game.num_actions)
    obs = torch.as_tensor(_random_positions(game, 8, seed=1))
    logits, value = net(obs)
    assert logits.shape == (len(obs), game.num_actions) and value.shape == (len(obs),)
    assert default_net_config(make_game("go_v0", board_size=5))["kind"] == "conv"
    with pytest.raises(ValueError, match=r"needs observations of shape \(951,\), got \(231,\)"):
        build_trunk({**cfg, "max_card": 104}, game.obs_shape)
    with pytest.raises(ValueError, match="more than max_hand=3 cards"):
        build_trunk({**cfg, "max_hand": 3}, game.obs_shape)[0](obs)


def test_card_net_checkpoint_round_trip(tmp_path):
    game = make_game("sixnimmt_v0")
    net_config = {**default_net_config(game), "hidden": 8}
    cfg = ReinforceConfig(opponents=("closest_gap",), total_steps=200, num_games=4, net_config=net_config, seed=2)
    path = train_reinforce(cfg, tmp_path)["final_checkpoint"]
    ckpt = load_checkpoint(path, algo="reinforce", game=game)
    assert ckpt["net_config"] == net_config
    net = PolicyValueNet(net_config, game.obs_shape, game.num_actions)
    net.load_state_dict(ckpt["weights"])
    agent = make_agent(f"reinforce:{path},greedy=true", game)
    obs = _random_positions(game, 32, seed=4)
    state_masks = np.zeros((len(obs), game.num_actions), bool)
    view = decode_observation(obs, 104, 2)
    state_masks[:, :104] = view.hand[:, 1:] & ~view.row_choice[:, None]
    state_masks[view.row_choice, 104:] = True
    with torch.no_grad():
        want = masked_logits(net(torch.as_tensor(obs))[0], torch.as_tensor(state_masks)).argmax(1).numpy()
    batch = DecisionBatch(game, obs, state_masks, np.zeros(len(obs), np.int64), np.arange(len(obs)))
    np.testing.assert_array_equal(agent.act(batch), want)


def test_training_run_writes_logs_and_checkpoints(tmp_path):
    game = HighCardGame(deck=8, hand=3)
    result = train_reinforce(_tiny(), tmp_path / "run", game=game)
    run = tmp_path / "run"
    assert json.loads((run / "result.json").read_text()) == result
    assert result["steps"] >= 600
    config = json.loads((run / "config.json").read_text())
    assert config["algo"] == "reinforce" and config["opponents"] == ["toy_random"] and "git_commit" in config
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == sorted(x["step"] for x in lines)
    for key in (
        "policy_loss",
        "value_loss",
        "entropy",
        "learner_mean_return",
        "env_steps",
        "forward_samples",
        "backward_samples",
        "wall_s",
        "device",
    ):
        assert key in lines[-1]
    # every learner decision is one forward sample while acting and one while training
    assert lines[-1]["forward_samples"] == 2 * lines[-1]["backward_samples"] == 2 * result["steps"]
    assert lines[-1]["env_steps"] == 2 * result["steps"]  # HighCard: one opponent move per learner move
    assert len(list((run / "checkpoints").glob("step_*.pt"))) == len(lines) // 2
    assert any((run / "tb").iterdir())
    ckpt = load_checkpoint(
        result["final_checkpoint"], algo="reinforce", game=game, env_id="toy_highcard", env_kwargs={}
    )
    assert ckpt["step"] == result["steps"] and ckpt["extra"]["compute"]["device"] == "cpu"


def test_self_play_and_no_baseline_run(tmp_path):
    game = NimGame(min_pile=5, max_pile=15)
    for baseline in (True, False):
        result = train_reinforce(
            _tiny("toy_nim", opponents=(), baseline=baseline, gamma=0.9), tmp_path / str(baseline), game=game
        )
        lines = (tmp_path / str(baseline) / "metrics.jsonl").read_text().splitlines()
        assert "learner_mean_return" not in json.loads(lines[-1])  # self-play: both seats are the learner
        assert result["compute"]["env_steps"] == result["steps"]


def test_checkpoint_agent_round_trip_and_refusals(tmp_path):
    game = HighCardGame(deck=8, hand=3)
    path = train_reinforce(_tiny(total_steps=100), tmp_path, game=game)["final_checkpoint"]
    state = game.init(32, 0)
    batch = DecisionBatch(game, game.observe(state, 0), game.legal_mask(state), np.zeros(32, np.int64), np.arange(32))
    a1 = make_agent(f"reinforce:{path}", game, seed=7).act(batch)
    a2 = make_agent(f"reinforce:{path}", game, seed=7).act(batch)
    assert np.array_equal(a1, a2) and batch.masks[np.arange(32), a1].all()
    greedy = make_agent(f"reinforce:{path},greedy=true", game, seed=1)
    assert greedy.name == f"reinforce:{path},greedy=true"
    ckpt = load_checkpoint(path)
    net = PolicyValueNet(ckpt["net_config"], game.obs_shape, game.num_actions)
    net.load_state_dict(ckpt["weights"])
    logits, _ = net(torch.as_tensor(batch.observations))
    assert np.array_equal(greedy.act(batch), masked_logits(logits, torch.as_tensor(batch.masks)).argmax(-1).numpy())

    with pytest.raises(CheckpointError, match="does not fit this game"):
        make_agent(f"reinforce:{path}", HighCardGame(deck=10, hand=3))
    with pytest.raises(CheckpointError, match="trained for env 'toy_highcard', not 'sixnimmt_v0'"):
        load_checkpoint(path, env_id="sixnimmt_v0")
    with pytest.raises(CheckpointError, match="env kwargs"):
        load_checkpoint(path, env_kwargs={"deck": 10})
    with pytest.raises(CheckpointError, match="is a 'reinforce' checkpoint, not 'ppo'"):
        make_agent(f"ppo:{path}", game)
    data = (tmp_path / "final.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        make_agent(f"reinforce:{tmp_path / 'cut.pt'}", game)
    torch.save({"weights": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a zeroleague policy checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_six_nimmt_checkpoint_refuses_other_rules(tmp_path):
    cfg = ReinforceConfig(
        env_id="sixnimmt_v0",
        env_kwargs={"row_choice": "auto"},
        opponents=("random",),
        total_steps=50,
        num_games=4,
        net_config={"kind": "mlp", "hidden": [8]},
    )
    path = train_reinforce(cfg, tmp_path)["final_checkpoint"]
    make_agent(f"reinforce:{path}", make_game("sixnimmt_v0", row_choice="auto"))
    with pytest.raises(CheckpointError, match="row_choice"):
        make_agent(f"reinforce:{path}", make_game("sixnimmt_v0"))


def test_training_is_seeded(tmp_path):
    game = HighCardGame(deck=8, hand=3)
    runs = [
        train_reinforce(_tiny(total_steps=200, seed=s), tmp_path / f"{i}", game=game) for i, s in enumerate((5, 5, 6))
    ]
    w = [load_checkpoint(r["final_checkpoint"])["weights"] for r in runs]
    assert all(torch.equal(w[0][k], w[1][k]) for k in w[0])
    assert not all(torch.equal(w[0][k], w[2][k]) for k in w[0])


def test_bad_opponent_weights(tmp_path):
    with pytest.raises(ValueError, match="opponent_weights"):
        train_reinforce(_tiny(opponent_weights=(1.0, 2.0)), tmp_path, game=HighCardGame(deck=8, hand=3))


@pytest.mark.slow
def test_reinforce_beats_random_on_six_nimmt(tmp_path):
    from zeroleague.leagues.harness import play_match

    cfg = ReinforceConfig(env_id="sixnimmt_v0", opponents=("random",), total_steps=300_000, num_games=32, seed=0)
    path = train_reinforce(cfg, tmp_path)["final_checkpoint"]
    game = make_game("sixnimmt_v0")
    agent = make_agent(f"reinforce:{path}", game, seed=1)
    match = play_match(game, agent, make_agent("random", game, seed=2), 1000, seed=5)
    margin = np.array([r.returns[r.seat_a] for r in match.records])
    half = 1.96 * margin.std(ddof=1) / np.sqrt(len(margin))
    assert margin.mean() - half > 0.0 and margin.mean() > 1.0, (margin.mean(), half)


def _cli(argv):
    import argparse

    from zeroleague.train_cli import add_train_parser

    parser = argparse.ArgumentParser(prog="zeroleague")
    add_train_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_train_cli_reinforce(tmp_path, capsys):
    args = _cli(
        [
            "train",
            "reinforce",
            "--env",
            "sixnimmt_v0",
            "--env-kwarg",
            "row_choice=auto",
            "--opponent",
            "random",
            "--opponent",
            "lowest",
            "--opponent-weight",
            "1",
            "--opponent-weight",
            "3",
            "--steps",
            "40",
            "--out",
            str(tmp_path),
            "--seed",
            "2",
            "--set",
            "num_games=4",
            "--set",
            'net_config={"kind": "mlp", "hidden": [8]}',
        ]
    )
    assert args.func(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == json.loads((tmp_path / "result.json").read_text())
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["env_kwargs"] == {"row_choice": "auto"} and config["opponent_weights"] == [1.0, 3.0]
    assert config["num_games"] == 4 and config["seed"] == 2 and config["net_config"]["hidden"] == [8]
    for bad, match in (
        (["--self-play", "--opponent", "random"], "exactly one"),
        ([], "exactly one"),
        (["--self-play", "--set", "num_gamez=3"], "not a field"),
        (["--opponent", "random", "--opponent-weight", "1", "--opponent-weight", "2"], "2 --opp"),
    ):
        with pytest.raises(ValueError, match=match):
            a = _cli(["train", "reinforce", "--env", "sixnimmt_v0", "--steps", "1", "--out", str(tmp_path), *bad])
            a.func(a)
