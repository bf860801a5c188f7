"""The FastAPI app behind ``zeroleague serve``: a JSON API and the static page (``static/``, no build step, no
CDN: it works offline).

API (every error is a 4xx JSON ``{"detail": "<one line naming the bad value>"}``; the server keeps serving):

``GET  /api/meta``                                    envs, agent names, example specs, default stores
``POST /api/play``        {env, board_size, komi, human_seat, agent, seed, explain}   a new game vs an agent
``GET  /api/play/{id}``                               the human's view
``POST /api/play/{id}/move`` {action}  ``/pass``  ``/undo``  ``/resign``  ``/hint`` {agent}
``POST /api/watch``       {env, board_size, komi, agent_a, agent_b, seed, explain, delay}
``GET  /api/watch/{id}/events``                       server-sent events: one view per decision until the end
``POST /api/watch/{id}/speed`` {delay, paused}
``GET  /api/store/tournaments?db=``  ``/api/store/pairings?db=&tournament=``  ``/api/store/games?db=&...``
``POST /api/replay``      {db, tournament, pairing, index} or {sgf}            ``GET /api/replay/{id}/{ply}``

An illegal move answers 409 with the reason and changes nothing; malformed requests 422 (FastAPI's validation,
naming the field) or 400 (a value the game or the registry refuses, with its message); an unknown session 404.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from zeroleague.leagues.store import StoreError
from zeroleague.web import storeview
from zeroleague.web.games import IllegalMove
from zeroleague.web.sessions import AgentError, PlaySession, ReplaySession, Session, WatchSession

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 64
ENV_IDS = ("go_v0", "sixnimmt_v0", "sixnimmt_tactical_v0")
EXAMPLE_SPECS = {
    "go_v0": ["random", "az_uniform:sims=64", "az:checkpoints/go9/alphazero.pt,sims=100,threads=1", "gnugo:level=1"],
    "sixnimmt_v0": ["closest_gap", "random", "mcs", "az_uniform:sims=100",
                    "az:checkpoints/sixnimmt/alphazero.pt,sims=100,threads=1"],
    "sixnimmt_tactical_v0": ["closest_gap", "random", "mcs", "az_uniform:sims=100"],
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GameSettings(_Strict):
    env: Literal["go_v0", "sixnimmt_v0", "sixnimmt_tactical_v0"] = "go_v0"
    board_size: int = Field(9, ge=2, le=25, description="Go only")
    komi: float = Field(7.5, ge=-1000, le=1000, description="Go only")
    seed: int | None = Field(None, ge=0, lt=2**62)
    explain: bool = True

    def env_kwargs(self) -> dict[str, Any]:
        return {"board_size": self.board_size, "komi": self.komi} if self.env == "go_v0" else {}


class PlayRequest(GameSettings):
    human_seat: int = Field(0, ge=0, le=1, description="0: Black / player_0, 1: White / player_1")
    agent: str = Field("random", min_length=1, max_length=500)


class WatchRequest(GameSettings):
    agent_a: str = Field("random", min_length=1, max_length=500)
    agent_b: str = Field("random", min_length=1, max_length=500)
    delay: float = Field(0.5, ge=0.0, le=10.0)


class MoveRequest(_Strict):
    action: int


class HintRequest(_Strict):
    agent: str | None = Field(None, min_length=1, max_length=500)


class SpeedRequest(_Strict):
    delay: float | None = Field(None, ge=0.0, le=10.0)
    paused: bool | None = None


class ReplayRequest(_Strict):
    db: str | None = Field(None, min_length=1, max_length=4096)
    tournament: str | None = None
    pairing: str | None = None
    index: int | None = Field(None, ge=0)
    sgf: str | None = Field(None, max_length=2_000_000)


def create_app(dbs: list[str] | None = None, device: str | None = None) -> FastAPI:
    """The app; ``dbs`` are results stores offered for replay (opened read-only), ``device`` the torch device
    of learned agents (None: cuda when available)."""
    app = FastAPI(title="zeroleague", docs_url="/api/docs", openapi_url="/api/openapi.json")
    sessions: dict[str, Session] = {}
    counter = itertools.count(1)
    default_dbs = [str(d) for d in (dbs or [])]
    app.state.sessions = sessions

    def new_id() -> str:
        return f"{next(counter)}-{secrets.token_hex(4)}"

    def add(session: Session) -> Session:
        while len(sessions) >= MAX_SESSIONS:  # forget the least recently used
            old = min(sessions.values(), key=lambda s: s.touched)
            sessions.pop(old.id).close()
        sessions[session.id] = session
        return session

    def get(sid: str, kind: type) -> Any:
        s = sessions.get(sid)
        if not isinstance(s, kind):
            raise HTTPException(404, f"no {kind.kind} session {sid!r} (the server may have restarted)")
        s.touched = time.monotonic()
        return s

    def seed_of(req: GameSettings) -> int:
        return int(req.seed) if req.seed is not None else secrets.randbelow(2**31)

    @app.exception_handler(IllegalMove)
    async def _illegal(request: Request, exc: IllegalMove):
        return JSONResponse({"detail": str(exc), "illegal": True}, status_code=409)

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, exc: ValueError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(AgentError)
    async def _agent_failed(request: Request, exc: AgentError):
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(FileNotFoundError)
    async def _missing(request: Request, exc: FileNotFoundError):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # ------------------------------------------------------------------------------------------------ page
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/meta")
    def meta():
        from zeroleague.agents.registry import agent_names

        return {"envs": list(ENV_IDS), "agents": agent_names(), "examples": EXAMPLE_SPECS, "dbs": default_dbs,
                "board_sizes": [9, 13, 19]}

    # ------------------------------------------------------------------------------------------------ play
    @app.post("/api/play")
    def play_new(req: PlayRequest):
        s = PlaySession(new_id(), req.env, req.env_kwargs(), req.human_seat, req.agent, seed_of(req),
                        explain=req.explain, device=device)
        add(s)
        return s.view()

    @app.get("/api/play/{sid}")
    def play_view(sid: str):
        return get(sid, PlaySession).view()

    def _locked(sid: str, fn) -> dict:
        s = get(sid, PlaySession)
        with s.lock:
            fn(s)
            return s.view()

    @app.post("/api/play/{sid}/move")
    def play_move(sid: str, req: MoveRequest):
        return _locked(sid, lambda s: s.move(req.action))

    @app.post("/api/play/{sid}/pass")
    def play_pass(sid: str):
        return _locked(sid, lambda s: s.pass_move())

    @app.post("/api/play/{sid}/undo")
    def play_undo(sid: str):
        return _locked(sid, lambda s: s.undo())

    @app.post("/api/play/{sid}/resign")
    def play_resign(sid: str):
        return _locked(sid, lambda s: s.resign())

    @app.post("/api/play/{sid}/hint")
    def play_hint(sid: str, req: HintRequest | None = None):
        return _locked(sid, lambda s: s.make_hint(req.agent if req else None))

    # ----------------------------------------------------------------------------------------------- watch
    @app.post("/api/watch")
    def watch_new(req: WatchRequest):
        s = WatchSession(new_id(), req.env, req.env_kwargs(), req.agent_a, req.agent_b, seed_of(req),
                         explain=req.explain, delay=req.delay, device=device)
        add(s)
        return s.view()

    @app.get("/api/watch/{sid}")
    def watch_view(sid: str):
        return get(sid, WatchSession).view()

    @app.post("/api/watch/{sid}/speed")
    def watch_speed(sid: str, req: SpeedRequest):
        s = get(sid, WatchSession)
        if req.delay is not None:
            s.delay = float(req.delay)
        if req.paused is not None:
            s.paused = bool(req.paused)
        return {"delay": s.delay, "paused": s.paused}

    @app.get("/api/watch/{sid}/events")
    async def watch_events(sid: str, request: Request):
        s = get(sid, WatchSession)

        def advance() -> dict:
            with s.lock:
                s.step()
                return s.view()

        async def stream():
            yield _sse(s.view())
            while not (s.match.over or s.error):
                waited = 0.0
                while s.paused or waited < s.delay:  # re-read: the page may change the speed meanwhile
                    if await request.is_disconnected():
                        return
                    await asyncio.sleep(0.05)
                    waited += 0.05
                view = await run_in_threadpool(advance)
                yield _sse(view)
            yield "event: end\ndata: {}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # ---------------------------------------------------------------------------------------------- replay
    def db_path(db: str | None) -> str:
        if db:
            return db
        if default_dbs:
            return default_dbs[0]
        raise ValueError("no results store given (db=PATH; or start the server with --db PATH)")

    @app.get("/api/store/tournaments")
    def store_tournaments(db: str | None = None):
        return {"db": db_path(db), "tournaments": storeview.tournaments(db_path(db))}

    @app.get("/api/store/pairings")
    def store_pairings(tournament: str, db: str | None = None):
        return {"pairings": storeview.pairings(db_path(db), tournament)}

    @app.get("/api/store/games")
    def store_games(tournament: str, pairing: str, db: str | None = None):
        return {"games": storeview.games(db_path(db), tournament, pairing)}

    @app.post("/api/replay")
    def replay_new(req: ReplayRequest):
        if req.sgf is not None:
            if req.tournament is not None or req.pairing is not None or req.index is not None:
                raise ValueError("give either sgf or (db, tournament, pairing, index), not both")
            match, title = storeview.load_sgf(req.sgf)
        else:
            missing = [k for k in ("tournament", "pairing", "index") if getattr(req, k) is None]
            if missing:
                raise ValueError(f"a stored game needs {', '.join(missing)} (or give sgf)")
            match, title = storeview.load_game(db_path(req.db), req.tournament, req.pairing, req.index)
        s = add(ReplaySession(new_id(), match, title))
        return s.frame(len(match.actions))

    @app.get("/api/replay/{sid}/{ply}")
    def replay_frame(sid: str, ply: int):
        return get(sid, ReplaySession).frame(ply)

    return app


def _sse(view: dict) -> str:
    return f"data: {json.dumps(view, separators=(',', ':'))}\n\n"


def serve(host: str = "127.0.0.1", port: int = 8000, dbs: list[str] | None = None, device: str | None = None,
          log_level: str = "info") -> None:
    """Run the app with uvicorn until interrupted (``zeroleague serve``)."""
    import sys

    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"zeroleague serve: listening on {host}: anyone who can reach it can start agents on this machine",
              file=sys.stderr)
    uvicorn.run(create_app(dbs=dbs, device=device), host=host, port=port, log_level=log_level)
