"""6 nimmt! for two players as a PettingZoo AEC env and a PettingZoo Parallel env (rules:
shared/rules/sixnimmt.md; engine: ``zeroleague.envs.sixnimmt.engine``).

Creation::

    from zeroleague.envs import sixnimmt_v0
    env = sixnimmt_v0.env(row_choice="player", target_score=None, reward="margin", render_mode=None)
    par = sixnimmt_v0.parallel_env(illegal_action="lose")   # both seats choose their cards in one step
    game = sixnimmt_v0.game()        # the batched engine behind them (envs.core.BatchedGame)

Keyword arguments (all optional): ``num_players`` (2; the engine takes 2..10), ``max_card`` (104),
``hand_size`` (10), ``row_choice`` ("player": the owner of a too-low card chooses any row in a row-choice
turn; "auto": fewest bullheads, ties -> lowest row index, no row-choice turn), ``target_score`` (None = one
round; e.g. 66: deal again until someone's total is >= 66 at a round's end), ``reward`` ("margin" or "win"),
``render_mode`` (None, "human" = print the ANSI text, "ansi" = return it, "rgb_array" = a uint8 (H, W, 3)
picture). ``parallel_env`` also takes ``illegal_action`` (below). ``sixnimmt_tactical_v0`` is this env with
cards 1..24 (both hands known).

Agents: ``player_0``, ``player_1`` (``player_k`` for k < num_players).

AEC turn order: player_0 selects a card, player_1 selects (without seeing player_0's choice), the cards are
revealed and placed in ascending order; if the lowest card is below every row, its owner gets a row-choice turn
before the rest is placed.

Parallel API (``parallel_env``): a selection step takes one card action from every agent at once (``actions``
must name every agent); the cards are revealed and placed as above. When the lowest card is below every row, the
next step is a row-choice step: only its owner acts (its mask allows the 4 rows); every other agent's mask is all
0 and its action, whatever it is (even missing or None), is ignored. Same seed and same actions give the same
game as the AEC env (a test holds this). ``illegal_action``: "lose" (default) ends the episode when an agent's
action is an integer that is not legal now: the offender's episode return becomes the worst one (-1 with
``reward="win"``; with "margin", -(the deck's bullheads) or its return so far if lower) and every other agent
gets the opposite change (zero-sum; all offenders of a step lose, then nobody gains), ``infos[agent]
["illegal_action"]`` holds the offending value; "raise" raises ``IllegalActionError`` and leaves the env
unchanged. A value that is not an integer (4.7, None, "a", True) raises ``IllegalActionError`` in both modes.

Action space: ``Discrete(M + 4)`` with M = max_card: action ``c - 1`` plays card c, action ``M + j`` takes row
j.

Observation space: ``Dict(observation=Box(0, high, (D,), float32), action_mask=Box(0, 1, (M + 4,), int8))``
with D = 7M + 4 + 4 + 2P + 3 + P*M (951 for M = 104, P = 2; 231 for the tactical deck); the slices are
documented in ``zeroleague.envs.sixnimmt.engine`` (own hand, rows, row lengths and bullheads, seen cards, unseen cards,
penalties, phase, trick, and during a row choice the revealed cards). ``action_mask`` is 1 for the cards in
hand during the agent's selection turn (Parallel: every agent's during a selection step), for the 4 rows during
its row-choice turn, and all 0 for an agent not to act.

Global state (``state()``, ``state_space``): float32[P*D + P*M], every seat's observation (seat 0 first) then
every seat's pending (selected, not yet placed) card one-hot: the whole game, for centralised critics.

Rewards: ``margin`` (default): when a player takes b bullheads it gets -b and the opponent +b in that step, so
an episode's total reward is the final penalty margin. ``win``: +1 / -1 (0 for a draw) at the end only; lower
total wins.

Illegal actions (AEC): a card not in the agent's hand, a row action outside a row choice, a card action during a
row choice, an out-of-range integer or a value that is not an integer (Python or numpy integers only) raises
``zeroleague.envs.core.IllegalActionError`` naming the value and the reason; the env is left unchanged.

Version history:
  v0: initial release; Parallel API, "human"/"rgb_array" rendering, ``state()`` and integer-only actions added
  without changing any game.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import wrappers
from pettingzoo.utils.env_logger import EnvLogger

from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.sixnimmt.engine import (
    DONE,
    ROW_CHOICE,
    SELECT,
    SixNimmtGame,
    _observe_masked,
    _step_all,
)
from zeroleague.envs.sixnimmt.rules import BULLHEADS, bullheads

ENV_ID = "sixnimmt_v0"
RENDER_MODES = ["human", "ansi", "rgb_array"]
ILLEGAL_ACTION_MODES = ("lose", "raise")


def game(**kwargs: Any) -> SixNimmtGame:
    """The batched engine of this env (same keyword arguments as ``env`` minus ``render_mode``)."""
    return SixNimmtGame(env_id=ENV_ID, **kwargs)


class _OrderEnforcingWrapper(wrappers.OrderEnforcingWrapper):
    """PettingZoo's ``OrderEnforcingWrapper`` with the same checks on a shorter path: ``last`` answered by the
    wrapped env in one call (the inherited one reads five attributes one by one through ``__getattr__``),
    ``step`` and ``agent_iter`` reading the raw env's attributes directly."""

    def last(self, observe: bool = True) -> tuple:
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        return self.env.last(observe)

    def step(self, action: Any) -> None:
        if self._has_reset and self.env.agents:
            self._has_updated = True
            self.env.step(action)
        else:
            super().step(action)

    def agent_iter(self, max_iter: int = 2**63):
        if not self._has_reset:
            EnvLogger.error_agent_iter_before_reset()
        return _agent_iter(self, self.env, max_iter)


