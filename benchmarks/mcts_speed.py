"""MCTS speed on Go 9x9 (komi 7.5): our batched search (``zeroleague.agents.alphazero.puct``) against OpenSpiel's Python
``open_spiel.python.algorithms.mcts.MCTSBot`` in the same run, both with an equally trivial evaluator (uniform
prior over the legal actions, value 0; OpenSpiel's with PUCT selection, ``solve=False``), and with real networks
on the CPU.

* Trivial evaluator: simulations per second, from the empty board and from a mid-game position (30 seeded
  random stones, replayed in OpenSpiel by vertex name), for our search at several (B, L) settings: B copies of
  the position searched at once, L leaves per game per wave (``MCTSConfig.leaves_per_wave``; L > 1 batches
  leaves within one tree under virtual loss, so one game fills an evaluator batch), and for MCTSBot (one search
  at a time, one leaf per simulation). Our time is split into engine calls (``take``, ``step``, ``legal_mask``,
  ``observe``, ...: timed through a proxy of the game), evaluator and the rest (tree: numba selection/backup
  plus orchestration); the tree-only rate counts that last share alone. The split comes from separate searches
  through the proxies; the rates from plain ones. Targets (issue #19): B = 1 >= 5x (with leaf batching), B = 64
  >= 15x.
* Networks on the CPU, ``--net-threads`` torch threads: the shipped 9x9 net (``checkpoints/go9/alphazero.pt``)
  searching one game (B = 1) with L = 1 (one network call per simulation, the search as the agents ran it
  before) and with leaf batching; and a small ResNet at B = 64 (the share of search time outside the network's
  forward passes, target <= 25%).

Medians of ``--repeats`` runs after a warm-up (numba compilation excluded). Every search of ours is timed
between two MCTSBot searches of the same position, and its ratio is taken to their mean; a ratio in the table is
the median of those paired ratios (the machine's load may drift).

    python benchmarks/mcts_speed.py [--sims 200] [--configs 1x1,1x8,1x32,16x1,64x1,256x1] [--repeats 5]

Writes benchmarks/results/mcts_speed.md and mcts_speed.png.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from zeroleague.agents.alphazero.network import NetConfig, build_network  # noqa: E402
from zeroleague.agents.alphazero.search import make_search  # noqa: E402
from zeroleague.agents.alphazero.tree import MCTSConfig, uniform_evaluate  # noqa: E402
from zeroleague.agents.evaluator import Evaluator  # noqa: E402
from zeroleague.envs.go.engine import COLUMNS, GoGame  # noqa: E402


@dataclass(frozen=True)
class BenchConfig:
    board_size: int = 9
    komi: float = 7.5
    sims: int = 200
    configs: tuple[tuple[int, int], ...] = ((1, 1), (1, 8), (1, 32), (16, 1), (64, 1), (256, 1))  # (B, L)
    repeats: int = 5
    midgame_stones: int = 30
    seed: int = 0
    net_path: str = "checkpoints/go9/alphazero.pt"
    net_configs: tuple[tuple[int, int], ...] = ((1, 1), (1, 8), (1, 32))  # the shipped net, (B, L)
    net_sims: int = 200
    net_threads: int = 1
    small_blocks: int = 4
    small_channels: int = 32
    small_batch: int = 64
    small_sims: int = 50
    agree_positions: int = 64  # leaf batching's effect on the chosen move (shipped net)
    agree_plies: int = 20


TARGETS = {1: 5.0, 64: 15.0}  # B -> ours / OpenSpiel (B = 1 with leaf batching, L > 1)


class TimedGame:
    """A proxy of a BatchedGame that accumulates the seconds spent in each engine method."""

    _METHODS = ("init", "current_player", "legal_mask", "observe", "step", "terminal", "truncated", "returns",
                "copy", "take")

    def __init__(self, game):
        self._game = game
        self.seconds: dict[str, float] = defaultdict(float)

    def __getattr__(self, name):
        attr = getattr(self._game, name)
        if name not in self._METHODS:
            return attr

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return timed


class TimedEvaluate:
    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, obs, masks):
        t0 = time.perf_counter()
        try:
            return self.fn(obs, masks)
        finally:
            self.seconds += time.perf_counter() - t0


def midgame_actions(game: GoGame, stones: int, seed: int) -> list[int]:
    """``stones`` seeded uniformly random non-pass legal moves from the empty board."""
    rng = np.random.default_rng(seed)
    st = game.init(1, 0)
    out = []
    for _ in range(stones):
        legal = np.flatnonzero(game.legal_mask(st)[0, :-1])
        a = int(rng.choice(legal))
        game.step(st, np.array([a]))
        out.append(a)
    return out


def ours(game: GoGame, actions: list[int], batch: int, sims: int, evaluate, repeats: int, leaves: int = 1) -> dict:
    """Median sims/s of our search on ``batch`` copies of the position (plain searches; ``leaves`` per game per
    wave), with the time split measured in separate searches through the timing proxies (whose own overhead
    would lower the rate)."""
    cfg = MCTSConfig(num_simulations=sims, leaves_per_wave=leaves)
    st = game.init(batch, 0)
    for a in actions:
        game.step(st, np.full(batch, a))
    runs = []
    for rep in range(repeats + 1):
        t0 = time.perf_counter()
        make_search(game, evaluate, cfg).search(st)
        plain = time.perf_counter() - t0
        tg, te = TimedGame(game), TimedEvaluate(evaluate)
        t0 = time.perf_counter()
        make_search(tg, te, cfg).search(st)
        total = time.perf_counter() - t0
        if rep:  # the first run is the warm-up
            engine = sum(tg.seconds.values())
            rest = total - engine - te.seconds
            runs.append({"sims_per_s": batch * sims / plain, "tree_sims_per_s": batch * sims / rest,
                         "engine": engine / total, "eval": te.seconds / total, "tree": rest / total,
                         "legal_mask": tg.seconds["legal_mask"] / total})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def openspiel(board_size: int, komi: float, actions: list[int], sims: int, repeats: int) -> float | None:
    """Median sims/s of OpenSpiel's MCTSBot (trivial evaluator) from the same position; None if not
    installed."""
    try:
        import pyspiel
        from open_spiel.python.algorithms import mcts
    except ImportError:
        return None

    class Trivial(mcts.Evaluator):
        def evaluate(self, state):
            return np.zeros(state.num_players())

        def prior(self, state):
            legal = state.legal_actions(state.current_player())
            return [(a, 1.0 / len(legal)) for a in legal]

    game = pyspiel.load_game("go", {"board_size": board_size, "komi": komi})
    state = game.new_initial_state()
    for a in actions:  # by vertex name: OpenSpiel's row 0 is the bottom line
        r, c = divmod(a, board_size)
        vertex = f"{COLUMNS[c]}{board_size - r}".lower()
        by_name = {state.action_to_string(x).split()[-1].lower(): x for x in state.legal_actions()}
        state.apply_action(by_name[vertex])
    bot = mcts.MCTSBot(game, 1.25, sims, Trivial(), solve=False, random_state=np.random.RandomState(0),
                       child_selection_fn=mcts.SearchNode.puct_value)
    rates = []
    for rep in range(repeats + 1):
        t0 = time.perf_counter()
        bot.mcts_search(state)
        if rep:
            rates.append(sims / (time.perf_counter() - t0))
    return statistics.median(rates)


def measure(cfg: BenchConfig) -> tuple[list[dict], list[dict]]:
    game = GoGame(board_size=cfg.board_size, komi=cfg.komi)
    mid = f"mid-game ({cfg.midgame_stones} stones)"
    positions = {"empty board": [], mid: midgame_actions(game, cfg.midgame_stones, cfg.seed)}
    rows = []
    for label, actions in positions.items():
        # every measurement of ours sits between two of MCTSBot (same position) and its ratio is taken to their
        # mean: robust to the load drifting on a shared machine
        refs, runs, ratios = [], {c: [] for c in cfg.configs}, {c: [] for c in cfg.configs}
        for _ in range(cfg.repeats):
            for b, leaves in cfg.configs:
                before = openspiel(cfg.board_size, cfg.komi, actions, cfg.sims, 1)
                got = ours(game, actions, b, cfg.sims, uniform_evaluate, 1, leaves)
                after = openspiel(cfg.board_size, cfg.komi, actions, cfg.sims, 1)
                runs[(b, leaves)].append(got)
                if before is not None:
                    ref = (before + after) / 2
                    refs.append(ref)
                    ratios[(b, leaves)].append({k: got[k] / ref for k in ("sims_per_s", "tree_sims_per_s")})
        ref = statistics.median(refs) if refs else None
        for b, leaves in cfg.configs:
            got = runs[(b, leaves)]
            r = {k: statistics.median(x[k] for x in got) for k in got[0]}
            paired = {k: statistics.median(x[k] for x in ratios[(b, leaves)]) if refs else None
                      for k in ("sims_per_s", "tree_sims_per_s")}
            rows.append({"position": label, "batch": b, "leaves": leaves, **r, "openspiel": ref,
                         "ratio": paired["sims_per_s"], "tree_ratio": paired["tree_sims_per_s"],
                         "n": len(got)})
    import torch

    from zeroleague.agents.alphazero.checkpoint import load_checkpoint

    torch.set_num_threads(cfg.net_threads)
    torch.manual_seed(cfg.seed)
    nets = []
    shipped = Evaluator(load_checkpoint(ROOT / cfg.net_path).model(), "cpu")
    runs = {c: [] for c in cfg.net_configs}
    for _ in range(max(1, cfg.repeats // 2)):  # interleaved, like the trivial-evaluator rows
        for b, leaves in cfg.net_configs:
            runs[(b, leaves)].append(ours(game, positions[mid], b, cfg.net_sims, shipped.evaluate, 1, leaves))
    for (b, leaves), got in runs.items():
        r = {k: statistics.median(x[k] for x in got) for k in got[0]}
        nets.append({"net": f"shipped 9x9 net ({cfg.net_path})", "batch": b, "leaves": leaves,
                     "sims": cfg.net_sims, **r, "outside": 1.0 - r["eval"], "n": len(got)})
    net_cfg = NetConfig(kind="resnet", in_channels=game.obs_shape[0], board_size=cfg.board_size,
                        blocks=cfg.small_blocks, channels=cfg.small_channels)
    small = Evaluator(build_network(net_cfg), "cpu")
    got = [ours(game, positions[mid], cfg.small_batch, cfg.small_sims, small.evaluate, 1)
           for _ in range(max(1, cfg.repeats // 2))]
    r = {k: statistics.median(x[k] for x in got) for k in got[0]}
    nets.append({"net": f"ResNet {cfg.small_blocks} blocks x {cfg.small_channels} channels (random weights)",
                 "batch": cfg.small_batch, "leaves": 1, "sims": cfg.small_sims, **r, "outside": 1.0 - r["eval"],
                 "n": len(got)})
    nets_agree = agreement(cfg, game, shipped)
    return rows, nets + nets_agree


def agreement(cfg: BenchConfig, game: GoGame, evaluator) -> list[dict]:
    """How often the most-visited move of a leaf-batched search (L > 1, virtual loss) equals the one-leaf
    search's (L = 1), shipped net, ``agree_positions`` seeded positions after ``agree_plies`` random non-pass
    moves, ``net_sims`` simulations; with a 95% Wilson interval. Searched all at once (B = positions): each
    game's tree is independent of the others'."""
    from scipy.stats import binomtest

    rng = np.random.default_rng(cfg.seed + 1)
    st = game.init(cfg.agree_positions, cfg.seed + 1)
    for _ in range(cfg.agree_plies):
        mask = game.legal_mask(st)
        mask[:, -1] &= ~mask[:, :-1].any(axis=1)
        game.step(st, (rng.random(mask.shape) * mask).argmax(axis=1))
    base = make_search(game, evaluator.evaluate, MCTSConfig(num_simulations=cfg.net_sims)).search(st)
    best = base.visits.argmax(axis=1)
    out = []
    for leaves in sorted({k for b, k in cfg.net_configs if k > 1}):
        res = make_search(game, evaluator.evaluate,
                          MCTSConfig(num_simulations=cfg.net_sims, leaves_per_wave=leaves)).search(st)
        same = int((res.visits.argmax(axis=1) == best).sum())
        ci = binomtest(same, len(best)).proportion_ci(0.95, method="wilson")
        out.append({"agree": True, "leaves": leaves, "positions": len(best), "same": same, "lo": ci.low,
                    "hi": ci.high, "sims": cfg.net_sims})
    return out


def _pairs(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for item in text.split(","):
        b, _, leaves = item.strip().partition("x")
        if not (b.isdigit() and leaves.isdigit() and int(b) >= 1 and int(leaves) >= 1):
            raise SystemExit(f"configs must be BxL items like 1x32,64x1; got {item!r}")
        out.append((int(b), int(leaves)))
    return tuple(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sims", type=int, default=BenchConfig.sims)
    ap.add_argument("--configs", default=",".join(f"{b}x{k}" for b, k in BenchConfig.configs),
                    help="BxL: B games searched at once, L leaves per game per wave")
    ap.add_argument("--net-configs", default=",".join(f"{b}x{k}" for b, k in BenchConfig.net_configs))
    ap.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    ap.add_argument("--net-sims", type=int, default=BenchConfig.net_sims)
    ap.add_argument("--net-threads", type=int, default=BenchConfig.net_threads)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    cfg = BenchConfig(sims=args.sims, configs=_pairs(args.configs), net_configs=_pairs(args.net_configs),
                      repeats=args.repeats, net_sims=args.net_sims, net_threads=args.net_threads)
    rows, nets = measure(cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# MCTS speed, Go {cfg.board_size}x{cfg.board_size} (komi {cfg.komi}), {cfg.sims} simulations "
             f"per search, median of {cfg.repeats}", "",
             "Trivial evaluator (uniform prior over legal actions, value 0) in both searches. B: games searched "
             "at once; L: leaves per game per wave (L > 1: leaf batching within one tree under virtual loss; "
             "MCTSBot always evaluates one leaf per simulation).", "",
             "| position | B | L | ours sims/s | OpenSpiel MCTSBot sims/s | ratio | target | engine | "
             "legal_mask | tree + orchestration | evaluator | ours excluding engine + evaluator, sims/s | "
             "ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref = "n/a" if r["openspiel"] is None else f"{r['openspiel']:.0f}"
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        tree_ratio = "n/a" if r["tree_ratio"] is None else f"{r['tree_ratio']:.1f}x"
        target = TARGETS.get(r["batch"]) if r["batch"] != 1 or r["leaves"] > 1 else None
        lines.append(f"| {r['position']} | {r['batch']} | {r['leaves']} | {r['sims_per_s']:.0f} | {ref} | {ratio} | "
                     f"{'-' if target is None else f'{target:g}x'} | "
                     f"{r['engine']:.0%} | {r['legal_mask']:.0%} | {r['tree']:.0%} | {r['eval']:.0%} | "
                     f"{r['tree_sims_per_s']:.0f} | {tree_ratio} |")
    lines += ["", "Shares are of our search's wall time, measured in separate searches whose engine and evaluator "
              "calls go through timing proxies (the sims/s columns come from plain searches): engine = all "
              "`GoGame` calls (leaf replay by `take` + `step`, `legal_mask`, `observe`, ...); legal_mask is part "
              "of engine; tree + orchestration = numba selection/expansion/backup and the Python around them. "
              "The last two columns count only that tree share (the rate our search would reach with free "
              "engine calls and evaluator); "
              "OpenSpiel's rate always includes its (C++) game calls.", "",
              f"## Networks on the CPU ({cfg.net_threads} torch thread(s)), mid-game position", "",
              "| net | B | L | sims/search | sims/s | share outside the network | n |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    agree = [r for r in nets if r.get("agree")]
    nets = [r for r in nets if not r.get("agree")]
    for r in nets:
        lines.append(f"| {r['net']} | {r['batch']} | {r['leaves']} | {r['sims']} | {r['sims_per_s']:.0f} | "
                     f"{r['outside']:.1%} | {r['n']} |")
    lines += ["", "B = 1, L = 1 is one network call per simulation: the search as the agents ran it before leaf "
              "batching (`az:...` with the default `leaves_per_wave=1`; `az:...,leaves_per_wave=32` batches).", ""]
    if agree:
        lines += ["## What leaf batching changes (shipped net)", "",
                  f"The most-visited move of a search with L leaves per wave (virtual loss 1) against the L = 1 "
                  f"search's, {agree[0]['sims']} simulations, {agree[0]['positions']} seeded positions after "
                  f"{cfg.agree_plies} random moves; 95% Wilson intervals.", "",
                  "| L | positions | same move | share | 95% CI |", "|---:|---:|---:|---:|---|"]
        lines += [f"| {r['leaves']} | {r['positions']} | {r['same']} | {r['same'] / r['positions']:.0%} | "
                  f"{r['lo']:.0%}..{r['hi']:.0%} |" for r in agree]
        lines += [""]
    lines += [f"Config: `{asdict(cfg)}`"]
    text = "\n".join(lines) + "\n"
    (out / "mcts_speed.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label in dict.fromkeys(r["position"] for r in rows):
        sub = [r for r in rows if r["position"] == label and r["leaves"] == 1]
        line = ax.plot([r["batch"] for r in sub], [r["sims_per_s"] for r in sub], "o-",
                       label=f"ours, {label}, L = 1")
        one = [r for r in rows if r["position"] == label and r["batch"] == 1 and r["leaves"] > 1]
        ax.plot([r["leaves"] for r in one], [r["sims_per_s"] for r in one], "s--", color=line[0].get_color(),
                label=f"ours, {label}, B = 1, L leaves per wave")
        if sub[0]["openspiel"] is not None:
            ax.axhline(sub[0]["openspiel"], ls="--", color=line[0].get_color(), label=f"MCTSBot, {label}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("leaves per wave: games at once (B) or, B = 1, leaves per game (L)")
    ax.set_ylabel("simulations / s")
    ax.set_title(f"Go {cfg.board_size}x{cfg.board_size}, trivial evaluator, {cfg.sims} sims")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "mcts_speed.png", dpi=120)
    print(f"wrote {out / 'mcts_speed.md'} and {out / 'mcts_speed.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
