"""Tournaments from a TOML file: round robin or gauntlet, resumable, rated, tabulated and plotted.

A file holds one tournament (its keys at top level) or several (``[[tournament]]`` tables)::

    name = "sixnimmt_heuristics"       # the key under which its games are stored
    env = "sixnimmt_v0"                # a registered id, or "package.module:factory" returning a BatchedGame
    env_kwargs = {}                    # keyword arguments of the env
    format = "round_robin"             # or "gauntlet": each of `challengers` plays every other agent
    challengers = []                   # gauntlet only: agent specs (must be listed in agents)
    games_per_pairing = 200            # seats alternate: agent_a is seat 0 in even-numbered games
    seed = 0                           # game i of every pairing is dealt from (seed, i): common deals
    max_parallel = 256                 # games per chunk (played in lockstep; see Running)
    db = "results/tournaments.sqlite"  # the SQLite results store (shared by tournaments of different names)
    out = "results/<name>"             # tables and plots
    anchor = "random"                  # rated 0; must be one of the agents (default: random if playing, else
                                       # the ratings are centred)
    bootstrap = 1000                   # resamples for the 95% intervals
    sgf = false                        # Go: write every game as SGF under out/sgf/<pairing>/

    [[agents]]
    spec = "random"
    [[agents]]
    spec = "gnugo:level=1"
    optional = true                    # skipped with a message if it cannot be built (e.g. GNU Go missing)

Running: every agent is first built once in this process (an optional one that fails is skipped; a required one
raises) and closed again. Each pairing's games not yet in the store are split into chunks of ``max_parallel`` games
(game i in chunk ``i // max_parallel``: ``zeroleague.leagues.backends.chunk_jobs`` with the tournament seed as the
match seed, so game i of every pairing has the same deal), and the chunks of all pairings go to a backend
(``zeroleague.leagues.backends.LocalBackend``: in this process, one after another;
``zeroleague.leagues.ray_backend.RayBackend``: Ray tasks). A chunk builds its own two agents, seeded
``agent_seed(seed, spec)`` (``zeroleague.leagues.backends.play_chunk``), and every agent keys its draws by (seed,
game, seat, decision index), so the games — moves of stochastic agents included — are the same whichever backend
plays them, in whatever order chunks finish, whatever ``max_parallel``, and after a kill and resume. This process
alone writes the store: each game of a returned chunk is committed at once (one transaction), so a killed run
resumed with the same file plays only the missing games and ends with exactly ``games_per_pairing`` per pairing (at
most the chunks in flight are replayed). Go SGF files are written here from the returned records. Ratings use the
stored games of the planned pairings with index < ``games_per_pairing``.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from zeroleague.agents.registry import check_spec, make_agent
from zeroleague.envs.core import BatchedGame
from zeroleague.envs.registry import make_env_game
from zeroleague.leagues.backends import Backend, LocalBackend, agent_seed, chunk_jobs
from zeroleague.leagues.harness import write_sgf
from zeroleague.leagues.ratings import Ratings, fit_ratings, outcomes_from_records
from zeroleague.leagues.store import ResultStore, pairing_key


@dataclass(frozen=True)
class AgentEntry:
    spec: str
    optional: bool = False


@dataclass(frozen=True)
class TournamentConfig:
    """One tournament (see the module docstring for the meaning of each field)."""

    name: str
    env: str
    agents: tuple[AgentEntry, ...]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    format: str = "round_robin"
    challengers: tuple[str, ...] = ()
    games_per_pairing: int = 100
    seed: int = 0
    max_parallel: int = 256
    db: str = "results/tournaments.sqlite"
    out: str = ""
    anchor: str | None = None
    bootstrap: int = 1000
    sgf: bool = False

    def __post_init__(self):
        self._check_types()
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ValueError(f"tournament name must be letters, digits, '_', '-' or '.', got {self.name!r}")
        if self.format not in ("round_robin", "gauntlet"):
            raise ValueError(
                f"tournament {self.name!r}: format must be 'round_robin' or 'gauntlet', got {self.format!r}"
            )
        specs = [a.spec for a in self.agents]
        blank = [s for s in specs if not s or s != s.strip()]
        if blank:
            raise ValueError(
                f"tournament {self.name!r}: agent specs must be non-empty, without surrounding spaces: {blank}"
            )
        if len(set(specs)) != len(specs):
            raise ValueError(f"tournament {self.name!r}: agent specs listed twice in {specs}")
        missing = [c for c in self.challengers if c not in specs]
        if missing:
            raise ValueError(f"tournament {self.name!r}: challengers {missing} are not among its agents")
        if self.format == "gauntlet" and not self.challengers:
            raise ValueError(f"tournament {self.name!r}: a gauntlet needs challengers")
        for key in ("games_per_pairing", "max_parallel"):
            if getattr(self, key) < 1:
                raise ValueError(f"tournament {self.name!r}: {key} must be >= 1, got {getattr(self, key)}")
        if self.bootstrap < 0:
            raise ValueError(f"tournament {self.name!r}: bootstrap must be >= 0 (resamples), got {self.bootstrap}")
        if len(specs) < 2:
            raise ValueError(f"tournament {self.name!r}: needs at least two agents, got {specs}")
        if self.anchor is not None and self.anchor not in specs:
            raise ValueError(f"tournament {self.name!r}: anchor {self.anchor!r} is not one of its agents {specs}")
        if not self.out:
            object.__setattr__(self, "out", f"results/{self.name}")

    def _check_types(self) -> None:
        """A ValueError naming the field and value of the wrong type (e.g. ``games_per_pairing = "ten"``)."""
        want = {"name": str, "env": str, "format": str, "db": str, "out": str, "env_kwargs": dict,
                "games_per_pairing": int, "seed": int, "max_parallel": int, "bootstrap": int, "sgf": bool}
        words = {str: "a string", dict: "a table", int: "an integer", bool: "true or false"}
        for key, t in want.items():
            v = getattr(self, key)
            if not isinstance(v, t) or (t is int and isinstance(v, bool)):
                raise ValueError(f"tournament {self.name!r}: {key} must be {words[t]}, got {v!r}")
        if self.anchor is not None and not isinstance(self.anchor, str):
            raise ValueError(f"tournament {self.name!r}: anchor must be an agent spec (a string), got {self.anchor!r}")
        if not isinstance(self.challengers, tuple) or not all(isinstance(c, str) for c in self.challengers):
            raise ValueError(f"tournament {self.name!r}: challengers must be a list of agent specs, got "
                             f"{self.challengers!r}")
        if not all(isinstance(a, AgentEntry) and isinstance(a.spec, str) for a in self.agents):
            raise ValueError(f"tournament {self.name!r}: agents must be agent specs, got {self.agents!r}")

    def identity(self) -> dict[str, Any]:
        """What decides the games' deals and seats: bound to the name in the store."""
        return {"env": self.env, "env_kwargs": self.env_kwargs, "seed": self.seed}