def _agent_iter(wrapper: _OrderEnforcingWrapper, raw: AECEnv, max_iter: int):
    """``agent_iter`` of the order-enforcing wrapper (same checks as PettingZoo's iterator)."""
    while max_iter > 0 and raw.agents:
        if not wrapper._has_updated:
            raise AssertionError("need to call step() or reset() in a loop over `agent_iter`")
        wrapper._has_updated = False
        max_iter -= 1
        yield raw.agent_selection


def env(**kwargs: Any) -> AECEnv:
    """The wrapped AEC env (order enforcing, like PettingZoo classic)."""
    return _OrderEnforcingWrapper(raw_env(**kwargs))


def parallel_env(**kwargs: Any) -> ParallelEnv:
    """The Parallel env (see the module docstring); ``illegal_action`` "lose" (default) or "raise"."""
    return parallel_raw_env(**kwargs)


def as_action(value: Any, num_actions: int, who: str) -> int:
    """``value`` as a Python int if it is an integer (Python or numpy, or a 0-d integer array); else
    ``IllegalActionError`` naming it. The range is not checked here."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise IllegalActionError(f"{who}: action must be an int in 0..{num_actions - 1}, got {value!r}")
    return int(value)


def worst_return(g: SixNimmtGame) -> float:
    """The episode return an illegal action is scored at ("lose"): -1 for ``reward="win"``, else minus the
    bullheads of the whole deck."""
    return -1.0 if g.reward == "win" else -float(BULLHEADS[1 : g.max_card + 1].sum())


class _Common:
    """What the AEC and the Parallel env share: the engine, spaces, seeding, rendering, the global state."""

    def _setup(self, render_mode: str | None, env_id: str, kwargs: dict[str, Any]) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
        self.game = SixNimmtGame(env_id=env_id, **kwargs)
        self.metadata = {**type(self).metadata, "name": env_id}
        self.render_mode = render_mode
        g = self.game
        self.possible_agents = [f"player_{k}" for k in range(g.num_players)]
        self.agents = self.possible_agents[:]
        high = g.obs_high()
        obs_space = spaces.Dict(
            {
                "observation": spaces.Box(0.0, high, g.obs_shape, dtype=np.float32),
                "action_mask": spaces.Box(0, 1, (g.num_actions,), dtype=np.int8),
            }
        )
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(g.num_actions) for a in self.possible_agents}
        p, m = g.num_players, g.max_card
        state_high = np.concatenate([np.tile(high, p), np.ones(p * m, dtype=np.float32)])
        self.state_space = spaces.Box(0.0, state_high, state_high.shape, dtype=np.float32)
        self._seeds = np.random.SeedSequence()
        self._seat = {a: k for k, a in enumerate(self.possible_agents)}
        self._seat_arr = [np.full(1, k, dtype=np.int64) for k in range(p)]
        self._action = np.zeros(1, dtype=np.int64)  # step's action buffer for the one-game engine batch
        self._cfg, self._norm, self._num_actions = g._cfg, g._norm, g.num_actions
        self.state_ = None

    @property
    def state_(self) -> Any:
        """The one-game ``SixNimmtState`` (assignable, e.g. to a ``game.deal_state(...)`` position)."""
        return self._state

    @state_.setter
    def state_(self, value: Any) -> None:
        self._state = value
        self._arrays = () if value is None else value.arrays()  # the engine kernels' argument, built once
        if value is not None:  # views read on every step
            self._ret, self._phase, self._to_act = value.ret[0], value.phase, value.to_act

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _new_game(self, seed: int | None) -> None:
        if seed is not None:
            self._seeds = np.random.SeedSequence(seed)
        game_seed = int(self._seeds.spawn(1)[0].generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
        self.state_ = self.game.init(1, np.array([game_seed], dtype=np.int64))

    def _observe_seat(self, seat: int) -> tuple[np.ndarray, np.ndarray]:
        """(observation float32[D], mask bool[A]) of ``seat``; the mask is the seat's legal actions if it is to
        act (AEC sense), else all False."""
        g = self.game
        out = np.empty((1, *g.obs_shape), dtype=np.float32)
        mask = np.empty((1, g.num_actions), dtype=np.bool_)
        _observe_masked(self._arrays, self._cfg, self._seat_arr[seat], self._norm, out, mask)
        return out[0], mask[0]

    def state(self) -> np.ndarray:
        """The global state (see the module docstring): every seat's observation, then the pending cards."""
        if self.state_ is None:
            raise RuntimeError("state() called before reset()")
        g, s = self.game, self.state_
        parts = [self._observe_seat(k)[0] for k in range(g.num_players)]
        pending = np.zeros((g.num_players, g.max_card), dtype=np.float32)
        for k in range(g.num_players):
            if s.pending[0, k] > 0:
                pending[k, s.pending[0, k] - 1] = 1.0
        return np.concatenate([*parts, pending.reshape(-1)])

    def render(self) -> str | np.ndarray | None:
        """Mode "ansi": the text below (returned); "human": the same text printed; "rgb_array": a picture."""
        if self.render_mode is None:
            return None
        if self.render_mode == "rgb_array":
            return render_rgb(self.game, self.state_)
        text = render_ansi(self.game, self.state_, self.possible_agents)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        return None


