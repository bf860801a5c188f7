"""GTP both ways: coordinates and protocol plumbing, our server (in process and as ``zeroleague gtp``), the
GNU Go and Pachi agents, and our server against GNU Go under a referee checking every move with our engine."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zeroleague.agents.base import DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.gtp import (
    GTPEngineError,
    GTPError,
    GTPProcess,
    action_to_vertex,
    find_binary,
    format_response,
    parse_color,
    parse_command,
    vertex_to_action,
)
from zeroleague.baselines.gtp_agent import GTPAgent, GTPAgentError
from zeroleague.envs.go.engine import GoGame
from zeroleague.envs.go.sgf import result_string
from zeroleague.leagues.gtp_server import GTPServer, serve
from zeroleague.leagues.harness import play_match

ROOT = Path(__file__).resolve().parents[1]
GNUGO = find_binary("gnugo", "GNUGO_BIN")
PACHI = find_binary("pachi", "PACHI_BIN")
needs_gnugo = pytest.mark.skipif(GNUGO is None, reason="GNU Go not installed (apt-get install gnugo)")
SERVER_CMD = [sys.executable, "-m", "zeroleague", "gtp", "--agent", "random"]


# --- coordinates and protocol text --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 5, 8, 9, 13, 19, 25])
def test_vertex_round_trip_every_point(n):
    vertices = [action_to_vertex(a, n) for a in range(n * n + 1)]
    assert len(set(vertices)) == n * n + 1
    assert vertices[-1] == "pass"
    assert not any("I" in v for v in vertices)
    for a, v in enumerate(vertices):
        assert vertex_to_action(v, n) == a
        assert vertex_to_action(v.lower(), n) == a
    # row 0 is the top (GTP row n), column letters skip I
    assert vertices[0] == f"A{n}" and vertices[n * (n - 1)] == "A1"
    assert vertices[n - 1] == "ABCDEFGHJKLMNOPQRSTUVWXYZ"[n - 1] + str(n)


def test_vertex_known_points():
    assert action_to_vertex(0, 9) == "A9"
    assert action_to_vertex(8, 9) == "J9"
    assert action_to_vertex(80, 9) == "J1"
    assert action_to_vertex(40, 9) == "E5"
    assert vertex_to_action("J1", 9) == 80
    assert vertex_to_action("Pass", 9) == 81
    assert vertex_to_action("t19", 19) == 18
    assert action_to_vertex(624, 25) == "Z1"
    assert vertex_to_action("Z25", 25) == 24


@pytest.mark.parametrize("vertex", ["I5", "A0", "A10", "K1", "A01", "", "5A", "AA1", "E", "E5x", "resign"])
def test_bad_vertices_rejected(vertex):
    with pytest.raises(ValueError, match="invalid vertex"):
        vertex_to_action(vertex, 9)


def test_bad_sizes_and_actions_rejected():
    for n in (1, 26):
        with pytest.raises(ValueError, match="board sizes"):
            action_to_vertex(0, n)
        with pytest.raises(ValueError, match="board sizes"):
            vertex_to_action("A1", n)
    for a in (-1, 82):
        with pytest.raises(ValueError, match=f"action {a}"):
            action_to_vertex(a, 9)


def test_colors():
    assert [parse_color(c) for c in ("b", "B", "black", "BLACK", "w", "White")] == [0, 0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="purple"):
        parse_color("purple")


def test_parse_command_preprocessing():
    assert parse_command("\n") is None
    assert parse_command("   # just a comment\n") is None
    assert parse_command("12 play b E5 # comment\n") == (12, "play", ["b", "E5"])
    assert parse_command("play\tb\x07 E5\r\n") == (None, "play", ["b", "E5"])
    assert parse_command("7\n") == (7, "", [])
    assert parse_command("-3 name") == (None, "-3", ["name"])


def test_format_response():
    assert format_response(None, True) == "= \n\n"
    assert format_response(3, True, "E5") == "=3 E5\n\n"
    assert format_response(4, False, "illegal move") == "?4 illegal move\n\n"
    assert format_response(5, True, "a\n\nb\n") == "=5 a\nb\n\n"  # no blank line inside a response
    assert format_response(6, True, "\nrow1\nrow2") == "=6 \nrow1\nrow2\n\n"


# --- GTPProcess ---------------------------------------------------------------------------------------------

FAKE = r"""
import sys
for line in sys.stdin:
    cid, _, cmd = line.strip().partition(" ")
    if cmd == "die":
        sys.stderr.write("fake engine exploding\n"); sys.stderr.flush(); sys.exit(3)
    if cmd == "badid":
        print("=999 x\n", flush=True); continue
    if cmd == "hang":
        import time; time.sleep(60)
    print(f"={cid} echo {cmd}\n" if cmd != "quit" else f"={cid}\n", flush=True)
    if cmd == "quit":
        break
