"""GTP for GUIs (issue #18 item 5): the commands Sabaki, Lizzie and KGS-style controllers send, driven as
scripted exchanges in the form those programs send them (upper-case colours, numeric ids, analysis intervals
in centiseconds), plus the rules switch whose no-suicide mask is held against the engine."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from zeroleague.baselines.gtp import action_to_vertex, vertex_to_action
from zeroleague.envs.go.engine import GoGame
from zeroleague.envs.go.sgf import result_string
from zeroleague.leagues.gtp_server import (
    GTPServer,
    NoSuicideGoGame,
    fixed_handicap_points,
    rules_name,
    serve,
    stone_groups,
)

ROOT = Path(__file__).resolve().parents[1]


def session(commands: list[str], agent: str = "random", **kw) -> list[tuple[bool, int | None, str]]:
    """Feed ``commands`` to ``serve``; every response as (ok, id, text)."""
    out = io.StringIO()
    assert serve(agent, stdin=io.StringIO("".join(c + "\n" for c in commands)), stdout=out, **kw) == 0
    responses = out.getvalue().split("\n\n")
    assert responses[-1] == ""
    parsed = []
    for r in responses[:-1]:
        m = re.match(r"([=?])(\d*)[ \n]?(.*)", r, re.S)
        parsed.append((m.group(1) == "=", int(m.group(2)) if m.group(2) else None, m.group(3)))
    return parsed


def test_sabaki_startup_handicap_genmove_undo_and_scoring():
    script = [
        "1 name", "2 version", "3 protocol_version", "4 list_commands", "5 boardsize 9", "6 clear_board",
        "7 komi 0.5", "8 set_free_handicap C3 G7", "9 genmove W", "10 play B E5", "11 showboard", "12 undo",
        "13 undo", "14 undo", "15 final_status_list dead", "16 final_status_list alive", "17 final_score",
        "18 quit",
    ]  # fmt: skip
    res = session(script, board_size=19, seed=3)
    assert [cid for _, cid, _ in res] == list(range(1, 19))
    assert all(ok for ok, cid, _ in res if cid != 14)
    commands = res[3][2].split("\n")
    for name in ("undo", "final_status_list", "kgs-genmove_cleanup", "fixed_handicap", "set_free_handicap",
                 "place_free_handicap", "loadsgf", "time_settings", "time_left", "lz-analyze", "kata-analyze",
                 "set_random_seed", "kgs-rules", "kata-set-rules"):  # fmt: skip
        assert name in commands
    white = res[8][2]
    assert vertex_to_action(white, 9) not in (vertex_to_action("C3", 9), vertex_to_action("G7", 9))
    assert "X" in res[10][2]
    # undo takes back E5, then White's move; the handicap stays (the third undo is refused)
    assert res[13] == (False, 14, "cannot undo")
    assert res[14][2] == ""  # Tromp-Taylor: no dead stones
    assert sorted(res[15][2].split()) == ["C3", "G7"]
    game = GoGame(board_size=9, komi=0.5)
    state = game.init(1, 0)
    for a in (vertex_to_action("C3", 9), 81, vertex_to_action("G7", 9)):
        game.step(state, np.array([a]))
    assert res[16][2] == result_string(float(game.score(state)[0]))


def test_final_status_list_lists_every_stone_by_group_consistent_with_the_score():
    server = GTPServer("random", board_size=7, komi=0.5, seed=5)
    try:
        for _ in range(40):
            if server.state.done[0]:
                break
            ok, _ = server.execute("genmove", ["b" if server.state.to_play[0] == 0 else "w"])
            assert ok
        ok, alive = server.execute("final_status_list", ["alive"])
        assert ok and server.execute("final_status_list", ["dead"]) == (True, "")
        assert server.execute("final_status_list", ["seki"]) == (True, "")
        assert not server.execute("final_status_list", ["zombie"])[0]
        lines = [line.split() for line in alive.split("\n") if line]
        points = [vertex_to_action(v, 7) for line in lines for v in line]
        board = server.state.board[0]
        assert sorted(points) == np.flatnonzero(board).tolist()  # every stone, each once
        for line in lines:  # one colour per group
            assert len({int(board[vertex_to_action(v, 7)]) for v in line}) == 1
        # alive stones are exactly what the area score counts as stones
        black, white = (int(x) for x in server.game.area(server.state)[0])
        assert black >= int((board == 1).sum()) and white >= int((board == 2).sum())
        assert len(stone_groups(server.game, server.state)) == len(lines)
    finally:
        server.close()


def test_undo_takes_back_a_command_with_its_inserted_pass():
    server = GTPServer("random", board_size=5, komi=0.5)
    try:
        assert server.execute("play", ["W", "C3"]) == (True, "")  # a Black pass is inserted first
        assert server.state.num_moves[0] == 2
        assert server.execute("undo", []) == (True, "")
        assert server.state.num_moves[0] == 0 and not server.state.board[0].any()
        assert server.execute("undo", []) == (False, "cannot undo")
    finally:
        server.close()


def test_fixed_and_free_handicap():
    assert [action_to_vertex(p, 19) for p in fixed_handicap_points(19, 9)] == [
        "D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16", "K10"]  # fmt: skip
    assert [action_to_vertex(p, 9) for p in fixed_handicap_points(9, 5)] == ["C3", "G7", "C7", "G3", "E5"]
    with pytest.raises(ValueError, match="invalid number of stones"):
        fixed_handicap_points(8, 5)
    res = session(["1 boardsize 19", "2 fixed_handicap 3", "3 genmove W", "4 fixed_handicap 2", "5 clear_board",
                   "6 place_free_handicap 4", "7 clear_board", "8 fixed_handicap 10", "9 set_free_handicap D4",
                   "10 set_free_handicap D4 D4", "11 set_free_handicap D4 pass", "12 set_free_handicap A1 T19",
                   "13 showboard"])  # fmt: skip
    assert res[1] == (True, 2, "D4 Q16 D16")
    assert res[2][0]  # White moves first after a handicap
    assert res[3] == (False, 4, "board not empty")
    assert res[5] == (True, 6, "D4 Q16 D16 Q4")
    assert not res[7][0] and "invalid number of stones" in res[7][2]
    assert not res[8][0] and "invalid number of stones" in res[8][2]
    assert not res[9][0] and "repeated" in res[9][2]
    assert not res[10][0] and "pass" in res[10][2]
    assert res[11] == (True, 12, "")
    assert "white to move" in res[12][2]


def test_loadsgf_with_handicap_and_move_number(tmp_path):
    sgf = tmp_path / "game.sgf"
    sgf.write_text("(;GM[1]FF[4]SZ[9]KM[0.5]HA[2]AB[cg][gc];W[ee];B[dd];W[ff])")
    res = session([f"1 loadsgf {sgf}", "2 showboard", f"3 loadsgf {sgf} 2", "4 showboard",
                   f"5 loadsgf {tmp_path / 'missing.sgf'}", "6 undo"])  # fmt: skip
    assert res[0] == (True, 1, "")
    board = res[1][2]
    assert board.count("X") == 3 and board.count("O") == 2 and "black to move" in board
    assert res[2] == (True, 3, "")
    assert res[3][2].count("X") == 2 and res[3][2].count("O") == 1  # the position before move 2 (B dd)
    assert not res[4][0] and "cannot load file" in res[4][2]
    assert res[5] == (False, 6, "cannot undo")  # a loaded game has no command history
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;GM[1]SZ[9]AW[aa];B[cc])")
    assert not session([f"loadsgf {bad}"])[0][0]


def test_time_settings_set_the_search_budget():
    server = GTPServer("az_uniform:sims=64", board_size=9, komi=7.5)
    try:
        assert server.execute("genmove", ["B"])[0] and server.last_move_sims is None  # no limit: spec sims
        assert server.move_budget(1) is None
        assert server.execute("time_settings", ["0", "10", "1"]) == (True, "")  # 10 s byo-yomi per move
        assert server.execute("genmove", ["W"])[0]
        assert server.last_move_sims == 16  # the first timed move measures the speed
        assert server._sec_per_sim is not None  # measured by the first timed move
        # From here a fixed speed (1 ms per simulation), so the budget arithmetic is checked, not this machine's speed
        server._sec_per_sim = 1e-3
        assert server.execute("time_left", ["B", "0.05", "1"]) == (True, "")
        assert server.move_budget(0) == pytest.approx(0.04)
        expected = int(server.move_budget(0) / 1e-3)
        assert server.execute("genmove", ["B"])[0]
        assert server.last_move_sims == expected  # ~40: the budget over the speed
        server._sec_per_sim = 1e-3
        assert server.execute("time_left", ["W", "30", "1"]) == (True, "")
        assert server.execute("genmove", ["W"])[0]
        assert server.last_move_sims == 8 * 64  # 24 s of budget, capped at 8x the spec's simulations
        assert server.last_move_seconds < 30
        # main time only: spread over the moves left
        assert server.execute("kgs-time_settings", ["absolute", "100"]) == (True, "")
        assert server.move_budget(0) == pytest.approx(0.8 * 100 / 38)  # 81 // 2 - 2 own moves
        assert server.execute("time_settings", ["0", "5", "0"]) == (True, "")  # GTP's "no time limit"
        assert server.move_budget(0) is None
        assert not server.execute("time_settings", ["a", "5", "0"])[0]
        assert not server.execute("time_left", ["B", "1"])[0]
    finally:
        server.close()


def _info_lines(text: str) -> list[list[str]]:
    moves = []
    for line in text.strip().split("\n"):
        for chunk in line.split("info ")[1:]:
            moves.append(chunk.split())
    return moves


def test_lz_analyze_and_kata_analyze_report_visits_winrates_and_pvs():
    out = io.StringIO()
    script = "1 boardsize 9\n2 play B E5\n3 lz-analyze W 10\n4 kata-analyze W 10\n5 name\n"
    serve("az_uniform:sims=32", stdin=io.StringIO(script), stdout=out)
    text = out.getvalue()
    blocks = text.split("\n\n")
    assert blocks[0] == "=1 " and blocks[1] == "=2 "
    lz, kata = blocks[2], blocks[3]
    assert lz.startswith("=3\ninfo move ") and kata.startswith("=4\ninfo move ")
    assert blocks[4] == "=5 zeroleague"
    lz_moves = _info_lines(lz)
    total = 0
    for k, f in enumerate(lz_moves):
        d = dict(zip(f[0:12:2], f[1:12:2], strict=True))
        assert int(d["order"]) == k and int(d["visits"]) >= 1 and 0 <= int(d["winrate"]) <= 10000
        assert 0 <= int(d["prior"]) <= 10000 and f[12] == "pv" and f[13] == d["move"]
        assert d["move"] != "E5"
        total += int(d["visits"])
    assert total == 32  # the root's visits over its children: one report of 32 simulations
    visits = [int(f[3]) for f in lz_moves]
    assert visits == sorted(visits, reverse=True)
    k0 = dict(zip(_info_lines(kata)[0][0:24:2], _info_lines(kata)[0][1:24:2], strict=True))
    assert 0.0 <= float(k0["winrate"]) <= 1.0 and 0.0 <= float(k0["prior"]) <= 1.0
    # refusals keep the protocol in sync: a finished game, an unknown argument
    out = io.StringIO()
    serve("random", stdin=io.StringIO("1 boardsize 5\n2 play b pass\n3 play w pass\n4 lz-analyze 10\n"
                                      "5 kata-analyze B 10 frobnicate 3\n6 name\n"), stdout=out)  # fmt: skip
    blocks = out.getvalue().split("\n\n")
    assert blocks[3] == "?4 cannot analyze (the game is over)"
    assert blocks[4].startswith("?5 syntax error") and "frobnicate" in blocks[4] and blocks[5] == "=6 zeroleague"
    # a non-search agent reports its one move
    out = io.StringIO()
    serve("random", stdin=io.StringIO("1 boardsize 9\n2 lz-analyze 10\n"), stdout=out)
    one = _info_lines(out.getvalue().split("\n\n")[1])
    assert len(one) == 1 and one[0][2:6] == ["visits", "1", "winrate", "5000"]


def test_analysis_streams_until_the_next_command_over_a_pipe():
    proc = subprocess.Popen([sys.executable, "-m", "zeroleague", "gtp", "--agent", "az_uniform:sims=8",
                             "--board-size", "9"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)  # fmt: skip
    try:
        proc.stdin.write("lz-analyze 5\n")  # Lizzie's form: interval only, the colour to move
        proc.stdin.flush()
        first = [proc.stdout.readline() for _ in range(3)]  # "=" and two reports, then interrupt
        time.sleep(0.2)
        proc.stdin.write("2 name\n3 quit\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    head, _, rest = ("".join(first) + out).partition("\n")
    assert head == "="
    analysis, _, after = rest.partition("\n\n")
    reports = analysis.split("\n")
    assert len(reports) >= 2 and all(r.startswith("info move ") for r in reports)
    assert after.startswith("=2 zeroleague")
    first, last = _info_lines(reports[0]), _info_lines(reports[-1])
    assert sum(int(f[3]) for f in last) > sum(int(f[3]) for f in first)  # later reports search more


def test_analysis_stops_for_a_command_sent_in_the_same_write():
    script = "lz-analyze B 5\n2 play B D4\n3 showboard\n4 quit\n"  # a GUI may send several lines at once
    done = subprocess.run([sys.executable, "-m", "zeroleague", "gtp", "--agent", "az_uniform:sims=8",
                           "--board-size", "9"], input=script, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    blocks = done.stdout.split("\n\n")
    assert blocks[0].startswith("=\ninfo move ") and blocks[1] == "=2 " and "X" in blocks[2]


def test_genmove_analyze_plays_the_move():
    out = io.StringIO()
    serve("az_uniform:sims=16", stdin=io.StringIO("1 boardsize 5\n2 lz-genmove_analyze B 10\n3 showboard\n"),
          stdout=out)
    blocks = out.getvalue().split("\n\n")
    lines = blocks[1].split("\n")
    assert lines[0] == "=2" and lines[1].startswith("info move ") and lines[2].startswith("play ")
    assert "white to move" in blocks[2]


def test_kgs_genmove_cleanup_and_kata_genmove_analyze_transcript():
    # a KGS-style controller: cleanup phase after a disagreement about dead stones; then KataGo-style analysis play
    out = io.StringIO()
    script = ("1 boardsize 5\n2 komi 0.5\n3 play B C3\n4 kgs-genmove_cleanup W\n5 kata-genmove_analyze B 10\n"
              "6 showboard\n7 kgs-genmove_cleanup purple\n")  # fmt: skip
    serve("az_uniform:sims=16", stdin=io.StringIO(script), stdout=out, seed=1)
    blocks = out.getvalue().split("\n\n")
    assert blocks[2] == "=3 "
    white = blocks[3][3:]
    assert blocks[3].startswith("=4 ") and vertex_to_action(white, 5) != vertex_to_action("C3", 5)
    lines = blocks[4].split("\n")
    assert lines[0] == "=5" and lines[1].startswith("info move ") and "winrate 0." in lines[1]
    black = lines[2].removeprefix("play ")
    assert lines[2].startswith("play ") and black not in ("C3", white)
    board = blocks[5]
    assert board.count("X") == 2 and board.count("O") == 1 and "white to move" in board
    assert blocks[6].startswith("?7 syntax error") and "purple" in blocks[6]


def test_set_random_seed_reproduces_the_agent():
    def moves(seed_cmds):
        res = session(["boardsize 9", *seed_cmds, "genmove b", "genmove w", "genmove b"], seed=0)
        return [r[2] for r in res[-3:]]

    a, b, c = moves(["set_random_seed 7"]), moves(["set_random_seed 7"]), moves(["set_random_seed 8"])
    assert a == b and a != c
    assert not session(["set_random_seed -1"])[0][0] and not session(["set_random_seed x"])[0][0]


# --- rules ------------------------------------------------------------------------------------------------


def _random_positions(n: int, count: int, seed: int, cls: type = GoGame):
    game = cls(board_size=n, komi=0.5)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        state = game.init(1, 0)
        for _ in range(int(rng.integers(5, 3 * n * n))):
            if state.done[0]:
                break
            legal = np.flatnonzero(game.legal_mask(state)[0][:-1])
            if len(legal) == 0:
                break
            game.step(state, np.array([rng.choice(legal)]))
        if not state.done[0]:
            out.append(state)
    return game, out


def test_no_suicide_mask_matches_the_engine_on_random_positions():
    game, states = _random_positions(5, 300, seed=1)
    nosui = NoSuicideGoGame(board_size=5, komi=0.5)
    found = 0
    for state in states:
        legal = game.legal_mask(state)[0]
        sui = nosui.suicide_mask(state)[0]
        me = int(state.to_play[0]) + 1
        for p in np.flatnonzero(legal[:-1]):
            after = game.copy(state)
            game.step(after, np.array([p]))
            self_removed = after.board[0, p] != me  # the stone just played is gone: suicide
            assert bool(sui[p]) == bool(self_removed)
            found += bool(sui[p])
        mask = nosui.legal_mask(state)[0]
        np.testing.assert_array_equal(mask[:-1], legal[:-1] & ~sui)
        assert mask[-1]  # passing stays legal
    assert found > 0  # the sample holds multi-stone suicides


def test_rules_switch_masks_suicide_out_of_play_and_search():
    nosui, states = _random_positions(5, 300, seed=2, cls=NoSuicideGoGame)  # games without a suicide so far
    game = GoGame(board_size=5, komi=0.5)
    state = next(st for st in states if (nosui.suicide_mask(st)[0] & game.legal_mask(st)[0][:-1]).any())
    moves = [int(a) for a in state.moves[0, : state.num_moves[0]]]
    points = np.flatnonzero(nosui.suicide_mask(state)[0] & game.legal_mask(state)[0][:-1])
    suicides = [action_to_vertex(int(p), 5) for p in points]
    color = "bw"[int(state.to_play[0])]
    server = GTPServer("az_uniform:sims=200", board_size=5, komi=0.5, rules="chinese")
    try:
        for k, a in enumerate(moves):
            assert server.execute("play", ["BW"[k % 2], action_to_vertex(a, 5)]) == (True, "")
        ok, text = server.execute("play", [color, suicides[0]])
        assert not ok and text.startswith("illegal move") and "suicide" in text
        for _ in range(3):
            ok, move = server.execute("genmove", [color])
            assert ok and move not in suicides
            visits = server.agent.last_visits[0]
            assert all(visits[vertex_to_action(v, 5)] == 0 for v in suicides)  # masked out of the search
            assert visits.sum() > 0
            assert server.execute("undo", []) == (True, "")
        # the same position under Tromp-Taylor: the suicide is a legal move
        assert server.execute("kgs-rules", ["tromp-taylor"]) == (True, "")
        assert type(server.game) is GoGame and server.state.num_moves[0] == len(moves)
        assert server.execute("play", [color, suicides[0]]) == (True, "")
        # switching back is refused while the game holds a suicide, and the game is kept
        ok, text = server.execute("kata-set-rules", ["japanese"])
        assert not ok and "suicide" in text and type(server.game) is GoGame
        assert server.execute("undo", []) == (True, "")
        assert server.execute("kata-set-rules", ["japanese"]) == (True, "")
        assert type(server.game) is NoSuicideGoGame
        assert not server.execute("kgs-rules", ["klingon"])[0]
    finally:
        server.close()
    assert rules_name("NZ") == "new-zealand" and rules_name("Chinese") == "chinese"


def test_cli_rules_flag(capsys):
    from zeroleague.cli import main

    script = "1 boardsize 5\n2 play b C3\n3 quit\n"
    done = subprocess.run([sys.executable, "-m", "zeroleague", "gtp", "--agent", "random", "--rules", "chinese"],
                          input=script, capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("=1 \n\n=2 \n\n=3 ")
    assert main(["gtp", "--agent", "random", "--rules", "klingon"]) == 2
    assert "unknown rules 'klingon'" in capsys.readouterr().err
