"""Average-policy distillation: reach-weighted targets of a mixture, and a distilled network that plays as an
Agent."""

import numpy as np
import pytest

from zeroleague.agents.base import BaseAgent
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.policies import CheckpointError
from zeroleague.envs.sixnimmt.engine import SixNimmtGame, decode_observation
from zeroleague.leagues.distill import DistillConfig, collect_mixture_data, distill
from zeroleague.leagues.harness import play_match

KW = {"hand_size": 3, "max_card": 10}


def test_targets_are_the_reach_weighted_average_of_the_members():
    """Mixture of 'lowest' and 'highest' (0.7/0.3): a seat's first card is labelled 0.7 lowest + 0.3 highest;
    after it the seat's first move has revealed its member, so later cards are labelled with that member's
    card alone (the plain average would keep mixing)."""
    game = SixNimmtGame(**KW)
    cfg = DistillConfig(env_kwargs=KW, members=("lowest", "highest"), weights=(0.7, 0.3), num_games=40)
    obs, masks, targets = collect_mixture_data(game, cfg)
    assert len(obs) == len(masks) == len(targets) >= 40 * 2 * 3
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    assert (targets[~masks] == 0).all()
    view = decode_observation(obs, 10, 2)
    trick = obs[:, game.obs_slices["trick"]][:, 0]
    first = (trick == 0) & ~view.row_choice
    later = (trick > 0) & ~view.row_choice
    for b in np.flatnonzero(first):
        cards = np.flatnonzero(view.hand[b])
        want = np.zeros(game.num_actions)
        want[cards.min() - 1] += 0.7
        want[cards.max() - 1] += 0.3
        np.testing.assert_allclose(targets[b], want)
    assert later.sum() > 0 and np.allclose(targets[later].max(axis=1), 1.0)
    chose_low = [
        np.flatnonzero(targets[b])[0] + 1 == np.flatnonzero(view.hand[b]).min() for b in np.flatnonzero(later)
    ]
    assert 0.5 < np.mean(chose_low) < 0.9  # the members' shares show through the drawn seats


def test_distilled_network_plays_like_its_single_member_and_loads_as_agent(tmp_path):
    cfg = DistillConfig(
        env_kwargs=KW, members=("lowest",), num_games=128, epochs=60, batch_size=64, learning_rate=3e-3
    )
    result = distill(cfg, tmp_path / "avg.pt")
    assert result["losses"][-1] < 0.25 * result["losses"][0] and result["entropy"] == 0.0
    game = SixNimmtGame(**KW)
    agent = make_agent(f"distilled:{tmp_path / 'avg.pt'},greedy=true", game)
    lowest = make_agent("lowest", game)

    class Probe(BaseAgent):
        """Plays 'lowest'; counts the decisions where the distilled agent picks the same action."""

        name, same, total = "probe", 0, 0

        def act(self, batch):
            want, got = lowest.act(batch), agent.act(batch)
            self.same += int((want == got).sum())
            self.total += len(want)
            return want

    probe = Probe()
    play_match(game, probe, make_agent("random", game), 100, seed=123)  # fresh deals
    # (states of games against random, off the training distribution; a random pick agrees ~1/2 of the time)
    assert probe.total > 300 and probe.same >= 0.85 * probe.total
    with pytest.raises(CheckpointError, match="distilled"):
        make_agent(f"reinforce:{tmp_path / 'avg.pt'}", game)


def test_config_errors():
    with pytest.raises(ValueError, match="weights"):
        DistillConfig(members=("a", "b"), weights=(0.5,))
    with pytest.raises(ValueError, match="num_games"):
        DistillConfig(num_games=0)
