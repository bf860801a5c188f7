"""The web app's API (``zeroleague serve``) through FastAPI's TestClient: play, hiding, bad input, watch, replay,
read-only store access, and the AlphaZero ``explain`` contract the search view draws."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.envs.go.sgf import to_sgf  # noqa: E402
from zeroleague.leagues.harness import play_match  # noqa: E402
from zeroleague.leagues.store import ResultStore, pairing_key  # noqa: E402
from zeroleague.web import create_app  # noqa: E402
from zeroleague.web.games import Match, go_area_map, make_game  # noqa: E402
from zeroleague.web.sessions import decision_batch  # noqa: E402

STATIC = Path(__file__).resolve().parents[1] / "zeroleague" / "web" / "static"


@pytest.fixture
def client():
    app = create_app()
    with TestClient(app) as c:
        c.app_state = app.state
        yield c


def _new(client, **body):
    r = client.post("/api/play", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _session(client, view):
    return client.app_state.sessions[view["session"]]


# ------------------------------------------------------------------------------------------------------ Go play
def test_area_map_of_a_hand_made_position():
    # 4x4: black wall on column 1, white wall on column 2 -> column 0 is black's, column 3 white's
    board = np.array([0, 1, 2, 0] * 4)
    assert go_area_map(board, 4) == [1, 1, 2, 2] * 4
    # a lone black stone owns the whole board; an empty board is nobody's
    lone = np.zeros(9, int)
    lone[4] = 1
    assert go_area_map(lone, 3) == [1] * 9
    assert go_area_map(np.zeros(9, int), 3) == [0] * 9
    # an empty point touching both colours is neutral (dame)
    assert go_area_map(np.array([1, 0, 2, 0]), 2) == [1, 0, 2, 0]


def test_go_game_to_the_end_with_score_and_area_map(client):
    v = _new(client, env="go_v0", board_size=5, komi=0.5, human_seat=0, agent="random", seed=3)
    assert v["kind"] == "go" and v["to_play"] == 0 and v["viewer"] == 0 and v["ply"] == 0
    sid = v["session"]
    moves = 0
    while not v["over"]:
        assert v["to_play"] == 0  # every response finds the human to move or the game over
        if moves < 4 and len(v["legal"]) > 1:
            v = client.post(f"/api/play/{sid}/move", json={"action": v["legal"][0]}).json()
        else:
            v = client.post(f"/api/play/{sid}/pass").json()
        moves += 1
        assert moves < 200
    res = v["result"]
    s = _session(client, v)
    game, state = s.match.game, s.match.state
    assert res["score"] == pytest.approx(float(game.score(state)[0]))
    assert res["winner"] == (0 if res["score"] > 0 else 1)
    area = v["area"]
    assert area == go_area_map(state.board[0], 5)
    assert (area.count(1), area.count(2)) == (v["area_black"], v["area_white"]) == tuple(game.area(state)[0])
    assert v["area_black"] - v["area_white"] - 0.5 == pytest.approx(res["score"])
    assert v["legal"] == []
    r = client.post(f"/api/play/{sid}/pass")
    assert r.status_code == 409 and "over" in r.json()["detail"]


def test_illegal_click_gets_a_message_and_changes_nothing(client):
    v = _new(client, env="go_v0", board_size=5, human_seat=1, agent="random", seed=1)
    sid = v["session"]
    occupied = v["last_move"]  # the agent (Black) has played
    before = client.get(f"/api/play/{sid}").json()
    r = client.post(f"/api/play/{sid}/move", json={"action": occupied})
    assert r.status_code == 409
    assert "occupied" in r.json()["detail"]
    for bad in (-1, 26, 10**6):
        r = client.post(f"/api/play/{sid}/move", json={"action": bad})
        assert r.status_code == 409 and str(bad) in r.json()["detail"]
    assert client.get(f"/api/play/{sid}").json() == before


def test_ko_recapture_is_refused_with_the_reason():
    # 5x5 ko: White's stone at B4 (6) has just captured Black's C4 (7); retaking at once repeats a position
    m = Match(make_game("go_v0", {"board_size": 5}), 0)
    for a in (1, 2, 5, 12, 11, 8, 7, 6):
        m.play(a)
    assert m.view(None)["board"][7] == 0 and m.to_play() == 0
    assert m.illegal_reason(7) == "C4: positional superko (the resulting position occurred earlier in the game)"
    with pytest.raises(ValueError, match="superko"):
        m.play(7)
    assert len(m.actions) == 8


def test_a_game_against_a_random_agent_replays_from_its_seed(client):
    views = []
    for seed in (5, 5, 6):
        v = _new(client, env="go_v0", board_size=9, human_seat=1, agent="random", seed=seed)
        for a in (40, 41, 42):
            if a in v["legal"]:
                v = client.post(f"/api/play/{v['session']}/move", json={"action": a}).json()
        views.append(v["moves"])
    assert views[0] == views[1] and views[0] != views[2]


def test_undo_resign_and_a_new_game(client):
    v = _new(client, env="go_v0", board_size=5, human_seat=0, agent="random", seed=2)
    sid = v["session"]
    assert not v["can_undo"]
    assert client.post(f"/api/play/{sid}/undo").status_code == 409
    v1 = client.post(f"/api/play/{sid}/move", json={"action": 12}).json()
    assert v1["ply"] == 2 and v1["board"][12] == 1 and v1["can_undo"]
    v2 = client.post(f"/api/play/{sid}/undo").json()
    assert v2["ply"] == 0 and v2["board"] == [0] * 25 and v2["to_play"] == 0
    v3 = client.post(f"/api/play/{sid}/resign").json()
    assert v3["over"] and v3["result"]["winner"] == 1 and "resignation" in v3["result"]["text"]
    assert client.post(f"/api/play/{sid}/move", json={"action": 0}).status_code == 409
    v4 = client.post(f"/api/play/{sid}/undo").json()  # takes the resignation back
    assert not v4["over"] and v4["ply"] == 0
    other = _new(client, env="go_v0", board_size=9, human_seat=1, agent="random", seed=2)
    assert other["session"] != sid and other["size"] == 9 and other["ply"] == 1


def test_an_agent_failing_mid_game_is_reported_and_the_game_is_kept(client):
    v = _new(client, env="go_v0", board_size=5, human_seat=0, agent="random", seed=2)
    sid = v["session"]
    agent = _session(client, v).opponent.agent

    def broken(batch):
        raise RuntimeError("engine crashed")

    agent.act = broken
    r = client.post(f"/api/play/{sid}/move", json={"action": 12})
    assert r.status_code == 500 and "engine crashed" in r.json()["detail"] and "random" in r.json()["detail"]
    assert client.get(f"/api/play/{sid}").json() == v  # the human's move was taken back too
    del agent.act  # the class's act again
    after = client.post(f"/api/play/{sid}/move", json={"action": 12}).json()
    assert after["ply"] == 2 and after["board"][12] == 1


# ------------------------------------------------------------------------------------------------- 6 nimmt!
def _swap_hidden(state, game, seat: int, rng) -> None:
    """Redeal the hand (and pending card) of ``seat``'s opponent from the cards ``seat`` cannot see."""
    other = 1 - seat
    m = game.max_card
    used = set(np.flatnonzero(state.hand[0, seat]).tolist()) | set(np.flatnonzero(state.seen[0]).tolist())
    hand = np.flatnonzero(state.hand[0, other]).tolist()
    pend = int(state.pending[0, other])
    pool = [c for c in range(1, m + 1) if c not in used]  # its hand, its pending card, the undealt cards
    new = rng.permutation(pool)[: len(hand) + (pend > 0)].tolist()  # (tactical deck: which card is pending)
    state.hand[0, other] = False
    state.hand[0, other, new[: len(hand)]] = True
    if pend:
        state.pending[0, other] = new[-1]


