"""External Go engines (GNU Go, Pachi) as Agents, driven over GTP.

Specs: ``gnugo`` / ``gnugo:level=1`` and ``pachi`` / ``pachi:playouts=5000``. Both take ``processes=`` (how
many engine processes at most, default 16) and ``timeout=`` (seconds per GTP command, default 120).

* GNU Go: ``gnugo --mode gtp --level L --chinese-rules --komi K --capture-all-dead --allow-suicide
  --positional-superko --seed S`` (binary: ``$GNUGO_BIN``, else ``gnugo`` on PATH, else ``/usr/games/gnugo``).
  ``--allow-suicide`` (multi-stone suicide) and ``--positional-superko`` align GNU Go's legality with our
  Tromp-Taylor engine's (unchecked: whether GNU Go counts the empty start as an earlier position), so it
  replays games of ours move by move; ``--capture-all-dead`` makes it remove
  dead stones before passing, as area scoring with all stones alive requires.
* Pachi: ``pachi -r chinese -d 0 -s S -t =P threads=1,pondering=0,max_tree_size=256,pass_all_alive`` (binary:
  ``$PACHI_BIN``, else ``pachi`` on PATH; ``baselines/install_pachi.sh`` builds one). Pachi allows multi-stone
  suicide but knows only simple ko.

Both engines accept board sizes up to 19 (their compiled limit); a larger game is refused at construction.

Each harness game is played by its own engine process, kept in sync from ``batch.states`` (``needs_states``):
the moves of ``states.moves`` the process has not seen are replayed with ``play`` before ``genmove``. The pool
of processes is started lazily and reused across games: a process whose move history is not a prefix of the
game's record is cleared (``clear_board``) and the record replayed, so when more games are live than
``processes`` the least recently used process is simply handed over (correct, only slower). If the engine
refuses a replayed move (a rules difference, e.g. an engine run without suicide), the position is set up stone
by stone instead, losing only the engine's ko history. ``genmove`` is sent to every process of a batch before
any answer is read, so the engines think in parallel. ``resign`` becomes ``zeroleague.agents.base.RESIGN``; an answer
that is not a vertex, or a move our rules forbid (e.g. a superko repetition Pachi does not know), raises
``GTPAgentError`` naming the engine, the game and the answer.

Seeds: every decision has a key (the agent's seed, the match seed, the game, the seat, that seat's decision index;
``zeroleague.agents.base.DecisionKeys``). GNU Go gets ``set_random_seed`` from that key before every ``genmove``,
so each game of a match draws afresh (a fixed seed made a deterministic engine replay the same game over and over)
and a decision's seed does not depend on the batching; ``clear_cache`` before every ``genmove`` empties GNU Go's
reading caches, whose contents (left by other games sharing the process) changed its moves otherwise: GNU Go's
moves are then the same at every batch size and pool size. Pachi takes its seed only on the command line (``-s``):
a process handed to a new game is restarted with a seed from the key of that game's first decision it serves;
Pachi's generator then runs on through the game, so its moves are reproducible for the same batching and pool size,
and across batchings only while no game's process is handed over (``processes`` >= games in flight).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zeroleague.agents.base import RESIGN, BaseAgent, DecisionBatch, DecisionKeys
from zeroleague.agents.registry import register_agent
from zeroleague.baselines.gtp import (
    COLOR_NAMES,
    GTPError,
    GTPProcess,
    action_to_vertex,
    find_binary,
    vertex_to_action,
)

ENGINE_MAX_SIZE = 19
"""Largest board GNU Go and Pachi are compiled for."""
PACHI_MIN_PLAYOUTS = 500
"""Pachi aborts on fewer playouts per move (its GJ_MINGAMES assertion)."""


class GTPAgentError(RuntimeError):
    """A GTP engine gave an answer we cannot use (not a vertex, or illegal under our rules)."""


@dataclass
class _Engine:
    proc: GTPProcess
    moves: list[int] = field(default_factory=list)  # the record this process has played since clear_board
    game_id: int | None = None
    last_used: int = 0


class GTPAgent(BaseAgent):
    """A Go Agent backed by a pool of GTP engine processes (see the module docstring).

    ``argv``: the engine's command line; ``label``: its name in messages; ``processes``: pool size limit;
    ``timeout``: seconds allowed per GTP command; ``before_genmove``: commands sent before every ``genmove``;
    ``seed_command``: a command with ``{seed}`` sent before every ``genmove`` with the decision's seed (GNU Go's
    ``set_random_seed {seed}``); ``argv_for_seed``: the command line for a seed, for an engine seeded only at
    start (Pachi: a process taking over a game restarts seeded from that decision's key); ``seed``: the agent's
    seed (module docstring). The first process is started here, so a missing binary or a
    board size or komi the engine refuses fails at construction with ``GTPEngineError``/``GTPError``."""

    needs_states = True

    def __init__(
        self,
        game,
        argv: list[str],
        *,
        label: str,
        processes: int = 16,
        timeout: float = 120.0,
        before_genmove: tuple[str, ...] = (),
        seed_command: str | None = None,
        argv_for_seed: Callable[[int], list[str]] | None = None,
        seed: int = 0,
    ):
        n = getattr(game, "board_size", None)
        if not isinstance(n, int) or not hasattr(game, "komi"):
            raise ValueError(f"{label} plays Go only; got game {game!r}")
        if n > ENGINE_MAX_SIZE:
            raise ValueError(f"{label} supports board sizes up to {ENGINE_MAX_SIZE}, got {n}")
        if not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be an int >= 1, got {processes!r}")
        self.game, self.argv, self.label = game, list(argv), label
        self.processes, self.timeout = processes, float(timeout)
        self.before_genmove = tuple(before_genmove)
        self.seed_command, self.argv_for_seed = seed_command, argv_for_seed
        self.keys = DecisionKeys(seed)
        self._pool: list[_Engine] = []
        self._clock = itertools.count(1)
        self._pool.append(self._start())

    def _start(self, seed: int | None = None) -> _Engine:
        argv = self.argv if seed is None or self.argv_for_seed is None else self.argv_for_seed(seed)
        proc = GTPProcess(argv, timeout=self.timeout, label=self.label)
        try:
            proc.send(f"boardsize {self.game.board_size}")
            proc.send("clear_board")
            proc.send(f"komi {self.game.komi:g}")
        except Exception:
            proc.close()
            raise
        return _Engine(proc)

    def _engine_for(self, game_id: int, busy: set[int], seed: int) -> _Engine:
        """The process for ``game_id``: its own, else an idle one, a new one, or the least recently used one
        not in ``busy`` (ids of processes already serving this round). With ``argv_for_seed`` a process taking
        over a game is restarted with ``seed``."""
        for eng in self._pool:
            if eng.game_id == game_id:
                break
        else:
            if self.argv_for_seed is not None:
                free = [e for e in self._pool if e.game_id is None]
                if len(self._pool) >= self.processes:
                    victim = free[0] if free else min((e for e in self._pool if id(e) not in busy),
                                                      key=lambda e: e.last_used)
                    self._discard(victim)
                eng = self._start(seed)
                self._pool.append(eng)
                eng.game_id = game_id
                eng.last_used = next(self._clock)
                return eng
            free = [e for e in self._pool if e.game_id is None]
            if free:
                eng = free[0]
            elif len(self._pool) < self.processes:
                eng = self._start()
                self._pool.append(eng)
            else:
                eng = min((e for e in self._pool if id(e) not in busy), key=lambda e: e.last_used)
            eng.game_id = game_id
        eng.last_used = next(self._clock)
        return eng

    def _discard(self, eng: _Engine) -> None:
        eng.proc.close()
        self._pool.remove(eng)

    def _sync(self, eng: _Engine, record: list[int], board: np.ndarray, game_id: int) -> None:
        """Bring the process to the position after ``record`` (see the module docstring)."""
        n = self.game.board_size
        if eng.moves != record[: len(eng.moves)]:
            eng.proc.send("clear_board")
            eng.moves = []
        todo = record[len(eng.moves) :]
        for k, a in enumerate(todo, start=len(eng.moves)):
            eng.proc.submit(f"play {COLOR_NAMES[k % 2]} {action_to_vertex(a, n)}")
        refused = None
        for _ in todo:
            try:
                eng.proc.receive()
            except GTPError as e:
                refused = refused or e
        eng.moves = list(record)
        if refused is not None:
            self._setup(eng, board, game_id, refused)

    def _setup(self, eng: _Engine, board: np.ndarray, game_id: int, refused: GTPError) -> None:
        """Place the stones of ``board`` on a cleared board (no captures can occur: every group of a legal
        position keeps a liberty at each stage of the placement)."""
        n = self.game.board_size
        eng.proc.send("clear_board")
        try:
            for p in np.flatnonzero(board):
                eng.proc.send(f"play {COLOR_NAMES[int(board[p]) - 1]} {action_to_vertex(int(p), n)}")
        except GTPError as e:
            eng.moves = []
            raise GTPAgentError(
                f"{self.label} cannot replay game {game_id} (it refused {refused.command!r}: "
                f"{refused.message}) nor set up its position (refused {e.command!r}: {e.message})"
            ) from e

    def act(self, batch: DecisionBatch) -> np.ndarray:
        """One ``genmove`` per decision (engines of a round think in parallel); ``RESIGN`` for ``resign``."""
        states = batch.states
        if states is None:
            raise ValueError(f"{self.label} needs batch.states (needs_states=True)")
        out = np.empty(len(batch), dtype=np.int64)
        seeds = (self.keys(batch) % np.uint64(2**31)).astype(np.int64)
        for start in range(0, len(batch), self.processes):
            rows = range(start, min(start + self.processes, len(batch)))
            engines: list[_Engine] = []
            busy: set[int] = set()
            try:
                for b in rows:
                    gid = int(batch.game_ids[b])
                    eng = self._engine_for(gid, busy, int(seeds[b]))
                    busy.add(id(eng))
                    engines.append(eng)
                    record = [int(a) for a in states.moves[b, : int(states.num_moves[b])]]
                    if len(record) % 2 != int(batch.players[b]):
                        raise ValueError(
                            f"{self.label}: game {gid} has {len(record)} moves but seat "
                            f"{int(batch.players[b])} is to act (Go alternates from black)"
                        )
                    self._sync(eng, record, states.board[b], gid)
                    for command in self.before_genmove:
                        eng.proc.send(command)
                    if self.seed_command is not None:
                        eng.proc.send(self.seed_command.format(seed=int(seeds[b])))
                    eng.proc.submit(f"genmove {COLOR_NAMES[int(batch.players[b])]}")
            except Exception:  # processes with unread answers or unknown positions are out of sync: drop them
                for eng in engines:
                    self._discard(eng)
                raise
            failure = None
            for b, eng in zip(rows, engines, strict=True):
                try:
                    out[b] = self._answer(eng, eng.proc.receive(), batch, b)
                except Exception as e:  # read every answer so the other processes stay in sync
                    failure = failure or e
                    if eng in self._pool:
                        self._discard(eng)
            if failure is not None:
                raise failure
        return out

    def _answer(self, eng: _Engine, text: str, batch: DecisionBatch, b: int) -> int:
        gid = int(batch.game_ids[b])
        answer = text.strip()
        if answer.lower() == "resign":
            eng.game_id = None
            return RESIGN
        try:
            action = vertex_to_action(answer, self.game.board_size)
        except ValueError:
            raise GTPAgentError(
                f"{self.label} answered genmove in game {gid} with {answer!r}, which is not a vertex"
            ) from None
        if not batch.masks[b, action]:
            raise GTPAgentError(
                f"{self.label} answered genmove in game {gid} with {answer!r}, which is "
                f"illegal under our Tromp-Taylor rules here (e.g. a superko repetition)"
            )
        eng.moves.append(action)
        return action

    def reset(self, game_ids: np.ndarray) -> None:
        """Those games are over or start anew: their processes become free for other games."""
        self.keys.reset(game_ids)
        ids = {int(g) for g in np.asarray(game_ids).reshape(-1)}
        for eng in self._pool:
            if eng.game_id in ids:
                eng.game_id = None

    def close(self) -> None:
        """Shut every engine process down."""
        for eng in self._pool:
            eng.proc.close()
        self._pool.clear()


def _binary(name: str, env_var: str, hint: str) -> str:
    path = find_binary(name, env_var)
    if path is None:
        raise FileNotFoundError(f"{name} binary not found (set ${env_var}, or put {name} on PATH; {hint})")
    return path


@register_agent("gnugo", games=("go",))
def make_gnugo(
    game,
    level: int = 1,
    *,
    processes: int = 16,
    timeout: float = 120.0,
    seed: int = 0,
    device: str | None = None,
) -> GTPAgent:
    """GNU Go over GTP (``gnugo:level=1``; levels 0..10), Tromp-Taylor compatible flags."""
    if not isinstance(level, int) or not 0 <= level <= 10:
        raise ValueError(f"gnugo level must be an int in 0..10, got {level!r}")
    argv = [
        _binary("gnugo", "GNUGO_BIN", "e.g. apt-get install gnugo"),
        "--mode",
        "gtp",
        "--level",
        str(level),
        "--chinese-rules",
        "--komi",
        f"{game.komi:g}",
        "--capture-all-dead",
        "--allow-suicide",
        "--positional-superko",
        "--seed",
        str(int(seed) % 2**31),
    ]
    return GTPAgent(
        game,
        argv,
        label=f"gnugo:level={level}",
        processes=processes,
        timeout=timeout,
        seed_command="set_random_seed {seed}",
        seed=seed,
        before_genmove=("clear_cache",),
    )


@register_agent("pachi", games=("go",))
def make_pachi(
    game,
    playouts: int = 5000,
    *,
    processes: int = 16,
    timeout: float = 120.0,
    seed: int = 0,
    device: str | None = None,
) -> GTPAgent:
    """Pachi (UCT, fixed playouts per move) over GTP (``pachi:playouts=5000``)."""
    if not isinstance(playouts, int) or playouts < PACHI_MIN_PLAYOUTS:
        raise ValueError(f"pachi playouts must be an int >= {PACHI_MIN_PLAYOUTS}, got {playouts!r}")
    binary = _binary("pachi", "PACHI_BIN", "baselines/install_pachi.sh builds one")

    def argv(engine_seed: int) -> list[str]:
        return [binary, "-r", "chinese", "-d", "0", "-s", str(int(engine_seed) % 2**31), "-t", f"={playouts}",
                "threads=1,pondering=0,max_tree_size=256,pass_all_alive"]

    return GTPAgent(game, argv(seed), label=f"pachi:playouts={playouts}", processes=processes, timeout=timeout,
                    argv_for_seed=argv, seed=seed)


__all__ = ["ENGINE_MAX_SIZE", "PACHI_MIN_PLAYOUTS", "GTPAgent", "GTPAgentError", "make_gnugo", "make_pachi"]
