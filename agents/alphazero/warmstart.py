"""Warm-start records ("initialization is everything"): games of strong players, played through the match
harness, turned into supervised shards in the replay format of self-play (``obs``, ``policy``, ``value``) that
``zeroleague.agents.alphazero.train`` pre-trains on (``TrainConfig.warm_start``).

Each decision of either player becomes one sample: the observation of the acting seat, the move played as a
one-hot policy target, and the value target self-play uses (``selfplay.outcome_targets``: the return earned
from that state on, in ``value_scale`` units, clipped; a resignation is a full loss). For Go that is GNU Go
playing itself (``gnugo:level=1`` in both seats); for 6 nimmt! heuristic or search bots.

GNU Go is deterministic for a given seed, so ``random_opening = k`` makes each game open with a number of
uniformly random legal board moves (not passes) drawn in ``0..k`` per game; those moves are not recorded as
targets (they are nobody's policy). The choices come from ``(seed, game index, move number)`` alone
(``zeroleague.baselines.heuristics.counter_uniform``), so a game is the same however games are batched.

Games are written ``shard_games`` at a time to ``OUT/records_{k:04d}.npz`` (game indices ``k*shard_games ..``
of one harness match with seed ``seed``) plus ``OUT/meta.json``; existing shards are kept, so a killed run
resumes with the missing ones and ends with the same files an uninterrupted run writes.

    python -m agents.alphazero.warmstart --env go_v0 --env-kwargs '{"board_size": 9, "komi": 7.5}' \\
        --agent gnugo:level=1 --games 400 --random-opening 8 --out runs/warm_go9
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

import zeroleague.envs as envs
from zeroleague.agents.alphazero.selfplay import outcome_targets
from zeroleague.agents.base import BaseAgent, DecisionBatch
from zeroleague.agents.registry import make_agent
from zeroleague.baselines.heuristics import counter_uniform
from zeroleague.envs.core import BatchedGame


class RecordingAgent(BaseAgent):
    """Plays ``inner`` (after the random opening) and records every decision ``inner`` makes:
    ``samples[game index]`` = list of (observation, action, seat, seat's return before the move)."""

    needs_states = True

    def __init__(self, game: BatchedGame, inner, *, random_opening: int = 0, seed: int = 0):
        if random_opening < 0:
            raise ValueError(f"random_opening must be >= 0, got {random_opening!r}")
        self.game, self.inner, self.name = game, inner, f"recording({inner.name})"
        self.random_opening, self.seed = random_opening, seed
        self.samples: dict[int, list[tuple[np.ndarray, int, int, float]]] = {}
        self.moves: dict[int, int] = {}

    def reset(self, game_ids: np.ndarray) -> None:
        for g in np.asarray(game_ids).tolist():
            self.samples[int(g)], self.moves[int(g)] = [], 0
        self.inner.reset(game_ids)

    def close(self) -> None:
        self.inner.close()

    def _opening_length(self, game_ids: np.ndarray) -> np.ndarray:
        u = counter_uniform(self.seed ^ 0x0BE1, game_ids, np.zeros(len(game_ids), np.int64))
        return (u * (self.random_opening + 1)).astype(np.int64)

    def act(self, batch: DecisionBatch) -> np.ndarray:
        ids = np.asarray(batch.game_ids, dtype=np.int64)
        done = np.array([self.moves[int(g)] for g in ids], dtype=np.int64)
        board = batch.masks.copy()
        if board.shape[1] > 1 and self.game.env_id.startswith("go"):
            board[:, -1] = False  # random openings place stones, never pass
        rand = (done < self._opening_length(ids)) & board.any(axis=1)
        actions = np.empty(len(ids), dtype=np.int64)
        if rand.any():
            u = counter_uniform(self.seed, ids[rand], done[rand])
            legal = board[rand]
            k = (u * legal.sum(axis=1)).astype(np.int64)
            actions[rand] = [np.flatnonzero(row)[j] for row, j in zip(legal, k, strict=True)]
        rows = np.flatnonzero(~rand)
        if len(rows):
            states = None if batch.states is None else self.game.take(batch.states, rows)
            sub = DecisionBatch(self.game, batch.observations[rows], batch.masks[rows], batch.players[rows],
                                ids[rows], states if getattr(self.inner, "needs_states", False) else None)
            actions[rows] = self.inner.act(sub)
            before = np.asarray(self.game.returns(states), dtype=np.float64)
            for j, r in enumerate(rows.tolist()):
                seat = int(batch.players[r])
                self.samples[int(ids[r])].append((sub.observations[j].copy(), int(actions[r]), seat,
                                                  float(before[j, seat])))
        for g in ids.tolist():
            self.moves[int(g)] += 1
        return actions


def _samples(path: Path) -> int:
    """How many samples the shard ``path`` holds (reads its ``value`` member only)."""
    with np.load(path) as z:
        return int(z["value"].shape[0])


def _play_shard(game: BatchedGame, rec_a: RecordingAgent, rec_b: RecordingAgent, num_games: int, seed: int,
                indices: range, value_scale: float, parallel: int) -> dict[str, np.ndarray]:
    """The samples of games ``indices`` of the match (module docstring)."""
    from zeroleague.leagues.harness import play_match

    obs, pol, val = [], [], []

    def collect(rec) -> None:
        for recorder in {id(rec_a): rec_a, id(rec_b): rec_b}.values():
            samples = recorder.samples.pop(rec.index, [])
            val.extend(outcome_targets(rec, [(s[2], s[3]) for s in samples], value_scale))
            for o, a, _, _ in samples:
                obs.append(o)
                p = np.zeros(game.num_actions, np.float32)
                p[a] = 1.0
                pol.append(p)

    play_match(game, rec_a, rec_b, num_games=num_games, seed=seed, max_parallel=parallel, indices=indices,
               on_game=collect)
    return {"obs": np.stack(obs).astype(np.float32), "policy": np.stack(pol), "value": np.asarray(val, np.float32)}


def generate(game: BatchedGame, agent_a, agent_b, num_games: int, seed: int, out: str | Path, *,
             random_opening: int = 0, value_scale: float = 1.0, shard_games: int = 100,
             parallel: int = 64) -> dict[str, Any]:
    """Play ``num_games`` games of ``agent_a`` vs ``agent_b`` (the same object for self-play) and write their
    records as shards under ``out`` (module docstring); returns the ``meta.json`` contents."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rec_a = RecordingAgent(game, agent_a, random_opening=random_opening, seed=seed)
    rec_b = rec_a if agent_b is agent_a else RecordingAgent(game, agent_b, random_opening=random_opening,
                                                            seed=seed)
    meta = {"env_id": game.env_id, "agent_a": agent_a.name, "agent_b": agent_b.name, "games": num_games,
            "seed": seed, "random_opening": random_opening, "value_scale": value_scale,
            "shard_games": shard_games}
    meta_path = out / "meta.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        old.pop("samples", None)
        if old != meta:
            raise ValueError(f"{out} holds records of another generation ({old}); use another directory")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    for k, start in enumerate(range(0, num_games, shard_games)):
        path = out / f"records_{k:04d}.npz"
        if path.exists():
            continue
        data = _play_shard(game, rec_a, rec_b, num_games, seed, range(start, min(start + shard_games, num_games)),
                           value_scale, parallel)
        tmp = out / f"records_{k:04d}.npz.tmp"  # not *.npz: readers never see a half-written shard
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **data)
        tmp.replace(path)
    meta["samples"] = sum(_samples(p) for p in sorted(out.glob("records_*.npz")))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--env-kwargs", type=json.loads, default={})
    ap.add_argument("--agent", required=True, help="agent spec of player a (and b unless --opponent)")
    ap.add_argument("--opponent", default=None, help="agent spec of player b (default: self-play of --agent)")
    ap.add_argument("--games", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-opening", type=int, default=0)
    ap.add_argument("--value-scale", type=float, default=1.0)
    ap.add_argument("--shard-games", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    game = envs.make_game(args.env, **args.env_kwargs)
    a = make_agent(args.agent, game, seed=args.seed)
    b = a if args.opponent is None else make_agent(args.opponent, game, seed=args.seed + 1)
    try:
        meta = generate(game, a, b, args.games, args.seed, args.out, random_opening=args.random_opening,
                        value_scale=args.value_scale, shard_games=args.shard_games, parallel=args.parallel)
    finally:
        a.close()
        b.close()
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
