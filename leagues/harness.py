"""The match harness: many games between two agents in lockstep, one batched ``act`` call per agent per step.

Every experiment, test, benchmark and tournament plays through ``play_match``.

Seeding and seats (duplicate format). Game ``i`` of a match is dealt from ``game_seeds(seed, [i])`` — stream
``i // 2`` of ``zeroleague.envs.core.seeds_for(., seed)``, so games ``2k`` and ``2k + 1`` share their deal — and agent_a
sits in seat 0 when ``i`` is even, seat 1 when odd: every deal is played once from each seat, and a deal's
seat advantage cancels within each pair (with one fixed set of deals per match, unpaired deals favour
whichever agent is agent_a in every pairing alike). A game's deal and seats depend only on
``(seed, i)``, never on the batch size (``max_parallel``) or on which other games are played with it
(``indices``, used to resume). The *moves* are too for every registered agent: each draws from keys of (its seed,
the match seed, the game index, the seat, the seat's decision index), which the harness passes in every batch.

Per step: ``current_player`` of every live game; pending decisions grouped by agent; one ``act`` call per
agent (self-play — the same agent object as agent_a and agent_b — makes ONE call over the pending decisions of
both seats, so a search agent's evaluator sees bigger batches) with observations, legal masks, acting seats,
game ids (the match's game indices), the match seed and each row's decision index (how many decisions that seat
took before in that game: with the game index and seat, the key of the agent's random draws,
``zeroleague.agents.base.DecisionKeys``) and, if the agent ``needs_states``, ``game.information_state`` of those
games for their acting seats; every returned action is checked (legal, or ``RESIGN``) before one ``game.step``
for the whole batch. Observations are computed once per step for all live games, on the first access to any
batch's ``observations`` (agents that never read them, e.g. random or pure search agents, cost nothing there);
read them inside ``act``: afterwards the games have moved on and a first read raises RuntimeError.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zeroleague.agents.base import RESIGN, Agent, DecisionBatch
from zeroleague.envs.core import BatchedGame, seeds_for


class AgentActionError(ValueError):
    """An agent returned something other than one legal action (or RESIGN) per pending decision."""


def game_seeds(seed: int, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """The seeds of games ``indices`` of a match seeded ``seed``: streams ``indices // 2`` of ``seeds_for`` (the
    two games of a pair share a deal, module docstring)."""
    idx = np.asarray(indices, dtype=np.int64) // 2
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    return seeds_for(int(idx.max()) + 1, int(seed))[idx]


def seat_of_a(index: int) -> int:
    """The seat agent_a takes in game ``index``: 0 for even indices, 1 for odd ones."""
    return int(index) % 2


@dataclass
class GameRecord:
    """One finished game.

    ``result``: from agent_a's view, +1 win, 0 draw, -1 loss (the sign of agent_a's final return minus
    agent_b's, or -1/+1 for a resignation). ``returns``: per seat, final (at the resignation, if any).
    ``score``: the game's own score of the final position when it has one (``game.score`` for Go: black's
    margin; ``game.penalties`` for 6 nimmt!: per seat), else None. ``actions``: in AEC order (a resignation is
    not an action). ``time_a``/``time_b``: seconds inside that agent's ``act`` calls, each call's time shared
    equally among the games it decided. ``resigned``: the seat that resigned, or None. ``truncated``: ended by
    the engine's move cap (and scored as it stood)."""

    index: int
    seed: int
    seat_a: int
    agent_a: str
    agent_b: str
    result: int
    returns: list[float]
    score: list[float] | None
    actions: list[int]
    num_moves: int
    time_a: float
    time_b: float
    truncated: bool
    resigned: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MatchResult:
    """All games of a match (``records`` sorted by game index) between ``agent_a`` and ``agent_b``."""

    env_id: str
    agent_a: str
    agent_b: str
    records: list[GameRecord] = field(default_factory=list)

    @property
    def wins(self) -> int:
        return sum(r.result > 0 for r in self.records)

    @property
    def draws(self) -> int:
        return sum(r.result == 0 for r in self.records)

    @property
    def losses(self) -> int:
        return sum(r.result < 0 for r in self.records)

    @property
    def distinct_games(self) -> int:
        """How many different games the match holds (agent_a's seat and the move sequence): a deterministic
        pairing may repeat one game many times, which a count of games overstates."""
        return distinct_games(self.records)

    def score_rate(self) -> tuple[float, float, float]:
        """agent_a's score rate (wins + draws/2 over games) and its 95% Wilson score interval (always within
        [0, 1]; a draw counts as half a success)."""
        n = len(self.records)
        if n == 0:
            raise ValueError("no games played")
        rate = (self.wins + self.draws / 2) / n
        lo, hi = wilson_interval(rate, n)
        return float(rate), lo, hi

    def summary(self) -> str:
        rate, lo, hi = self.score_rate()
        return (
            f"{self.agent_a} vs {self.agent_b} on {self.env_id}: {len(self.records)} games "
            f"({self.distinct_games} distinct), +{self.wins} ={self.draws} -{self.losses}, score {rate:.3f} "
            f"(95% Wilson CI {lo:.3f}..{hi:.3f})"
        )


