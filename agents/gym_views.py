"""Gymnasium single-agent views of the games: the learner plays one seat, a fixed opponent Agent (or a fixed
mixture of Agents) plays the others inside ``step``. This is how a best response is trained (PPO).

    import gymnasium, envs                      # importing envs registers the ids below
    env = gymnasium.make("zeroleague/SixNimmt-v0", opponent="closest_gap")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(env.unwrapped.action_masks())[0]))

Registered ids (``zeroleague.envs.registry.GYM_IDS``), every keyword passed through to ``SingleAgentView``:
``zeroleague/SixNimmt-v0`` (``sixnimmt_v0``), ``zeroleague/SixNimmtTactical-v0`` (``sixnimmt_tactical_v0``),
``zeroleague/Go9x9-v0`` (``go_v0``, ``board_size=9``), ``zeroleague/Go19x19-v0`` (``go_v0``,
``board_size=19``).

Contract of ``SingleAgentView`` (built directly on the ``BatchedGame`` with N = 1, no AEC env in between):

- ``observation_space``: ``Box(-inf, inf, game.obs_shape, float32)``, the game's observation for the learner's
  seat. ``action_space``: ``Discrete(game.num_actions)``. ``action_masks()``: bool[A], the learner's legal
  actions (what sb3-contrib's MaskablePPO reads).
- Seats: ``learner_seat="alternate"`` (default) gives seat ``k % P`` to the k-th episode since the last seeded
  reset (so ``reset(seed=s)`` starts at seat 0); an int fixes the seat. ``info["learner_seat"]`` says which.
- Opponents: an agent spec (``"random"``, ``"closest_gap"``, ``"ppo:path.pt"``), an Agent instance, or a
  sequence of those with ``opponent_weights`` (default uniform): a fixed mixture, one member drawn per episode
  from the env's seeded RNG and playing every other seat for that episode (``info["opponent"]`` names it).
  Opponents move inside ``reset`` (when they are to act first) and inside ``step`` (their replies), until the
  learner is to act or the game is over. Spec opponents are rebuilt with seeds derived from ``seed`` on every
  seeded reset, so ``reset(seed=s)`` and the steps after it are deterministic; Agent instances are used as
  given.
- Reward: the change of the learner seat's ``game.returns`` since the learner's previous observation,
  opponents' replies included, so the sum of an episode's rewards is exactly the learner seat's final return
  (changes that happen while opponents move inside ``reset`` are paid with the first ``step``). An opponent's
  ``RESIGN`` ends the episode as a win worth +1 for the learner (``info["opponent_resigned"] = True``), the
  harness's convention.
- ``terminated`` = the game is over and not cut by its move cap; ``truncated`` = cut by the move cap (the
  position is scored as it stands either way, so the reward is paid in both cases).
- An illegal learner action raises ``zeroleague.envs.core.IllegalActionError`` naming the action, the seat and the legal
  actions; the state is left unchanged and the episode can continue. Note that ``action_space.sample()``
  ignores legality: sample with ``action_space.sample(mask=env.action_masks().astype(np.int8))``.
- A game that ends, or an opponent that resigns, before the learner's first move raises ``RuntimeError`` in
  ``reset`` (impossible in Go and 6 nimmt!).
- No rendering (``render_mode`` must be None). ``game_steps`` counts the moves of every seat applied so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from zeroleague.agents.base import RESIGN, Agent, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.envs.core import BatchedGame, IllegalActionError
from zeroleague.envs.registry import make_game

OpponentSpec = str | Agent

RESIGN_REWARD = 1.0


def game_spaces(game: BatchedGame) -> tuple[spaces.Box, spaces.Discrete]:
    """The views' ``(observation_space, action_space)`` for ``game``: ``Box(-inf, inf, obs_shape, float32)``
    and ``Discrete(num_actions)``."""
    return (
        spaces.Box(-np.inf, np.inf, shape=tuple(game.obs_shape), dtype=np.float32),
        spaces.Discrete(game.num_actions),
    )


class SingleAgentView(gymnasium.Env):
    """One seat of ``game`` for a learner, the other seats played by a fixed opponent (see the module
    docstring).

    ``game``: an env id (the engine is built with ``envs.make_game(game, **env_kwargs)``) or a ``BatchedGame``
    instance (then ``env_kwargs`` must be empty). ``device``: passed to spec-built opponents.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        game: str | BatchedGame,
        *,
        opponent: OpponentSpec | Sequence[OpponentSpec] = "random",
        opponent_weights: Sequence[float] | None = None,
        learner_seat: int | str = "alternate",
        render_mode: str | None = None,
        device: str | None = None,
        **env_kwargs: Any,
    ):
        if isinstance(game, str):
            self.env_id, self.env_kwargs = game, dict(env_kwargs)
            self.game = make_game(game, **env_kwargs)
        else:
            if env_kwargs:
                raise ValueError(f"env_kwargs {env_kwargs!r} given with a game instance; pass an env id instead")
            self.game, self.env_id, self.env_kwargs = game, game.env_id, {}
        if render_mode is not None:
            raise ValueError(f"SingleAgentView has no rendering; render_mode must be None, got {render_mode!r}")
        self.render_mode = None
        num_players = self.game.num_players
        if learner_seat != "alternate" and not (
            isinstance(learner_seat, (int, np.integer))
            and not isinstance(learner_seat, bool)
            and 0 <= learner_seat < num_players
        ):
            raise ValueError(f"learner_seat must be 'alternate' or a seat 0..{num_players - 1}, got {learner_seat!r}")
        self.learner_seat_option = learner_seat
        members = [opponent] if isinstance(opponent, str) or not isinstance(opponent, Sequence) else list(opponent)
        if not members:
            raise ValueError("opponent must name at least one agent")
        for m in members:
            if not isinstance(m, (str, Agent)):
                raise TypeError(f"an opponent must be an agent spec or an Agent, got {m!r}")
        if opponent_weights is None:
            weights = np.full(len(members), 1.0 / len(members))
        else:
            weights = np.asarray(opponent_weights, dtype=np.float64)
            if (
                weights.shape != (len(members),)
                or not np.all(np.isfinite(weights))
                or np.any(weights < 0)
                or (weights.sum() <= 0)
            ):
                raise ValueError(
                    f"opponent_weights must be {len(members)} non-negative finite numbers with a positive "
                    f"sum, got {opponent_weights!r}"
                )
            weights = weights / weights.sum()
        self._members, self.opponent_weights, self.device = members, weights, device
        self._opponents: list[Agent] = self._build_opponents(0)

        self.observation_space, self.action_space = game_spaces(self.game)
        self._state: Any = None
        self._done = True
        self._episode = -1  # episodes since the last seeded reset, minus one
        self._seat = 0
        self._opp: Agent | None = None
        self._reported = 0.0  # the learner seat's return as of its last observation
        self._paid = 0.0  # rewards paid this episode
        self.game_steps = 0  # moves applied to the game by every seat, over the env's lifetime

    # --- helpers --------------------------------------------------------------------------------------------

    def _build_opponents(self, seed: int) -> list[Agent]:
        seeds = np.random.SeedSequence(seed).generate_state(len(self._members), dtype=np.uint32)
        return [
            make_agent(m, self.game, seed=int(s), device=self.device) if isinstance(m, str) else m
            for m, s in zip(self._members, seeds, strict=True)
        ]

    def _learner_return(self) -> float:
        return float(self.game.returns(self._state)[0, self._seat])

    def _play_opponents(self) -> bool:
        """Opponent moves until the learner is to act or the game ends; True if an opponent resigned."""
        game, state = self.game, self._state
        while True:
            player = int(game.current_player(state)[0])
            if player < 0 or player == self._seat:
                return False
            players = np.array([player])
            batch = DecisionBatch(
                game=game,
                observations=game.observe(state, players),
                masks=game.legal_mask(state),
                players=players,
                game_ids=np.array([self._episode]),
                states=game.information_state(state, players) if self._opp.needs_states else None,
            )
            action = np.asarray(self._opp.act(batch), dtype=np.int64).reshape(-1)
            if action.shape != (1,):
                raise ValueError(f"opponent {self._opp.name!r} returned {action.shape[0]} actions for 1 decision")
            if action[0] == RESIGN:
                return True
            try:
                game.step(state, action)
                self.game_steps += 1
            except IllegalActionError as e:
                raise IllegalActionError(f"opponent {self._opp.name!r} (seat {player}) played illegally: {e}") from e

    def _obs(self) -> np.ndarray:
        return self.game.observe(self._state, self._seat)[0].astype(np.float32, copy=True)

    def _info(self) -> dict[str, Any]:
        return {"learner_seat": self._seat, "opponent": self._opp.name}

    # --- gymnasium API --------------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._episode = -1
            self._close_built()
            self._opponents = self._build_opponents(seed)
        self._episode += 1
        rng = self.np_random
        if self.learner_seat_option == "alternate":
            self._seat = self._episode % self.game.num_players
        else:
            self._seat = int(self.learner_seat_option)
        k = int(rng.choice(len(self._opponents), p=self.opponent_weights)) if len(self._opponents) > 1 else 0
        self._opp = self._opponents[k]
        self._opp.reset(np.array([self._episode]))
        self._state = self.game.init(1, int(rng.integers(0, 2**62)))
        self._reported, self._paid = self._learner_return(), 0.0
        if self._play_opponents():
            raise RuntimeError(f"opponent {self._opp.name!r} resigned before the learner's first move")
        if bool(self.game.terminal(self._state)[0]):
            raise RuntimeError(f"the game {self.env_id!r} ended before the learner (seat {self._seat}) moved")
        self._done = False
        return self._obs(), self._info()

    def step(self, action):
        if self._done:
            raise RuntimeError("step() called on a finished or never-started episode; call reset() first")
        a = int(action)
        if a != action or not 0 <= a < self.game.num_actions or not self.action_masks()[a]:
            raise IllegalActionError(
                f"illegal action {action!r} for the learner (seat {self._seat}) in {self.env_id}; "
                f"legal actions: {np.flatnonzero(self.action_masks()).tolist()}"
            )
        self.game.step(self._state, np.array([a], dtype=np.int64))
        self.game_steps += 1
        resigned = self._play_opponents()
        info = self._info()
        if resigned:
            reward = RESIGN_REWARD - self._paid
            info["opponent_resigned"] = True
            terminated, truncated = True, False
        else:
            now = self._learner_return()
            reward, self._reported = now - self._reported, now
            over = bool(self.game.terminal(self._state)[0])
            truncated = over and bool(self.game.truncated(self._state)[0])
            terminated = over and not truncated
        self._paid += reward
        self._done = terminated or truncated
        return self._obs(), float(reward), terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """bool[A]: the learner's legal actions now (all False once the episode is over)."""
        if self._state is None:
            raise RuntimeError("action_masks() called before reset()")
        if self._done:
            return np.zeros(self.game.num_actions, dtype=bool)
        return self.game.legal_mask(self._state)[0].astype(bool, copy=True)

    def _close_built(self) -> None:
        """Release the opponents built here from specs (Agent instances given by the caller are theirs)."""
        for opp, member in zip(self._opponents, self._members, strict=True):
            if isinstance(member, str):
                opp.close()

    def close(self) -> None:
        self._close_built()
