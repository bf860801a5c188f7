"""zeroleague.leagues.store.ResultStore: round trips, idempotence, refusing (and never touching) files that are not
ours."""

from __future__ import annotations

import dataclasses
import os
import sqlite3

import numpy as np
import pytest

from tests.toygames import NimGame, NimOptimalAgent, ToyRandomAgent
from zeroleague.leagues.harness import play_match
from zeroleague.leagues.store import ResultStore, StoreError, pairing_key


@pytest.fixture(scope="module")
def records():
    game = NimGame()
    return play_match(game, NimOptimalAgent(game), ToyRandomAgent(game, seed=3), num_games=12, seed=1).records


def test_round_trip_and_idempotent_adds(tmp_path, records):
    path = tmp_path / "r.sqlite"
    key = pairing_key("toy_nim_optimal", "toy_random")
    with ResultStore(path) as st:
        st.register_tournament("t", {"seed": 1})
        assert all(st.add_game("t", key, "toy_nim", r) for r in records)
        assert not st.add_game("t", key, "toy_nim", records[3])
        assert not st.add_game(
            "t", key, "toy_nim", dataclasses.replace(records[3], result=-records[3].result)
        )
    with ResultStore(path) as st:  # reopened
        assert st.games("t", key) == records
        assert st.games("t") == records and st.games("t", "other") == []
        assert st.stored_indices("t", key) == set(range(12))
        (summary,) = st.pairing_summary("t")
        assert st.pairing_summary("t", below=5)[0]["games"] == 5
        assert summary["games"] == 12
        assert (summary["wins"], summary["draws"], summary["losses"]) == (
            sum(r.result > 0 for r in records),
            sum(r.result == 0 for r in records),
            sum(r.result < 0 for r in records),
        )
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_a_tournament_name_is_bound_to_its_configuration(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as st:
        st.register_tournament("t", {"env": "x", "seed": 1})
        st.register_tournament("t", {"seed": 1, "env": "x"})  # same config, any key order
        with pytest.raises(StoreError, match="tournament 't'.*configuration"):
            st.register_tournament("t", {"env": "x", "seed": 2})


def test_a_failed_insert_rolls_back_and_the_store_stays_usable(tmp_path, records):
    with ResultStore(tmp_path / "r.sqlite") as st:
        st.register_tournament("t", {})
        st.add_game("t", "p", "toy_nim", records[0])
        with pytest.raises(sqlite3.IntegrityError):
            st.add_game("t", "p", "toy_nim", dataclasses.replace(records[1], result=None))
        assert st.stored_indices("t", "p") == {0}
        assert st.add_game("t", "p", "toy_nim", records[1])


def _snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def _foreign_sqlite(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers VALUES (1, 'ada')")
    con.commit()
    con.close()


def _other_version(path):
    ResultStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).bytes(8192))


def _corrupt_sqlite(path):
    path.write_bytes(b"SQLite format 3\x00" + np.random.default_rng(1).bytes(8192))


@pytest.mark.parametrize(
    "make, match",
    [
        (_random_bytes, "not an SQLite database"),
        (_corrupt_sqlite, "not a zeroleague results store"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (_foreign_sqlite, "not a zeroleague results store"),
        (_other_version, "schema version '99'"),
    ],
)
def test_foreign_or_corrupted_files_are_refused_and_left_unchanged(tmp_path, make, match):
    path = tmp_path / "results.sqlite"
    make(path)
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match=match) as err:
        ResultStore(path)
    assert str(path) in str(err.value) and "not modified" in str(err.value)
    assert _snapshot(tmp_path) == before  # byte for byte, and no side files


def test_pairing_summary_counts_distinct_games(tmp_path, records):
    """A deterministic pairing repeats games: the summary says how many different ones (seat and moves) it holds."""
    with ResultStore(tmp_path / "d.sqlite") as st:
        st.register_tournament("t", {"seed": 1})
        key = pairing_key("x", "y")
        repeated = [dataclasses.replace(records[0], index=i) for i in range(5)]  # one game five times
        repeated += [dataclasses.replace(records[0], index=5, seat_a=1 - records[0].seat_a)]  # other seat
        repeated += [dataclasses.replace(records[1], index=6, seat_a=records[0].seat_a, actions=records[0].actions
                                         + [0])]
        for r in repeated:
            st.add_game("t", key, "toy_nim", r)
        (summary,) = st.pairing_summary("t")
    assert summary["games"] == 7 and summary["distinct"] == 3
