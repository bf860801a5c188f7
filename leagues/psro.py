"""PSRO / fictitious self-play leagues, shaped like OpenSpiel's ``psro_v2``: an explicit loop

    population of frozen policies -> empirical payoff matrix (only the new row/column each iteration)
    -> meta-strategy (``zeroleague.leagues.nash``: "uniform" = fictitious play, "nash" = LP, "last")
    -> best response to the meta-strategy's mixture (the oracle) -> add it -> repeat.

The meta-game is symmetric zero-sum: ``payoffs[i, j]`` is member i's expected payoff against member j when
each plays both seats equally often (half the difference of their returns), so ``payoffs = -payoffs.T`` and
the diagonal is 0. The meta-strategy's *exploitability* is what the best possible response gains against it
(0 exactly at an equilibrium); each iteration records it when the league can compute it exactly, and always
``br_gain``, the new best response's payoff against the meta-strategy it answered (the oracle's own estimate,
a lower bound of the exploitability).

Leagues (what a member is, how payoffs and best responses are computed), chosen by ``PSROConfig.oracle``:

- ``"ppo"`` (``HarnessLeague``): members are agent specs (``random``, heuristics, ``ppo:PATH``); payoffs are
  played through the harness (``games_per_pairing`` games, split into chunks of ``chunk_size`` games played by
  a backend: ``LocalBackend`` or ``zeroleague.leagues.ray_backend.RayBackend``; every chunk builds its own agents from
  seeds derived from the match seed and the chunk, so results do not depend on the backend) and committed
  game by game to the SQLite ``ResultStore`` ``games.sqlite`` in the league dir, the single writer (a killed
  pairing resumes with its missing games); the oracle trains MaskablePPO (``baselines.ppo.train_ppo``) against
  the members with positive weight, weighted by the meta-strategy, into ``br_XXX/``, and adds
  ``ppo:<league_dir>/br_XXX/final.pt`` (as the league dir was given: resume from the same working directory).
- ``"exact"`` with ``matrix`` (``MatrixLeague``): a symmetric zero-sum matrix game (antisymmetric payoff
  matrix); members ``pure:i``; the oracle is the best pure strategy against the mixture (ties: lowest index);
  exploitability ``max_i (A p)_i`` for the mixture p over pure strategies.
- ``"exact"`` with ``deal`` (``DealLeague``): one small open-hand 6 nimmt! deal solved by
  ``zeroleague.envs.sixnimmt.solver``; members are deal policies (``uniform``, or ``tabular:br_XXX.json`` in the league
  dir); payoffs by exact expectation; the oracle is the exact best response to the mixture's reach-weighted
  average policy (``zeroleague.leagues.exploitability``), whose solver exploitability is the iteration's.

Persistence (league dir): ``config.json``; ``league.json`` (members, payoff matrix with null for entries not
yet computed, per-iteration records: population size, meta-strategy, exploitability, best response, br_gain,
and ``compute``: the league's cumulative compute when that meta-strategy was computed, for leagues that count
it (``HarnessLeague.compute``; null for the exact oracles); and the final meta-strategy with its compute),
rewritten atomically after every payoff entry and every best response, so a killed league resumes where it
stopped: finished iterations and payoff entries are kept, an interrupted best response is trained again from
its (deterministic) seed; ``metrics.jsonl`` logs every event.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zeroleague.envs.registry import make_env_game
from zeroleague.leagues.backends import Backend, chunk_jobs, derived_seed, make_backend, symmetric_payoff
from zeroleague.leagues.nash import META_SOLVERS, meta_strategy
from zeroleague.leagues.store import ResultStore, pairing_key

ORACLES = ("ppo", "exact")


@dataclass(frozen=True)
class PSROConfig:
    """One league. ``initial``: the first members (empty: ``random`` for "ppo", ``pure:0`` for a matrix game,
    ``uniform`` for a deal). ``ppo``: ``zeroleague.baselines.ppo.PPOConfig`` fields overridden for every best response
    (e.g. ``total_steps``). ``matrix`` / ``deal`` (``{"hands": [[...], [...]], "rows": [...], "row_choice":
    "player"}``): the game of the "exact" oracle, exactly one of them. ``iterations``: best responses to add
    (may be raised to extend a finished league)."""

    name: str = "league"
    oracle: str = "ppo"
    meta_solver: str = "nash"
    iterations: int = 4
    env_id: str = "sixnimmt_tactical_v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    initial: tuple[str, ...] = ()
    games_per_pairing: int = 200
    chunk_size: int = 50
    ppo: dict[str, Any] = field(default_factory=dict)
    matrix: tuple[tuple[float, ...], ...] | None = None
    deal: dict[str, Any] | None = None
    seed: int = 0
    device: str | None = "cpu"
    backend: str = "local"
    ray_address: str | None = None

    def __post_init__(self):
        if self.oracle not in ORACLES:
            raise ValueError(f"oracle must be one of {ORACLES}, got {self.oracle!r}")
        if self.meta_solver not in META_SOLVERS:
            raise ValueError(f"meta_solver must be one of {tuple(META_SOLVERS)}, got {self.meta_solver!r}")
        if self.oracle == "exact" and (self.matrix is None) == (self.deal is None):
            raise ValueError("the exact oracle needs exactly one of 'matrix' and 'deal'")
        if self.oracle == "ppo" and (self.matrix is not None or self.deal is not None):
            raise ValueError("'matrix' and 'deal' are for the exact oracle, not 'ppo'")
        for key, least in (("iterations", 0), ("games_per_pairing", 1), ("chunk_size", 1)):
            if getattr(self, key) < least:
                raise ValueError(f"{key} must be >= {least}, got {getattr(self, key)}")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"backend must be 'local' or 'ray', got {self.backend!r}")

    def identity(self) -> dict[str, Any]:
        """What a resumed league must share with the stored one (not the iteration count or the backend)."""
        d = json.loads(json.dumps(asdict(self)))
        for key in ("iterations", "backend", "ray_address", "device"):
            del d[key]
        return d


# ------------------------------------------------------------------------------------------------ leagues


class League(Protocol):
    """What the loop needs from a league: first members, payoffs, best responses, exact exploitability."""

    def initial_members(self) -> list[str]: ...
    def payoff(self, a: str, b: str) -> float: ...
    def best_response(self, members: list[str], weights: np.ndarray, iteration: int) -> str: ...
    def exploitability(self, members: list[str], weights: np.ndarray) -> float | None: ...


class MatrixLeague:
    """A symmetric zero-sum matrix game ``a`` (``a = -a.T``): members ``pure:i``, an exact oracle."""

    def __init__(self, a: Any):
        self.a = np.asarray(a, dtype=np.float64)
        if self.a.ndim != 2 or self.a.shape[0] != self.a.shape[1] or not np.allclose(self.a, -self.a.T):
            raise ValueError(
                f"a symmetric zero-sum matrix game needs a square antisymmetric matrix, got {self.a}"
            )

    def _index(self, member: str) -> int:
        name, _, arg = member.partition(":")
        if name != "pure" or not arg.isdigit() or int(arg) >= len(self.a):
            raise ValueError(f"matrix-game members are 'pure:0'..'pure:{len(self.a) - 1}', got {member!r}")
        return int(arg)

    def _mixture(self, members: list[str], weights: np.ndarray) -> np.ndarray:
        p = np.zeros(len(self.a))
        np.add.at(p, [self._index(m) for m in members], weights)
        return p

    def initial_members(self) -> list[str]:
        return ["pure:0"]

    def payoff(self, a: str, b: str) -> float:
        return float(self.a[self._index(a), self._index(b)])

    def best_response(self, members: list[str], weights: np.ndarray, iteration: int) -> str:
        return f"pure:{int(np.argmax(self.a @ self._mixture(members, weights)))}"

    def exploitability(self, members: list[str], weights: np.ndarray) -> float:
        return float(np.max(self.a @ self._mixture(members, weights)))


class DealLeague:
    """One open-hand 6 nimmt! deal (``zeroleague.envs.sixnimmt.solver.Deal``) with exact payoffs and oracle; best
    responses are saved as ``br_XXX.json`` tables in ``league_dir``."""

    def __init__(self, deal: Any, league_dir: str | Path):
        from zeroleague.envs.sixnimmt.solver import Deal

        self.deal = (
            deal
            if isinstance(deal, Deal)
            else Deal(
                tuple(tuple(h) for h in deal["hands"]),
                tuple((r,) if isinstance(r, int) else tuple(r) for r in deal["rows"]),
                deal.get("row_choice", "player"),
                deal.get("deck_size"),
            )
        )
        self.dir = Path(league_dir)
        self._policies: dict[str, Any] = {}

    def policy(self, member: str):
        """The deal policy of ``member`` (``uniform`` or ``tabular:FILE`` relative to the league dir)."""
        from zeroleague.leagues.exploitability import TabularPolicy, uniform_policy

        if member not in self._policies:
            name, _, arg = member.partition(":")
            if member == "uniform":
                self._policies[member] = uniform_policy
            elif name == "tabular" and arg:
                self._policies[member] = TabularPolicy.load(self.dir / arg)
            else:
                raise ValueError(f"deal-league members are 'uniform' or 'tabular:FILE', got {member!r}")
        return self._policies[member]

    def initial_members(self) -> list[str]:
        return ["uniform"]

    def payoff(self, a: str, b: str) -> float:
        from zeroleague.leagues.exploitability import expected_margin

        pa, pb = self.policy(a), self.policy(b)
        return (expected_margin(self.deal, pa, pb) - expected_margin(self.deal, pb, pa)) / 2

    def mixture_policy(self, members: list[str], weights: np.ndarray):
        """The reach-weighted average deal policy of ``members`` mixed with ``weights``."""
        from zeroleague.leagues.exploitability import average_policy

        keep = np.flatnonzero(weights > 0)
        return average_policy(
            self.deal, [self.policy(members[k]) for k in keep], weights[keep] / weights[keep].sum()
        )

    def best_response(self, members: list[str], weights: np.ndarray, iteration: int) -> str:
        from zeroleague.leagues.exploitability import best_response_policy

        avg = self.mixture_policy(members, weights)
        name = f"br_{iteration:03d}.json"
        best_response_policy(self.deal, (avg, avg)).save(self.dir / name)
        return f"tabular:{name}"

    def exploitability(self, members: list[str], weights: np.ndarray) -> float:
        from zeroleague.leagues.exploitability import exact_exploitability

        return exact_exploitability(self.deal, self.mixture_policy(members, weights))


class HarnessLeague:
    """Agent-spec members, harness payoffs through a backend (default: the one ``cfg.backend`` names) into
    the league's SQLite store, PPO oracle."""

    def __init__(self, cfg: PSROConfig, league_dir: str | Path, backend: Backend | None = None):
        self._own_backend = backend is None
        self.backend = backend or make_backend(cfg.backend, cfg.ray_address)
        self.cfg, self.dir = cfg, Path(league_dir)
        self.game = make_env_game(cfg.env_id, cfg.env_kwargs)
        self.store = ResultStore(self.dir / "games.sqlite")
        self.store.register_tournament(
            cfg.name, {"env": cfg.env_id, "env_kwargs": cfg.env_kwargs, "seed": cfg.seed}
        )

    def close(self) -> None:
        """Close the store, and the backend if this league made it (``cfg.backend``)."""
        self.store.close()
        if self._own_backend and hasattr(self.backend, "close"):
            self.backend.close()

    def initial_members(self) -> list[str]:
        return ["random"]

    def payoff(self, a: str, b: str) -> float:
        cfg, key = self.cfg, pairing_key(a, b)
        # members' checkpoints live in the league dir: seed by the key relative to it, so the same league
        # plays the same games wherever its directory is
        n, seed = cfg.games_per_pairing, derived_seed(cfg.seed, key.replace(str(self.dir), "<league>"))
        todo = set(range(n)) - self.store.stored_indices(cfg.name, key)
        if todo:
            jobs = chunk_jobs(cfg.env_id, cfg.env_kwargs, a, b, n, seed, cfg.chunk_size, todo, cfg.device)
            for records in self.backend.run(jobs):
                for rec in records:
                    self.store.add_game(cfg.name, key, self.game.env_id, rec)
        records = [r for r in self.store.games(cfg.name, key) if r.index < n]
        return symmetric_payoff(records)[0]

    def best_response(self, members: list[str], weights: np.ndarray, iteration: int) -> str:
        from zeroleague.baselines.ppo import PPOConfig, train_ppo

        keep = np.flatnonzero(weights > 0)
        base = PPOConfig(
            env_id=self.cfg.env_id,
            env_kwargs=dict(self.cfg.env_kwargs),
            opponents=tuple(members[k] for k in keep),
            opponent_weights=tuple(float(weights[k]) for k in keep),
            seed=derived_seed(self.cfg.seed, "br", iteration) % 2**31,
            device=self.cfg.device,
        )
        ppo_cfg = replace(base, **self.cfg.ppo)
        result = train_ppo(ppo_cfg, self.dir / f"br_{iteration:03d}", game=self.game)
        return f"ppo:{result['final_checkpoint']}"

    def exploitability(self, members: list[str], weights: np.ndarray) -> None:
        return None

    def compute(self) -> dict[str, Any]:
        """The league's cumulative compute, read from its dir: the best responses' training
        (``br_XXX/result.json``, ``baselines.ppo``'s accounting) plus the payoff games (environment steps = their
        moves, wall seconds = the agents' time in them; the members' network passes there are not counted, as
        PPO does not count its opponents')."""
        total: dict[str, Any] = {"env_steps": 0, "forward_samples": 0, "backward_samples": 0, "wall_s": 0.0}
        for path in sorted(self.dir.glob("br_*/result.json")):
            done = json.loads(path.read_text())["compute"]
            for k in total:
                total[k] += done[k]
        for rec in self.store.games(self.cfg.name):
            total["env_steps"] += rec.num_moves
            total["wall_s"] += rec.time_a + rec.time_b
        total["wall_s"] = round(total["wall_s"], 3)
        return {"device": str(self.cfg.device or "cpu"), **total}