class raw_env(_Common, AECEnv):
    """The 6 nimmt! AEC env over a one-game ``SixNimmtState`` (see the module docstring)."""

    metadata = {"name": ENV_ID, "render_modes": RENDER_MODES, "is_parallelizable": False, "render_fps": 1}

    def __init__(self, render_mode: str | None = None, env_id: str = ENV_ID, **kwargs: Any):
        AECEnv.__init__(self)
        self._setup(render_mode, env_id, kwargs)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """A new episode. ``seed`` fixes the deals; without one, the next seed of the env's own seed stream
        (itself seeded by ``seed`` at the last seeded reset, else from OS entropy)."""
        self._new_game(seed)
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = self.agents[int(self.state_.to_act[0])]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        obs, mask = self._observe_seat(self._seat[agent])
        return {"observation": obs, "action_mask": mask.view(np.int8)}

    def last(self, observe: bool = True) -> tuple:
        agent = self.agent_selection
        return (
            self.observe(agent) if observe else None,
            self._cumulative_rewards[agent],
            self.terminations[agent],
            self.truncations[agent],
            self.infos[agent],
        )

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        n = self._num_actions
        a = action if type(action) is int else as_action(action, n, agent)
        if not 0 <= a < n:  # (the engine takes -1 as "leave this game untouched")
            raise self._illegal(agent, a)
        ret = self._ret
        before = ret.tolist()
        self._action[0] = a
        if _step_all(self._arrays, self._cfg, self._action) >= 0:
            raise self._illegal(agent, a)
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict(zip(self.possible_agents, map(float.__sub__, ret.tolist(), before), strict=True))
        if self._phase[0] == DONE:
            self.terminations = dict.fromkeys(self.agents, True)
        else:
            self.agent_selection = self.possible_agents[self._to_act[0]]
        self._accumulate_rewards()

    def _illegal(self, agent: str, a: int) -> IllegalActionError:
        reason = self.game.illegal_reason(self.state_, 0, a) if a != -1 else "-1 is not an action"
        return IllegalActionError(f"{agent}: action {self.game.action_name(a)} is illegal: {reason}")


