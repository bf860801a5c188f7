"""Read-only access to a tournament results store (``zeroleague.leagues.store``) for replays.

The file is checked with the store's own read-only check (``leagues.store._check_existing``: a foreign or corrupt
file is refused with its message) and then opened through an SQLite URI with ``immutable=1`` (no write-ahead log
beside it: nothing, not even a side file, is written) or ``mode=ro`` (a tournament is writing it now). Nothing
here can write: every connection is read-only, and ``tests/test_web.py`` checks the file's bytes are unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zeroleague.leagues.store import StoreError, _check_existing
from zeroleague.web.games import Match, make_game


def _connect(path: str | Path) -> sqlite3.Connection:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"results store {str(path)!r} does not exist")
    _check_existing(p)
    wal = p.with_name(p.name + "-wal").exists()
    return sqlite3.connect(f"file:{quote(str(p.resolve()))}?{'mode=ro' if wal else 'immutable=1'}", uri=True)


def _query(path: str | Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = _connect(path)
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: {e}") from e
    finally:
        con.close()


def tournaments(path: str | Path) -> list[dict[str, Any]]:
    """Every tournament in the store with its env, env kwargs, seed and number of stored games."""
    rows = _query(
        path,
        "SELECT t.name, t.config, (SELECT COUNT(*) FROM games g WHERE g.tournament = t.name) FROM tournaments t "
        "ORDER BY t.name",
    )
    out = []
    for name, config, count in rows:
        cfg = json.loads(config)
        out.append({"name": name, "env": cfg.get("env"), "env_kwargs": cfg.get("env_kwargs") or {},
                    "seed": cfg.get("seed"), "games": count})
    return out


def pairings(path: str | Path, tournament: str) -> list[dict[str, Any]]:
    """The pairings of ``tournament``: agents, games and agent_a's wins/draws/losses."""
    rows = _query(
        path,
        "SELECT pairing, agent_a, agent_b, COUNT(*), SUM(result > 0), SUM(result = 0), SUM(result < 0) "
        "FROM games WHERE tournament = ? GROUP BY pairing, agent_a, agent_b ORDER BY pairing",
        (tournament,),
    )
    keys = ("pairing", "agent_a", "agent_b", "games", "wins", "draws", "losses")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def games(path: str | Path, tournament: str, pairing: str) -> list[dict[str, Any]]:
    """The stored games of one pairing: index, seat of agent_a, result for agent_a, moves, resignation."""
    rows = _query(
        path,
        "SELECT game_index, seat_a, result, num_moves, resigned, truncated, score FROM games "
        "WHERE tournament = ? AND pairing = ? ORDER BY game_index",
        (tournament, pairing),
    )
    keys = ("index", "seat_a", "result", "num_moves", "resigned", "truncated", "score")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    for g in out:
        g["truncated"] = bool(g["truncated"])
        g["score"] = None if g["score"] is None else json.loads(g["score"])
    return out


def load_game(path: str | Path, tournament: str, pairing: str, index: int) -> tuple[Match, str]:
    """The stored game replayed as a ``Match`` (seat names from the record), and a title."""
    found = [t for t in tournaments(path) if t["name"] == tournament]
    if not found:
        raise ValueError(f"no tournament {tournament!r} in {path}")
    rows = _query(
        path,
        "SELECT env_id, agent_a, agent_b, seat_a, seed, actions, resigned FROM games "
        "WHERE tournament = ? AND pairing = ? AND game_index = ?",
        (tournament, pairing, int(index)),
    )
    if not rows:
        raise ValueError(f"no game {index} of pairing {pairing!r} in tournament {tournament!r}")
    env_id, agent_a, agent_b, seat_a, seed, actions, resigned = rows[0]
    cfg = found[0]
    env = cfg["env"] or env_id  # the tournament's env (a registered id or "module:factory")
    game = make_game(env, cfg["env_kwargs"])
    names = (agent_a, agent_b) if seat_a == 0 else (agent_b, agent_a)
    match = Match(game, int(seed), names)
    for turn, a in enumerate(json.loads(actions)):
        why = match.illegal_reason(int(a))
        if why is not None:  # a record this engine cannot replay (another version's rules or settings)
            raise ValueError(f"stored game {index} of {pairing!r}: move {turn + 1} cannot be replayed: {why}")
        match.play(int(a))
    if resigned is not None:
        match.resigned = int(resigned)
    return match, f"{tournament} / {pairing} / game {index}"


def load_sgf(text: str) -> tuple[Match, str]:
    """An SGF game record (Go) replayed as a ``Match``; ValueError naming what cannot be replayed."""
    from zeroleague.envs.go.sgf import from_sgf

    if not isinstance(text, str) or not text.strip():
        raise ValueError("the SGF is empty")
    try:
        size, komi, moves = from_sgf(text)
    except ValueError:
        raise
    except Exception as e:  # sgfmill raises its own kinds for unparsable text
        raise ValueError(f"not a readable SGF game: {e}") from e
    from sgfmill import sgf

    root = sgf.Sgf_game.from_bytes(text.encode()).get_root()
    names = tuple(root.get(p) if root.has_property(p) else c for p, c in (("PB", "Black"), ("PW", "White")))
    game = make_game("go_v0", {"board_size": size, "komi": komi, "max_moves": max(2 * size * size, len(moves))})
    match = Match(game, 0, names)
    for turn, a in enumerate(moves):
        why = match.illegal_reason(int(a))
        if why is not None:
            raise ValueError(f"SGF move {turn + 1}: {why}")
        match.play(int(a))
    return match, f"SGF {size}x{size}, komi {komi:g}, {len(moves)} moves"


__all__ = ["StoreError", "games", "load_game", "load_sgf", "pairings", "tournaments"]