@pytest.mark.parametrize("env,human", [("sixnimmt_v0", 1), ("sixnimmt_v0", 0), ("sixnimmt_tactical_v0", 1)])
def test_sixnimmt_round_shows_only_what_the_seat_may_see(client, env, human):
    v = _new(client, env=env, human_seat=human, agent="closest_gap", seed=11)
    sid = v["session"]
    rng = np.random.default_rng(0)
    tricks = 0
    while True:
        s = _session(client, v)
        st, game = s.match.state, s.match.game
        hidden = set(np.flatnonzero(st.hand[0, 1 - human]).tolist()) | {int(st.pending[0, 1 - human])} - {0}
        text = json.dumps(v)
        assert "hands" not in v and "pending" not in v
        assert v["hand"] == np.flatnonzero(st.hand[0, human]).tolist()
        assert not hidden & set(v["hand"])
        for row in v["rows"]:
            assert not hidden & set(row)
        assert not hidden & {c for t in v["tricks"] for c in t["cards"]}
        if not v["over"]:
            # the same view whatever the hidden cards are: swap them in the server's state and ask again
            if human == 1 and v["phase"] == "select":
                assert int(st.pending[0, 0]) > 0  # the agent has selected; its card is in the state only
            truth = game.copy(st)
            _swap_hidden(st, game, human, rng)
            again = client.get(f"/api/play/{sid}").text
            assert json.loads(again) == json.loads(text)
            s.match.state = truth  # play on from the true deal
            legal = v["legal"]
            assert legal and v["to_play"] == human
            rows = [a for a in legal if a >= v["deck"]]
            a = rows[0] if rows else legal[len(legal) // 2]
            v = client.post(f"/api/play/{sid}/move", json={"action": a}).json()
            assert "detail" not in v, v
            tricks = len(v["tricks"])
        else:
            break
    assert tricks == 10 and len(v["tricks"]) == 10
    assert v["result"]["penalties"] == v["penalties"] == [sum(t["bullheads"][p] for t in v["tricks"]) for p in (0, 1)]


def test_sixnimmt_undo_takes_the_whole_trick_back(client):
    v0 = _new(client, env="sixnimmt_v0", human_seat=1, agent="closest_gap", seed=8)
    sid = v0["session"]
    assert v0["ply"] == 1  # the agent (seat 0) has selected; its card is pending
    v1 = client.post(f"/api/play/{sid}/move", json={"action": v0["legal"][-1]}).json()  # it fits a row here
    assert len(v1["tricks"]) == 1 and v1["hand"] == v0["hand"][:-1]
    actions_before = list(_session(client, v1).match.actions)
    agent, calls = _session(client, v1).opponent.agent, []
    act = agent.act
    agent.act = lambda batch: calls.append(len(batch)) or act(batch)
    v2 = client.post(f"/api/play/{sid}/undo").json()
    assert calls == [1]  # asked to select again: its earlier card was seen
    assert v2 == {**v0, "session": sid}  # the agent selected again (deterministic: the same card)
    assert _session(client, v2).match.actions == actions_before[:1]
    assert _session(client, v2).match.seats == [0]


def test_sixnimmt_agent_search_is_not_shown_to_the_human_but_a_hint_is(client):
    v = _new(client, env="sixnimmt_tactical_v0", human_seat=1, agent="mcs:rollouts=4", seed=5, explain=True)
    assert v["agent_explains"] and v["search"] is None  # the agent's search would reveal its hand
    hint = client.post(f"/api/play/{v['session']}/hint", json={}).json()["hint"]
    assert hint["kind"] == "mcs" and hint["seat"] == 1
    assert sorted(hint["actions"]) == sorted(v["legal"])  # the human's own cards only
    assert hint["chosen"] == hint["actions"][int(np.argmax(hint["margins"]))]


def test_go_hint_uses_the_shipped_network_where_it_fits_else_plain_search(client):
    for size, expect in ((9, "alphazero.pt"), (13, "az_uniform")):
        v = _new(client, env="go_v0", board_size=size, komi=7.5, human_seat=0, agent="random", seed=1)
        hint = client.post(f"/api/play/{v['session']}/hint", json={}).json()["hint"]
        assert expect in hint["agent"] and hint["seat"] == 0
        assert hint["actions"] == v["legal"] and sum(hint["prior"]) == pytest.approx(1.0, abs=1e-4)
        assert hint["chosen"] == hint["pv"][0]
    r = client.post(f"/api/play/{v['session']}/hint", json={"agent": "random"})
    assert r.status_code == 400 and "cannot explain" in r.json()["detail"]


def test_illegal_card_is_refused(client):
    v = _new(client, env="sixnimmt_v0", human_seat=0, agent="random", seed=4)
    sid = v["session"]
    not_mine = next(c for c in range(1, 105) if c not in v["hand"]) - 1
    r = client.post(f"/api/play/{sid}/move", json={"action": not_mine})
    assert r.status_code == 409 and f"card {not_mine + 1}" in r.json()["detail"]
    r = client.post(f"/api/play/{sid}/move", json={"action": 104})  # a row outside a row choice
    assert r.status_code == 409 and "row" in r.json()["detail"]
    assert client.post(f"/api/play/{sid}/pass").status_code == 409
    assert client.get(f"/api/play/{sid}").json() == v


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "body,where",
    [
        ({"env": "chess"}, "env"),
        ({"board_size": 30}, "board_size"),
        ({"board_size": "nine"}, "board_size"),
        ({"human_seat": 2}, "human_seat"),
        ({"agent": ""}, "agent"),
        ({"seed": -1}, "seed"),
        ({"colour": "black"}, "colour"),
    ],
)
def test_malformed_play_requests_get_422_naming_the_field(client, body, where):
    r = client.post("/api/play", json=body)
    assert r.status_code == 422
    assert where in json.dumps(r.json()["detail"])


