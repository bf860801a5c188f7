"""The results store: one SQLite file (WAL mode) holding every finished game of every tournament.

- A game's key is ``(tournament, pairing, game_index)``; adding a game already stored changes nothing, so a
  killed tournament resumed skips what it has and ends with exactly the planned games.
- One transaction per finished game (``synchronous=NORMAL`` under WAL: a committed game survives the process
  being killed; an OS crash may lose the last few commits, never corrupt the file).
- A ``meta`` table names the application and schema version. Opening a file that is not such a store (random
  bytes, an empty file, another program's SQLite database, another schema version) raises ``StoreError`` and
  leaves the file byte-for-byte unchanged: it is checked read-only before anything is written.
- A tournament name is bound to its configuration (env, kwargs, seed ...) on first use; running a different
  configuration under the same name is refused, so stored games are never mixed with games of another setup.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zeroleague.leagues.harness import GameRecord

APPLICATION = "zeroleague-results"
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tournaments (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE games (
    tournament TEXT NOT NULL REFERENCES tournaments(name),
    pairing TEXT NOT NULL,
    game_index INTEGER NOT NULL,
    env_id TEXT NOT NULL,
    agent_a TEXT NOT NULL,
    agent_b TEXT NOT NULL,
    seat_a INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    result INTEGER NOT NULL,
    returns TEXT NOT NULL,
    score TEXT,
    actions TEXT NOT NULL,
    num_moves INTEGER NOT NULL,
    time_a REAL NOT NULL,
    time_b REAL NOT NULL,
    truncated INTEGER NOT NULL,
    resigned INTEGER,
    finished_at REAL NOT NULL,
    PRIMARY KEY (tournament, pairing, game_index)
);
"""


class StoreError(RuntimeError):
    """The file is not a zeroleague results store of this schema version, or a store conflict."""


def pairing_key(agent_a: str, agent_b: str) -> str:
    """The pairing name under which games of ``agent_a`` against ``agent_b`` are stored."""
    return f"{agent_a} vs {agent_b}"


def _check_existing(path: Path) -> None:
    """Raise StoreError unless ``path`` is a store of this schema; reads only (never writes the file)."""
    with path.open("rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        what = "an empty file" if not head else "not an SQLite database"
        raise StoreError(
            f"{path} exists but is {what}, not a zeroleague results store; refusing to use it "
            f"(it was not modified)"
        )
    # Read-only; without a write-ahead log beside it the file is complete, and "immutable" reads it without
    # creating -wal/-shm side files (a WAL-mode file opened "mode=ro" would get them).
    wal = path.with_name(path.name + "-wal").exists()
    con = sqlite3.connect(
        f"file:{quote(str(path.resolve()))}?{'mode=ro' if wal else 'immutable=1'}", uri=True
    )
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"{path} is an SQLite file but not a zeroleague results store ({e}); refusing to use it "
            f"(it was not modified)"
        ) from e
    finally:
        con.close()
    if meta.get("application") != APPLICATION:
        raise StoreError(
            f"{path} is an SQLite database of another application "
            f"({meta.get('application')!r}); refusing to use it (it was not modified)"
        )
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise StoreError(
            f"{path} has results-store schema version {meta.get('schema_version')!r}; this code "
            f"reads version {SCHEMA_VERSION} (the file was not modified)"
        )