def make_league(cfg: PSROConfig, league_dir: str | Path, backend: Backend | None = None) -> League:
    """The league ``cfg`` describes (see the module docstring)."""
    if cfg.oracle == "exact":
        return MatrixLeague(cfg.matrix) if cfg.matrix is not None else DealLeague(cfg.deal, league_dir)
    return HarnessLeague(cfg, league_dir, backend)


# ------------------------------------------------------------------------------------------- persistence


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


@dataclass
class LeagueState:
    """The league's progress (``league.json``): see the module docstring."""

    members: list[str]
    payoffs: list[list[float | None]]
    iterations: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None

    def matrix(self) -> np.ndarray:
        return np.array([[np.nan if v is None else v for v in row] for row in self.payoffs], dtype=np.float64)

    def add_member(self, spec: str) -> None:
        for row in self.payoffs:
            row.append(None)
        self.members.append(spec)
        self.payoffs.append([None] * len(self.members))
        self.payoffs[-1][-1] = 0.0


class _Log:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, event: str, **data: Any) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"event": event, **data}, sort_keys=True) + "\n")


def load_state(league_dir: str | Path) -> LeagueState:
    """The stored progress of the league in ``league_dir`` (FileNotFoundError if it has none)."""
    data = json.loads((Path(league_dir) / "league.json").read_text())
    return LeagueState(data["members"], data["payoffs"], data["iterations"], data.get("final"))