def wilson_interval(rate: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a success rate ``rate`` over ``n`` trials (95% for the default ``z``)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    denom = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(rate * (1 - rate) / n + z * z / (4 * n * n), 0.0)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def distinct_games(records: Iterable[GameRecord]) -> int:
    """The number of different (agent_a's seat, move sequence) among ``records``."""
    return len({(r.seat_a, tuple(r.actions)) for r in records})


class _Live:
    """The games of one wave in flight, and the bookkeeping of each (indexed by wave slot; the state's rows
    map to slots through ``slot`` and shrink as games finish)."""

    def __init__(self, game: BatchedGame, indices: Sequence[int], seed: int):
        self.index = np.asarray(indices, dtype=np.int64)
        self.seeds = game_seeds(seed, self.index)
        self.seat_a = np.array([seat_of_a(i) for i in self.index], dtype=np.int64)
        self.state = game.init(len(self.index), self.seeds)
        self.history = np.full((64, len(self.index)), -1, dtype=np.int64)  # [step, slot] action, -1 none
        self.steps = 0
        self.time = np.zeros((len(self.index), 2))  # [agent_a, agent_b]
        self.resigned = np.full(len(self.index), -1, dtype=np.int64)
        self.slot = np.arange(len(self.index))
        self.seed = int(seed)
        self.decisions = np.zeros((len(self.index), 2), dtype=np.int64)  # [slot, seat] decisions taken

    def record_actions(self, actions: np.ndarray) -> None:
        if self.steps == len(self.history):
            self.history = np.concatenate([self.history, np.full_like(self.history, -1)])
        self.history[self.steps, self.slot] = actions
        self.steps += 1

    def actions_of(self, s: int) -> list[int]:
        h = self.history[: self.steps, s]
        return h[h >= 0].tolist()

    def compact(self, game: BatchedGame, keep_rows: np.ndarray) -> None:
        self.state = game.take(self.state, keep_rows)
        self.slot = self.slot[keep_rows]


class _StepObservations:
    """Every row's observation for its acting seat in one step, computed on first use and shared by the
    batches. Once the step is applied (``expire``) observations never read can no longer be computed."""

    def __init__(self, game: BatchedGame, state: Any, players: np.ndarray):
        self.game, self.state, self.players = game, state, players
        self.all: np.ndarray | None = None

    def rows(self, rows: np.ndarray) -> np.ndarray:
        if self.all is None:
            if self.state is None:
                raise RuntimeError(
                    "DecisionBatch.observations first read after act() returned and the games moved "
                    "on; read them inside act()"
                )
            self.all = self.game.observe(self.state, self.players)
        return self.all[rows]

    def expire(self) -> None:
        self.state = None


class _Batch(DecisionBatch):
    """A ``DecisionBatch`` whose ``observations`` are read from the step's shared lazy observations."""

    def __init__(self, game, source: _StepObservations, rows, masks, players, game_ids, states, match_seed,
                 decisions):
        self.game, self._source, self._rows = game, source, rows
        self.masks, self.players, self.game_ids, self.states = masks, players, game_ids, states
        self.match_seed, self.decisions = match_seed, decisions
        self._obs: np.ndarray | None = None

    @property
    def observations(self) -> np.ndarray:  # type: ignore[override]
        if self._obs is None:
            self._obs = self._source.rows(self._rows)
        return self._obs


def _validate(name: str, actions: Any, masks: np.ndarray, game_index: np.ndarray) -> np.ndarray:
    a = np.asarray(actions)
    b, num_actions = masks.shape
    if a.shape != (b,) or not (np.issubdtype(a.dtype, np.integer) or b == 0):
        raise AgentActionError(
            f"agent {name!r} must return an integer array of shape ({b},), got {a.dtype} {a.shape}"
        )
    a = a.astype(np.int64)
    in_range = (a >= 0) & (a < num_actions)
    legal = np.zeros(b, dtype=bool)
    legal[in_range] = masks[np.flatnonzero(in_range), a[in_range]]
    bad = np.flatnonzero(~legal & (a != RESIGN))
    if len(bad):
        k = bad[0]
        raise AgentActionError(
            f"agent {name!r} returned illegal action {int(a[k])} in game {int(game_index[k])} "
            f"({len(bad)} illegal of {b})"
        )
    return a


def _scores(game: BatchedGame, state: Any) -> np.ndarray | None:
    scorer = getattr(game, "score", None) or getattr(game, "penalties", None)
    if scorer is None or not callable(scorer):
        return None
    s = np.asarray(scorer(state), dtype=np.float64)
    return s.reshape(len(s), -1)


def play_match(
    game: BatchedGame,
    agent_a: Agent,
    agent_b: Agent,
    num_games: int,
    seed: int,
    *,
    max_parallel: int = 256,
    indices: Iterable[int] | None = None,
    on_game: Callable[[GameRecord], None] | None = None,
    sgf_dir: str | Path | None = None,
) -> MatchResult:
    """Play games ``0..num_games-1`` (or just ``indices`` of them) of the match ``(agent_a, agent_b, seed)``.

    At most ``max_parallel`` games are in flight (a wave); finished games leave the batch. ``on_game(record)``
    is called as each game ends (the tournament commits it to the store there). ``sgf_dir``: Go games are also
    written there as ``game_{index:06d}.sgf`` (needs ``game.board_size`` and ``game.komi``). The agents'
    ``reset`` is called with the ids of the games of each wave before they start.
    """
    if game.num_players != 2:
        raise ValueError(f"play_match plays two-player games; {game.env_id!r} has {game.num_players} players")
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be >= 1, got {max_parallel}")
    todo = sorted(set(range(num_games) if indices is None else (int(i) for i in indices)))
    if any(not 0 <= i < num_games for i in todo):
        raise ValueError(f"game indices must lie in 0..{num_games - 1}, got {todo}")
    if sgf_dir is not None:
        sgf_dir = Path(sgf_dir)
        sgf_dir.mkdir(parents=True, exist_ok=True)
    agents = (agent_a, agent_b)
    result = MatchResult(game.env_id, agent_a.name, agent_b.name)
    for start in range(0, len(todo), max_parallel):
        wave = _Live(game, todo[start : start + max_parallel], seed)
        for agent in agents[: 1 if agent_a is agent_b else 2]:
            agent.reset(wave.index.copy())
        for rec in _play_wave(game, agents, wave):
            if sgf_dir is not None:
                write_sgf(game, rec, sgf_dir)
            if on_game is not None:
                on_game(rec)
            result.records.append(rec)
    result.records.sort(key=lambda r: r.index)
    return result


def _play_wave(game: BatchedGame, agents: tuple[Agent, Agent], wave: _Live):
    """Play one wave to the end, yielding each game's record as it finishes."""
    player = game.current_player(wave.state).astype(np.int64)
    while len(wave.slot):
        slot = wave.slot
        live = player >= 0
        # which agent moves: 0 (agent_a) where the mover sits in agent_a's seat
        who = np.where(player == wave.seat_a[slot], 0, 1)
        actions = np.full(len(slot), -1, dtype=np.int64)
        if live.any():
            masks = game.legal_mask(wave.state)
            source = _StepObservations(game, wave.state, np.where(live, player, 0))
        # one group per agent; one group for both seats when the same agent object plays itself
        groups = [(agents[0], live)] if agents[0] is agents[1] else [(a, live & (who == k)) for k, a in
                                                                      enumerate(agents)]
        for agent, in_group in groups:
            rows = np.flatnonzero(in_group)
            if len(rows) == 0:
                continue
            states = (
                game.information_state(game.take(wave.state, rows), player[rows])
                if agent.needs_states
                else None
            )
            ids = wave.index[slot[rows]]
            decisions = wave.decisions[slot[rows], player[rows]]
            wave.decisions[slot[rows], player[rows]] += 1
            batch = _Batch(game, source, rows, masks[rows], player[rows], ids, states, wave.seed, decisions.copy())
            t0 = time.perf_counter()
            chosen = agent.act(batch)
            wave.time[slot[rows], who[rows]] += (time.perf_counter() - t0) / len(rows)
            actions[rows] = _validate(agent.name, chosen, batch.masks, ids)
        resign = actions == RESIGN
        wave.resigned[slot[resign]] = player[resign]
        actions[resign] = -1
        if live.any():
            source.expire()
        game.step(wave.state, actions)
        wave.record_actions(actions)
        player = game.current_player(wave.state).astype(np.int64)
        done = resign | (player < 0)
        if done.any():
            rows = np.flatnonzero(done)
            returns = game.returns(wave.state)[rows].astype(np.float64)
            seat_a = wave.seat_a[slot[rows]]
            k = np.arange(len(rows))
            result = np.sign(returns[k, seat_a] - returns[k, 1 - seat_a]).astype(np.int64)
            resigner = wave.resigned[slot[rows]]
            result = np.where(resigner < 0, result, np.where(resigner == seat_a, -1, 1))
            truncated = game.truncated(wave.state)[rows] & ~resign[rows]
            scores = _scores(game, game.take(wave.state, rows))
            score_lists = [None] * len(rows) if scores is None else scores.tolist()
            for j, (r, ret, sc) in enumerate(zip(rows, returns.tolist(), score_lists, strict=True)):
                yield _record(wave, int(slot[r]), int(result[j]), ret, sc, bool(truncated[j]), agents)
            keep = np.flatnonzero(~done)
            wave.compact(game, keep)
            player = player[keep]


def _record(
    wave: _Live,
    s: int,
    result: int,
    returns: list[float],
    score: list[float] | None,
    truncated: bool,
    agents: tuple[Agent, Agent],
) -> GameRecord:
    resigned = int(wave.resigned[s])
    actions = wave.actions_of(s)
    return GameRecord(
        index=int(wave.index[s]),
        seed=int(wave.seeds[s]),
        seat_a=int(wave.seat_a[s]),
        agent_a=agents[0].name,
        agent_b=agents[1].name,
        result=result,
        returns=returns,
        score=score,
        actions=actions,
        num_moves=len(actions),
        time_a=float(wave.time[s, 0]),
        time_b=float(wave.time[s, 1]),
        truncated=truncated,
        resigned=resigned if resigned >= 0 else None,
    )


def write_sgf(game: BatchedGame, rec: GameRecord, sgf_dir: Path) -> None:
    """``game_{index:06d}.sgf``: RE is ``B+R``/``W+R`` for a resignation, else from ``GoGame.score`` (black's
    margin, komi included)."""
    from zeroleague.envs.go.sgf import result_string, to_sgf

    black, white = (rec.agent_a, rec.agent_b) if rec.seat_a == 0 else (rec.agent_b, rec.agent_a)
    if rec.resigned is not None:
        result = "W+R" if rec.resigned == 0 else "B+R"
    else:
        result = result_string(rec.score[0])
    data = to_sgf(game.board_size, game.komi, rec.actions, result=result, black_name=black, white_name=white)
    (sgf_dir / f"game_{rec.index:06d}.sgf").write_bytes(data)
