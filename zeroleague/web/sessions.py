"""Sessions of the web app: a human playing an agent, two agents playing each other, a stored game replayed.

Agents are built from specs by ``zeroleague.agents.make_agent`` (the registry every harness run uses, so an unknown
spec or a bad checkpoint is refused with the same message) and asked for moves through a ``DecisionBatch`` of one
game, built as the harness builds it: the acting seat's observation and mask and, for agents that read states,
``game.information_state`` for that seat (never the hidden truth).

Search made visible: an agent may expose ``explain(batch) -> list[dict]``, one dict per row: for AlphaZero
``{"kind": "alphazero", "actions", "visits", "prior", "value", "pv", "chosen"}``, for Monte-Carlo sampling
``{"kind": "mcs", "actions", "margins", "chosen"}`` (lists aligned with ``actions``; ``value`` from the acting
seat's view). When the page asks for the search, an agent with ``explain`` is asked that instead of ``act`` and
its ``chosen`` action (else its most-visited one) is played, so what is drawn is the very search that picked the
move; agents without ``explain`` just ``act``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from zeroleague.agents.base import RESIGN, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.web.games import Match, action_label, make_game


class AgentError(RuntimeError):
    """An agent failed while choosing a move (the session is left as it was before the request)."""


_GO9_NET = Path(__file__).resolve().parents[2] / "checkpoints" / "go9" / "alphazero.pt"  # a source checkout's


def hint_specs(kind: str) -> list[str]:
    """Agents asked for a hint when the opponent cannot explain, the first that can be built for the game: the
    shipped 9x9 network where it fits (9x9, komi 7.5), else network-free search; mcs for 6 nimmt!."""
    if kind == "go":
        net = [f"az:{_GO9_NET},sims=100,threads=1"] if _GO9_NET.exists() else []
        return net + ["az_uniform:sims=200"]
    return ["mcs:rollouts=100"]


def build_agent(spec: str, game, seed: int, device: str | None = None):
    """``make_agent`` with the harness's per-spec seed; its ValueError/CheckpointError message is kept."""
    from zeroleague.leagues.tournament import agent_seed

    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"agent spec must be a non-empty string, got {spec!r}")
    try:
        return make_agent(spec, game, seed=agent_seed(seed, spec), device=device)
    except (ValueError, KeyError, FileNotFoundError, NotImplementedError) as e:
        raise ValueError(str(e)) from e
    except Exception as e:  # checkpoint loaders raise their own kinds; refuse the spec with their message
        raise ValueError(f"agent {spec!r} could not be built: {e}") from e


def decision_batch(match: Match, game_id: int, with_states: bool) -> DecisionBatch:
    """The one-game batch for the seat to act in ``match`` (as the harness builds it: the match seed is the deal
    seed, the decision index the seat's actions so far, which key the agent's random draws)."""
    g, s = match.game, match.state
    p = match.to_play()
    players = np.array([p], dtype=np.int64)
    return DecisionBatch(
        game=g,
        observations=g.observe(s, p),
        masks=g.legal_mask(s),
        players=players,
        game_ids=np.array([game_id], dtype=np.int64),
        states=g.information_state(s, players) if with_states else None,
        match_seed=int(match.seed),
        decisions=np.array([sum(1 for seat in match.seats if seat == p)], dtype=np.int64),
    )


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else None
    return x


def normalise_explanation(game, exp: dict[str, Any], seat: int, board=None) -> dict[str, Any]:
    """An agent's ``explain`` dict as JSON, with labels for its actions and PV, the seat it was for and (Go) the
    board it searched."""
    out = _jsonable(dict(exp))
    out["seat"] = seat
    if board is not None:
        out["board"] = [int(x) for x in np.asarray(board).reshape(-1).tolist()]  # the position searched
    out["labels"] = [action_label(game, int(a)) for a in out.get("actions", [])]
    if out.get("pv"):
        out["pv_labels"] = [action_label(game, int(a)) for a in out["pv"]]
    return out