def _parse_one(table: dict[str, Any], where: str) -> TournamentConfig:
    known = {f.name for f in fields(TournamentConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known keys: {sorted(known)}")
    for key in ("name", "env", "agents"):
        if key not in table:
            raise ValueError(f"{where}: missing key {key!r}")
    if not isinstance(table["agents"], list):
        raise ValueError(f"{where}: agents must be a list of agent specs (e.g. [\"random\", \"closest_gap\"]), "
                         f"got {table['agents']!r}")
    challengers = table.get("challengers", [])
    if not isinstance(challengers, list):
        raise ValueError(f"{where}: challengers must be a list of agent specs, got {challengers!r}")
    agents = []
    for a in table["agents"]:
        if isinstance(a, str):
            a = {"spec": a}
        if (not isinstance(a, dict) or set(a) - {"spec", "optional"} or not isinstance(a.get("spec"), str)
                or not isinstance(a.get("optional", False), bool)):
            raise ValueError(
                f"{where}: each agent is a spec string or a table with 'spec' [and 'optional'], got {a!r}"
            )
        agents.append(AgentEntry(a["spec"], a.get("optional", False)))
    try:
        return TournamentConfig(**{**table, "agents": tuple(agents), "challengers": tuple(challengers)})
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file ``path`` as a dict; a ValueError naming the file for a missing path, a directory or a
    syntax error."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file" if not path.exists() else f"{path} is not a file")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: TOML syntax error: {e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text file ({e.reason})") from None


def load_config(path: str | Path) -> list[TournamentConfig]:
    """The tournaments of the TOML file ``path`` (one at top level, or a ``[[tournament]]`` list)."""
    data = read_toml(path)
    if "tournament" in data:
        if set(data) != {"tournament"}:
            raise ValueError(f"{path}: with [[tournament]] tables no other top-level keys are allowed")
        return [_parse_one(t, f"{path} [[tournament]] #{k + 1}") for k, t in enumerate(data["tournament"])]
    return [_parse_one(data, str(path))]


def checked_game(env: str, env_kwargs: dict[str, Any], where: str = "") -> BatchedGame:
    """``make_env_game(env, env_kwargs)``, with a bad env id or kwarg (unknown, or a value the game refuses)
    reported as one ValueError naming it (and ``where``, e.g. the config file)."""
    prefix = f"{where}: " if where else ""
    if not isinstance(env_kwargs, dict):
        raise ValueError(f"{prefix}env_kwargs must be a table of keyword arguments, got {env_kwargs!r}")
    try:
        return make_env_game(env, env_kwargs)
    except (TypeError, ValueError, KeyError, ImportError, AttributeError) as e:
        msg = (str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)) or type(e).__name__
        if isinstance(e, TypeError) and "unexpected keyword argument" in msg:
            bad = msg.split("unexpected keyword argument")[-1].strip(" '\"")
            msg = f"unknown env kwarg {bad!r}"
        raise ValueError(f"{prefix}env {env!r} with kwargs {env_kwargs!r}: {msg}") from None


def check_tournament(cfg: TournamentConfig, where: str = "") -> BatchedGame:
    """Everything about ``cfg`` that can be checked before a game is played and without touching a file: the
    env and its kwargs, the required agents' specs (name, game, parameter names and types), the database path
    (not a directory). Returns the game; a ValueError naming the bad value otherwise."""
    where = where or f"tournament {cfg.name!r}"
    game = checked_game(cfg.env, cfg.env_kwargs, where)
    if game.num_players != 2:
        raise ValueError(f"{where}: tournaments play two-player games; {cfg.env!r} with {cfg.env_kwargs!r} has "
                         f"{game.num_players} players")
    for entry in cfg.agents:
        if not entry.optional:
            try:
                check_spec(entry.spec, game)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
    db = Path(cfg.db)
    if db.is_dir():
        raise ValueError(f"{where}: db {cfg.db!r} is a directory, not a results file")
    if any(parent.exists() and not parent.is_dir() for parent in db.parents):
        raise ValueError(f"{where}: db {cfg.db!r} lies under a file, not a directory")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{where}: out {cfg.out!r} is a file, not a directory")
    return game


def pairings(cfg: TournamentConfig, available: list[str]) -> list[tuple[str, str]]:
    """(agent_a, agent_b) pairs to play among the ``available`` specs, in config order."""
    if cfg.format == "round_robin":
        return [(a, b) for i, a in enumerate(available) for b in available[i + 1 :]]
    return [
        (c, o)
        for c in cfg.challengers
        if c in available
        for o in available
        if o != c and not (o in cfg.challengers and cfg.challengers.index(o) < cfg.challengers.index(c))
    ]


@dataclass
class TournamentResult:
    config: TournamentConfig
    ratings: Ratings | None
    table_path: Path | None
    plot_paths: list[Path]
    skipped_agents: list[str]
    games_played: int
    """Games this process played and stored (not those another writer stored first)."""
    games_total: int = 0
    """Games of the planned pairings in the store now."""


def run_tournament(
    cfg: TournamentConfig,
    *,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    backend: Backend | None = None,
) -> TournamentResult:
    """Play (or resume) ``cfg``, rate, and write ``ratings.md``/``.csv``, ``pairings.csv`` and the plots.

    ``backend``: plays the chunks (module docstring; default ``LocalBackend()``); the caller keeps ownership
    (a ``RayBackend`` is not closed here). ``device``: where the chunks' learned agents run."""
    from tqdm import tqdm


    backend = backend or LocalBackend()
    game = check_tournament(cfg)
    available, skipped = [], []
    for entry in cfg.agents:
        try:
            make_agent(entry.spec, game, seed=agent_seed(cfg.seed, entry.spec), device=device).close()
        except Exception as e:
            if not entry.optional:
                raise
            skipped.append(entry.spec)
            log(f"[{cfg.name}] skipping optional agent {entry.spec!r}: {type(e).__name__}: {e}")
            continue
        available.append(entry.spec)
    plan = pairings(cfg, available)
    out = Path(cfg.out)
    if not plan:
        log(f"[{cfg.name}] nothing to play: fewer than two agents available ({available})")
        return TournamentResult(cfg, None, None, [], skipped, 0)
    n = cfg.games_per_pairing
    played = 0
    with ResultStore(cfg.db) as store:
        store.register_tournament(cfg.name, cfg.identity())
        jobs = []
        for a, b in plan:
            todo = set(range(n)) - store.stored_indices(cfg.name, pairing_key(a, b))
            if todo:
                jobs += chunk_jobs(cfg.env, cfg.env_kwargs, a, b, n, cfg.seed, cfg.max_parallel, todo, device,
                                   cfg.max_parallel)
        total = len(plan) * n
        bar = tqdm(
            total=total,
            initial=total - sum(len(job.indices) for job in jobs),
            desc=cfg.name,
            unit="game",
            disable=not progress,
        )
        for records in backend.run(jobs):
            for rec in records:
                key = pairing_key(rec.agent_a, rec.agent_b)  # an agent's name is its spec (make_agent)
                played += store.add_game(cfg.name, key, game.env_id, rec)
                if cfg.sgf:
                    sgf_dir = out / "sgf" / re.sub(r"[^A-Za-z0-9_.=-]+", "_", key)
                    sgf_dir.mkdir(parents=True, exist_ok=True)
                    write_sgf(game, rec, sgf_dir)
            bar.update(len(records))
        bar.close()
        records = [r for p in plan for r in store.games(cfg.name, pairing_key(*p)) if r.index < n]
        summary = [
            s
            for s in store.pairing_summary(cfg.name, below=n)
            if s["pairing"] in {pairing_key(*p) for p in plan}
        ]
    anchor = cfg.anchor if cfg.anchor is not None else ("random" if "random" in available else None)
    if anchor is not None and anchor not in available:
        log(f"[{cfg.name}] anchor {anchor!r} was skipped: ratings are centred instead")
    ratings = fit_ratings(
        outcomes_from_records(records),
        players=available,
        anchor=anchor,
        bootstrap=cfg.bootstrap,
        seed=cfg.seed,
    )
    table, plots = _write_outputs(cfg, game, ratings, summary, out)
    return TournamentResult(cfg, ratings, table, plots, skipped, played, len(records))


def _write_outputs(
    cfg: TournamentConfig, game: BatchedGame, ratings: Ratings, summary: list[dict], out: Path
):
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Tournament `{cfg.name}`",
        "",
        f"{game.env_id} {cfg.env_kwargs or ''}, {cfg.format.replace('_', ' ')}, "
        f"{cfg.games_per_pairing} games per pairing (seats alternate), seed {cfg.seed}.",
        "",
        ratings.to_markdown(),
        "## Pairings",
        "",
        "| agent_a | agent_b | games | distinct games | +a | = | -a | a's score | moves/game | s/game a | s/game b |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        rate = (s["wins"] + s["draws"] / 2) / s["games"]
        lines.append(
            f"| `{s['agent_a']}` | `{s['agent_b']}` | {s['games']} | {s['distinct']} | {s['wins']} | {s['draws']} | "
            f"{s['losses']} | {rate:.3f} | {s['moves']:.1f} | {s['time_a']:.2e} | {s['time_b']:.2e} |"
        )
    table = out / "ratings.md"
    table.write_text("\n".join(lines) + "\n")
    ratings.write_csv(out / "ratings.csv")
    with open(out / "pairings.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    plots = ratings.plot(out, title=f"{cfg.name} ({game.env_id})")
    return table, plots


def with_overrides(
    cfg: TournamentConfig, *, games: int | None = None, db: str | None = None, out_root: str | None = None
) -> TournamentConfig:
    """``cfg`` with the command line's overrides: games per pairing, the database, and ``out_root/<name>``."""
    changes: dict[str, Any] = {}
    if games is not None:
        changes["games_per_pairing"] = games
    if db is not None:
        changes["db"] = db
    if out_root is not None:
        changes["out"] = str(Path(out_root) / cfg.name)
    return replace(cfg, **changes)
