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

- ``observation_space``: ``Box(0, high, game.obs_shape, float32)``, the game's observation for the learner's
  seat; ``high`` is ``game.obs_high()`` where the game has it (6 nimmt!), 1 for Go, else the Box is unbounded
  (``Box(-inf, inf)``, the toy games of the tests). ``action_space``: ``Discrete(game.num_actions)``.
  ``action_masks()``: bool[A], the learner's legal actions (what sb3-contrib's MaskablePPO reads).
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
- Actions must be integers (Python or numpy integer types, or a 0-d integer array); anything else (4.7, None,
  "a", True) raises ``zeroleague.envs.core.IllegalActionError`` naming the value, whatever the option below.
- ``illegal_action`` decides what an integer action that is not legal now (out of range, or masked out) does:
  ``"lose"`` (default) ends the episode (``terminated``) with the worst reward: the learner's episode return
  becomes the game's worst return (6 nimmt!: -1 with ``reward="win"``, else minus the deck's bullheads; Go and
  other games: ``game.min_return`` if set, else -1), or stays at its return so far if that is lower, and
  ``info["illegal_action"]`` holds the value. This is what lets Gymnasium's and SB3's ``check_env`` (which step
  with unmasked samples) and plain SB3 ``PPO`` (which ignores masks) run on the view. ``"raise"`` raises
  ``IllegalActionError`` naming the action, the seat and the legal actions; the state is left unchanged and the
  episode can continue (what a masked learner such as MaskablePPO wants: an illegal action is a bug). Sample
  legal actions with ``action_space.sample(mask=env.action_masks().astype(np.int8))``.
- A game that ends, or an opponent that resigns, before the learner's first move raises ``RuntimeError`` in
  ``reset`` (impossible in Go and 6 nimmt!).
- ``render_mode``: None, ``"human"`` (prints the text), ``"ansi"`` (returns it) or ``"rgb_array"`` (a uint8
  ``(H, W, 3)`` picture) for Go and 6 nimmt! (the envs' renderers; SB3's ``make_vec_env`` passes
  ``"rgb_array"``); games without a renderer take only None. ``game_steps`` counts the moves of every seat
  applied so far.
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
from zeroleague.envs.go import go_v0
from zeroleague.envs.go.engine import GoGame
from zeroleague.envs.registry import make_game
from zeroleague.envs.sixnimmt import sixnimmt_v0
from zeroleague.envs.sixnimmt.engine import SixNimmtGame

OpponentSpec = str | Agent

RESIGN_REWARD = 1.0
RENDER_MODES = ["human", "ansi", "rgb_array"]
ILLEGAL_ACTION_MODES = ("lose", "raise")


def _obs_bounds(game: BatchedGame) -> tuple[float, np.ndarray | float]:
    if hasattr(game, "obs_high"):
        return 0.0, np.asarray(game.obs_high(), dtype=np.float32)
    if isinstance(game, GoGame):
        return 0.0, 1.0
    return -np.inf, np.inf


def game_spaces(game: BatchedGame) -> tuple[spaces.Box, spaces.Discrete]:
    """The views' ``(observation_space, action_space)`` for ``game``: ``Box(0, high, obs_shape, float32)``
    (``high``: ``game.obs_high()``, 1 for Go; unbounded for games that give no bound) and
    ``Discrete(num_actions)``."""
    low, high = _obs_bounds(game)
    return (
        spaces.Box(low, high, shape=tuple(game.obs_shape), dtype=np.float32),
        spaces.Discrete(game.num_actions),
    )


def worst_return(game: BatchedGame) -> float:
    """The episode return an illegal action is scored at under ``illegal_action="lose"``."""
    if isinstance(game, SixNimmtGame):
        return sixnimmt_v0.worst_return(game)
    return float(getattr(game, "min_return", -1.0))


