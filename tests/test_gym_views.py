"""SingleAgentView: Gymnasium conformance, reward attribution in either seat, masking, seeding, mixtures."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from tests.toygames import HighCardGame, NimGame
from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch
from zeroleague.agents.gym_views import SingleAgentView
from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.registry import GYM_IDS, register_gym_envs

# check_env's expected notes: unbounded Box observations, and the _LegalizeSamples wrapper below
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(infinity|too low|too high|different from the unwrapped).*:UserWarning"
)


class _LegalizeSamples(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """For ``check_env`` only: it steps with ``action_space.sample()`` drawn before it resets (so the action
    is often illegal in 6 nimmt!, where only the 10 cards in hand are legal); this maps an illegal action to a
    legal one (deterministically) so that the API checks run. The raw view's refusal is tested separately
    below."""

    def __init__(self, env: gymnasium.Env):
        gymnasium.utils.RecordConstructorArgs.__init__(self)
        gymnasium.Wrapper.__init__(self, env)

    def step(self, action):
        legal = np.flatnonzero(self.env.unwrapped.action_masks())
        if action not in legal:
            action = legal[int(action) % len(legal)]
        return self.env.step(action)


def _play_random(env: SingleAgentView, rng: np.random.Generator) -> tuple[float, dict]:
    """One episode with uniformly random legal learner moves; the sum of rewards and the last info."""
    env.reset()
    total, done, info = 0.0, False, {}
    while not done:
        _, r, term, trunc, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        total += r
        done = term or trunc
    return total, info


@pytest.mark.parametrize("gym_id", sorted(GYM_IDS))
def test_check_env_registered(gym_id):
    register_gym_envs()
    kwargs = {"max_moves": 40} if gym_id == "zeroleague/Go19x19-v0" else {}
    env = gymnasium.make(gym_id, **kwargs)
    check_env(_LegalizeSamples(env.unwrapped), skip_render_check=True)
    env.close()


@pytest.mark.parametrize("gym_id", sorted(GYM_IDS))
def test_gymnasium_and_sb3_checkers_pass_on_the_unwrapped_view(gym_id, capsys):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    register_gym_envs()
    kwargs = {"max_moves": 40} if gym_id == "zeroleague/Go19x19-v0" else {}
    view = gymnasium.make(gym_id, **kwargs).unwrapped
    assert np.isfinite(view.observation_space.high).all() and (view.observation_space.low == 0).all()
    check_env(view)  # default illegal_action="lose": unmasked samples end the episode instead of raising
    sb3_check_env(view)
    capsys.readouterr()  # the render check prints the "human" board


@pytest.mark.parametrize("gym_id", ["zeroleague/SixNimmt-v0", "zeroleague/Go9x9-v0"])
def test_plain_sb3_ppo_trains_through_make_vec_env(gym_id):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    register_gym_envs()
    venv = make_vec_env(gym_id, n_envs=2, seed=0)  # passes render_mode="rgb_array" to gymnasium.make
    assert venv.render_mode == "rgb_array"
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)  # ignores masks: illegal actions lose episodes, nothing raises
    assert model.num_timesteps >= 64
    img = venv.env_method("render")[0]
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


@pytest.mark.parametrize("gym_id", ["zeroleague/SixNimmt-v0", "zeroleague/Go9x9-v0"])
def test_registered_kwargs_pass_through(gym_id):
    register_gym_envs()
    register_gym_envs()  # idempotent
    env = gymnasium.make(gym_id, opponent="highest" if "Six" in gym_id else "random", learner_seat=1)
    view = env.unwrapped
    env_id, defaults = GYM_IDS[gym_id]
    assert view.env_id == env_id and view.env_kwargs == defaults
    obs, info = env.reset(seed=3)
    assert info["learner_seat"] == 1 and obs.shape == view.game.obs_shape
    assert info["opponent"] == ("highest" if "Six" in gym_id else "random")
    mask = env.unwrapped.action_masks()
    assert mask.dtype == bool and mask.shape == (view.game.num_actions,)
    # MaskablePPO reads masks through get_wrapper_attr on the gymnasium.make wrappers
    assert np.array_equal(env.get_wrapper_attr("action_masks")(), mask)


def test_check_env_toy_games():
    for game in (NimGame(min_pile=5), HighCardGame()):
        check_env(_LegalizeSamples(SingleAgentView(game, opponent="toy_random")), skip_render_check=True)


@pytest.mark.parametrize("seat", [0, 1])
def test_forced_win_pays_learner_in_either_seat(seat):
    # Nim, take 1..3, last stone wins: the player to move wins iff pile % 4 != 0. Seat 0 faces pile 9 (a win
    # for the mover); seat 1 moves after the opponent from pile 8 (every opponent move leaves a winning pile).
    game = NimGame(min_pile=9 - seat, max_pile=9 - seat)
    for opponent in ("toy_random", "toy_nim_optimal"):
        env = SingleAgentView(game, opponent=opponent, learner_seat=seat)
        obs, info = env.reset(seed=seat)
        assert info["learner_seat"] == seat
        rewards, done = [], False
        while not done:
            pile = int(np.argmax(obs))
            obs, r, term, trunc, info = env.step(int(game.winning_action(np.array([pile]))[0]))
            rewards.append(r)
            done = term or trunc
        assert term and not trunc
        assert rewards[-1] == 1.0 and sum(rewards) == 1.0 and all(r == 0 for r in rewards[:-1])
        assert env.game.returns(env._state)[0, seat] == 1.0


@pytest.mark.parametrize("seat", [0, 1])
def test_forced_loss_charges_learner_in_either_seat(seat):
    # The mirror image: the learner faces a lost pile and the opponent plays perfectly.
    game = NimGame(min_pile=8 + seat, max_pile=8 + seat)
    env = SingleAgentView(game, opponent="toy_nim_optimal", learner_seat=seat)
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, r, term, trunc, _ = env.step(0)
        total += r
        done = term or trunc
    assert total == -1.0 and env.game.returns(env._state)[0, 1 - seat] == 1.0


@pytest.mark.parametrize(
    "make", [lambda: HighCardGame(deck=8, hand=3), lambda: "sixnimmt_v0", lambda: "sixnimmt_tactical_v0"]
)
def test_rewards_sum_to_learner_return(make):
    # Rewards arrive mid-game here (every trick / every taken row); their sum is the learner seat's engine
    # return, whichever seat it plays, and the opponent's gains never show up as the learner's reward.
    env = SingleAgentView(make(), opponent="random" if isinstance(make(), str) else "toy_random")
    rng = np.random.default_rng(0)
    env.reset(seed=11)
    seats = set()
    for _ in range(30):
        total, info = _play_random(env, rng)
        seat = info["learner_seat"]
        seats.add(seat)
        final = env.game.returns(env._state)[0]
        assert total == pytest.approx(float(final[seat]), abs=1e-9)
        assert np.sum(final) == pytest.approx(0.0, abs=1e-9)
    assert seats == {0, 1}


def test_alternating_seats_and_seeded_determinism():
    env = SingleAgentView("sixnimmt_v0", opponent="closest_gap")

    def trajectory(seed):
        obs, info = env.reset(seed=seed)
        out = [(obs, info["learner_seat"])]
        rng = np.random.default_rng(seed)
        for _ in range(3):
            total, info = _play_random(env, rng)
            out.append((total, info["learner_seat"]))
        return out

    a, b, c = trajectory(5), trajectory(5), trajectory(6)
    assert [s for _, s in a] == [0, 1, 0, 1]
    for (x, sx), (y, sy) in zip(a, b, strict=True):
        assert sx == sy and np.array_equal(x, y)
    assert not np.array_equal(a[0][0], c[0][0])  # another seed, another deal


def test_illegal_action_refused_and_state_unchanged():
    env = SingleAgentView("sixnimmt_v0", opponent="random", learner_seat=0, illegal_action="raise")
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    illegal = int(np.flatnonzero(~mask)[0])
    with pytest.raises(IllegalActionError, match=rf"illegal action {illegal} for the learner \(seat 0\)"):
        env.step(illegal)
    with pytest.raises(IllegalActionError, match="illegal action 999"):
        env.step(999)
    assert np.array_equal(env._obs(), obs) and np.array_equal(env.action_masks(), mask)
    env.step(int(np.flatnonzero(mask)[0]))  # the episode goes on


def test_action_masks_match_engine_and_close_after_end():
    env = SingleAgentView("go_v0", opponent="random", board_size=5, max_moves=12)
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    done = False
    while not done:
        mask = env.action_masks()
        assert np.array_equal(mask, env.game.legal_mask(env._state)[0])
        assert env.game.current_player(env._state)[0] == env._seat
        _, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        done = term or trunc
    assert trunc or term
    assert not env.action_masks().any()
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


def test_opponent_mixture_weights():
    env = SingleAgentView(HighCardGame(), opponent=["toy_random", "random"], opponent_weights=[3, 1])
    env.reset(seed=0)
    names = [env.reset()[1]["opponent"] for _ in range(400)]
    share = names.count("toy_random") / len(names)
    assert 0.65 < share < 0.85 and set(names) == {"toy_random", "random"}
    env = SingleAgentView(HighCardGame(), opponent=["toy_random", "random"], opponent_weights=[0, 1])
    assert {env.reset(seed=s)[1]["opponent"] for s in range(20)} == {"random"}


def test_agent_instance_opponent_and_resignation():
    class Resigner(BaseAgent):
        name = "resigner"

        def __init__(self):
            self.seen: list[DecisionBatch] = []
            self.closed = 0

        def close(self):
            self.closed += 1

        def act(self, batch):
            self.seen.append(batch)
            return np.full(len(batch), RESIGN)

    opp = Resigner()
    env = SingleAgentView(NimGame(min_pile=9, max_pile=9), opponent=opp, learner_seat=0)
    env.reset(seed=0)
    _, r, term, trunc, info = env.step(0)
    assert (r, term, trunc, info["opponent_resigned"]) == (1.0, True, False, True)
    assert opp.seen[0].players.tolist() == [1] and opp.seen[0].masks.shape == (1, 3)
    env.close()
    assert opp.closed == 0  # an Agent instance belongs to the caller


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learner_seat": 2}, "learner_seat"),
        ({"learner_seat": "first"}, "learner_seat"),
        ({"opponent": []}, "at least one"),
        ({"opponent": ["random"], "opponent_weights": [1, 1]}, "opponent_weights"),
        ({"opponent_weights": [-1.0]}, "opponent_weights"),
        ({"render_mode": "human"}, "render_mode"),
        ({"illegal_action": "ignore"}, "illegal_action"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SingleAgentView(HighCardGame(), **{"opponent": "toy_random", **kwargs})


@pytest.mark.parametrize(
    ("env_id", "kwargs", "worst"),
    [
        ("sixnimmt_v0", {}, -171.0),
        ("sixnimmt_tactical_v0", {"reward": "win"}, -1.0),
        ("go_v0", {"board_size": 5}, -1.0),
    ],
)
def test_illegal_action_lose_ends_the_episode_with_the_worst_return(env_id, kwargs, worst):
    env = SingleAgentView(env_id, opponent="random", learner_seat=0, **kwargs)
    assert env.illegal_action == "lose"
    env.reset(seed=0)
    total = 0.0
    for _ in range(2):  # two legal moves first, then an illegal one
        _, r, term, trunc, info = env.step(int(np.flatnonzero(env.action_masks())[0]))
        total += r
        assert "illegal_action" not in info
        if term or trunc:
            pytest.skip("the game ended early")
    illegal = int(np.flatnonzero(~env.action_masks())[0])
    _, r, term, trunc, info = env.step(np.int64(illegal))
    total += r
    assert term and not trunc and info["illegal_action"] == illegal and total == pytest.approx(worst)
    assert not env.action_masks().any()
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=1)  # out of range also loses
    _, r, term, _, info = env.step(env.game.num_actions + 5)
    assert term and r == pytest.approx(worst) and info["illegal_action"] == env.game.num_actions + 5


@pytest.mark.parametrize("mode", ["lose", "raise"])
@pytest.mark.parametrize("bad", [4.7, 1.5, None, "a", True, np.float64(2.0)])
def test_non_integer_actions_raise_naming_the_value(bad, mode):
    import re

    for env_id, kw in (("sixnimmt_v0", {}), ("go_v0", {"board_size": 5})):
        env = SingleAgentView(env_id, opponent="random", learner_seat=0, illegal_action=mode, **kw)
        obs, _ = env.reset(seed=0)
        with pytest.raises(IllegalActionError, match="action must be an int.*got " + re.escape(repr(bad))):
            env.step(bad)
        assert np.array_equal(env._obs(), obs)
        env.step(np.array(int(np.flatnonzero(env.action_masks())[0])))  # a 0-d integer array is fine


@pytest.mark.parametrize("env_id", ["sixnimmt_v0", "go_v0"])
def test_render_modes(env_id, capsys):
    kw = {"board_size": 5} if env_id == "go_v0" else {}
    for mode, kind in (("ansi", str), ("rgb_array", np.ndarray), ("human", type(None))):
        env = SingleAgentView(env_id, opponent="random", learner_seat=0, render_mode=mode, **kw)
        env.reset(seed=0)
        out = env.render()
        assert isinstance(out, kind)
        if mode == "ansi":
            assert ("row 0:" in out) if env_id != "go_v0" else ("A B C D E" in out)
    assert "to play" in capsys.readouterr().out or env_id != "go_v0"
