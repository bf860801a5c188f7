"""The web app's game model: one game as (engine, deal seed, action list), and what a viewer may see of it.

A ``Match`` holds a one-game batched state (``envs.make_game``; a game in the browser is a batch of 1), the
actions played so far with the seat that played each, a resignation if any, and — for 6 nimmt! — a public log of
the finished tricks. Undo and replay rebuild the state from the action list (``Match.replayed``).

``view(seat)`` is everything the page draws, as JSON-ready dicts:
- Go: the whole position (perfect information), the legal points for the seat to act, the Tromp-Taylor area map
  and score once the game is over.
- 6 nimmt!, ``seat`` given (a player): built from ``game.observe(state, seat)`` only — its own hand, the rows, the
  revealed cards of a row choice — plus public facts (bullheads taken, the finished tricks' cards). Never the
  other seat's hand nor its pending card; ``tests/test_web.py`` checks that two states differing only there
  give the same view.
- 6 nimmt!, ``seat=None`` (a spectator of two agents or of a replay): both hands and the pending cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeroleague.agents.base import RESIGN
from zeroleague.envs.core import BatchedGame, IllegalActionError
from zeroleague.envs.registry import make_env_game

GO_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
SEAT_NAMES = {"go": ("Black", "White"), "sixnimmt": ("player_0", "player_1")}
SELECT, ROW_CHOICE, DONE = 0, 1, 2  # 6 nimmt! phases (zeroleague.envs.sixnimmt.engine)


class IllegalMove(ValueError):
    """A move the game does not allow now (the message says why); the game is unchanged."""


def family(game: BatchedGame) -> str:
    """``"go"`` or ``"sixnimmt"``: which page the game is drawn on."""
    if game.env_id.startswith("go"):
        return "go"
    if game.env_id.startswith("sixnimmt"):
        return "sixnimmt"
    raise ValueError(f"the web app draws Go and 6 nimmt! games, not {game.env_id!r}")


def make_game(env_id: str, kwargs: dict[str, Any] | None = None) -> BatchedGame:
    """The batched engine of a registered env id with ``kwargs``; ValueError naming a bad id or setting."""
    try:
        game = make_env_game(env_id, dict(kwargs or {}))
    except KeyError as e:
        raise ValueError(str(e.args[0]) if e.args else str(e)) from e
    except TypeError as e:
        raise ValueError(f"bad settings for {env_id!r}: {e}") from e
    family(game)
    if game.num_players != 2:
        raise ValueError(f"the web app plays two-player games; {env_id!r} has {game.num_players} players")
    return game


def go_point_name(action: int, size: int) -> str:
    """``"E5"`` / ``"pass"`` (GTP coordinates; row 0 is the top line)."""
    if action == size * size:
        return "pass"
    r, c = divmod(int(action), size)
    return f"{GO_COLUMNS[c]}{size - r}"


def action_label(game: BatchedGame, action: int) -> str:
    """Short text for an action: a Go point or pass, a 6 nimmt! card or row."""
    if action == RESIGN:
        return "resign"
    if family(game) == "go":
        return go_point_name(action, game.board_size)
    m = game.max_card
    return f"card {action + 1}" if action < m else f"row {action - m + 1}"


def go_area_map(board: np.ndarray, size: int) -> list[int]:
    """Tromp-Taylor ownership of every point: 1 black (stone or empty region reaching only black), 2 white, 0
    neither (an empty region reaching both colours or none)."""
    board = np.asarray(board).reshape(size, size)
    owner = board.astype(np.int64).copy()
    seen = np.zeros((size, size), bool)
    for r0 in range(size):
        for c0 in range(size):
            if board[r0, c0] != 0 or seen[r0, c0]:
                continue
            region, touch, stack = [], 0, [(r0, c0)]
            seen[r0, c0] = True
            while stack:
                r, c = stack.pop()
                region.append((r, c))
                for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                    if 0 <= rr < size and 0 <= cc < size:
                        b = board[rr, cc]
                        if b == 0 and not seen[rr, cc]:
                            seen[rr, cc] = True
                            stack.append((rr, cc))
                        elif b != 0:
                            touch |= int(b)
            for r, c in region:
                owner[r, c] = touch if touch in (1, 2) else 0
    return owner.reshape(-1).tolist()


def _int_list(a: np.ndarray) -> list[int]:
    return [int(x) for x in np.asarray(a).tolist()]


@dataclass
class Match:
    """One game in progress or replayed (module docstring). ``seed`` is the deal seed given to ``game.init``
    as a one-element array (what the harness stores as a game's ``seed``)."""

    game: BatchedGame
    seed: int
    names: tuple[str, str] = ("", "")
    actions: list[int] = field(default_factory=list)
    seats: list[int] = field(default_factory=list)
    resigned: int | None = None
    tricks: list[dict[str, Any]] = field(default_factory=list)  # 6 nimmt!: finished tricks (public)
    state: Any = None

    def __post_init__(self) -> None:
        self.kind = family(self.game)
        if self.state is None:
            self.state = self.game.init(1, np.array([int(self.seed)], dtype=np.int64))
        self._trick: dict[str, Any] = {"cards": [0, 0], "rows": []}

    # ------------------------------------------------------------------------------------------ progress
    @property
    def over(self) -> bool:
        return self.resigned is not None or bool(self.game.terminal(self.state)[0])

    def to_play(self) -> int:
        """The seat to act, -1 once the game is over."""
        return -1 if self.over else int(self.game.current_player(self.state)[0])

    def legal(self) -> np.ndarray:
        """bool[A] legal actions of the seat to act (all False once over)."""
        if self.over:
            return np.zeros(self.game.num_actions, bool)
        return np.asarray(self.game.legal_mask(self.state)[0], bool)

    def illegal_reason(self, action: int) -> str | None:
        """Why ``action`` cannot be played now (None when it can)."""
        if self.resigned is not None:
            return "the game is over (resigned)"
        if self.over:
            return "the game is over"
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            return f"an action must be an int, got {action!r}"
        if not 0 <= action < self.game.num_actions:
            return f"action {action} is not an action of this game (0..{self.game.num_actions - 1})"
        if self.legal()[action]:
            return None
        if self.kind == "go":
            found = self.game.illegal_action(self.state, np.array([action], np.int64))
            why = found[1] if found else "illegal"
            return f"{go_point_name(action, self.game.board_size)}: {why.split(' is illegal: ')[-1]}"
        reason = self.game.illegal_reason(self.state, 0, int(action)) or "illegal now"
        return f"{action_label(self.game, action)}: {reason}"

    def play(self, action: int) -> None:
        """Apply the seat to act's ``action``; IllegalMove (game unchanged) when it is not legal now."""
        action = int(action) if isinstance(action, np.integer) else action
        why = self.illegal_reason(action)
        if why is not None:
            raise IllegalMove(why)
        seat = self.to_play()
        before = self._six_snapshot() if self.kind == "sixnimmt" else None
        try:
            self.game.step(self.state, np.array([action], dtype=np.int64))
        except IllegalActionError as e:  # the mask said legal; keep the message if the engine disagrees
            raise IllegalMove(str(e)) from e
        self.actions.append(int(action))
        self.seats.append(seat)
        if before is not None:
            self._six_log(seat, int(action), before)

    def resign(self, seat: int) -> None:
        if self.over:
            raise IllegalMove("the game is over")
        self.resigned = int(seat)

    def replayed(self, num_actions: int) -> Match:
        """A new Match holding this game's first ``num_actions`` actions (undo, replay frames)."""
        m = Match(self.game, self.seed, self.names)
        for a in self.actions[:num_actions]:
            m.play(a)
        return m

    # ------------------------------------------------------------------------------- 6 nimmt! trick log
    def _six_snapshot(self) -> tuple[int, int, np.ndarray]:
        s = self.state
        return int(s.trick[0]), int(s.round_no[0]), self.game.penalties(s)[0].copy()

    def _six_log(self, seat: int, action: int, before: tuple[int, int, np.ndarray]) -> None:
        m = self.game.max_card
        if "pen_start" not in self._trick:  # the trick's first action
            self._trick["pen_start"] = before[2]
        if action < m:
            self._trick["cards"][seat] = action + 1
        else:
            self._trick["rows"].append({"seat": seat, "row": action - m})
        trick, rnd, _ = before
        s = self.state
        if int(s.trick[0]) != trick or int(s.round_no[0]) != rnd or int(s.phase[0]) == DONE:
            self.tricks.append({
                "trick": trick + 1,
                "round": rnd + 1,
                "cards": list(self._trick["cards"]),
                "row_choices": self._trick["rows"],
                "bullheads": _int_list(self.game.penalties(s)[0] - self._trick["pen_start"]),
            })
            self._trick = {"cards": [0, 0], "rows": []}

    # ------------------------------------------------------------------------------------------ views
    def result(self) -> dict[str, Any] | None:
        """The outcome once over: ``winner`` seat (None for a draw), ``text``, and the score."""
        if not self.over:
            return None
        names = SEAT_NAMES[self.kind]
        if self.resigned is not None:
            w = 1 - self.resigned
            return {"winner": w, "text": f"{names[w]} wins by resignation", "resigned": self.resigned}
        ret = self.game.returns(self.state)[0]
        w = None if ret[0] == ret[1] else int(np.argmax(ret))
        if self.kind == "go":
            score = float(self.game.score(self.state)[0])
            text = "draw (jigo)" if w is None else f"{names[w]} wins by {abs(score):g} (Tromp-Taylor area)"
            if bool(self.game.truncated(self.state)[0]):
                text += f"; ended by the move cap ({self.game.max_moves} turns)"
            return {"winner": w, "text": text, "score": score}
        pen = _int_list(self.game.penalties(self.state)[0])
        text = "draw" if w is None else f"{names[w]} wins, {pen[w]} bullheads to {pen[1 - w]}"
        return {"winner": w, "text": text, "penalties": pen}

    def view(self, seat: int | None) -> dict[str, Any]:
        """What seat ``seat`` may see (None: a spectator, everything); see the module docstring."""
        to_play = self.to_play()
        base: dict[str, Any] = {
            "kind": self.kind,
            "env_id": self.game.env_id,
            "names": list(self.names),
            "seat_names": list(SEAT_NAMES[self.kind]),
            "viewer": seat,
            "to_play": to_play,
            "ply": len(self.actions),
            "over": self.over,
            "result": self.result(),
        }
        mine = to_play >= 0 and (seat is None or seat == to_play)
        legal = _int_list(np.flatnonzero(self.legal())) if mine else []
        if self.kind == "go":
            return {**base, **self._go_view(legal)}
        return {**base, **self._six_view(seat, legal)}

    def _go_view(self, legal: list[int]) -> dict[str, Any]:
        g, s = self.game, self.state
        n = g.board_size
        board = _int_list(s.board[0])
        area = black = white = None
        if self.over:
            area = go_area_map(s.board[0], n)
            black, white = (int(x) for x in g.area(s)[0])
        return {
            "size": n,
            "komi": g.komi,
            "board": board,
            "legal": legal,
            "pass_action": n * n,
            "moves": [go_point_name(a, n) for a in self.actions],
            "last_move": self.actions[-1] if self.actions else None,
            "area": area,
            "area_black": black,
            "area_white": white,
        }

    def _six_view(self, seat: int | None, legal: list[int]) -> dict[str, Any]:
        g, s = self.game, self.state
        phase = int(s.phase[0])
        out: dict[str, Any] = {
            "deck": g.max_card,
            "hand_size": g.hand_size,
            "phase": ("select", "row_choice", "over")[phase],
            "trick": int(s.trick[0]) + (0 if phase == DONE else 1),
            "penalties": _int_list(g.penalties(s)[0]),
            "tricks": self.tricks,
            "legal": legal,
        }
        if seat is None:  # spectator: the whole truth
            rows = [_int_list(s.rows[0, j, : s.row_len[0, j]]) for j in range(4)]
            hands = [_int_list(np.flatnonzero(s.hand[0, p])) for p in range(2)]
            pending = _int_list(s.pending[0])
            revealed = _int_list(s.trick_cards[0]) if phase == ROW_CHOICE else [0, 0]
            return {**out, "rows": rows, "hands": hands, "pending": pending, "revealed": revealed}
        from zeroleague.envs.sixnimmt.engine import decode_observation

        obs = g.observe(s, seat)
        dec = decode_observation(obs, g.max_card, 2)
        rows = [_int_list(dec.rows[0, j, : dec.row_len[0, j]]) for j in range(4)]
        hand = _int_list(np.flatnonzero(dec.hand[0]))
        rev = _int_list(dec.revealed[0])  # observer first
        revealed = [0, 0]
        if phase == ROW_CHOICE:
            revealed[seat], revealed[1 - seat] = rev[0], rev[1]
        return {**out, "rows": rows, "hand": hand, "revealed": revealed}
