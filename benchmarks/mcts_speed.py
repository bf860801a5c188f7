"""MCTS speed on Go 9x9 (komi 7.5): our batched search (``zeroleague.agents.alphazero.puct``) against OpenSpiel's Python
``open_spiel.python.algorithms.mcts.MCTSBot`` in the same run, both with an equally trivial evaluator (uniform
prior over the legal actions, value 0; OpenSpiel's with PUCT selection, ``solve=False``), and with a real
small ResNet on the CPU.

* Trivial evaluator: simulations per second, from the empty board and from a mid-game position (30 seeded
  random stones, replayed in OpenSpiel by vertex name), for our search at several batch sizes (B copies of the
  position searched at once) and for MCTSBot (one search at a time). Our time is split into engine calls
  (``take``, ``step``, ``legal_mask``, ``observe``, ...: timed through a proxy of the game), evaluator and the
  rest (tree: numba selection/backup plus orchestration); the tree-only rate counts that last share alone. The
  split comes from separate searches through the proxies; the rates from plain ones.
  Target: ours / OpenSpiel >= 10x.
* Network: ``NetConfig(blocks, channels)`` ResNet through ``zeroleague.agents.evaluator.Evaluator`` on the CPU at the
  default batch; the share of search time spent outside the network's forward passes. Target <= 25%.

Medians of ``--repeats`` runs after a warm-up (numba compilation excluded); the repeats of both searches are
interleaved and each ratio is the median of the per-repeat ratios (the machine's load may drift).

    python benchmarks/mcts_speed.py [--sims 200] [--batches 1,16,64,256] [--repeats 5]

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
    batches: tuple[int, ...] = (1, 16, 64, 256)
    default_batch: int = 64
    repeats: int = 5
    midgame_stones: int = 30
    seed: int = 0
    net_blocks: int = 4
    net_channels: int = 32
    net_sims: int = 50


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


def ours(game: GoGame, actions: list[int], batch: int, sims: int, evaluate, repeats: int) -> dict:
    """Median sims/s of our search on ``batch`` copies of the position (plain searches), with the time split
    measured in separate searches through the timing proxies (whose own overhead would lower the rate)."""
    st = game.init(batch, 0)
    for a in actions:
        game.step(st, np.full(batch, a))
    runs = []
    for rep in range(repeats + 1):
        t0 = time.perf_counter()
        make_search(game, evaluate, MCTSConfig(num_simulations=sims)).search(st)
        plain = time.perf_counter() - t0
        tg, te = TimedGame(game), TimedEvaluate(evaluate)
        t0 = time.perf_counter()
        make_search(tg, te, MCTSConfig(num_simulations=sims)).search(st)
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


def measure(cfg: BenchConfig) -> tuple[list[dict], dict]:
    game = GoGame(board_size=cfg.board_size, komi=cfg.komi)
    positions = {"empty board": [], f"mid-game ({cfg.midgame_stones} stones)": midgame_actions(
        game, cfg.midgame_stones, cfg.seed)}
    rows = []
    for label, actions in positions.items():
        # interleaved repeats, ratios paired per repeat: robust to load changing on a shared machine
        refs, runs = [], {b: [] for b in cfg.batches}
        for _ in range(cfg.repeats):
            refs.append(openspiel(cfg.board_size, cfg.komi, actions, cfg.sims, 1))
            for b in cfg.batches:
                runs[b].append(ours(game, actions, b, cfg.sims, uniform_evaluate, 1))
        ref = None if refs[0] is None else statistics.median(refs)
        for b in cfg.batches:
            r = {k: statistics.median(x[k] for x in runs[b]) for k in runs[b][0]}
            paired = {k: None if ref is None else statistics.median(x[k] / o for x, o in zip(runs[b], refs,
                                                                                           strict=True))
                      for k in ("sims_per_s", "tree_sims_per_s")}
            rows.append({"position": label, "batch": b, **r, "openspiel": ref, "ratio": paired["sims_per_s"],
                         "tree_ratio": paired["tree_sims_per_s"]})
    import torch

    torch.manual_seed(cfg.seed)
    net_cfg = NetConfig(kind="resnet", in_channels=game.obs_shape[0], board_size=cfg.board_size,
                        blocks=cfg.net_blocks, channels=cfg.net_channels)
    evaluator = Evaluator(build_network(net_cfg), "cpu")
    net = ours(game, positions[f"mid-game ({cfg.midgame_stones} stones)"], cfg.default_batch, cfg.net_sims,
               evaluator.evaluate, max(1, cfg.repeats // 2))
    net["outside"] = 1.0 - net["eval"]
    net["threads"] = torch.get_num_threads()
    return rows, net


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sims", type=int, default=BenchConfig.sims)
    ap.add_argument("--batches", default=",".join(map(str, BenchConfig.batches)))
    ap.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    ap.add_argument("--net-sims", type=int, default=BenchConfig.net_sims)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    cfg = BenchConfig(sims=args.sims, batches=tuple(int(x) for x in args.batches.split(",")),
                      repeats=args.repeats, net_sims=args.net_sims)
    rows, net = measure(cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# MCTS speed, Go {cfg.board_size}x{cfg.board_size} (komi {cfg.komi}), {cfg.sims} simulations "
             f"per search, median of {cfg.repeats}", "",
             "Trivial evaluator (uniform prior over legal actions, value 0) in both searches.", "",
             "| position | batch B | ours sims/s | OpenSpiel MCTSBot sims/s | ratio | target | engine | "
             "legal_mask | tree + orchestration | evaluator | ours excluding engine + evaluator, sims/s | "
             "ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref = "n/a" if r["openspiel"] is None else f"{r['openspiel']:.0f}"
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        tree_ratio = "n/a" if r["tree_ratio"] is None else f"{r['tree_ratio']:.1f}x"
        lines.append(f"| {r['position']} | {r['batch']} | {r['sims_per_s']:.0f} | {ref} | {ratio} | 10x | "
                     f"{r['engine']:.0%} | {r['legal_mask']:.0%} | {r['tree']:.0%} | {r['eval']:.0%} | "
                     f"{r['tree_sims_per_s']:.0f} | {tree_ratio} |")
    lines += ["", "Shares are of our search's wall time, measured in separate searches whose engine and evaluator "
              "calls go through timing proxies (the sims/s columns come from plain searches): engine = all "
              "`GoGame` calls (leaf replay by `take` + `step`, `legal_mask`, `observe`, ...); legal_mask is part "
              "of engine; tree + orchestration = numba selection/expansion/backup and the Python around them. "
              "The last two columns count only that tree share (the rate our search would reach with free "
              "engine calls and evaluator); "
              "OpenSpiel's rate always includes its (C++) game calls.", "",
              f"## Real network on CPU ({net['threads']} torch threads)", "",
              "| net | batch B | sims/search | sims/s | share outside the network | target |",
              "|---|---:|---:|---:|---:|---:|",
              f"| ResNet {cfg.net_blocks} blocks x {cfg.net_channels} channels | {cfg.default_batch} | "
              f"{cfg.net_sims} | {net['sims_per_s']:.0f} | {net['outside']:.1%} | <= 25% |", "",
              f"Config: `{asdict(cfg)}`"]
    text = "\n".join(lines) + "\n"
    (out / "mcts_speed.md").write_text(text)
    print(text)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label in dict.fromkeys(r["position"] for r in rows):
        sub = [r for r in rows if r["position"] == label]
        line = ax.plot([r["batch"] for r in sub], [r["sims_per_s"] for r in sub], "o-",
                       label=f"ours, {label}")
        if sub[0]["openspiel"] is not None:
            ax.axhline(sub[0]["openspiel"], ls="--", color=line[0].get_color(), label=f"MCTSBot, {label}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("games searched at once (B)")
    ax.set_ylabel("simulations / s")
    ax.set_title(f"Go {cfg.board_size}x{cfg.board_size}, trivial evaluator, {cfg.sims} sims")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "mcts_speed.png", dpi=120)
    print(f"wrote {out / 'mcts_speed.md'} and {out / 'mcts_speed.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