def chosen_action(exp: dict[str, Any]) -> int | None:
    """The action an explanation says was chosen: ``chosen``, else the most visited, else None."""
    if exp.get("chosen") is not None:
        return int(exp["chosen"])
    visits, actions = exp.get("visits"), exp.get("actions")
    if visits is not None and actions is not None and len(visits):
        return int(np.asarray(actions)[int(np.argmax(np.asarray(visits)))])
    return None


class AgentSeat:
    """One agent in a session, asked for one move at a time."""

    def __init__(self, spec: str, game, seed: int, device: str | None = None):
        self.spec = spec
        self.agent = build_agent(spec, game, seed, device)

    @property
    def explains(self) -> bool:
        return callable(getattr(self.agent, "explain", None))

    def move(self, match: Match, game_id: int, explain: bool) -> tuple[int, dict[str, Any] | None]:
        """``(action, explanation or None)`` for the seat to act; the action is legal or ``RESIGN``."""
        seat = match.to_play()
        legal = match.legal()
        if explain and self.explains:
            batch = decision_batch(match, game_id, True)
            try:
                exp = self.agent.explain(batch)[0]
                a = chosen_action(exp)
                if a is not None and (a == RESIGN or (0 <= a < len(legal) and legal[a])):
                    board = match.state.board[0] if match.kind == "go" else None
                    return a, normalise_explanation(match.game, exp, seat, board)
            except Exception as e:  # noqa: BLE001 - a broken explain must not stop the game; play with act
                error = {"kind": "error", "seat": seat, "error": f"explain failed: {e}"}
                a = self._act(match, game_id, legal)
                return a, error
        return self._act(match, game_id, legal), None

    def _act(self, match: Match, game_id: int, legal: np.ndarray) -> int:
        batch = decision_batch(match, game_id, bool(getattr(self.agent, "needs_states", False)))
        a = int(np.asarray(self.agent.act(batch)).reshape(-1)[0])
        if a != RESIGN and not (0 <= a < len(legal) and legal[a]):
            raise ValueError(f"agent {self.spec!r} returned illegal action {a}")
        return a

    def reset(self, game_id: int) -> None:
        self.agent.reset(np.array([game_id], dtype=np.int64))

    def close(self) -> None:
        try:
            self.agent.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _value_point(exp: dict[str, Any] | None, ply: int) -> dict[str, Any] | None:
    """A point of the value graph: the search's root value from seat 0's view, and the seat that searched."""
    if not exp or exp.get("value") is None:
        return None
    v = float(exp["value"]) * float(exp.get("value_scale") or 1.0)  # in the game's units (bullheads)
    return {"ply": ply, "seat": exp["seat"], "value": v if exp["seat"] == 0 else -v}


class Session:
    """Common parts: a lock (requests run in a thread pool), the match, searches and values per ply."""

    kind = "session"

    def __init__(self, sid: str, match: Match):
        self.id = sid
        self.match = match
        self.lock = threading.Lock()
        self.searches: dict[int, dict[str, Any]] = {}  # ply (before the move) -> explanation
        self.values: list[dict[str, Any]] = []
        self.touched = time.monotonic()
        self._next_game_id = 0

    def new_game_id(self) -> int:
        self._next_game_id += 1
        return self._next_game_id

    def _record(self, ply: int, exp: dict[str, Any] | None) -> None:
        if exp is None:
            return
        self.searches[ply] = exp
        point = _value_point(exp, ply)
        if point is not None:
            self.values.append(point)

    def close(self) -> None:
        return None


