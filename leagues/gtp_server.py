"""Serve any Go Agent as a GTP v2 engine (``zeroleague gtp --agent SPEC [--rules R]``), so GUIs (Sabaki,
Lizzie, GoGui) and referees (gogui-twogtp) can play it against people and other engines, and show its analysis.

One game state (an N=1 ``GoGame`` state) is kept. Commands:

* core: protocol_version, name, version, known_command, list_commands, boardsize, clear_board, komi, play,
  genmove, final_score, showboard, quit;
* ``undo`` (takes back the last ``play``/``genmove``, with any pass inserted for it; ``? cannot undo`` at the
  start or right after a handicap), ``final_status_list alive|dead|seki`` (Tromp-Taylor scoring counts every
  stone on the board as alive: ``alive`` lists every stone, one group per line; ``dead`` and ``seki`` are
  empty, consistent with ``final_score``), ``kgs-genmove_cleanup`` (= ``genmove``: under Tromp-Taylor the
  agents already capture dead stones before passing, since that is how the game is scored);
* handicap: ``fixed_handicap N`` / ``place_free_handicap N`` (the GTP standard points, 2..9 stones on 7x7 and
  up; 4 at most on even sizes and 7x7; the engine answers the vertices) and ``set_free_handicap V...``; only on
  an empty board. Our engine has no setup stones: the k stones are played as Black moves with a White pass
  between two of them, so White is to move afterwards (the turn count includes those 2k - 1 moves);
* ``loadsgf FILE [MOVE]`` (size, komi and the main line up to the position before move MOVE; black setup
  stones ``AB`` are placed as handicap stones);
* time: ``time_settings MAIN BYO STONES``, ``kgs-time_settings none|absolute|byoyomi|canadian ...``,
  ``time_left COLOR TIME STONES``. A search agent (one with an MCTS: ``az``, ``az_uniform``) then spends the time
  it has: per move ``budget = 0.8 * (time left / stones left)`` in byo-yomi, else ``0.8 * (main time left /
  max(10, N*N/2 - own moves) + byo-yomi time per stone)``, and its simulations per move are set to fit the budget
  from its measured speed (between 1 and 8x its spec's ``sims``; the first timed move uses at most 16 to
  measure). Agents without a search answer at once. No time settings (or ``BYO > 0`` with ``STONES = 0``,
  GTP's "no limit"): the spec's ``sims``;
* analysis: ``lz-analyze [COLOR] [INTERVAL] [minmoves N] [maxmoves N]`` (Leela Zero format: winrate and prior
  in 1/10000, for the colour to analyse) and ``kata-analyze`` (KataGo format: fractions); both stream
  ``info move V visits N winrate W prior P lcb W order K pv V V ...`` lines, one report per INTERVAL
  centiseconds, until the next command arrives (then an empty line ends the response). For a search agent each
  report is a fresh search of ``sims * 2**k`` simulations (k = report index, at most 64x): visits from the
  root's visit counts, the win rate of each move from its mean value ``(1 + Q) / 2``, the prior from the
  network, the PV the most-visited line below the move; AlphaZero's search is read through its ``explain`` and
  its tree. Other agents report their one chosen move (visits 1, the value unknown: winrate 0.5). On input that
  cannot be polled (a pipe replaced by a string in tests) one report is sent. ``lz-genmove_analyze`` /
  ``kata-genmove_analyze`` send one report and then ``play V`` (the move is played);
* ``set_random_seed N`` (rebuilds the agent with that seed);
* rules: ``kgs-rules NAME`` / ``kata-set-rules NAME`` and the command line ``--rules``: ``tromp-taylor``
  (default) and ``new-zealand`` allow multi-stone suicide; ``chinese``, ``japanese``, ``korean``, ``aga`` (and
  the alias ``no-suicide``) forbid it: the game is then a ``NoSuicideGoGame``, whose ``legal_mask`` removes
  every suicide, so a search agent never considers one (it is masked out of its search, not filtered after
  it), and ``play`` refuses one as an illegal move. Scoring stays Tromp-Taylor area scoring (all stones alive)
  under every name. Changing the rules mid-game keeps the moves if they are legal under the new rules.

Every malformed or refused command gets a ``? message`` answer and leaves the game unchanged; nothing a
controller sends can crash the server. Answers go to ``stdout`` (flushed each time), logs to stderr.

Choices where GTP and our engine differ (documented, tested):

* **Moves out of turn.** GTP lets a controller ``play``/``genmove`` for either colour; our engine alternates
  strictly. A move for the colour *not* to move is accepted by first playing a pass for the side to move.
  That pass is refused (``? illegal move ...``) when it would end the game, i.e. when the last turn was
  already a pass, since two passes end a Tromp-Taylor game.
* **The game's end.** After two consecutive passes (or the engine's move cap of ``2*N*N`` turns) the game is
  over: ``play`` answers ``? illegal move (the game is over)``, ``genmove`` ``? cannot generate a move``;
  ``final_score`` scores the position as it stands (area scoring, all stones alive: Tromp-Taylor).
* **komi** may change at any time; the game is rebuilt with the new komi and the moves so far replayed.
* **boardsize** accepts 2..25 (the GTP coordinate limit) and also clears the board; a size the agent cannot
  play (e.g. a network trained for 9x9 only) is answered ``? unacceptable size`` with the agent's reason.
* The agent is rebuilt from its spec whenever the board size, komi, rules or seed change; each new game
  (``clear_board``, ``boardsize``, ``loadsgf``) gets a new harness game id, and the agent's ``reset`` is called
  for the old one.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import sys
import threading
import time
from importlib import metadata
from typing import Any, TextIO

import numba as nb
import numpy as np

from zeroleague.agents.base import RESIGN, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.gtp import (
    COLOR_NAMES,
    action_to_vertex,
    format_response,
    parse_color,
    parse_command,
    vertex_to_action,
)
from zeroleague.envs.go.engine import GoGame, GoState, check_board_size
from zeroleague.envs.go.sgf import result_string

log = logging.getLogger(__name__)

COMMANDS = (
    "protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
    "komi", "play", "genmove", "final_score", "showboard", "quit",
    "undo", "final_status_list", "kgs-genmove_cleanup", "fixed_handicap", "place_free_handicap",
    "set_free_handicap", "loadsgf", "time_settings", "kgs-time_settings", "time_left", "lz-analyze",
    "kata-analyze", "lz-genmove_analyze", "kata-genmove_analyze", "set_random_seed", "kgs-rules",
    "kata-set-rules",
)  # fmt: skip

RULES = {
    "tromp-taylor": True, "new-zealand": True, "chinese": False, "japanese": False, "korean": False,
    "aga": False, "no-suicide": False,
}  # fmt: skip
"""Rule names -> whether multi-stone suicide is allowed (scoring is Tromp-Taylor area scoring under all)."""
_RULE_ALIASES = {"tromp_taylor": "tromp-taylor", "tt": "tromp-taylor", "new_zealand": "new-zealand",
                 "nz": "new-zealand", "chinese-ogs": "chinese", "chinese_ogs": "chinese", "kgs": "chinese"}  # fmt: skip

ANALYZE_MAX_DOUBLINGS = 6  # report k searches sims * 2**min(k, 6)
TIME_SAFETY = 0.8


def rules_name(text: str) -> str:
    """The canonical rules name for ``text`` (case-insensitive; aliases such as ``tt``, ``nz``); ValueError
    naming it otherwise."""
    key = text.strip().lower()
    key = _RULE_ALIASES.get(key, key)
    if key not in RULES:
        raise ValueError(f"unknown rules {text!r}; known: {', '.join(RULES)}")
    return key


# ---------------------------------------------------------------------------------------------- suicide mask


@nb.njit(cache=True)
def _suicide_points(board, to_play, nbr, out):
    """``out[g, p]``: an empty point p where the player to move in game g would commit suicide (single- or
    multi-stone): no empty neighbour, no neighbouring opponent group left with p as its last liberty, and every
    neighbouring own group with p as its last liberty."""
    n_games, npts = board.shape
    gid = np.empty(npts, np.int64)
    libs = np.zeros(npts, np.int64)
    libmark = np.full(npts, -1, np.int64)
    stack = np.empty(npts, np.int64)
    group_no = 0
    for g in range(n_games):
        me = to_play[g] + 1
        opp = 3 - me
        for p in range(npts):
            gid[p] = -1
        for p in range(npts):
            if board[g, p] == 0 or gid[p] >= 0:
                continue
            colour = board[g, p]
            local = group_no - (group_no // npts) * npts  # group slot (libs is indexed by it)
            group_no += 1
            stamp = group_no  # unique across games: libmark never needs clearing
            libs[local] = 0
            gid[p] = local
            top = 0
            stack[top] = p
            top += 1
            while top > 0:
                top -= 1
                q = stack[top]
                for k in range(4):
                    r = nbr[q, k]
                    if r < 0:
                        break
                    v = board[g, r]
                    if v == 0:
                        if libmark[r] != stamp:
                            libmark[r] = stamp
                            libs[local] += 1
                    elif v == colour and gid[r] < 0:
                        gid[r] = local
                        stack[top] = r
                        top += 1
        for p in range(npts):
            out[g, p] = False
            if board[g, p] != 0:
                continue
            suicide = True
            for k in range(4):
                r = nbr[p, k]
                if r < 0:
                    break
                v = board[g, r]
                if v == 0 or (v == opp and libs[gid[r]] == 1) or (v == me and libs[gid[r]] > 1):
                    suicide = False
                    break
            out[g, p] = suicide


class NoSuicideGoGame(GoGame):
    """``GoGame`` under rules that forbid suicide: ``legal_mask`` (what agents and searches read) and
    ``illegal_action`` also refuse multi-stone suicide. ``step`` itself is the engine's (searches only step
    actions from the mask)."""

    suicide_allowed = False

    def suicide_mask(self, state: GoState) -> np.ndarray:
        """bool[N, P]: the points where the player to move would commit suicide."""
        out = np.empty((len(state), self.num_points), dtype=np.bool_)
        _suicide_points(state.board, np.maximum(state.to_play, 0), self._nbr, out)
        return out

    def legal_mask(self, state: GoState, out: np.ndarray | None = None) -> np.ndarray:
        mask = super().legal_mask(state, out)
        mask[:, : self.num_points][self.suicide_mask(state)] = 0
        return mask

    def illegal_action(self, state: GoState, actions: np.ndarray) -> tuple[int, str] | None:
        found = super().illegal_action(state, actions)
        if found is not None:
            return found
        sui = self.suicide_mask(state)
        for g, a in enumerate(np.asarray(actions).tolist()):
            if 0 <= a < self.num_points and sui[g, a]:
                return g, f"suicide at {action_to_vertex(a, self.board_size)} (forbidden under these rules)"
        return None


# ------------------------------------------------------------------------------------------------- handicap


def fixed_handicap_points(n: int, stones: int) -> list[int]:
    """The GTP standard handicap points (actions) for ``stones`` on an n x n board; ValueError if none."""
    most = 0 if n < 7 else (9 if n % 2 == 1 and n > 7 else 4)
    if not 2 <= stones <= most:
        raise ValueError(f"invalid number of stones ({stones} on {n}x{n}: 2..{most})" if most else
                         f"no standard handicap on {n}x{n} (7x7 and up)")  # fmt: skip
    edge = 2 if n < 13 else 3  # third / fourth line (0-based)
    lo, hi, mid = edge, n - 1 - edge, n // 2

    def at(col: int, row_from_bottom: int) -> int:
        return (n - 1 - row_from_bottom) * n + col

    pts = [at(lo, lo), at(hi, hi), at(lo, hi), at(hi, lo)][: min(stones, 4)]
    if stones >= 6:
        pts += [at(lo, mid), at(hi, mid)]
    if stones >= 8:
        pts += [at(mid, lo), at(mid, hi)]
    if stones in (5, 7, 9):
        pts.append(at(mid, mid))
    return pts


def handicap_moves(points: list[int], pass_action: int) -> list[int]:
    """The engine moves placing ``points`` as Black stones: B p1, W pass, B p2, ..., B pk."""
    moves: list[int] = []
    for i, p in enumerate(points):
        if i:
            moves.append(pass_action)
        moves.append(p)
    return moves


class _Refusal(Exception):
    """A command that is answered with ``? message`` (the game is left unchanged)."""


def board_text(game: GoGame, state: GoState, i: int = 0) -> str:
    """A GNU Go style text board of game ``i`` (X black, O white, row 1 at the bottom) and who is to move."""
    n = game.board_size
    letters = "   " + " ".join(action_to_vertex(c, n)[0] for c in range(n))
    lines = [letters]
    for r in range(n):
        row = " ".join(".XO"[v] for v in state.board[i, r * n:(r + 1) * n])
        lines.append(f"{n - r:2d} {row} {n - r:d}")
    lines.append(letters)
    to_move = "game over" if state.done[i] else f"{('black', 'white')[state.to_play[i]]} to move"
    lines.append(f"move {int(state.num_moves[i])}, {to_move}, komi {game.komi:g}")
    return "\n".join(lines)


def stone_groups(game: GoGame, state: GoState) -> list[list[int]]:
    """The connected groups of stones of game 0 (each a sorted list of points), in point order."""
    n, board = game.board_size, state.board[0]
    seen = np.zeros(game.num_points, dtype=bool)
    groups = []
    for p in range(game.num_points):
        if board[p] == 0 or seen[p]:
            continue
        colour, todo, group = board[p], [p], []
        seen[p] = True
        while todo:
            q = todo.pop()
            group.append(q)
            r, c = divmod(q, n)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < n and 0 <= cc < n:
                    x = rr * n + cc
                    if not seen[x] and board[x] == colour:
                        seen[x] = True
                        todo.append(x)
        groups.append(sorted(group))
    return groups


@dataclasses.dataclass
class Analysis:
    """One analysis report: per candidate move, in order of preference."""

    moves: list[dict[str, Any]]  # {"action", "visits", "winrate" (0..1, colour to move), "prior", "pv"}


class GTPServer:
    """The GTP engine: a ``GoGame``, one game state, and the agent built from ``agent_spec`` for that game.
    ``execute(name, args) -> (ok, text)`` runs one command; ``finished`` is set by ``quit``. Streaming
    analysis (``lz-analyze``) is run by ``serve`` through ``analyze``."""

    def __init__(self, agent_spec: str, *, board_size: int = 19, komi: float = 7.5, seed: int = 0,
                 device: str | None = None, rules: str = "tromp-taylor"):
        self.agent_spec, self.seed, self.device = agent_spec, seed, device
        self.rules = rules_name(rules)
        self.game: GoGame | None = None
        self.agent = None
        self.game_id = 0
        self.finished = False
        self._history: list[int] = []  # num_moves before each undoable play/genmove
        self._floor = 0  # moves that undo never removes (handicap stones)
        self._time: tuple[float, float, int] | None = None  # (main, byo-yomi time, byo-yomi stones)
        self._time_left: dict[int, tuple[float, int]] = {}
        self._sec_per_sim: float | None = None
        self.last_move_seconds: float | None = None
        self.last_move_sims: int | None = None
        self._configure(check_board_size(board_size), komi, moves=())

    # --- game and agent lifecycle ---------------------------------------------------------------------------

    def _game_class(self, rules: str) -> type[GoGame]:
        return GoGame if RULES[rules] else NoSuicideGoGame

    def _configure(self, board_size: int, komi: float, moves, rules: str | None = None,
                   seed: int | None = None) -> None:
        """Switch to ``GoGame(board_size, komi)`` (the rules' class) with ``moves`` replayed, rebuilding the
        agent if the game or the seed changed. Raises (leaving everything as it was) if the game, the moves or
        the agent cannot be built."""
        rules = self.rules if rules is None else rules
        seed = self.seed if seed is None else seed
        game, agent = self.game, self.agent
        cls = self._game_class(rules)
        if game is None or type(game) is not cls or (game.board_size, game.komi) != (board_size, float(komi)):
            game = cls(board_size=board_size, komi=komi)
        state = game.init(1, 0)
        for a in moves:
            actions = np.array([a], dtype=np.int64)
            found = game.illegal_action(state, actions)
            if found is not None:
                raise ValueError(f"move {action_to_vertex(int(a), board_size)}: {found[1]}")
            game.step(state, actions)
        if game is not self.game or seed != self.seed or agent is None:
            agent = make_agent(self.agent_spec, game, seed=seed, device=self.device)
            self._sec_per_sim = None
        if agent is not self.agent:
            self._close_agent()
        self.game, self.agent, self.state, self.rules, self.seed = game, agent, state, rules, seed

    def _close_agent(self) -> None:
        if self.agent is not None:
            self.agent.reset(np.array([self.game_id]))
            self.agent.close()
            self.agent = None

    def _new_game(self) -> None:
        self.agent.reset(np.array([self.game_id]))
        self.game_id += 1
        self.state = self.game.init(1, 0)
        self._history, self._floor = [], 0
        if self._time is not None:
            self._time_left = {0: (self._time[0], 0), 1: (self._time[0], 0)}

    def close(self) -> None:
        """Release the agent (its processes, files)."""
        self._close_agent()

    def _moves(self) -> list[int]:
        return [int(a) for a in self.state.moves[0, : self.state.num_moves[0]]]

    # --- commands -------------------------------------------------------------------------------------------

    def execute(self, name: str, args: list[str]) -> tuple[bool, str]:
        """Run one command: ``(True, result)`` or ``(False, error message)``. Never raises for bad input; an
        unexpected failure of the agent is logged and answered as an error too."""
        handler = getattr(self, "_cmd_" + name.replace("-", "_"), None) if name in COMMANDS else None
        if handler is None:
            return False, "unknown command"
        try:
            return True, handler(args)
        except _Refusal as e:
            return False, str(e)
        except Exception as e:  # an agent or engine failure must not kill the GTP session
            log.exception("GTP command %s %s failed", name, " ".join(args))
            return False, f"internal error in {name}: {type(e).__name__}: {e}"

    @staticmethod
    def _nargs(args: list[str], n: int, usage: str) -> None:
        if len(args) != n:
            raise _Refusal(f"syntax error (expected: {usage})")

    @staticmethod
    def _number(text: str, kind: type, what: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise _Refusal(f"syntax error ({what} is not {'an integer' if kind is int else 'a number'}: "
                           f"{text!r})") from None
        if kind is float and not math.isfinite(value):
            raise _Refusal(f"syntax error ({what} must be finite, got {text!r})")
        return value

    def _cmd_protocol_version(self, args):
        return "2"

    def _cmd_name(self, args):
        return "zeroleague"

    def _cmd_version(self, args):
        try:
            version = metadata.version("zeroleague")
        except metadata.PackageNotFoundError:
            version = "unknown"
        return f"{version} (agent {self.agent_spec})"

    def _cmd_known_command(self, args):
        self._nargs(args, 1, "known_command NAME")
        return "true" if args[0] in COMMANDS else "false"

    def _cmd_list_commands(self, args):
        return "\n".join(COMMANDS)

    def _cmd_quit(self, args):
        self.finished = True
        return ""

    def _cmd_boardsize(self, args):
        self._nargs(args, 1, "boardsize SIZE")
        size = self._number(args[0], int, "boardsize")
        try:
            self._configure(check_board_size(size), self.game.komi, moves=())
        except (TypeError, ValueError) as e:
            raise _Refusal(f"unacceptable size ({e})") from None
        self._new_game()
        return ""

    def _cmd_clear_board(self, args):
        self._new_game()
        return ""

    def _cmd_komi(self, args):
        self._nargs(args, 1, "komi FLOAT")
        try:
            komi = float(args[0])
        except ValueError:
            raise _Refusal(f"syntax error (komi is not a float: {args[0]!r})") from None
        try:
            self._configure(self.game.board_size, komi, moves=self._moves())
        except (TypeError, ValueError) as e:
            raise _Refusal(f"syntax error (unusable komi {args[0]!r}: {e})") from None
        return ""

    def _turn_for(self, seat: int, what: str) -> GoState:
        """A copy of the state in which ``seat`` is to move (a pass inserted for the other side if needed), or
        a refusal starting with ``what``."""
        game, state = self.game, self.game.copy(self.state)
        if state.done[0]:
            raise _Refusal(f"{what} (the game is over)")
        if state.to_play[0] != seat:
            if state.passes[0] > 0:
                other = ("black", "white")[1 - seat]
                raise _Refusal(f"{what} ({other} to move after a pass; a pass for {other} ends the game)")
            game.step(state, np.array([game.num_points], dtype=np.int64))
        return state

    def _commit(self, state: GoState) -> None:
        """Make ``state`` the game, remembering where the last command started (for ``undo``)."""
        self._history.append(int(self.state.num_moves[0]))
        self.state = state

    def _cmd_play(self, args):
        self._nargs(args, 2, "play COLOR VERTEX")
        try:
            seat = parse_color(args[0])
            action = vertex_to_action(args[1], self.game.board_size)
        except ValueError as e:
            raise _Refusal(f"syntax error ({e})") from None
        state = self._turn_for(seat, "illegal move")
        actions = np.array([action], dtype=np.int64)
        found = self.game.illegal_action(state, actions)
        if found is not None:
            raise _Refusal(f"illegal move ({found[1]})")
        self.game.step(state, actions)
        self._commit(state)
        return ""

    def _batch(self, state: GoState, seat: int, game_id: int) -> DecisionBatch:
        game = self.game
        return DecisionBatch(
            game,
            game.observe(state, seat),
            game.legal_mask(state),
            np.array([seat], dtype=np.int64),
            np.array([game_id], dtype=np.int64),
            game.information_state(state, seat) if self.agent.needs_states else None,
        )

    def _search_config(self):
        """The agent's MCTS settings holder (``agent.mcts``) if it searches with one, else None."""
        mcts = getattr(self.agent, "mcts", None)
        return mcts if mcts is not None and hasattr(getattr(mcts, "config", None), "num_simulations") else None

    def _cmd_genmove(self, args):
        self._nargs(args, 1, "genmove COLOR")
        try:
            seat = parse_color(args[0])
        except ValueError as e:
            raise _Refusal(f"syntax error ({e})") from None
        game = self.game
        state = self._turn_for(seat, "cannot generate a move")
        batch = self._batch(state, seat, self.game_id)
        mcts = self._search_config()
        base = mcts.config if mcts is not None else None
        sims = self._timed_sims(seat, base.num_simulations) if base is not None else None
        start = time.perf_counter()
        try:
            if sims is not None:
                mcts.config = dataclasses.replace(base, num_simulations=sims)
            action = int(np.asarray(self.agent.act(batch)).reshape(-1)[0])
        finally:
            if base is not None:
                mcts.config = base
        elapsed = time.perf_counter() - start
        self.last_move_seconds, self.last_move_sims = elapsed, sims
        if sims is not None and self._time is not None:
            rate = elapsed / sims
            self._sec_per_sim = rate if self._sec_per_sim is None else 0.5 * (self._sec_per_sim + rate)
        if action == RESIGN:
            return "resign"
        if not 0 <= action < game.num_actions or not batch.masks[0, action]:
            raise _Refusal(f"agent {self.agent_spec} chose illegal action {action} for {COLOR_NAMES[seat]}")
        game.step(state, np.array([action], dtype=np.int64))
        self._commit(state)
        return action_to_vertex(action, game.board_size)

    _cmd_kgs_genmove_cleanup = _cmd_genmove

    def _cmd_undo(self, args):
        if not self._history or self._history[-1] < self._floor:
            raise _Refusal("cannot undo")
        keep = self._history[-1]
        moves = self._moves()[:keep]
        self._configure(self.game.board_size, self.game.komi, moves=moves)
        self._history.pop()
        return ""

    def _cmd_final_score(self, args):
        black, white = (int(x) for x in self.game.area(self.state)[0])
        return result_string(black - white - self.game.komi)

    def _cmd_final_status_list(self, args):
        self._nargs(args, 1, "final_status_list alive|dead|seki")
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise _Refusal(f"syntax error (status must be alive, dead or seki, got {args[0]!r})")
        if status != "alive":
            return ""  # Tromp-Taylor: every stone on the board counts as alive
        n = self.game.board_size
        return "\n".join(" ".join(action_to_vertex(p, n) for p in g) for g in stone_groups(self.game, self.state))

    def _cmd_showboard(self, args):
        return "\n" + board_text(self.game, self.state)

    # --- handicap and loading -----------------------------------------------------------------------------

    def _place_handicap(self, points: list[int]) -> None:
        if self.state.num_moves[0] != 0:
            raise _Refusal("board not empty")
        if len(set(points)) != len(points):
            raise _Refusal("bad vertex list (a vertex is repeated)")
        if not 2 <= len(points) <= self.game.num_points - 1:
            raise _Refusal(f"invalid number of stones ({len(points)})")
        moves = handicap_moves(points, self.game.num_points)
        try:
            self._configure(self.game.board_size, self.game.komi, moves=moves)
        except ValueError as e:
            raise _Refusal(f"bad vertex list ({e})") from None
        self._history, self._floor = [], len(moves)

    def _handicap_count(self, args, usage: str) -> list[int]:
        self._nargs(args, 1, usage)
        k = self._number(args[0], int, "the number of stones")
        try:
            return fixed_handicap_points(self.game.board_size, k)
        except ValueError as e:
            raise _Refusal(str(e)) from None

    def _cmd_fixed_handicap(self, args):
        points = self._handicap_count(args, "fixed_handicap NUMBER")
        self._place_handicap(points)
        return " ".join(action_to_vertex(p, self.game.board_size) for p in points)

    def _cmd_place_free_handicap(self, args):
        points = self._handicap_count(args, "place_free_handicap NUMBER")
        self._place_handicap(points)
        return " ".join(action_to_vertex(p, self.game.board_size) for p in points)

    def _cmd_set_free_handicap(self, args):
        if not args:
            raise _Refusal("syntax error (expected: set_free_handicap VERTEX...)")
        try:
            points = [vertex_to_action(v, self.game.board_size) for v in args]
        except ValueError as e:
            raise _Refusal(f"syntax error ({e})") from None
        if self.game.num_points in points:
            raise _Refusal("bad vertex list (pass is not a handicap stone)")
        self._place_handicap(points)
        return ""

    def _cmd_loadsgf(self, args):
        if len(args) not in (1, 2):
            raise _Refusal("syntax error (expected: loadsgf FILENAME [MOVE_NUMBER])")
        upto = self._number(args[1], int, "move_number") if len(args) == 2 else None
        try:
            with open(args[0], "rb") as f:
                data = f.read()
        except OSError as e:
            raise _Refusal(f"cannot load file ({e.strerror}: {args[0]!r})") from None
        try:
            n, komi, setup, moves = _read_sgf(data)
        except ValueError as e:
            raise _Refusal(f"cannot load file ({e})") from None
        if upto is not None:
            moves = moves[: max(upto - 1, 0)]
        pre = handicap_moves(setup, n * n)
        try:
            self._configure(check_board_size(n), komi, moves=pre + moves)
        except (TypeError, ValueError) as e:
            raise _Refusal(f"cannot load file ({e})") from None
        self.agent.reset(np.array([self.game_id]))
        self.game_id += 1
        self._history, self._floor = [], len(pre)
        return ""

    # --- time -----------------------------------------------------------------------------------------------

    def _cmd_time_settings(self, args):
        self._nargs(args, 3, "time_settings MAIN_TIME BYO_YOMI_TIME BYO_YOMI_STONES")
        main = self._number(args[0], float, "main_time")
        byo = self._number(args[1], float, "byo_yomi_time")
        stones = self._number(args[2], int, "byo_yomi_stones")
        if main < 0 or byo < 0 or stones < 0:
            raise _Refusal("syntax error (times and stones must be >= 0)")
        self._set_time(main, byo, stones)
        return ""

    def _set_time(self, main: float, byo: float, stones: int) -> None:
        if (byo > 0 and stones == 0) or (main == 0 and byo == 0):
            self._time, self._time_left = None, {}  # GTP: no time limits
        else:
            self._time = (main, byo, stones)
            self._time_left = {0: (main, 0), 1: (main, 0)}

    def _cmd_kgs_time_settings(self, args):
        if not args:
            raise _Refusal("syntax error (expected: kgs-time_settings none|absolute|byoyomi|canadian ...)")
        kind, rest = args[0].lower(), args[1:]
        need = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in need or len(rest) != need[kind]:
            raise _Refusal(f"syntax error (kgs-time_settings {' '.join(args)!r})")
        nums = [self._number(x, float, "a time setting") for x in rest]
        if kind == "none":
            self._set_time(0, 0, 0)
        elif kind == "absolute":
            self._set_time(nums[0], 0, 0)
        elif kind == "byoyomi":  # main, period time, periods: one stone per period
            self._set_time(nums[0], nums[1], 1)
        else:  # canadian: main, period time, stones per period
            self._set_time(nums[0], nums[1], int(nums[2]))
        return ""

    def _cmd_time_left(self, args):
        self._nargs(args, 3, "time_left COLOR TIME STONES")
        try:
            seat = parse_color(args[0])
        except ValueError as e:
            raise _Refusal(f"syntax error ({e})") from None
        left = self._number(args[1], float, "time")
        stones = self._number(args[2], int, "stones")
        self._time_left[seat] = (max(left, 0.0), max(stones, 0))
        return ""

    def move_budget(self, seat: int) -> float | None:
        """Seconds the agent may spend on its next move (None: no time limit)."""
        if self._time is None:
            return None
        main, byo, per = self._time
        left, stones = self._time_left.get(seat, (main, 0))
        if stones > 0:
            budget = left / stones
        else:
            own_moves = int(self.state.num_moves[0]) // 2
            moves_left = max(10, self.game.num_points // 2 - own_moves)
            budget = left / moves_left + (byo / per if per > 0 else 0.0)
        return max(0.0, TIME_SAFETY * budget)

    def _timed_sims(self, seat: int, base: int) -> int | None:
        """Simulations for the next search of ``seat`` under the time settings (None: the spec's)."""
        budget = self.move_budget(seat)
        if budget is None:
            return None
        if self._sec_per_sim is None:
            return max(1, min(base, 16))
        return int(max(1, min(8 * base, budget / max(self._sec_per_sim, 1e-9))))

    # --- analysis -------------------------------------------------------------------------------------------

    def parse_analyze(self, args: list[str]) -> tuple[int, float, int, int | None]:
        """``lz-analyze``/``kata-analyze`` arguments -> (seat, interval in seconds, minmoves, maxmoves)."""
        seat = int(self.state.to_play[0]) if not self.state.done[0] else 0
        rest = list(args)
        if rest:
            try:
                seat = parse_color(rest[0])
                rest = rest[1:]
            except ValueError:
                pass
        interval, minmoves, maxmoves = 1.0, 0, None
        if rest and rest[0].isdigit():
            interval = int(rest.pop(0)) / 100
        while rest:
            key = rest.pop(0).lower()
            if key in ("interval", "minmoves", "maxmoves") and rest:
                value = self._number(rest.pop(0), int, key)
                if key == "interval":
                    interval = value / 100
                elif key == "minmoves":
                    minmoves = value
                else:
                    maxmoves = value
            elif key in ("avoid", "allow") and len(rest) >= 3:
                del rest[:3]  # avoid/allow COLOR VERTICES UNTIL: accepted, not applied
            elif key in ("ownership", "ownershipstdev", "movesownership", "pvvisits", "pvedgevisits",
                         "rootinfo") and rest:  # fmt: skip
                rest.pop(0)
            else:
                raise _Refusal(f"syntax error (unknown analysis argument {key!r})")
        if self.state.done[0]:
            raise _Refusal("cannot analyze (the game is over)")
        return seat, max(interval, 0.01), minmoves, maxmoves

    def analyze(self, seat: int, report: int) -> Analysis:
        """One analysis report for ``seat`` to move (a pass inserted if the other side is to move): report
        ``report`` (0, 1, ...) of a stream. The game is unchanged; a separate harness game id is used so the
        agent's state for the real game (kept subtrees, decision keys) is untouched."""
        state = self._turn_for(seat, "cannot analyze")
        game_id = -1 - self.game_id
        batch = self._batch(state, seat, game_id)
        mcts = self._search_config()
        try:
            if mcts is not None:
                base = mcts.config
                sims = base.num_simulations * 2 ** min(report, ANALYZE_MAX_DOUBLINGS)
                mcts.config = dataclasses.replace(base, num_simulations=sims)
                try:
                    return self._search_analysis(batch)
                finally:
                    mcts.config = base
            action = int(np.asarray(self.agent.act(batch)).reshape(-1)[0])
            if action == RESIGN or not 0 <= action < self.game.num_actions:
                return Analysis([])
            return Analysis([{"action": action, "visits": 1, "winrate": 0.5, "prior": 1.0, "pv": [action]}])
        finally:
            self.agent.reset(np.array([game_id]))

    def _search_analysis(self, batch: DecisionBatch) -> Analysis:
        explain = getattr(self.agent, "explain", None)
        if explain is not None:
            info = explain(batch)[0]
        else:
            self.agent.act(batch)
            info = None
        tree = getattr(self.agent, "last_tree", None)
        visits = np.asarray(self.agent.last_visits[0])
        if info is not None:
            legal = np.asarray(info["actions"], dtype=np.int64)
            prior = dict(zip(legal.tolist(), info["prior"], strict=True))
            root_value = float(info["value"])
        else:
            legal = np.flatnonzero(batch.masks[0])
            prior = {int(a): float(tree.prior[0, 0, a]) for a in legal} if tree is not None else {}
            root_value = float(self.agent.last_root_values[0])
        order = sorted((int(a) for a in legal if visits[a] > 0), key=lambda a: (-int(visits[a]), a))
        moves = []
        for a in order:
            n = int(visits[a])
            q = float(tree.edge_w[0, 0, a]) / n if tree is not None and n else root_value
            pv = [a]
            node = int(tree.child[0, 0, a]) if tree is not None else 0
            while tree is not None and node > 0 and tree.to_play[0, node] >= 0 and tree.edge_n[0, node].sum() > 0:
                nxt = int(np.argmax(tree.edge_n[0, node]))
                pv.append(nxt)
                node = int(tree.child[0, node, nxt])
                if len(pv) >= 24:
                    break
            moves.append({"action": a, "visits": n, "winrate": min(1.0, max(0.0, (1.0 + q) / 2.0)),
                          "prior": float(prior.get(a, 0.0)), "pv": pv})  # fmt: skip
        return Analysis(moves)

    def format_analysis(self, analysis: Analysis, kata: bool, minmoves: int = 0,
                        maxmoves: int | None = None) -> str:
        """One ``info ...`` line (Leela Zero or KataGo format) for ``analysis``."""
        n = self.game.board_size
        moves = analysis.moves[:maxmoves] if maxmoves else analysis.moves
        parts = []
        for k, m in enumerate(moves):
            pv = " ".join(action_to_vertex(a, n) for a in m["pv"])
            v = action_to_vertex(m["action"], n)
            if kata:
                parts.append(f"info move {v} visits {m['visits']} utility {2 * m['winrate'] - 1:.6f} "
                             f"winrate {m['winrate']:.6f} scoreMean 0 scoreStdev 0 scoreLead 0 "
                             f"prior {m['prior']:.6f} lcb {m['winrate']:.6f} utilityLcb {2 * m['winrate'] - 1:.6f} "
                             f"order {k} pv {pv}")  # fmt: skip
            else:
                wr = int(round(10000 * m["winrate"]))
                parts.append(f"info move {v} visits {m['visits']} winrate {wr} prior {int(round(10000 * m['prior']))} "
                             f"lcb {wr} order {k} pv {pv}")  # fmt: skip
        if len(parts) < minmoves:
            log.debug("analysis has %d moves, fewer than minmoves %d", len(parts), minmoves)
        return " ".join(parts)

    # --- seeds and rules ------------------------------------------------------------------------------------

    def _cmd_set_random_seed(self, args):
        self._nargs(args, 1, "set_random_seed SEED")
        seed = self._number(args[0], int, "seed")
        if seed < 0:
            raise _Refusal(f"syntax error (seed must be >= 0, got {seed})")
        self._configure(self.game.board_size, self.game.komi, moves=self._moves(), seed=seed)
        return ""

    def _set_rules(self, args, usage: str):
        self._nargs(args, 1, usage)
        try:
            rules = rules_name(args[0])
        except ValueError as e:
            raise _Refusal(str(e)) from None
        try:
            self._configure(self.game.board_size, self.game.komi, moves=self._moves(), rules=rules)
        except ValueError as e:
            raise _Refusal(f"cannot switch to {rules} rules ({e})") from None
        return ""

    def _cmd_kgs_rules(self, args):
        return self._set_rules(args, "kgs-rules RULES")

    def _cmd_kata_set_rules(self, args):
        return self._set_rules(args, "kata-set-rules RULES")


def _read_sgf(data: bytes) -> tuple[int, float, list[int], list[int]]:
    """``(size, komi, black setup points, moves)`` of an SGF record's main line. Setup stones: ``AB`` only
    (handicap); the moves must alternate, from White after a handicap, else from Black (use passes)."""
    from sgfmill import sgf

    try:
        game = sgf.Sgf_game.from_bytes(data)
    except ValueError as e:
        raise ValueError(f"not an SGF record: {e}") from None
    n = check_board_size(game.get_size())
    root = game.get_root()
    if root.has_property("AW") or root.has_property("AE"):
        raise ValueError("SGF setup stones AW/AE are not supported (only black handicap stones, AB)")
    setup = sorted((n - 1 - r) * n + c for r, c in root.get_setup_stones()[0]) if root.has_property("AB") else []
    moves: list[int] = []
    expected = "w" if setup else "b"
    for node in game.get_main_sequence()[1:]:
        colour, point = node.get_move()
        if colour is None:
            continue
        if colour != expected:
            raise ValueError(
                f"SGF move {len(moves) + 1} is by {colour!r}, expected {expected!r} (colours must alternate)"
            )
        moves.append(n * n if point is None else (n - 1 - point[0]) * n + point[1])
        expected = "b" if expected == "w" else "w"
    return n, float(game.get_komi()), setup, moves


class _Lines:
    """Command lines from ``stream``. A real file (a pipe from a GUI) is read by a daemon thread into a queue, so
    that ``ready`` sees lines that arrived in one write with the previous command (a GUI may send several at
    once; they would sit in Python's buffer, invisible to ``select``). A stream without a file descriptor (a
    string in tests) is read directly and is always ``ready`` (one analysis report, then the next command)."""

    def __init__(self, stream: TextIO):
        self.stream, self.pending = stream, None
        try:
            stream.fileno()
            self.threaded = True
        except (AttributeError, OSError, ValueError):
            self.threaded = False
        if self.threaded:
            self.queue: queue.Queue[str] = queue.Queue()
            threading.Thread(target=self._pump, daemon=True, name="gtp-stdin").start()

    def _pump(self) -> None:
        try:
            for line in iter(self.stream.readline, ""):
                self.queue.put(line)
        finally:
            self.queue.put("")  # end of input

    def readline(self) -> str:
        if not self.threaded:
            return self.stream.readline()
        if self.pending is not None:
            line, self.pending = self.pending, None
            return line
        return self.queue.get()

    def ready(self, timeout: float) -> bool:
        """True when a line (or the end of input) is waiting, after waiting at most ``timeout`` seconds."""
        if not self.threaded or self.pending is not None:
            return True
        try:
            self.pending = self.queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return False
        return True


def serve(agent_spec: str, *, board_size: int = 19, komi: float = 7.5, seed: int = 0,
          device: str | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
          rules: str = "tromp-taylor") -> int:
    """Answer GTP commands from ``stdin`` on ``stdout`` with the agent ``agent_spec`` until ``quit`` or end of
    input; returns the exit status (0). The agent is built (for ``board_size``/``komi``/``rules``) before the
    first command, so a bad spec fails here with the registry's error."""
    server = GTPServer(agent_spec, board_size=board_size, komi=komi, seed=seed, device=device, rules=rules)
    lines = _Lines(stdin)
    try:
        while not server.finished:
            line = lines.readline()
            if not line:
                break
            parsed = parse_command(line)
            if parsed is None:
                continue
            cmd_id, name, args = parsed
            if name in ("lz-analyze", "kata-analyze", "lz-genmove_analyze", "kata-genmove_analyze"):
                _stream_analysis(server, cmd_id, name, args, lines, stdout)
                continue
            ok, text = server.execute(name, args) if name else (False, "empty command")
            stdout.write(format_response(cmd_id, ok, text))
            stdout.flush()
    finally:
        server.close()
    return 0


def _stream_analysis(server: GTPServer, cmd_id: int | None, name: str, args: list[str], lines: _Lines,
                     stdout: TextIO) -> None:
    """Run an analysis command: ``=id`` then ``info`` lines until input arrives, then an empty line
    (``*-genmove_analyze``: one report, then ``play V``, the move played)."""
    head = "=" + ("" if cmd_id is None else str(cmd_id))
    try:
        seat, interval, minmoves, maxmoves = server.parse_analyze(args)
    except _Refusal as e:
        stdout.write(format_response(cmd_id, False, str(e)))
        stdout.flush()
        return
    kata = name.startswith("kata")
    stdout.write(head + "\n")
    stdout.flush()
    try:
        if name.endswith("genmove_analyze"):
            stdout.write(server.format_analysis(server.analyze(seat, 0), kata, minmoves, maxmoves) + "\n")
            ok, text = server.execute("genmove", [("b", "w")[seat]])
            if ok:
                stdout.write(f"play {text}\n")
            else:
                log.warning("genmove_analyze: %s", text)
        else:
            report = 0
            while True:
                start = time.perf_counter()
                line = server.format_analysis(server.analyze(seat, report), kata, minmoves, maxmoves)
                stdout.write(line + "\n")
                stdout.flush()
                report += 1
                if lines.ready(interval - (time.perf_counter() - start)):
                    break
    except _Refusal as e:
        log.warning("analysis stopped: %s", e)
    except Exception:  # an agent failure ends the stream, not the session
        log.exception("analysis %s %s failed", name, " ".join(args))
    stdout.write("\n")
    stdout.flush()