"""


def test_gtp_process_talks_and_shuts_down():
    with GTPProcess([sys.executable, "-c", FAKE], timeout=10, label="fake") as p:
        assert p.send("name") == "echo name"
        p.submit("a")
        p.submit("b")
        assert (p.receive(), p.receive()) == ("echo a", "echo b")
        proc = p._proc
    assert proc.returncode == 0 and not p.alive  # quit answered, process reaped
    with pytest.raises(GTPEngineError, match="closed"):
        p.send("name")


@pytest.mark.parametrize(
    ("command", "match"),
    [("die", "(?s)exited while answering 'die'.*exit code 3.*fake engine exploding"),
     ("badid", "answered '=999 x'"),
     ("hang", "no answer to 'hang' within 0.5 s")],
)
def test_gtp_process_failures_are_clear_and_reap(command, match):
    p = GTPProcess([sys.executable, "-c", FAKE], timeout=0.5 if command == "hang" else 10, label="fake")
    with pytest.raises(GTPEngineError, match=match) as err:
        p.send(command)
    assert sys.executable in str(err.value)  # the command line is named
    assert p._proc.returncode is not None and not p.alive


def test_gtp_process_missing_binary():
    with pytest.raises(GTPEngineError, match="cannot start GTP engine.*/no/such/engine"):
        GTPProcess(["/no/such/engine", "--mode", "gtp"])


def test_gtp_error_keeps_protocol_in_sync():
    with GTPProcess(SERVER_CMD + ["--board-size", "5"], cwd=ROOT, timeout=60) as p:
        with pytest.raises(GTPError, match="play b Z9.*invalid vertex"):
            p.send("play b Z9")
        assert p.send("play b C3") == ""
        assert p.send("final_score") == "B+17.5"


# --- the server ---------------------------------------------------------------------------------------------


def run_session(commands: list[str], **kw) -> list[tuple[bool, int | None, str]]:
    """Feed ``commands`` to ``serve``; parse every response into (ok, id, text)."""
    out = io.StringIO()
    assert serve("random", stdin=io.StringIO("".join(c + "\n" for c in commands)), stdout=out, **kw) == 0
    responses = out.getvalue().split("\n\n")
    assert responses[-1] == ""
    parsed = []
    for r in responses[:-1]:
        head, _, rest = r.partition(" ")
        cid = head[1:]
        parsed.append((head[0] == "=", int(cid) if cid else None, rest))
    return parsed


def test_server_scripted_session_with_ko_and_scoring():
    # 5x5 ko: B B5 A4 B3, W C5 B4 C3 D4; Black C4 captures B4; White's immediate retake B4 repeats a position.
    script = ["1 boardsize 5", "2 clear_board", "3 komi 0.5",
              "4 play b B5", "5 play w C5", "6 play b A4", "7 play w B4", "8 play b B3", "9 play w C3",
              "10 play b E1", "11 play w D4", "12 play b C4", "13 play w B4", "14 play w E5",
              "15 final_score", "16 showboard", "17 play b C4", "18 komi 6.5", "19 final_score"]
    res = run_session(script, board_size=9)
    assert [cid for _, cid, _ in res] == list(range(1, 20))
    assert all(ok for ok, cid, _ in res if cid not in (13, 17))
    assert res[12][0] is False and res[12][2].startswith("illegal move") and "superko" in res[12][2]
    assert res[16][0] is False and "occupied" in res[16][2]
    # the expected score, computed independently by replaying the moves on the engine:
    game = GoGame(board_size=5, komi=0.5)
    state = game.init(1, 0)
    for v in ["B5", "C5", "A4", "B4", "B3", "C3", "E1", "D4", "C4", "E5"]:
        game.step(state, np.array([vertex_to_action(v, 5)]))
    assert state.board[0, vertex_to_action("B4", 5)] == 0  # captured
    assert res[14][2] == result_string(float(game.score(state)[0]))
    assert res[18][2] == result_string(float(game.score(state)[0]) - 6.0)  # komi change keeps the moves
    board = res[15][2].split("\n")
    assert board[0] == "" and board[1].split() == list("ABCDE")
    assert board[2].split() == ["5", ".", "X", "O", ".", "O", "5"]
    assert board[3].split() == ["4", "X", ".", "X", "O", ".", "4"]


def test_server_hand_scored_game_and_game_end():
    res = run_session(["boardsize 5", "komi 0.5", "play b C3", "play w pass", "play b pass", "final_score",
                       "genmove w", "play w A1", "clear_board", "final_score"])
    assert [r[2] for r in res[:6]] == ["", "", "", "", "", "B+24.5"]  # 25 points black, komi 0.5
    assert not res[6][0] and "game is over" in res[6][2]
    assert not res[7][0] and "game is over" in res[7][2]
    assert res[9] == (True, None, "W+0.5")


def test_server_out_of_turn_moves():
    res = run_session(["boardsize 5", "komi 0", "play w C3", "play w D3", "play b pass", "play b B2",
                       "final_score", "showboard"])
    assert all(ok for ok, _, _ in res[:5])  # a black pass inserted before each white move
    # After W C3, W D3, B pass, White is to move after a pass: "play b B2" needs a game-ending white pass.
    assert not res[5][0] and res[5][2].startswith("illegal move")
    assert res[6] == (True, None, "W+25")  # only the two white stones: all 25 points white
    res = run_session(["boardsize 5", "play w C3", "play b pass", "play b B2", "showboard", "genmove b"])
    assert not res[3][0] and res[3][2].startswith("illegal move")
    assert "a pass for white ends the game" in res[3][2]
    assert "move 3, white to move" in res[4][2]  # [pass, C3, pass]: unchanged by the refusal
    assert not res[5][0] and "cannot generate a move" in res[5][2]


def test_server_malformed_input_never_crashes():
    cmds = ["", "   ", "# comment", "1 genmove purple", "2 play B Z99", "3 play B", "4 frobnicate",
            "5 boardsize 99", "6 komi abc", "7 boardsize", "8 boardsize x", "9 known_command",
            "10 known_command play", "11 known_command frobnicate", "12", "13 komi nan", "14 play b I5",
            "15 boardsize 1", "16 name",
            "17 protocol_version", "18 genmove b", "19 final_score"]
    res = run_session(cmds, board_size=9)
    assert [cid for _, cid, _ in res] == list(range(1, 20))
    errors = {cid: text for ok, cid, text in res if not ok}
    assert set(errors) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15}
    assert "purple" in errors[1] and "Z99" in errors[2] and errors[4] == "unknown command"
    assert errors[5].startswith("unacceptable size") and errors[15].startswith("unacceptable size")
    assert "abc" in errors[6] and "I5" in errors[14]
    ok = {cid: text for ok, cid, text in res if ok}
    assert ok[10] == "true" and ok[11] == "false" and ok[16] == "zeroleague" and ok[17] == "2"
    # still the 9x9 game with komi 7.5 after all the refusals: one black move (or a pass) is on the board
    assert ok[19] == ("W+7.5" if ok[18] == "pass" else "B+73.5")


def test_server_boardsize_rebuilds_game_and_agent():
    server = GTPServer("random", board_size=9, komi=7.5, seed=1)
    try:
        assert server.execute("play", ["b", "E5"]) == (True, "")
        assert server.execute("boardsize", ["13"]) == (True, "")
        assert server.game.board_size == 13 and server.state.num_moves[0] == 0
        assert server.execute("play", ["b", "N13"]) == (True, "")
        assert server.state.board[0, 12] == 1
        ok, vertex = server.execute("genmove", ["w"])
        assert ok and server.state.board[0, vertex_to_action(vertex, 13)] == 2
    finally:
        server.close()


def test_server_random_game_final_score_matches_engine():
    script = ["boardsize 7", "komi 2.5"] + ["genmove b", "genmove w"] * 60 + ["final_score"]
    out = io.StringIO()
    serve("random", seed=5, stdin=io.StringIO("\n".join(script) + "\n"), stdout=out)
    answers = [r[2:] for r in out.getvalue().split("\n\n")[:-1]]
    moves = [a for a in answers[2:-1] if not a.startswith("cannot")]
    game = GoGame(board_size=7, komi=2.5)
    state = game.init(1, 0)
    for v in moves:
        game.step(state, np.array([vertex_to_action(v, 7)]))
    assert game.terminal(state)[0] or len(moves) == 120
    assert answers[-1] == result_string(float(game.score(state)[0]))


def test_cli_gtp_subprocess_session():
    script = "1 protocol_version\n2 genmove b\n3 play w A1\n4 play w A1\n5 final_score\n6 quit\n7 name\n"
    done = subprocess.run(SERVER_CMD + ["--board-size", "9"], input=script, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    res = done.stdout.split("\n\n")
    assert res[0] == "=1 2" and res[1].startswith("=2 ") and res[2] == "=3 "
    assert res[3].startswith("?4 illegal move")
    assert res[4].startswith("=5 ") and res[5] == "=6 " and res[6] == ""  # nothing answered after quit
    black = vertex_to_action(res[1][3:], 9)
    assert black != 72  # A1 was free for white


# --- our server against GNU Go, refereed by our engine ------------------------------------------------------


def referee(engines: tuple[GTPProcess, GTPProcess], n: int, komi: float, max_turns: int):
    """Play one game between two GTP engines (black, white); every move is checked by our engine."""
    game = GoGame(board_size=n, komi=komi)
    state = game.init(1, 0)
    for e in engines:
        e.send(f"boardsize {n}")
        e.send("clear_board")
        e.send(f"komi {komi}")
    resigned = None
    for _ in range(max_turns):
        if game.terminal(state)[0]:
            break
        seat = int(state.to_play[0])
        color = "bw"[seat]
        vertex = engines[seat].send(f"genmove {color}")
        if vertex.lower() == "resign":
            resigned = seat
            break
        game.step(state, np.array([vertex_to_action(vertex, n)]))  # raises if illegal for us
        engines[1 - seat].send(f"play {color} {vertex}")
    return game, state, resigned


@needs_gnugo
def test_server_plays_gnugo_full_game():
    gnugo = [GNUGO, "--mode", "gtp", "--level", "1", "--chinese-rules", "--capture-all-dead",
             "--allow-suicide", "--positional-superko", "--seed", "3"]
    with GTPProcess(SERVER_CMD + ["--board-size", "9", "--seed", "3"], cwd=ROOT, timeout=60) as ours, \
            GTPProcess(gnugo, timeout=60) as theirs:
        game, state, resigned = referee((ours, theirs), 9, 7.5, max_turns=400)
        assert resigned is None and game.terminal(state)[0]
        score = float(game.score(state)[0])
        assert ours.send("final_score") == result_string(score)
        assert score < 0  # GNU Go (white) beats a random player
        assert theirs.send("final_score").startswith("W+")


# --- the GNU Go and Pachi agents ----------------------------------------------------------------------------


@needs_gnugo
def test_gnugo_accepts_and_agrees_on_random_games():
    """Differential check of the flags' claim: GNU Go replays random Tromp-Taylor games (captures, multi-stone
    suicides, long ko fights) move by move without refusing one, and ends on the same board as our engine."""
    game = GoGame(board_size=7, komi=7.5)
    state = game.init(12, 0)
    game.random_playouts(state, seed=11)
    agent = make_agent("gnugo:level=0,processes=1", game)
    try:
        proc = agent._pool[0].proc
        for i in range(len(state)):
            proc.send("clear_board")
            for k, a in enumerate(state.moves[i, : state.num_moves[i]]):
                proc.send(f"play {'bw'[k % 2]} {action_to_vertex(int(a), 7)}")  # GTPError if refused
            assert np.array_equal(engine_stones(agent, 7), state.board[i]), f"game {i}"
    finally:
        agent.close()


@needs_gnugo
def test_gnugo_agent_beats_random_and_is_reproducible():
    game = GoGame(board_size=9, komi=7.5)
    results = []
    for _ in range(2):
        gnugo = make_agent("gnugo:level=1,processes=2", game, seed=4)  # 3 parallel games on 2 processes
        try:
            opponent = make_agent("random", game, seed=5)
            results.append(play_match(game, gnugo, opponent, 3, seed=6, max_parallel=3))
        finally:
            gnugo.close()
        assert all(not e.proc.alive for e in gnugo._pool) and not gnugo._pool
    first, second = results
    assert first.wins == 3
    for rec in first.records:  # the harness scored each game by our engine; GNU Go won every one
        assert rec.resigned is None and not rec.truncated
        assert (rec.score[0] > 0) == (rec.seat_a == 0)
    assert [r.actions for r in first.records] == [r.actions for r in second.records]


def suicide_record() -> list[str]:
    # 5x5: Black A5; White A4, B4, C5; Black B5 is a two-stone suicide (legal under Tromp-Taylor).
    return ["A5", "A4", "E1", "B4", "D1", "C5", "B5"]


def state_after(game: GoGame, vertices: list[str]):
    state = game.init(1, 0)
    for v in vertices:
        game.step(state, np.array([vertex_to_action(v, game.board_size)]))
    return state


def batch_for(game: GoGame, state, game_id: int = 0) -> DecisionBatch:
    seat = int(state.to_play[0])
    return DecisionBatch(game, game.observe(state, seat), game.legal_mask(state), np.array([seat]),
                         np.array([game_id]), game.information_state(state, seat))


def engine_stones(agent: GTPAgent, n: int) -> np.ndarray:
    board = np.zeros(n * n, np.int8)
    proc = agent._pool[0].proc
    for color, value in (("black", 1), ("white", 2)):
        for v in proc.send(f"list_stones {color}").split():
            board[vertex_to_action(v, n)] = value
    return board


@needs_gnugo
@pytest.mark.parametrize("allow_suicide", [True, False])
def test_gnugo_agent_syncs_through_multi_stone_suicide(allow_suicide):
    """With --allow-suicide GNU Go replays the record itself; without it, the position is set up stone by
    stone. Either way the engine's board equals ours before it moves."""
    game = GoGame(board_size=5, komi=0.5)
    state = state_after(game, suicide_record())
    assert state.board[0, 0] == 0 and state.board[0, 1] == 0  # both black stones removed
    argv = [GNUGO, "--mode", "gtp", "--level", "0", "--chinese-rules", "--capture-all-dead"]
    argv += ["--allow-suicide"] if allow_suicide else []
    agent = GTPAgent(game, argv, label="gnugo-test", processes=1)
    try:
        played = agent.act(batch_for(game, state))  # a legal move, checked against our mask inside
        game.step(state, played)
        assert np.array_equal(engine_stones(agent, 5), state.board[0])
    finally:
        agent.close()