def run_psro(cfg: PSROConfig, league_dir: str | Path, league: League | None = None) -> LeagueState:
    """Run (or resume) the league ``cfg`` in ``league_dir`` until it has ``cfg.iterations`` best responses;
    returns the final state. ``league``: use this league object instead of ``make_league(cfg, ...)`` (tests).
    A ValueError if ``league_dir`` holds a league with another configuration."""
    out = Path(league_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path, state_path = out / "config.json", out / "league.json"
    if cfg_path.exists():
        stored = json.loads(cfg_path.read_text())
        if stored != cfg.identity():
            diff = sorted(
                k for k in stored.keys() | cfg.identity().keys() if stored.get(k) != cfg.identity().get(k)
            )
            raise ValueError(f"{str(out)!r} holds a league with another configuration (differs in {diff})")
    else:
        _write_json(cfg_path, cfg.identity())
    own = league is None
    league = league or make_league(cfg, out)
    log = _Log(out / "metrics.jsonl")
    try:
        if state_path.exists():
            state = load_state(out)
            log("resume", members=len(state.members), iterations=len(state.iterations))
        else:
            state = LeagueState([], [])
            for spec in cfg.initial or league.initial_members():
                state.add_member(spec)
            _write_json(state_path, asdict(state))
        while True:
            _fill_payoffs(state, league, state_path, log)
            m = state.matrix()
            if state.iterations and state.iterations[-1].get("br_gain") is None:
                last = state.iterations[-1]
                last["br_gain"] = float(m[len(last["meta"])][: len(last["meta"])] @ np.array(last["meta"]))
                _write_json(state_path, asdict(state))
            weights = meta_strategy(cfg.meta_solver, m)
            expl = league.exploitability(state.members, weights)
            compute = league.compute() if hasattr(league, "compute") else None
            k = len(state.iterations)
            if k >= cfg.iterations:
                state.final = {
                    "meta": weights.tolist(),
                    "exploitability": expl,
                    "population": len(state.members),
                    "compute": compute,
                }
                _write_json(state_path, asdict(state))
                log("final", **state.final)
                return state
            br = league.best_response(state.members, weights, k)
            state.add_member(br)
            state.iterations.append(
                {
                    "iteration": k,
                    "meta": weights.tolist(),
                    "exploitability": expl,
                    "best_response": br,
                    "br_gain": None,
                    "compute": compute,
                }
            )
            state.final = None
            _write_json(state_path, asdict(state))
            log("iteration", **state.iterations[-1])
    finally:
        if own and hasattr(league, "close"):
            league.close()


def _fill_payoffs(state: LeagueState, league: League, state_path: Path, log: _Log) -> None:
    """Compute every missing payoff entry (upper triangle; the lower one is its negative), saving each."""
    n = len(state.members)
    for j in range(n):
        for i in range(j):
            if state.payoffs[i][j] is None:
                v = float(league.payoff(state.members[i], state.members[j]))
                state.payoffs[i][j], state.payoffs[j][i] = v, -v
                _write_json(state_path, asdict(state))
                log("payoff", a=state.members[i], b=state.members[j], value=v)