class PlaySession(Session):
    """A human in ``human_seat`` against ``agent`` (module docstring). Agent moves are made at once after the
    human's, so every response finds the human to move or the game over."""

    kind = "play"

    def __init__(self, sid: str, env_id: str, env_kwargs: dict[str, Any], human_seat: int, agent: str,
                 seed: int, explain: bool = True, device: str | None = None):
        game = make_game(env_id, env_kwargs)
        if human_seat not in (0, 1):
            raise ValueError(f"human_seat must be 0 or 1, got {human_seat!r}")
        self.env_id, self.env_kwargs, self.seed, self.device = env_id, dict(env_kwargs), seed, device
        self.human = human_seat
        self.opponent = AgentSeat(agent, game, seed, device)
        names = ["you", agent] if human_seat == 0 else [agent, "you"]
        super().__init__(sid, Match(game, seed, tuple(names)))
        self.explain = explain
        self.game_id = self.new_game_id()
        self.message: str | None = None
        self.hint: dict[str, Any] | None = None
        self._hint_agent: AgentSeat | None = None
        self._agent_moves()

    @property
    def show_agent_search(self) -> bool:
        """The agent's own search is shown only where it reveals nothing hidden (perfect information)."""
        return self.explain and self.match.game.perfect_information

    def _agent_moves(self) -> None:
        m = self.match
        while not m.over and m.to_play() != self.human:
            ply = len(m.actions)
            a, exp = self.opponent.move(m, self.game_id, self.show_agent_search)
            if a == RESIGN:
                m.resign(m.to_play())
                break
            m.play(a)
            self._record(ply, exp)

    def move(self, action: int) -> None:
        self.message = None
        self.hint = None
        if self.match.over:
            raise_illegal("the game is over")
        if self.match.to_play() != self.human:
            raise_illegal("it is not your turn")
        kept = len(self.match.actions)
        self.match.play(action)
        try:
            self._agent_moves()
        except Exception as e:  # the agent failed: take the human's move back too, report, keep serving
            self._rewind(kept)
            raise AgentError(f"agent {self.opponent.spec!r} failed: {type(e).__name__}: {e}") from e

    def _rewind(self, keep: int) -> None:
        """Back to the game's first ``keep`` actions; the agent forgets the game (a fresh game id)."""
        self.opponent.reset(self.game_id)
        self.game_id = self.new_game_id()
        self.match = self.match.replayed(keep)
        self.searches = {k: v for k, v in self.searches.items() if k < keep}
        self.values = [p for p in self.values if p["ply"] < keep]
        self.hint = None

    def pass_move(self) -> None:
        if self.match.kind != "go":
            raise_illegal("only Go has a pass")
        self.move(self.match.game.pass_action)

    def resign(self) -> None:
        self.hint = None
        self.match.resign(self.human)

    def undo(self) -> None:
        """Take back the human's last move (and the agent's replies to it). 6 nimmt!: a card selection is taken
        back to the start of its trick, the agent's selection of that trick included (the agent selects again),
        so an undo never leaves the human choosing beside a card they have seen revealed."""
        m = self.match
        mine = [i for i, s in enumerate(m.seats) if s == self.human]
        if not mine and m.resigned is None:
            raise_illegal("nothing to undo")
        keep = mine[-1] if mine else len(m.actions)
        if m.resigned is not None and m.resigned == self.human:
            keep = len(m.actions)  # undo a resignation first
        elif m.kind == "sixnimmt" and keep > 0 and keep < len(m.actions):
            sel = m.game.max_card  # actions below it are card selections
            if m.actions[keep] < sel and m.seats[keep - 1] != self.human and m.actions[keep - 1] < sel:
                keep -= 1  # the agent's selection of the same trick (it selected first)
        self._rewind(keep)
        self._agent_moves()

    def make_hint(self, spec: str | None) -> dict[str, Any]:
        """The search of an explaining agent for the human's own decision (from the human's information)."""
        m = self.match
        if m.over or m.to_play() != self.human:
            raise_illegal("a hint is for your turn")
        if spec is None and self.opponent.explains:
            spec = self.opponent.spec
        specs = [spec] if spec else hint_specs(m.kind)
        if self._hint_agent is None or self._hint_agent.spec not in specs:
            if self._hint_agent is not None:
                self._hint_agent.close()
                self._hint_agent = None
            for k, candidate in enumerate(specs):
                try:
                    self._hint_agent = AgentSeat(candidate, m.game, self.seed + 1, self.device)
                    break
                except ValueError:
                    if k == len(specs) - 1:
                        raise
        spec = self._hint_agent.spec
        if not self._hint_agent.explains:
            raise ValueError(f"agent {spec!r} cannot explain its search (no explain method)")
        batch = decision_batch(m, 10**6 + len(m.actions), True)
        exp = normalise_explanation(m.game, self._hint_agent.agent.explain(batch)[0], self.human)
        exp["agent"] = spec
        self.hint = exp
        return exp

    def view(self) -> dict[str, Any]:
        m = self.match
        out = m.view(self.human)
        out.update(session=self.id, mode="play", human_seat=self.human, agent=self.opponent.spec,
                   agent_explains=self.opponent.explains, values=self.values, hint=self.hint,
                   can_undo=any(s == self.human for s in m.seats) or m.resigned is not None)
        last = max(self.searches) if self.searches else None
        out["search"] = self.searches[last] if last is not None and self.show_agent_search else None
        return out

    def close(self) -> None:
        self.opponent.close()
        if self._hint_agent is not None:
            self._hint_agent.close()