@needs_gnugo
def test_gnugo_agent_reuses_processes_across_games():
    game = GoGame(board_size=5, komi=0.5)
    agent = make_agent("gnugo:level=0,processes=1", game, seed=0)
    try:
        s1 = state_after(game, ["C3"])
        s2 = state_after(game, ["B2", "D4", "pass"])
        a1 = agent.act(batch_for(game, s1, game_id=1))[0]
        a2 = agent.act(batch_for(game, s2, game_id=2))[0]  # same process, cleared and replayed
        game.step(s2, np.array([a2]))
        assert np.array_equal(engine_stones(agent, 5), s2.board[0])
        assert len(agent._pool) == 1 and game.legal_mask(s1)[0, a1]
        agent.reset(np.array([1, 2]))
        assert agent._pool[0].game_id is None
    finally:
        agent.close()


@needs_gnugo
def test_server_serves_a_stateful_gtp_agent():
    """Our server in front of the GNU Go agent: states reach the agent, new games resync its process."""
    server = GTPServer("gnugo:level=0,processes=1", board_size=5, komi=0.5)
    try:
        assert server.execute("play", ["b", "C3"]) == (True, "")
        ok, w1 = server.execute("genmove", ["w"])
        assert ok and server.state.board[0, vertex_to_action(w1, 5)] == 2
        assert server.execute("clear_board", []) == (True, "")
        ok, b1 = server.execute("genmove", ["b"])
        assert ok and server.state.num_moves[0] == 1
        assert np.array_equal(engine_stones(server.agent, 5), server.state.board[0])
        ok, text = server.execute("boardsize", ["21"])
        assert not ok and text.startswith("unacceptable size") and "up to 19" in text
        assert server.game.board_size == 5 and server.state.num_moves[0] == 1  # unchanged by the refusal
    finally:
        server.close()
    assert server.agent is None