def test_unknown_agent_and_bad_checkpoint_are_refused_with_the_registry_message(client, tmp_path):
    game = make_game("go_v0", {"board_size": 9})
    with pytest.raises(ValueError) as e:
        make_agent("nosuchagent", game)
    r = client.post("/api/play", json={"agent": "nosuchagent"})
    assert r.status_code == 400 and r.json()["detail"] == str(e.value)
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    r = client.post("/api/play", json={"agent": f"az:{bad}"})
    assert r.status_code == 400 and str(bad) in r.json()["detail"] and "checkpoint" in r.json()["detail"]
    r = client.post("/api/watch", json={"agent_a": "random", "agent_b": "closest_gap"})  # not a Go player
    assert r.status_code == 400 and "closest_gap" in r.json()["detail"]


def test_other_malformed_requests(client):
    v = _new(client, env="go_v0", board_size=5, agent="random", seed=0)
    sid = v["session"]
    assert client.post(f"/api/play/{sid}/move", json={}).status_code == 422
    assert client.post(f"/api/play/{sid}/move", json={"action": "A1"}).status_code == 422
    assert client.post(f"/api/play/{sid}/move", content=b"{not json").status_code == 422
    r = client.post("/api/play/nope/move", json={"action": 0})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert client.get("/api/replay/nope/0").status_code == 404
    assert client.post("/api/watch/nope/speed", json={"delay": 1}).status_code == 404
    assert client.post("/api/replay", json={}).status_code == 400
    r = client.post("/api/replay", json={"sgf": "(;FF[4]SZ[9];B[ee];B[dd])"})
    assert r.status_code == 400 and "alternate" in r.json()["detail"]
    r = client.post("/api/replay", json={"sgf": "hello"})
    assert r.status_code == 400
    assert client.get(f"/api/play/{sid}").json() == v  # and the game is still there