def as_action(value: Any, num_actions: int, who: str) -> int:
    """``value`` as an int if it is an integer (Python, numpy, 0-d integer array); else ``IllegalActionError``
    naming it."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise IllegalActionError(f"{who}: action must be an int in 0..{num_actions - 1}, got {value!r}")
    return int(value)


class SingleAgentView(gymnasium.Env):
    """One seat of ``game`` for a learner, the other seats played by a fixed opponent (see the module
    docstring).

    ``game``: an env id (the engine is built with ``envs.make_game(game, **env_kwargs)``) or a ``BatchedGame``
    instance (then ``env_kwargs`` must be empty). ``device``: passed to spec-built opponents.
    ``illegal_action``: "lose" (default) or "raise" (see the module docstring).
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 1}

    def __init__(
        self,
        game: str | BatchedGame,
        *,
        opponent: OpponentSpec | Sequence[OpponentSpec] = "random",
        opponent_weights: Sequence[float] | None = None,
        learner_seat: int | str = "alternate",
        render_mode: str | None = None,
        device: str | None = None,
        illegal_action: str = "lose",
        **env_kwargs: Any,
    ):
        if isinstance(game, str):
            self.env_id, self.env_kwargs = game, dict(env_kwargs)
            self.game = make_game(game, **env_kwargs)
        else:
            if env_kwargs:
                raise ValueError(f"env_kwargs {env_kwargs!r} given with a game instance; pass an env id instead")
            self.game, self.env_id, self.env_kwargs = game, game.env_id, {}
        renderable = isinstance(self.game, (GoGame, SixNimmtGame))
        if render_mode is not None and (render_mode not in RENDER_MODES or not renderable):
            allowed = RENDER_MODES if renderable else []
            raise ValueError(
                f"render_mode must be None or one of {allowed} for {self.env_id!r}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        if illegal_action not in ILLEGAL_ACTION_MODES:
            raise ValueError(f"illegal_action must be one of {list(ILLEGAL_ACTION_MODES)}, got {illegal_action!r}")
        self.illegal_action = illegal_action
        self._worst = worst_return(self.game)
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
        self._mask: np.ndarray | None = None  # the learner's legal mask of the current decision (cache)
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
        self._mask = None
        return self._obs(), self._info()

    def step(self, action):
        if self._done:
            raise RuntimeError("step() called on a finished or never-started episode; call reset() first")
        a = action if type(action) is int else as_action(action, self.game.num_actions, self._who())
        if not 0 <= a < self.game.num_actions or not self._legal()[a]:
            if self.illegal_action == "lose":
                return self._lose(action)
            raise IllegalActionError(
                f"illegal action {action!r} for the learner (seat {self._seat}) in {self.env_id}; "
                f"legal actions: {np.flatnonzero(self.action_masks()).tolist()}"
            )
        self.game.step(self._state, np.array([a], dtype=np.int64))
        self._mask = None
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

    def _who(self) -> str:
        return f"the learner (seat {self._seat}) in {self.env_id}"

    def _lose(self, action: Any):
        """``illegal_action="lose"``: the episode ends; the learner's return drops to the worst one."""
        now = self._learner_return()
        reward = min(now, self._worst) - self._reported
        self._paid += reward
        self._done = True
        info = {**self._info(), "illegal_action": action}
        return self._obs(), float(reward), True, False, info

    def render(self) -> str | np.ndarray | None:
        """The board as text ("ansi"; printed for "human", which returns None) or a picture ("rgb_array")."""
        if self.render_mode is None or self._state is None:
            return None
        game, state = self.game, self._state
        if isinstance(game, GoGame):
            if self.render_mode == "rgb_array":
                return go_v0.render_rgb(state.board[0], game.board_size)
            text = go_v0.render_ansi(
                state.board[0], game.board_size, int(state.to_play[0]), int(state.num_moves[0]), bool(state.done[0])
            )
        else:
            if self.render_mode == "rgb_array":
                return sixnimmt_v0.render_rgb(game, state)
            text = sixnimmt_v0.render_ansi(game, state, [f"player_{k}" for k in range(game.num_players)])
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def action_masks(self) -> np.ndarray:
        """bool[A]: the learner's legal actions now (all False once the episode is over)."""
        if self._state is None:
            raise RuntimeError("action_masks() called before reset()")
        if self._done:
            return np.zeros(self.game.num_actions, dtype=bool)
        return self._legal().copy()

    def _legal(self) -> np.ndarray:
        """The learner's legal mask now, computed once per decision (the state changes only in reset/step)."""
        if self._mask is None:
            self._mask = np.asarray(self.game.legal_mask(self._state)[0], dtype=bool)
        return self._mask

    def _close_built(self) -> None:
        """Release the opponents built here from specs (Agent instances given by the caller are theirs)."""
        for opp, member in zip(self._opponents, self._members, strict=True):
            if isinstance(member, str):
                opp.close()

    def close(self) -> None:
        self._close_built()