def raise_illegal(message: str):
    from zeroleague.web.games import IllegalMove

    raise IllegalMove(message)


class WatchSession(Session):
    """Two agent specs playing each other (seat 0 = ``agent_a``), one decision per ``step``; the page's event
    stream calls ``step`` every ``delay`` seconds."""

    kind = "watch"

    def __init__(self, sid: str, env_id: str, env_kwargs: dict[str, Any], agent_a: str, agent_b: str,
                 seed: int, explain: bool = True, delay: float = 0.5, device: str | None = None):
        game = make_game(env_id, env_kwargs)
        self.agents = (AgentSeat(agent_a, game, seed, device), AgentSeat(agent_b, game, seed + 1, device))
        super().__init__(sid, Match(game, seed, (agent_a, agent_b)))
        self.explain = explain
        self.delay = delay
        self.paused = False
        self.stepping = False  # an agent is choosing a move now
        self.game_id = self.new_game_id()
        self.error: str | None = None

    def step(self) -> bool:
        """Play one decision; False once the game is over (or an agent failed: ``error`` says why)."""
        m = self.match
        if m.over or self.error:
            return False
        seat, ply = m.to_play(), len(m.actions)
        self.stepping = True
        try:
            a, exp = self.agents[seat].move(m, self.game_id, self.explain)
        except Exception as e:  # noqa: BLE001 - report the agent's failure on the page, keep serving
            self.error = f"{self.agents[seat].spec}: {e}"
            return False
        finally:
            self.stepping = False
        if a == RESIGN:
            m.resign(seat)
        else:
            m.play(a)
        self._record(ply, exp)
        return not m.over

    def view(self) -> dict[str, Any]:
        m = self.match
        out = m.view(None)
        out["legal"] = []
        last = max(self.searches) if self.searches else None
        out.update(session=self.id, mode="watch", values=self.values, delay=self.delay, paused=self.paused,
                   stepping=self.stepping, error=self.error, search=self.searches[last] if last is not None else None)
        return out

    def close(self) -> None:
        for a in self.agents:
            a.close()


class ReplaySession(Session):
    """A finished game (a stored record or an SGF), viewed at any ply as a spectator."""

    kind = "replay"

    def __init__(self, sid: str, match: Match, title: str):
        super().__init__(sid, match)
        self.title = title

    def frame(self, ply: int) -> dict[str, Any]:
        m = self.match
        n = len(m.actions)
        if isinstance(ply, bool) or not isinstance(ply, int) or not 0 <= ply <= n:
            raise ValueError(f"ply must be in 0..{n}, got {ply!r}")
        shown = m.replayed(ply)
        if ply == n and m.resigned is not None:
            shown.resigned = m.resigned
        out = shown.view(None)
        out["legal"] = []
        out.update(session=self.id, mode="replay", title=self.title, num_plies=n, search=None, values=[])
        return out

    def view(self) -> dict[str, Any]:
        return self.frame(0)