class parallel_raw_env(_Common, ParallelEnv):
    """The 6 nimmt! Parallel env (see the module docstring): one step per selection stage, one per row choice."""

    metadata = {"name": ENV_ID, "render_modes": RENDER_MODES, "is_parallelizable": True, "render_fps": 1}

    def __init__(
        self, render_mode: str | None = None, env_id: str = ENV_ID, illegal_action: str = "lose", **kwargs: Any
    ):
        if illegal_action not in ILLEGAL_ACTION_MODES:
            raise ValueError(f"illegal_action must be one of {list(ILLEGAL_ACTION_MODES)}, got {illegal_action!r}")
        self.illegal_action = illegal_action
        self._setup(render_mode, env_id, kwargs)
        self._worst = worst_return(self.game)
        self.agents = []

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._new_game(seed)
        self.agents = self.possible_agents[:]
        return self._observations(), {a: {} for a in self.agents}

    def acting_agents(self) -> list[str]:
        """The agents whose actions the next ``step`` uses (all in a selection step, one in a row choice)."""
        s = self._state
        if not self.agents:
            return []
        if self._phase[0] == ROW_CHOICE:
            return [self.possible_agents[self._to_act[0]]]
        pending = s.pending[0].tolist()
        return [a for a, c in zip(self.possible_agents, pending, strict=True) if c == 0]

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        s, out = self._state, {}
        selecting = self._phase[0] == SELECT
        m = self.game.max_card
        pending = s.pending[0].tolist()
        for k, agent in enumerate(self.possible_agents):
            obs, mask = self._observe_seat(k)
            if selecting and pending[k] == 0:  # every seat without a pending card selects in this step
                mask[:m] = s.hand[0, k, 1:]
            out[agent] = {"observation": obs, "action_mask": mask.view(np.int8)}
        return out

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("step() called on a finished or never-started episode; call reset() first")
        if not isinstance(actions, dict):
            raise IllegalActionError(f"actions must be a dict agent -> action, got {actions!r}")
        n = self._num_actions
        legal: list[int] = []
        offenders: dict[str, Any] = {}
        for agent in self.acting_agents():
            if agent not in actions:
                raise IllegalActionError(f"{agent} must act in this step; actions given for {sorted(actions)}")
            value = actions[agent]
            a = value if type(value) is int else as_action(value, n, agent)
            reason = self._reason(self._seat[agent], a)
            if reason is not None:
                if self.illegal_action == "raise":
                    raise IllegalActionError(f"{agent}: action {self.game.action_name(a)} is illegal: {reason}")
                offenders[agent] = value
            legal.append(a)
        ret = self._ret
        before = ret.tolist()
        if offenders:
            self._lose(offenders)
        else:
            for a in legal:  # ascending seats = the AEC order
                self._action[0] = a
                if _step_all(self._arrays, self._cfg, self._action) >= 0:
                    raise AssertionError("an action checked as legal was refused by the engine")
        agents = self.possible_agents
        rewards = dict(zip(agents, map(float.__sub__, ret.tolist(), before), strict=True))
        done = bool(self._phase[0] == DONE)
        observations = self._observations()
        terminations = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        infos = {a: ({"illegal_action": offenders[a]} if a in offenders else {}) for a in agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _reason(self, seat: int, a: int) -> str | None:
        """Why seat ``seat``'s action ``a`` is illegal now (None when legal)."""
        g, s = self.game, self._state
        if not 0 <= a < g.num_actions:
            return f"out of range 0..{g.num_actions - 1}"
        if self._phase[0] == ROW_CHOICE:
            return None if a >= g.max_card else f"a card action during player_{seat}'s row choice"
        if a >= g.max_card:
            return "a row action outside a row choice"
        return None if s.hand[0, seat, a + 1] else f"card {a + 1} is not in player_{seat}'s hand"

    def _lose(self, offenders: dict[str, Any]) -> None:
        """End the game: each offender's return drops to the worst; the others share the opposite change."""
        s = self.state_
        ret = s.ret[0]
        seats = [self._seat[a] for a in offenders]
        others = [k for k in range(self.game.num_players) if k not in seats]
        drop = 0.0
        for k in seats:
            new = min(float(ret[k]), self._worst)
            drop += ret[k] - new
            ret[k] = new
        for k in others:
            ret[k] += drop / len(others)
        s.phase[0] = DONE
        s.to_act[0] = -1


def _board_lines(g: SixNimmtGame, s: Any) -> list[tuple[int, list[int]]]:
    return [(j, [int(c) for c in s.rows[0, j, : s.row_len[0, j]]]) for j in range(4)]


def render_ansi(g: SixNimmtGame, s: Any, agents: list[str]) -> str:
    """ANSI text: the rows (with bullheads), the hand of the player to act, the penalties."""
    if s is None:
        return "(not reset)"
    lines = [f"round {int(s.round_no[0]) + 1}, trick {min(int(s.trick[0]) + 1, g.hand_size)}/{g.hand_size}"]
    for j, cards in _board_lines(g, s):
        lines.append(f"row {j}: {' '.join(f'{c:3d}' for c in cards):<20} ({sum(map(bullheads, cards))} bullheads)")
    pens = g.penalties(s)[0]
    lines.append("penalties: " + ", ".join(f"{a} {int(p)}" for a, p in zip(agents, pens, strict=True)))
    if s.phase[0] == DONE:
        lines.append("game over")
    else:
        p = int(s.to_act[0])
        hand = [c for c in range(1, g.max_card + 1) if s.hand[0, p, c]]
        lines.append(f"to act: {agents[p]}, hand: {' '.join(map(str, hand))}")
        if s.phase[0] == ROW_CHOICE:
            revealed = ", ".join(f"{a} {int(c)}" for a, c in zip(agents, s.trick_cards[0], strict=True))
            lines.append(f"row choice for card {int(s.pending[0, p])} (revealed: {revealed})")
    return "\n".join(lines)


# 3x5 digit glyphs for the picture (rows top to bottom, 3 bits each)
_DIGITS = ["111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
           "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111"]  # fmt: skip
_GLYPHS = np.array([[int(b) for b in d] for d in _DIGITS], dtype=bool).reshape(10, 5, 3)
_CARD_COLOURS = {1: (245, 245, 245), 2: (150, 200, 255), 3: (255, 220, 90), 5: (255, 120, 100), 7: (200, 110, 255)}
_CW, _CH, _GAP = 30, 40, 6  # card width, height, gap in pixels


def _draw_card(img: np.ndarray, y: int, x: int, card: int, scale: int = 2) -> None:
    img[y : y + _CH, x : x + _CW] = 0
    img[y + 1 : y + _CH - 1, x + 1 : x + _CW - 1] = _CARD_COLOURS[bullheads(card)]
    digits = [int(d) for d in str(card)]
    width = len(digits) * 4 * scale - scale
    x0, y0 = x + (_CW - width) // 2, y + (_CH - 5 * scale) // 2
    for i, d in enumerate(digits):
        glyph = np.kron(_GLYPHS[d], np.ones((scale, scale), dtype=bool))
        region = img[y0 : y0 + 5 * scale, x0 + i * 4 * scale : x0 + i * 4 * scale + 3 * scale]
        region[glyph] = 0


def render_rgb(g: SixNimmtGame, s: Any) -> np.ndarray:
    """uint8 (H, W, 3) picture: the 4 rows (cards coloured by bullheads: white 1, blue 2, yellow 3, red 5,
    violet 7), a gap, then the hand of the seat to act (or, once over, nothing)."""
    cols = max(6, g.hand_size)
    width = _GAP + cols * (_CW + _GAP)
    height = _GAP + 5 * (_CH + _GAP) + _GAP
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = (40, 110, 60)
    if s is None:
        return img
    for j, cards in _board_lines(g, s):
        for k, c in enumerate(cards):
            _draw_card(img, _GAP + j * (_CH + _GAP), _GAP + k * (_CW + _GAP), c)
    if s.phase[0] != DONE:
        p = int(s.to_act[0])
        hand = [c for c in range(1, g.max_card + 1) if s.hand[0, p, c]]
        for k, c in enumerate(hand):
            _draw_card(img, 2 * _GAP + 4 * (_CH + _GAP), _GAP + k * (_CW + _GAP), c)
    return img