@needs_gnugo
def test_gnugo_agent_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match="up to 19"):
        make_agent("gnugo", GoGame(board_size=21))
    with pytest.raises(ValueError, match="level"):
        make_agent("gnugo:level=11", GoGame(board_size=9))
    game = GoGame(board_size=5)
    agent = make_agent("gnugo:level=0", game)
    try:
        state = state_after(game, ["C3"])
        batch = batch_for(game, state)
        batch.masks[:] = False  # pretend every answer is illegal for us
        with pytest.raises(GTPAgentError, match="gnugo:level=0 answered genmove in game 0 with '[A-Z0-9]+'"):
            agent.act(batch)
        assert not agent._pool  # the process that answered is dropped, not left out of sync
    finally:
        agent.close()
    monkeypatch.setenv("GNUGO_BIN", "/no/such/gnugo")
    with pytest.raises(FileNotFoundError, match="GNUGO_BIN"):
        make_agent("gnugo", game)


def test_missing_pachi_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PACHI_BIN", "/no/such/pachi")
    with pytest.raises(FileNotFoundError, match="PACHI_BIN.*install_pachi.sh"):
        make_agent("pachi", GoGame(board_size=9))
    with pytest.raises(ValueError, match="playouts must be an int >= 500"):
        make_agent("pachi:playouts=100", GoGame(board_size=9))


@pytest.mark.slow
@pytest.mark.skipif(PACHI is None, reason="Pachi not installed (baselines/install_pachi.sh, then PACHI_BIN)")
def test_pachi_agent_beats_random():
    game = GoGame(board_size=9, komi=7.5)
    pachi = make_agent("pachi:playouts=500,processes=2", game, seed=1)
    try:
        result = play_match(game, pachi, make_agent("random", game, seed=2), 2, seed=3, max_parallel=2)
    finally:
        pachi.close()
    assert result.wins == 2
