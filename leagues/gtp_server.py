"""Serve any Go Agent as a GTP v2 engine (``zeroleague gtp --agent SPEC``), so GUIs (Sabaki, GoGui) and
referees (gogui-twogtp) can play it against people and other engines.

One game state (an N=1 ``GoGame`` state) is kept under strict Tromp-Taylor rules. Commands: protocol_version,
name, version, known_command, list_commands, boardsize, clear_board, komi, play, genmove, final_score,
showboard, quit. Every malformed or refused command gets a ``? message`` answer and leaves the game unchanged;
nothing a controller sends can crash the server. Answers go to ``stdout`` (flushed each time), logs to stderr.

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
* The agent is rebuilt from its spec whenever the board size or komi changes; each new game (``clear_board``,
  ``boardsize``) gets a new harness game id, and the agent's ``reset`` is called for the old one.
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import TextIO

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
)


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


class GTPServer:
    """The GTP engine: a ``GoGame``, one game state, and the agent built from ``agent_spec`` for that game.
    ``execute(name, args) -> (ok, text)`` runs one command; ``finished`` is set by ``quit``."""

    def __init__(self, agent_spec: str, *, board_size: int = 19, komi: float = 7.5, seed: int = 0,
                 device: str | None = None):
        self.agent_spec, self.seed, self.device = agent_spec, seed, device
        self.game: GoGame | None = None
        self.agent = None
        self.game_id = 0
        self.finished = False
        self._configure(check_board_size(board_size), komi, moves=())

    # --- game and agent lifecycle ---------------------------------------------------------------------------

    def _configure(self, board_size: int, komi: float, moves) -> None:
        """Switch to ``GoGame(board_size, komi)`` with ``moves`` replayed, rebuilding the agent if the game
        changed. Raises (leaving everything as it was) if the game or the agent cannot be built."""
        game = self.game
        agent = self.agent
        if game is None or (game.board_size, game.komi) != (board_size, float(komi)):
            game = GoGame(board_size=board_size, komi=komi)
            agent = make_agent(self.agent_spec, game, seed=self.seed, device=self.device)
        state = game.init(1, 0)
        for a in moves:
            game.step(state, np.array([a], dtype=np.int64))
        if agent is not self.agent:
            self._close_agent()
        self.game, self.agent, self.state = game, agent, state

    def _close_agent(self) -> None:
        if self.agent is not None:
            self.agent.reset(np.array([self.game_id]))
            self.agent.close()
            self.agent = None

    def _new_game(self) -> None:
        self.agent.reset(np.array([self.game_id]))
        self.game_id += 1
        self.state = self.game.init(1, 0)

    def close(self) -> None:
        """Release the agent (its processes, files)."""
        self._close_agent()

    def _moves(self) -> list[int]:
        return [int(a) for a in self.state.moves[0, : self.state.num_moves[0]]]

    # --- commands -------------------------------------------------------------------------------------------

    def execute(self, name: str, args: list[str]) -> tuple[bool, str]:
        """Run one command: ``(True, result)`` or ``(False, error message)``. Never raises for bad input; an
        unexpected failure of the agent is logged and answered as an error too."""
        handler = getattr(self, f"_cmd_{name}", None) if name in COMMANDS else None
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
        try:
            size = int(args[0])
        except ValueError:
            raise _Refusal(f"syntax error (boardsize is not an integer: {args[0]!r})") from None
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
        self.state = state
        return ""

    def _cmd_genmove(self, args):
        self._nargs(args, 1, "genmove COLOR")
        try:
            seat = parse_color(args[0])
        except ValueError as e:
            raise _Refusal(f"syntax error ({e})") from None
        game, agent = self.game, self.agent
        state = self._turn_for(seat, "cannot generate a move")
        masks = game.legal_mask(state)
        batch = DecisionBatch(
            game,
            game.observe(state, seat),
            masks,
            np.array([seat], dtype=np.int64),
            np.array([self.game_id], dtype=np.int64),
            game.information_state(state, seat) if agent.needs_states else None,
        )
        action = int(np.asarray(agent.act(batch)).reshape(-1)[0])
        if action == RESIGN:
            return "resign"
        if not 0 <= action < game.num_actions or not masks[0, action]:
            raise _Refusal(f"agent {self.agent_spec} chose illegal action {action} for {COLOR_NAMES[seat]}")
        game.step(state, np.array([action], dtype=np.int64))
        self.state = state
        return action_to_vertex(action, game.board_size)

    def _cmd_final_score(self, args):
        black, white = (int(x) for x in self.game.area(self.state)[0])
        return result_string(black - white - self.game.komi)

    def _cmd_showboard(self, args):
        return "\n" + board_text(self.game, self.state)


def serve(agent_spec: str, *, board_size: int = 19, komi: float = 7.5, seed: int = 0,
          device: str | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Answer GTP commands from ``stdin`` on ``stdout`` with the agent ``agent_spec`` until ``quit`` or end of
    input; returns the exit status (0). The agent is built (for ``board_size``/``komi``) before the first
    command, so a bad spec fails here with the registry's error."""
    server = GTPServer(agent_spec, board_size=board_size, komi=komi, seed=seed, device=device)
    try:
        while not server.finished:
            line = stdin.readline()
            if not line:
                break
            parsed = parse_command(line)
            if parsed is None:
                continue
            cmd_id, name, args = parsed
            ok, text = server.execute(name, args) if name else (False, "empty command")
            stdout.write(format_response(cmd_id, ok, text))
            stdout.flush()
    finally:
        server.close()
    return 0
