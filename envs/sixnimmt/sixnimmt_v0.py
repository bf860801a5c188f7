"""6 nimmt! for two players as a PettingZoo AEC env (rules: shared/rules/sixnimmt.md; engine:
``zeroleague.envs.sixnimmt.engine``).

Creation::

    from zeroleague.envs import sixnimmt_v0
    env = sixnimmt_v0.env(row_choice="player", target_score=None, reward="margin", render_mode=None)
    game = sixnimmt_v0.game()        # the batched engine behind it (envs.core.BatchedGame)

Keyword arguments (all optional): ``num_players`` (2; the engine takes 2..10), ``max_card`` (104),
``hand_size`` (10), ``row_choice`` ("player": the owner of a too-low card chooses any row in a row-choice
turn; "auto": fewest bullheads, ties -> lowest row index, no row-choice turn), ``target_score`` (None = one
round; e.g. 66: deal again until someone's total is >= 66 at a round's end), ``reward`` ("margin" or "win"),
``render_mode`` (None or "ansi"). ``sixnimmt_tactical_v0`` is this env with cards 1..24 (both hands known).

Agents: ``player_0``, ``player_1`` (``player_k`` for k < num_players). Turn order: player_0 selects a card,
player_1 selects (without seeing player_0's choice), the cards are revealed and placed in ascending order; if
the lowest card is below every row, its owner gets a row-choice turn before the rest is placed.

Action space: ``Discrete(M + 4)`` with M = max_card: action ``c - 1`` plays card c, action ``M + j`` takes row
j.

Observation space: ``Dict(observation=Box(0, high, (D,), float32), action_mask=Box(0, 1, (M + 4,), int8))``
with D = 7M + 4 + 4 + 2P + 3 + P*M (951 for M = 104, P = 2; 231 for the tactical deck); the slices are
documented in ``zeroleague.envs.sixnimmt.engine`` (own hand, rows, row lengths and bullheads, seen cards, unseen cards,
penalties, phase, trick, and during a row choice the revealed cards). ``action_mask`` is 1 for the cards in
hand during the agent's selection turn, for the 4 rows during its row-choice turn, and all 0 for an agent not
to act.

Rewards: ``margin`` (default): when a player takes b bullheads it gets -b and the opponent +b in that step, so
an episode's total reward is the final penalty margin. ``win``: +1 / -1 (0 for a draw) at the end only; lower
total wins.

Illegal actions: a card not in the agent's hand, a row action outside a row choice, or a card action during a
row choice raises ``zeroleague.envs.core.IllegalActionError`` naming the action and the reason; the env is left
unchanged.

Version history:
  v0: initial release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from zeroleague.envs.core import IllegalActionError
from zeroleague.envs.sixnimmt.engine import DONE, ROW_CHOICE, SixNimmtGame
from zeroleague.envs.sixnimmt.rules import bullheads

ENV_ID = "sixnimmt_v0"


def game(**kwargs: Any) -> SixNimmtGame:
    """The batched engine of this env (same keyword arguments as ``env`` minus ``render_mode``)."""
    return SixNimmtGame(env_id=ENV_ID, **kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The wrapped AEC env (order enforcing, like PettingZoo classic)."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))


class raw_env(AECEnv):
    """The 6 nimmt! AEC env over a one-game ``SixNimmtGame`` state (see the module docstring)."""

    metadata = {"name": ENV_ID, "render_modes": ["ansi"], "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None, env_id: str = ENV_ID, **kwargs: Any):
        super().__init__()
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.game = SixNimmtGame(env_id=env_id, **kwargs)
        self.metadata = {**type(self).metadata, "name": env_id}
        self.render_mode = render_mode
        g = self.game
        self.possible_agents = [f"player_{k}" for k in range(g.num_players)]
        obs_space = spaces.Dict(
            {
                "observation": spaces.Box(0.0, g.obs_high(), g.obs_shape, dtype=np.float32),
                "action_mask": spaces.Box(0, 1, (g.num_actions,), dtype=np.int8),
            }
        )
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(g.num_actions) for a in self.possible_agents}
        self._seeds = np.random.SeedSequence()
        self._seat = {a: k for k, a in enumerate(self.possible_agents)}
        self._action = np.zeros(1, dtype=np.int64)  # step's action buffer for the one-game engine batch
        self.state_ = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """A new episode. ``seed`` fixes the deals; without one, the next seed of the env's own seed stream
        (itself seeded by ``seed`` at the last seeded reset, else from OS entropy)."""
        if seed is not None:
            self._seeds = np.random.SeedSequence(seed)
        game_seed = int(self._seeds.spawn(1)[0].generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
        self.state_ = self.game.init(1, np.array([game_seed], dtype=np.int64))
        self.agents = self.possible_agents[:]
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = self.agents[int(self.game.current_player(self.state_)[0])]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        obs, mask = self.game.observe_masked(self.state_, self._seat[agent])
        return {"observation": obs[0], "action_mask": mask[0].view(np.int8)}

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        a = int(action)
        if not 0 <= a < self.game.num_actions:  # (the engine takes -1 as "leave this game untouched")
            raise self._illegal(agent, a)
        ret = self.state_.ret[0]
        before = ret.astype(np.float32)
        self._action[0] = a
        try:
            self.game.step(self.state_, self._action)
        except IllegalActionError:
            raise self._illegal(agent, a) from None
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict(zip(self.possible_agents, (ret.astype(np.float32) - before).tolist(), strict=True))
        if self.state_.phase[0] == DONE:
            self.terminations = {ag: True for ag in self.agents}
        else:
            self.agent_selection = self.possible_agents[self.state_.to_act[0]]
        self._accumulate_rewards()

    def _illegal(self, agent: str, a: int) -> IllegalActionError:
        reason = self.game.illegal_reason(self.state_, 0, a) if a != -1 else "-1 is not an action"
        return IllegalActionError(f"{agent}: action {self.game.action_name(a)} is illegal: {reason}")

    def render(self) -> str | None:
        """ANSI text: the rows (with bullheads), the hand of the player to act, the penalties."""
        if self.render_mode is None:
            return None
        s, g = self.state_, self.game
        lines = [f"round {int(s.round_no[0]) + 1}, trick {int(s.trick[0]) + 1}/{g.hand_size}"]
        for j in range(4):
            cards = [int(c) for c in s.rows[0, j, : s.row_len[0, j]]]
            lines.append(f"row {j}: {' '.join(f'{c:3d}' for c in cards):<20} ({sum(map(bullheads, cards))} bullheads)")
        pens = g.penalties(s)[0]
        lines.append(
            "penalties: " + ", ".join(f"{a} {int(p)}" for a, p in zip(self.possible_agents, pens, strict=True))
        )
        if s.phase[0] == DONE:
            lines.append("game over")
        else:
            p = int(s.to_act[0])
            hand = [c for c in range(1, g.max_card + 1) if s.hand[0, p, c]]
            lines.append(f"to act: {self.possible_agents[p]}, hand: {' '.join(map(str, hand))}")
            if s.phase[0] == ROW_CHOICE:
                revealed = ", ".join(
                    f"{a} {int(c)}" for a, c in zip(self.possible_agents, s.trick_cards[0], strict=True)
                )
                lines.append(f"row choice for card {int(s.pending[0, p])} (revealed: {revealed})")
        return "\n".join(lines)

    def close(self) -> None:
        return None
