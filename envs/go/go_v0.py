"""Go under strict Tromp-Taylor rules, as a PettingZoo AEC environment (``go_v0``).

Creation::

    from zeroleague.envs import go_v0
    env = go_v0.env(board_size=9, komi=7.5, max_moves=None, history=0, render_mode=None)
    env = envs.make("go_v0", board_size=9)            # the same
    game = go_v0.game(board_size=9)                   # the batched engine behind it (envs.go.engine.GoGame)

Arguments: ``board_size`` an int in 2..25 (default 19; anything else raises TypeError/ValueError naming it);
``komi`` added to White's score (default 7.5; an integer komi allows draws); ``max_moves`` the turn cap,
passes counted (default None = ``2 * board_size**2``); ``history`` extra observation planes (default 0);
``render_mode`` None, "human" (prints the ANSI board), "ansi" or "rgb_array".

Rules (shared/rules/go.md): strict Tromp-Taylor. A move colours an empty point, clears the opponent's groups
without liberties, then the mover's own (multi-stone suicide is legal and removes the group). Positional
superko, exact: no move may recreate a colouring seen earlier in the game (the empty start included), so
single-stone suicide and plain ko recapture are illegal. Passing is always legal. Two consecutive passes end
the game.

Agents: ``black_0`` (moves first) and ``white_0``, alternating; one acts per step.

Action space: ``Discrete(N*N + 1)``; action ``row * N + col`` plays on that point (row 0 is the top line, col
0 the left), action ``N*N`` passes.

Observation space: ``Dict(observation=Box(0, 1, (4 + history, N, N), float32),
action_mask=Box(0, 1, (N*N + 1,), int8))``. Planes (channel-first, from the observer's point of view): 0 the
observer's stones, 1 the opponent's stones, 2 empty points, 3 all ones when the observer is Black (zeros for
White), then ``history`` planes where plane ``4 + j`` marks the point played ``j + 1`` turns ago (all zeros
for a pass or before the start). ``action_mask[a] == 1`` iff ``a`` is legal for the observer, who must be the
agent to act; it is all zeros for the other agent and once the game is over.

Rewards: 0 on every turn until the game ends; then +1 to the winner and -1 to the loser (0 each for a draw) by
Tromp-Taylor area scoring: ``score = black area - white area - komi``, area = stones + empty points that reach
only that colour. ``infos[agent]["score"]`` gives that score at the end.

Termination and truncation: two consecutive passes -> ``terminations`` True for both agents. Reaching
``max_moves`` turns first -> ``truncations`` True for both, and the position is scored as it stands (the
scored outcome is in the rewards, as for a finished game).

Illegal actions: ``step`` raises ``zeroleague.envs.core.IllegalActionError`` (a ValueError) whose message names the
agent, the action with its coordinate (e.g. ``40 (row 4, col 4, E5)``) and the reason (occupied point,
single-stone suicide, superko, out of range, not an int), and leaves the environment unchanged. We raise
instead of ending the game with a penalty (PettingZoo's ``TerminateIllegalWrapper``) because every player here
acts from the mask, so an illegal action is a bug to surface, not a move to score.

Global state (``state()``, ``state_space``): Black's observation (the board is public, so it is the whole
game state): ``Box(0, 1, (4 + history, N, N), float32)``.

Rendering: ``render_mode="human"`` prints the ANSI text and returns None; ``"ansi"`` returns the board as
text (``X`` black, ``O`` white, ``.`` empty, GTP letters above and row numbers beside it); ``"rgb_array"``
returns a uint8 ``(H, W, 3)`` image drawn with numpy.

``reset(seed=...)`` accepts a seed for API uniformity; Go has no chance, so every reset gives the empty board.
Two environments of different sizes never share mutable state (per-size tables are cached read-only).

Version history:
* v0: initial release (strict Tromp-Taylor, exact positional superko, channel-first planes, ansi/rgb_array);
  "human" rendering and ``state()`` added without changing any game.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers
from pettingzoo.utils.env_logger import EnvLogger

from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.go.engine import COLUMNS, GoGame, action_name

__all__ = ["env", "game", "raw_env"]

_BOARD_COLOUR = np.array([220, 179, 92], np.uint8)
_STONE_COLOURS = (np.array([20, 20, 20], np.uint8), np.array([240, 240, 240], np.uint8))


def game(
    board_size: int = 19,
    komi: float = 7.5,
    max_moves: int | None = None,
    history: int = 0,
    render_mode: str | None = None,
) -> GoGame:
    """The batched engine with the env's configuration (``render_mode`` is accepted and ignored)."""
    return GoGame(board_size=board_size, komi=komi, max_moves=max_moves, history=history)


class _OrderEnforcingWrapper(wrappers.OrderEnforcingWrapper):
    """PettingZoo's ``OrderEnforcingWrapper`` with ``last`` answered by the wrapped env in one call (the
    inherited ``last`` reads five attributes one by one through ``__getattr__``: a quarter of a step)."""

    def last(self, observe: bool = True) -> tuple:
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        return self.env.last(observe)


def env(**kwargs: Any) -> AECEnv:
    """``raw_env(**kwargs)`` wrapped in PettingZoo's ``OrderEnforcingWrapper``; no ``TerminateIllegalWrapper``
    nor ``AssertOutOfBoundsWrapper``: illegal and out-of-range actions raise IllegalActionError (above)."""
    return _OrderEnforcingWrapper(raw_env(**kwargs))