# --------------------------------------------------------------------------------------------------- watch
def _events(client, sid):
    views = []
    with client.stream("GET", f"/api/watch/{sid}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                if event == "end":
                    break
                views.append(json.loads(line[5:]))
    return views


def test_watch_streams_every_move_with_the_search(client):
    v = client.post("/api/watch", json={"env": "go_v0", "board_size": 5, "agent_a": "az_uniform:sims=8",
                                        "agent_b": "random", "seed": 1, "delay": 0}).json()
    assert v["ply"] == 0 and v["mode"] == "watch"
    views = _events(client, v["session"])
    assert [x["ply"] for x in views] == list(range(len(views)))
    last = views[-1]
    assert last["over"] and last["result"] is not None
    az_moves = [x for x in views[1:] if x["ply"] % 2 == 1]  # the view after each of Black's moves
    for x in az_moves:
        sr = x["search"]
        assert sr["board"] == views[x["ply"] - 1]["board"]  # drawn on the position it searched
        assert sr["kind"] == "alphazero" and sr["seat"] == 0
        assert sum(sr["visits"]) >= 8 and sr["chosen"] == x["last_move"]
        assert sum(sr["prior"]) == pytest.approx(1.0, abs=1e-4)
        assert sr["pv"][0] == sr["chosen"] and sr["pv_labels"][0] == x["moves"][-1]
    assert len(last["values"]) == sum(1 for x in views[1:] if x["ply"] % 2 == 1)


def test_watch_sixnimmt_mcs_margins_and_speed(client):
    v = client.post("/api/watch", json={"env": "sixnimmt_tactical_v0", "agent_a": "mcs:rollouts=4",
                                        "agent_b": "closest_gap", "seed": 3, "delay": 0}).json()
    sid = v["session"]
    assert v["hands"][0] and v["hands"][1]  # a spectator sees both hands
    r = client.post(f"/api/watch/{sid}/speed", json={"delay": 0.0, "paused": False})
    assert r.json() == {"delay": 0.0, "paused": False}
    assert client.post(f"/api/watch/{sid}/speed", json={"delay": -1}).status_code == 422
    views = _events(client, sid)
    assert views[-1]["over"] and len(views[-1]["tricks"]) == 10
    mcs = [x["search"] for x in views if x["search"] and x["search"]["seat"] == 0]
    assert mcs
    for sr in mcs:
        assert sr["kind"] == "mcs" and len(sr["margins"]) == len(sr["actions"])
        assert sr["chosen"] == sr["actions"][int(np.argmax(sr["margins"]))]


def test_watch_reports_an_agent_failure_and_the_server_keeps_serving(client):
    v = client.post("/api/watch", json={"env": "go_v0", "board_size": 5, "agent_a": "random", "agent_b": "random",
                                        "seed": 1, "delay": 0}).json()
    session = _session(client, v)

    def broken(batch):
        raise RuntimeError("out of cheese")

    session.agents[1].agent.act = broken
    views = _events(client, v["session"])
    assert [x["ply"] for x in views] == [0, 1, 1] and "out of cheese" in views[-1]["error"]  # the error, unchanged
    assert client.get("/api/meta").status_code == 200


# -------------------------------------------------------------------------------------------------- replay
def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "results.db"
    st = ResultStore(path)
    for name, env, kwargs, a, b in (("go5", "go_v0", {"board_size": 5}, "random", "az_uniform:sims=4"),
                                    ("six", "sixnimmt_v0", {}, "closest_gap", "random")):
        game = make_game(env, kwargs)
        st.register_tournament(name, {"env": env, "env_kwargs": kwargs, "seed": 7})
        ra, rb = make_agent(a, game, seed=1), make_agent(b, game, seed=2)
        res = play_match(game, ra, rb, 3, 7)
        for rec in res.records:
            st.add_game(name, pairing_key(a, b), env, rec)
    st.close()
    return path


def test_replay_lists_and_opens_stored_games_without_writing(store):
    before = _snapshot(store.parent)
    app = create_app(dbs=[str(store)])
    with TestClient(app) as c:
        ts = c.get("/api/store/tournaments").json()["tournaments"]
        assert [(t["name"], t["games"]) for t in ts] == [("go5", 3), ("six", 3)]
        for t in ts:
            ps = c.get("/api/store/pairings", params={"tournament": t["name"]}).json()["pairings"]
            assert len(ps) == 1 and ps[0]["games"] == 3
            gs = c.get("/api/store/games", params={"tournament": t["name"], "pairing": ps[0]["pairing"]}).json()
            assert [g["index"] for g in gs["games"]] == [0, 1, 2]
            for g in gs["games"]:
                v = c.post("/api/replay", json={"db": str(store), "tournament": t["name"],
                                                "pairing": ps[0]["pairing"], "index": g["index"]}).json()
                assert v["over"] and v["num_plies"] == g["num_moves"] and v["ply"] == g["num_moves"]
                seat_a = g["seat_a"]
                winner = v["result"]["winner"]
                expected = None if g["result"] == 0 else (seat_a if g["result"] > 0 else 1 - seat_a)
                assert winner == expected
                if t["name"] == "go5":
                    assert v["result"]["score"] == pytest.approx(g["score"][0])
                else:
                    assert v["penalties"] == [int(x) for x in g["score"]]
                first = c.get(f"/api/replay/{v['session']}/0").json()
                assert first["ply"] == 0 and not first["over"]
                mid = c.get(f"/api/replay/{v['session']}/{g['num_moves'] // 2}").json()
                assert mid["ply"] == g["num_moves"] // 2
                assert c.get(f"/api/replay/{v['session']}/{g['num_moves'] + 1}").status_code == 400
        r = c.post("/api/replay", json={"tournament": "go5", "pairing": "x", "index": 0})
        assert r.status_code == 400 and "no game" in r.json()["detail"]
    assert _snapshot(store.parent) == before  # same files, same bytes: nothing written, no side files


def test_a_foreign_or_missing_store_is_refused_and_left_alone(tmp_path, client):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00\x01not sqlite at all" * 10)
    before = _snapshot(tmp_path)
    r = client.get("/api/store/tournaments", params={"db": str(junk)})
    assert r.status_code == 400 and "not an SQLite database" in r.json()["detail"]
    r = client.get("/api/store/tournaments", params={"db": str(tmp_path / "absent.db")})
    assert r.status_code == 404 and "absent.db" in r.json()["detail"]
    assert client.get("/api/store/tournaments").status_code == 400  # no store given and no default
    assert _snapshot(tmp_path) == before


def test_sgf_upload_replays_the_game(client):
    moves = [12, 6, 18, 25, 25]
    sgf = to_sgf(5, 6.5, moves, result="B+1", black_name="alice", white_name="bob").decode()
    v = client.post("/api/replay", json={"sgf": sgf}).json()
    assert v["names"] == ["alice", "bob"] and v["num_plies"] == 5 and v["over"]
    assert v["moves"] == ["C3", "B4", "D2", "pass", "pass"] and v["komi"] == 6.5
    f2 = client.get(f"/api/replay/{v['session']}/2").json()
    assert f2["board"][12] == 1 and f2["board"][6] == 2 and f2["board"][18] == 0


# ---------------------------------------------------------------------------------------------- the page
def test_page_is_served_and_needs_nothing_from_the_network(client):
    r = client.get("/")
    assert r.status_code == 200 and "<script src=\"/static/app.js\">" in r.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for f in STATIC.iterdir():
        text = f.read_text()
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*", text)
        assert all(u == "http://www.w3.org/2000/svg" for u in urls), (f.name, urls)  # an XML namespace only
        assert "@import" not in text
    meta = client.get("/api/meta").json()
    assert "random" in meta["agents"] and "go_v0" in meta["envs"]


def test_serve_command_binds_localhost_by_default():
    from zeroleague.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.db) == ("127.0.0.1", 8000, [])
    args = build_parser().parse_args(["serve", "--port", "9001", "--db", "a.db", "--db", "b.db"])
    assert (args.port, args.db) == (9001, ["a.db", "b.db"])


# ------------------------------------------------------------------------------------ the explain contract
@pytest.mark.parametrize("env,kwargs", [("go_v0", {"board_size": 5}), ("sixnimmt_tactical_v0", {})])
def test_alphazero_explain_reports_the_search_it_played(env, kwargs):
    game = make_game(env, kwargs)
    agent = make_agent("az_uniform:sims=32,reuse=false", game, seed=0)
    m = Match(game, 9)
    for _ in range(3):
        batch = decision_batch(m, 1, True)
        exp = agent.explain(batch)[0]
        legal = np.flatnonzero(m.legal()).tolist()
        assert exp["kind"] == "alphazero" and exp["actions"] == legal
        assert sum(exp["visits"]) == 32  # a fresh tree: the simulations, all below the root
        assert sum(exp["prior"]) == pytest.approx(1.0, abs=1e-5)
        assert exp["chosen"] == legal[int(np.argmax(exp["visits"]))] == exp["pv"][0]
        np.testing.assert_array_equal(agent.last_visits[0, legal], exp["visits"])
        m.play(exp["chosen"])