class ResultStore:
    """Results of finished games in the SQLite file ``path`` (created with its schema if absent)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        fresh = not self.path.exists()
        if not fresh:
            _check_existing(self.path)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        if fresh:
            with self._transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._con.execute(stmt)
                self._con.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))],
                )

    @contextmanager
    def _transaction(self):
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def register_tournament(self, name: str, config: dict[str, Any]) -> None:
        """Bind tournament ``name`` to ``config`` (JSON-serialisable; what decides its games' deals) on first
        use; a StoreError if the name is already bound to a different configuration."""
        text = json.dumps(config, sort_keys=True)
        with self._transaction():
            row = self._con.execute("SELECT config FROM tournaments WHERE name = ?", (name,)).fetchone()
            if row is None:
                self._con.execute("INSERT INTO tournaments VALUES (?, ?, ?)", (name, text, time.time()))
            elif row[0] != text:
                raise StoreError(
                    f"tournament {name!r} in {self.path} was played with configuration {row[0]}, "
                    f"not {text}; use another tournament name or database"
                )

    def add_game(self, tournament: str, pairing: str, env_id: str, rec: GameRecord) -> bool:
        """Store one finished game in its own transaction; False (and nothing changed) if its key is
        stored."""
        with self._transaction():
            if self._con.execute(
                "SELECT 1 FROM games WHERE tournament = ? AND pairing = ? AND game_index = ?",
                (tournament, pairing, rec.index),
            ).fetchone():
                return False
            self._con.execute(
                "INSERT INTO games VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tournament,
                    pairing,
                    rec.index,
                    env_id,
                    rec.agent_a,
                    rec.agent_b,
                    rec.seat_a,
                    rec.seed,
                    rec.result,
                    json.dumps(rec.returns),
                    None if rec.score is None else json.dumps(rec.score),
                    json.dumps(rec.actions),
                    rec.num_moves,
                    rec.time_a,
                    rec.time_b,
                    int(rec.truncated),
                    rec.resigned,
                    time.time(),
                ),
            )
        return True

    def stored_indices(self, tournament: str, pairing: str) -> set[int]:
        rows = self._con.execute(
            "SELECT game_index FROM games WHERE tournament = ? AND pairing = ?", (tournament, pairing)
        )
        return {r[0] for r in rows}

    def games(self, tournament: str, pairing: str | None = None) -> list[GameRecord]:
        """The stored games of ``tournament`` (of one ``pairing`` if given), ordered by pairing and index."""
        sql = (
            "SELECT game_index, seed, seat_a, agent_a, agent_b, result, returns, score, actions, num_moves, "
            "time_a, time_b, truncated, resigned FROM games WHERE tournament = ?"
        )
        args: tuple = (tournament,)
        if pairing is not None:
            sql += " AND pairing = ?"
            args += (pairing,)
        out = []
        for r in self._con.execute(sql + " ORDER BY pairing, game_index", args):
            out.append(
                GameRecord(
                    index=r[0],
                    seed=r[1],
                    seat_a=r[2],
                    agent_a=r[3],
                    agent_b=r[4],
                    result=r[5],
                    returns=json.loads(r[6]),
                    score=None if r[7] is None else json.loads(r[7]),
                    actions=json.loads(r[8]),
                    num_moves=r[9],
                    time_a=r[10],
                    time_b=r[11],
                    truncated=bool(r[12]),
                    resigned=r[13],
                )
            )
        return out

    def pairing_summary(self, tournament: str, below: int | None = None) -> list[dict[str, Any]]:
        """Per pairing of ``tournament`` (games with index < ``below`` only, if given): agents, games,
        wins/draws/losses of agent_a, mean seconds per game of each agent, mean moves per game, and
        ``distinct``: how many different games (agent_a's seat and move sequence) the pairing holds."""
        rows = self._con.execute(
            "SELECT pairing, agent_a, agent_b, COUNT(*), SUM(result > 0), SUM(result = 0), SUM(result < 0), "
            "AVG(time_a), AVG(time_b), AVG(num_moves), COUNT(DISTINCT seat_a || ':' || actions) "
            "FROM games WHERE tournament = ? AND game_index < ? "
            "GROUP BY pairing, agent_a, agent_b ORDER BY pairing",
            (tournament, (1 << 62) if below is None else below),
        )
        keys = (
            "pairing",
            "agent_a",
            "agent_b",
            "games",
            "wins",
            "draws",
            "losses",
            "time_a",
            "time_b",
            "moves",
            "distinct",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