class raw_env(AECEnv, EzPickle):
    """One game of ``go_v0``; see the module docstring. ``game`` is the engine and ``game_state`` its one-game
    ``GoState`` (read them, do not mutate them)."""

    metadata = {
        "name": "go_v0",
        "render_modes": ["human", "ansi", "rgb_array"],
        "is_parallelizable": False,
        "render_fps": 2,
    }
    _SEATS = {"black_0": 0, "white_0": 1}

    def __init__(
        self,
        board_size: int = 19,
        komi: float = 7.5,
        max_moves: int | None = None,
        history: int = 0,
        render_mode: str | None = None,
    ):
        EzPickle.__init__(
            self,
            board_size=board_size,
            komi=komi,
            max_moves=max_moves,
            history=history,
            render_mode=render_mode,
        )
        super().__init__()
        self.game = game(board_size, komi, max_moves, history)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.possible_agents = ["black_0", "white_0"]
        self.agents = self.possible_agents[:]
        n = self.game.board_size
        obs_space = spaces.Dict(
            {
                "observation": spaces.Box(0.0, 1.0, self.game.obs_shape, dtype=np.float32),
                "action_mask": spaces.Box(0, 1, (n * n + 1,), dtype=np.int8),
            }
        )
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(n * n + 1) for a in self.possible_agents}
        self.state_space = obs_space["observation"]
        self.game_state = self.game.init(1)
        self._mask_buf = np.zeros((1, self.game.num_actions), np.int8)  # the legal mask of the agent to act
        self._action_buf = np.empty(1, np.int64)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.game_state = self.game.init(1, 0 if seed is None else seed)
        self.agents = self.possible_agents[:]
        self.agent_selection = self.agents[0]
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self.game.legal_mask(self.game_state, out=self._mask_buf)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        seat = self._SEATS[agent]
        planes = self.game.observe(self.game_state, seat)[0]
        if agent == self.agent_selection and not self.game_state.done[0]:
            mask = self._mask_buf[0].copy()
        else:
            mask = np.zeros(self.game.num_actions, np.int8)
        return {"observation": planes, "action_mask": mask}

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise IllegalActionError(
                f"{agent}: action must be an int in 0..{self.game.num_actions - 1}, got {action!r}"
            )
        if not 0 <= action < self.game.num_actions:
            raise IllegalActionError(
                f"{agent}: action {action_name(int(action), self.game.board_size)} is out "
                f"of range 0..{self.game.num_actions - 1}"
            )
        actions = self._action_buf
        actions[0] = action
        if not self._mask_buf[0, action]:
            raise IllegalActionError(f"{agent}: {self.game.illegal_action(self.game_state, actions)[1]}")
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        self.game.step_unchecked(self.game_state, actions, mask_out=self._mask_buf)
        if self.game_state.done[0]:
            black = float(self.game.returns(self.game_state)[0, 0])
            self.rewards = {"black_0": black, "white_0": -black}
            ended = self.terminations if not self.game_state.truncated[0] else self.truncations
            score = float(self.game.score(self.game_state)[0])
            for a in self.agents:
                ended[a] = True
                self.infos[a] = {"score": score}
        self.agent_selection = self.possible_agents[int(self.game_state.to_play[0])]
        self._accumulate_rewards()

    def state(self) -> np.ndarray:
        """The global state: Black's observation (see the module docstring)."""
        return self.game.observe(self.game_state, 0)[0]

    def render(self) -> str | np.ndarray | None:
        if self.render_mode in ("ansi", "human"):
            text = render_ansi(
                self.game_state.board[0],
                self.game.board_size,
                int(self.game_state.to_play[0]),
                int(self.game_state.num_moves[0]),
                bool(self.game_state.done[0]),
            )
            if self.render_mode == "human":
                print(text)
                return None
            return text
        if self.render_mode == "rgb_array":
            return render_rgb(self.game_state.board[0], self.game.board_size)
        return None

    def close(self) -> None:
        return None


def render_ansi(board: np.ndarray, board_size: int, to_play: int, turns: int, over: bool) -> str:
    """Text board: ``X`` black, ``O`` white, ``.`` empty; GTP column letters, GTP row numbers on the left
    (the top line is row 0 of the action index) and action-index rows on the right."""
    n = board_size
    header = "    " + " ".join(COLUMNS[:n])
    lines = [header]
    for r in range(n):
        row = " ".join(".XO"[v] for v in board[r * n : (r + 1) * n])
        lines.append(f"{n - r:>3} {row}  row {r}")
    lines.append(header)
    status = "game over" if over else f"{('Black (X)', 'White (O)')[to_play]} to play"
    lines.append(f"turn {turns}, {status}")
    return "\n".join(lines) + "\n"


def render_rgb(board: np.ndarray, board_size: int, cell: int = 24) -> np.ndarray:
    """uint8 ``(H, W, 3)`` picture of the board: grid lines and stones, ``cell`` pixels per point."""
    n = board_size
    side = cell * (n + 1)
    img = np.empty((side, side, 3), np.uint8)
    img[:] = _BOARD_COLOUR
    lo, hi = cell, cell * n
    for i in range(n):
        c = cell * (i + 1)
        img[c, lo : hi + 1] = 0
        img[lo : hi + 1, c] = 0
    yy, xx = np.mgrid[0:side, 0:side]
    rows = np.clip(np.rint(yy / cell).astype(int) - 1, 0, n - 1)
    cols = np.clip(np.rint(xx / cell).astype(int) - 1, 0, n - 1)
    dist = np.hypot(yy - cell * (rows + 1), xx - cell * (cols + 1))
    stone = board.reshape(n, n)[rows, cols]
    radius = 0.45 * cell
    for colour in (1, 2):
        inside = (stone == colour) & (dist <= radius)
        img[inside] = _STONE_COLOURS[colour - 1]
        img[inside & (dist > radius - 1.5)] = 0  # outline
    return img
