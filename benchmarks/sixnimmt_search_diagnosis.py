"""Why AlphaZero's 6 nimmt! search lost to flat Monte Carlo: measurements behind
``benchmarks/results/sixnimmt_search_diagnosis.md``.

    python benchmarks/sixnimmt_search_diagnosis.py [--positions 300] [--seed 5] [--out PATH]

Positions: deals of ``sixnimmt_v0`` played by ``closest_gap`` for both seats for 0..9 tricks (uniform), seat 0
to select. Reported:

1. Value head vs returns: the network's value (x value_scale, bullheads from here on for seat 0) against the
   mean return-to-go of 64 uniformly random rollouts and of 64 ``closest_gap`` rollouts in worlds sampled from
   seat 0's information state, and the realised return-to-go of one ``closest_gap`` playout of the true deal:
   correlations and regression slopes, per stage of the round.
2. The root: for the old default search (``rm``, 100 sims), ``puct`` at 100 sims and the shipped settings, the
   number of own cards visited, the most-visited card's share, and how often the played card is the best card of
   a 2,000-world flat Monte Carlo reference (``mcs:rollouts=2000``), with the reference's margin lost by the
   choice (its estimate of the chosen card minus its best card's).
3. Row choices: the same agreement on row-choice decisions (a row choice is an ordinary node of the search, its
   children searched in the descent's sampled world).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import zeroleague.envs as envs  # noqa: E402
from zeroleague.agents.alphazero.checkpoint import load_checkpoint  # noqa: E402
from zeroleague.agents.base import DecisionBatch  # noqa: E402
from zeroleague.agents.evaluator import Evaluator  # noqa: E402
from zeroleague.agents.registry import make_agent  # noqa: E402
from zeroleague.baselines.heuristics import CLOSEST_GAP, _choose  # noqa: E402
from zeroleague.envs.sixnimmt.engine import ROW_CHOICE  # noqa: E402

CKPT = ROOT / "checkpoints/sixnimmt/alphazero.pt"
SEARCHES = {
    "rm, 100 sims (old default)": "joint_selection=rm,sims=100,rollouts=0,c_puct=1.25",
    "puct, 100 sims": "joint_selection=puct,sims=100,rollouts=0,c_puct=1.25",
    "shipped (puct, 400 sims, 4 rollouts, c_puct 2.5)": "",
}


def closest_gap_actions(game, st) -> np.ndarray:
    actor = np.maximum(st.to_act, 0).astype(np.int64)
    hand = st.hand[np.arange(len(st)), actor]
    acts = _choose(CLOSEST_GAP, hand, st.rows, st.row_len, st.phase == ROW_CHOICE, game.max_card)
    return np.where(st.to_act >= 0, acts, -1)


def play_closest_gap(game, st, stop_at_row_choice: bool = False) -> None:
    while (st.to_act >= 0).any():
        if stop_at_row_choice and (st.phase == ROW_CHOICE).all():
            return
        acts = closest_gap_actions(game, st)
        if stop_at_row_choice:
            acts = np.where(st.phase == ROW_CHOICE, -1, acts)
        game.step(st, acts)


def positions(game, n: int, seed: int):
    """n seat-0 selection positions after 0..9 closest_gap tricks, and their trick numbers."""
    st = game.init(n, seed)
    rng = np.random.default_rng(seed)
    tricks = rng.integers(0, game.hand_size, n)
    while True:
        todo = (st.trick < tricks) & (st.to_act >= 0)
        if not todo.any():
            return st, tricks
        game.step(st, np.where(todo, closest_gap_actions(game, st), -1))


def row_choice_positions(game, n: int, seed: int):
    """Up to n row-choice positions reached by closest_gap play with a random card thrown in per deal."""
    found = []
    k = 0
    while sum(len(f) for f in found) < n and k < 20:
        st = game.init(4 * n, seed + 1000 * k)
        k += 1
        for _ in range(2 * game.hand_size):
            live = st.to_act >= 0
            if not live.any():
                break
            acts = closest_gap_actions(game, st)
            low = np.where(st.phase != ROW_CHOICE, np.argmax(game.legal_mask(st), axis=1), acts)  # lowest card
            rand = np.random.default_rng(seed + k).random(len(acts)) < 0.3
            game.step(st, np.where(live & (st.phase != ROW_CHOICE), np.where(rand, low, acts), -1))
            rc = np.flatnonzero(st.phase == ROW_CHOICE)
            if len(rc):
                found.append(game.take(st, rc))
                keep = np.flatnonzero(st.phase != ROW_CHOICE)
                st = game.take(st, keep)
                if len(st) == 0:
                    break
    allst = found[0]
    for f in found[1:]:
        allst = type(allst)(*(np.concatenate([a, b]) for a, b in zip(allst.arrays(), f.arrays(), strict=True)))
    return game.take(allst, np.arange(min(n, len(allst))))


def rollout_means(game, info, seat: int, k: int, policy: str, seed: int) -> np.ndarray:
    n = len(info)
    rep = game.take(info, np.repeat(np.arange(n), k))
    worlds = game.sample_worlds(rep, seat, np.random.default_rng(seed))
    start = game.returns(worlds)[:, seat].astype(np.float64)
    if policy == "random":
        game.random_playouts(worlds, np.random.default_rng(seed + 1).integers(0, 1 << 62, len(rep)))
    else:
        play_closest_gap(game, worlds)
    return (game.returns(worlds)[:, seat] - start).reshape(n, k).mean(axis=1)


def corr(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def slope(x, y) -> float:
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


def batch_of(game, st, seat: int, ids) -> DecisionBatch:
    players = np.full(len(st), seat, np.int64)
    info = game.information_state(st, players)
    return DecisionBatch(game, game.observe(info, players), game.legal_mask(info), players, np.asarray(ids), info)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--positions", type=int, default=300)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/sixnimmt_search_diagnosis_data.md"),
                    help="the tables (benchmarks/results/sixnimmt_search_diagnosis.md quotes them with its findings)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    game = envs.make_game("sixnimmt_v0")
    ckpt = load_checkpoint(CKPT)
    scale = ckpt.extra["value_scale"]
    ev = Evaluator(ckpt.model(), "cpu")
    st, tricks = positions(game, args.positions, args.seed)
    info = game.information_state(st, 0)
    _, v = ev.evaluate(game.observe(info, 0), game.legal_mask(info))
    v_net = np.clip(np.asarray(v, dtype=np.float64), -1, 1) * scale
    z_rand = rollout_means(game, info, 0, 64, "random", args.seed)
    z_cg = rollout_means(game, info, 0, 64, "closest_gap", args.seed)
    true = game.copy(st)
    start = game.returns(true)[:, 0].astype(np.float64)
    play_closest_gap(game, true)
    realised = game.returns(true)[:, 0] - start
    lines = [f"## 1. Value head vs returns ({args.positions} positions, seat 0 to select, seed {args.seed})\n",
             "| tricks played | n | sd net value | sd random-rollout mean | sd closest_gap-rollout mean "
             "| corr(net, closest_gap rollouts) | corr(net, realised) | corr(random rollouts, realised) "
             "| corr(closest_gap rollouts, realised) | slope realised ~ net |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, sel in (("0-3", tricks <= 3), ("4-6", (tricks >= 4) & (tricks <= 6)), ("7-9", tricks >= 7),
                      ("all", tricks >= 0)):
        a, r, c, y = v_net[sel], z_rand[sel], z_cg[sel], realised[sel]
        lines.append(f"| {name} | {sel.sum()} | {a.std():.2f} | {r.std():.2f} | {c.std():.2f} | {corr(a, c):.2f} "
                     f"| {corr(a, y):.2f} | {corr(r, y):.2f} | {corr(c, y):.2f} | {slope(a, y):.2f} |")
    lines.append("")
    # 2. root statistics and agreement with a 2,000-world flat Monte Carlo reference
    ref = make_agent("mcs:rollouts=2000", game, seed=11)
    first = np.flatnonzero(tricks <= 4)[:120]
    sub = game.take(st, first)
    expl = ref.explain(batch_of(game, sub, 0, first))
    lines += [f"## 2. Root of the search ({len(first)} positions after 0-4 tricks) vs mcs:rollouts=2000\n",
              "| search | own cards visited (mean) | top card's visit share | same card as the reference "
              "| reference margin lost (bullheads, mean) |", "|---|---:|---:|---:|---:|"]
    for label, extra in SEARCHES.items():
        agent = make_agent(f"az:{CKPT}" + ("," + extra if extra else ""), game, seed=3)
        acts = agent.act(batch_of(game, sub, 0, first))
        vis = agent.last_visits.astype(np.float64)
        visited = (vis > 0).sum(axis=1).mean()
        share = (vis.max(axis=1) / vis.sum(axis=1)).mean()
        same = np.mean([a == e["chosen"] for a, e in zip(acts, expl, strict=True)])
        lost = np.mean([max(e["margins"]) - e["margins"][e["actions"].index(int(a))]
                        for a, e in zip(acts, expl, strict=True)])
        lines.append(f"| {label} | {visited:.1f} | {share:.2f} | {same:.2f} | {lost:.2f} |")
    lines.append("")
    # 3. row choices
    rc = row_choice_positions(game, 80, args.seed)
    seats = rc.to_act.astype(np.int64)
    results = []
    for seat in (0, 1):
        idx = np.flatnonzero(seats == seat)
        if len(idx):
            results.append((seat, idx, game.take(rc, idx)))
    lines += [f"## 3. Row choices ({len(rc)} positions) vs mcs:rollouts=2000\n",
              "| search | same row as the reference | reference margin lost (bullheads, mean) |", "|---|---:|---:|"]
    for label, extra in SEARCHES.items():
        same, lost = [], []
        for seat, idx, sub_rc in results:
            agent = make_agent(f"az:{CKPT}" + ("," + extra if extra else ""), game, seed=3)
            acts = agent.act(batch_of(game, sub_rc, seat, idx))
            for a, e in zip(acts, ref.explain(batch_of(game, sub_rc, seat, idx + 10_000)), strict=True):
                same.append(a == e["chosen"])
                lost.append(max(e["margins"]) - e["margins"][e["actions"].index(int(a))])
        lines.append(f"| {label} | {np.mean(same):.2f} | {np.mean(lost):.2f} |")
    cmd = f"python benchmarks/sixnimmt_search_diagnosis.py --positions {args.positions} --seed {args.seed}"
    lines.append(f"\n    {cmd}\n")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
