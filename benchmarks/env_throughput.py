"""Environment throughput: random legal play through our engines and envs and through their peers, same run.

Go (moves per second, uniformly random legal moves, the pass included; 2*N*N move cap where the peer has one):
  * OpenSpiel ``go`` (pyspiel) driven from Python, one thread: the baseline of the engine rows;
  * our batched engine playing whole games in compiled code (``GoGame.random_playouts``), one thread and over
    all numba threads;
  * PettingZoo ``go_v5`` (AEC, actions sampled from the mask): the baseline of the env rows;
  * our ``go_v0`` AEC env, the same loop.
6 nimmt! (rounds per second, two players, one round per episode, uniformly random legal actions):
  * engine rows from ``benchmarks/throughput_sixnimmt.py`` (``sixnimmt_rows``) when that module exists, over its
    own reference measured in its run;
  * env rows, measured interleaved in one run with their own plain-Python reference
    (``tests/sixnimmt_reference.py``): the AEC env (``reset``, ``agent_iter``, ``last``, ``step``, actions drawn
    from the mask with ``random.Random``), the Parallel env (one ``step`` per trick and per row choice), the
    single-agent gym view (``gymnasium`` ``reset``/``step``, the learner drawing from ``action_masks()``, a
    random opponent inside ``step``), and a do-nothing AEC env (PettingZoo's stock ``OrderEnforcingWrapper``,
    the same 22 turns + 2 final ``step(None)`` of a round, a constant observation) driven by the same loop: what
    the AEC loop itself costs (our envs' wrapper takes a shorter path than the stock one, so it is a reference
    point, not a strict ceiling).

Each rate is the median of ``--repeats`` measurements of ``--seconds`` each (Go: measured round-robin, so that
load from other processes on a shared machine affects every implementation alike). Writes
``benchmarks/results/env_throughput.md`` (table) and ``env_throughput.png`` (bar chart) and prints the table.

    python benchmarks/env_throughput.py [--games go,sixnimmt] [--sizes 9,19] [--seconds 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from zeroleague.envs.go import go_v0  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def timed_rate(work: Callable[[], int], seconds: float) -> float:
    """Call ``work() -> units done`` until ``seconds`` have passed (at least once); units per second."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or done == 0:
        done += work()
    return done / elapsed


def interleaved_medians(
    factories: dict[str, Callable[[int], Callable[[], int]]], seconds: float, repeats: int
) -> dict[str, float]:
    """Median rate per implementation over ``repeats`` rounds; each round measures every implementation once
    (in a rotated order, so load changes on a shared machine hit all of them alike). Round r builds its work
    with ``factory(r)`` (fresh seeds per round)."""
    names = list(factories)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rates[name].append(timed_rate(factories[name](r), seconds))
    return {name: statistics.median(rates[name]) for name in names}


def openspiel_work(size: int, seed: int) -> Callable[[], int]:
    import pyspiel

    game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5, "max_game_length": 2 * size * size})
    rnd = random.Random(seed)

    def one_game() -> int:
        state, moves = game.new_initial_state(), 0
        while not state.is_terminal():
            state.apply_action(rnd.choice(state.legal_actions()))
            moves += 1
        return moves

    return one_game


def engine_work(size: int, seed: int, parallel: bool) -> Callable[[], int]:
    game = go_v0.game(board_size=size)
    batch = max(256, 330_000 // (size * size))  # large enough that 2 threads amortise their start
    seeds = iter(range(seed * 1_000_000, (seed + 1) * 1_000_000))
    return lambda: game.random_playouts(game.init(batch), next(seeds), parallel=parallel)


def aec_work(make_env: Callable[[], object], seed: int, chunk: int = 50) -> Callable[[], int]:
    """Random legal play through an AEC env, ``chunk`` steps per call (a new game when one ends). The driver
    draws with ``random.Random`` (cheaper than ``Generator.choice``) to time the env rather than itself."""
    env = make_env()
    env.reset(seed=seed)
    rnd = random.Random(seed)

    def steps() -> int:
        moves = 0
        while moves < chunk:
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                env.reset()
                continue
            legal = np.flatnonzero(obs["action_mask"])
            env.step(int(legal[int(rnd.random() * len(legal))]))
            moves += 1
        return moves

    return steps


def load_pettingzoo_go():
    """PettingZoo's ``go_v5`` module. It imports pygame at module level for its "human" render mode only; when
    pygame is not installed an empty placeholder module stands in (this benchmark never renders)."""
    try:
        import pygame  # noqa: F401
    except ModuleNotFoundError:
        sys.modules["pygame"] = types.ModuleType("pygame")
    from pettingzoo.classic import go_v5

    return go_v5


def go_rows(sizes: list[int], seconds: float, repeats: int) -> list[dict]:
    """Rows ``{"game", "variant", "impl", "rate", "unit", "ratio"}``; ``ratio`` is over OpenSpiel for the
    engine rows and over PettingZoo go_v5 for the env rows."""
    import numba

    go_v5 = load_pettingzoo_go()
    threads = numba.get_num_threads()
    rows = []
    for size in sizes:
        engine_work(size, 0, False)()  # compile and warm both variants outside the timing
        engine_work(size, 0, True)()
        openspiel, v5 = "OpenSpiel go (pyspiel from Python, 1 thread)", "PettingZoo go_v5 AEC env"
        factories = {
            openspiel: lambda r, s=size: openspiel_work(s, r),
            "engine random_playouts (1 thread)": lambda r, s=size: engine_work(s, r, False),
            f"engine random_playouts (parallel, {threads} threads)": lambda r, s=size: engine_work(
                s, r, True
            ),
            v5: lambda r, s=size: aec_work(lambda: go_v5.env(board_size=s), r),
            "go_v0 AEC env": lambda r, s=size: aec_work(lambda: go_v0.env(board_size=s), r),
        }
        rates = interleaved_medians(factories, seconds, repeats)
        for impl, rate in rates.items():
            base = rates[v5] if "AEC" in impl else rates[openspiel]
            rows.append(
                {"game": "go", "variant": f"{size}x{size}", "impl": impl, "rate": rate, "unit": "moves/s",
                 "ratio": rate / base}
            )  # fmt: skip
    return rows


def sixnimmt_rows_if_present(seconds: float, repeats: int, batch: int) -> list[dict]:
    """6 nimmt! rows from benchmarks/throughput_sixnimmt.py (medians over ``repeats`` calls); [] if absent."""
    path = ROOT / "benchmarks" / "throughput_sixnimmt.py"
    if not path.exists():
        print(f"note: {path.relative_to(ROOT)} not found; no 6 nimmt! rows", file=sys.stderr)
        return []
    spec = importlib.util.spec_from_file_location("throughput_sixnimmt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    runs = [module.sixnimmt_rows(argparse.Namespace(seconds=seconds, games=batch)) for _ in range(repeats)]
    rows = []
    for i, row in enumerate(runs[0]):
        rows.append({**row, "rate": statistics.median(run[i]["rate"] for run in runs),
                     "ratio": statistics.median(run[i]["ratio"] for run in runs)})  # fmt: skip
    return rows


def _null_aec_env():
    """A do-nothing AEC env shaped like a 6 nimmt! round: two agents alternate 22 turns (20 cards + 2 row
    choices), then both are terminated; constant observation with an all-legal mask of 108 actions."""
    from gymnasium import spaces
    from pettingzoo import AECEnv
    from pettingzoo.utils import wrappers

    class NullEnv(AECEnv):
        metadata = {"name": "null_v0", "render_modes": []}

        def __init__(self):
            super().__init__()
            self.possible_agents = ["player_0", "player_1"]
            self._obs = {"observation": np.zeros(951, np.float32), "action_mask": np.ones(108, np.int8)}
            self._space = spaces.Discrete(108)

        def action_space(self, agent):
            return self._space

        def reset(self, seed=None, options=None):
            self.agents = self.possible_agents[:]
            self.rewards = dict.fromkeys(self.agents, 0.0)
            self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
            self.terminations = dict.fromkeys(self.agents, False)
            self.truncations = dict.fromkeys(self.agents, False)
            self.infos = {a: {} for a in self.agents}
            self.agent_selection, self._turn = "player_0", 0

        def observe(self, agent):
            return self._obs

        def step(self, action):
            agent = self.agent_selection
            if self.terminations[agent]:
                self._was_dead_step(action)
                return
            self._turn += 1
            self._cumulative_rewards[agent] = 0.0
            if self._turn == 22:
                self.terminations = dict.fromkeys(self.agents, True)
            self.agent_selection = self.possible_agents[self._turn % 2]
            self._accumulate_rewards()

    return wrappers.OrderEnforcingWrapper(NullEnv())


def _aec_round_work(env, seed: int) -> Callable[[], int]:
    rnd, seeds = random.Random(seed), iter(range(seed << 20, 1 << 62))

    def episode() -> int:
        env.reset(seed=next(seeds))
        for _ in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                env.step(None)
            else:
                legal = np.flatnonzero(obs["action_mask"])
                env.step(int(legal[rnd.randrange(len(legal))]))
        return 1

    return episode


def _parallel_round_work(module, seed: int) -> Callable[[], int]:
    env = module.parallel_env(illegal_action="raise")
    rnd, seeds = random.Random(seed), iter(range(seed << 20, 1 << 62))

    def episode() -> int:
        obs, _ = env.reset(seed=next(seeds))
        while env.agents:
            actions = {}
            for agent in env.acting_agents():
                legal = np.flatnonzero(obs[agent]["action_mask"])
                actions[agent] = int(legal[rnd.randrange(len(legal))])
            obs = env.step(actions)[0]
        return 1

    return episode


def _view_round_work(env_id: str, seed: int) -> Callable[[], int]:
    from zeroleague.agents.gym_views import SingleAgentView

    view = SingleAgentView(env_id, opponent="random", illegal_action="raise")
    view.reset(seed=seed)
    rnd = random.Random(seed)

    def episode() -> int:
        view.reset()
        done = False
        while not done:
            legal = np.flatnonzero(view.action_masks())
            _, _, term, trunc, _ = view.step(int(legal[rnd.randrange(len(legal))]))
            done = term or trunc
        return 1

    return episode


def _reference_round_work(module, seed: int) -> Callable[[], int]:
    from tests.sixnimmt_reference import play_random_round

    game, rnd = module.game(), random.Random(seed)
    return lambda: play_random_round(rnd, 2, game.max_card, game.hand_size) and 1


SIXNIMMT_REFERENCE = "reference (plain Python), env rows' run"


def sixnimmt_env_rows(seconds: float, repeats: int) -> list[dict]:
    """AEC env, Parallel env, gym view and do-nothing AEC env rows over the plain-Python reference, all
    measured interleaved in one run (medians of ``repeats``)."""
    from zeroleague.envs.sixnimmt import sixnimmt_tactical_v0, sixnimmt_v0

    rows = []
    for variant, module in (("standard", sixnimmt_v0), ("tactical", sixnimmt_tactical_v0)):
        factories = {
            "aec env": lambda r, m=module: _aec_round_work(m.env(), r),
            "parallel env": lambda r, m=module: _parallel_round_work(m, r),
            "gym view (random opponent)": lambda r, m=module: _view_round_work(m.ENV_ID, r),
            "do-nothing AEC env, stock PettingZoo wrapper, same loop": lambda r: _aec_round_work(_null_aec_env(), r),
            SIXNIMMT_REFERENCE: lambda r, m=module: _reference_round_work(m, r),
        }
        for make in factories.values():  # compile and warm up outside the timing
            make(0)()
        rates = interleaved_medians(factories, seconds, repeats)
        for impl, rate in rates.items():
            rows.append({"game": "sixnimmt", "variant": variant, "impl": impl, "rate": rate, "unit": "rounds/s",
                         "ratio": rate / rates[SIXNIMMT_REFERENCE]})  # fmt: skip
    return rows


def markdown(rows: list[dict], note: str) -> str:
    lines = [
        "# Environment throughput",
        "",
        note,
        "",
        "| game | variant | implementation | rate | unit | ratio |",
        "|---|---|---|---:|---|---:|",
    ]
    for r in rows:
        rate, ratio = f"{r['rate']:,.0f}", f"{r['ratio']:.2f}x" if r["ratio"] < 1 else f"{r['ratio']:.1f}x"
        lines.append(f"| {r['game']} | {r['variant']} | {r['impl']} | {rate} | {r['unit']} | {ratio} |")
    return "\n".join(lines) + "\n"


def bar_chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['game']} {r['variant']}: {r['impl']}" for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.2))
    colours = {"go": "tab:blue", "sixnimmt": "tab:orange"}
    colour = [colours.get(r["game"], "tab:gray") for r in rows]
    ax.barh(range(len(rows)), [r["rate"] for r in rows], color=colour)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=max(r["rate"] for r in rows) * 10)  # room for the value labels
    ax.set_xlabel("rate (Go: moves/s, 6 nimmt!: rounds/s), log scale")
    for i, r in enumerate(rows):
        ax.text(r["rate"], i, f" {r['rate']:,.0f} ({r['ratio']:.1f}x)", va="center", fontsize=7)
    ax.set_title("Environment throughput (median of repeats)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", default="go,sixnimmt", help="comma-separated: go, sixnimmt")
    parser.add_argument("--sizes", default="9,19", help="Go board sizes")
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per rate (median reported)")
    parser.add_argument("--sixnimmt-batch", type=int, default=4096, help="6 nimmt! engine batch size")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the .md and .png")
    args = parser.parse_args()
    games = [g.strip() for g in args.games.split(",") if g.strip()]
    unknown = set(games) - {"go", "sixnimmt"}
    if unknown:
        parser.error(f"unknown game(s) {sorted(unknown)}; choose from go, sixnimmt")
    load_before = os.getloadavg()[0]
    rows: list[dict] = []
    if "go" in games:
        rows += go_rows([int(s) for s in args.sizes.split(",")], args.seconds, args.repeats)
    if "sixnimmt" in games:
        engine = sixnimmt_rows_if_present(args.seconds, args.repeats, args.sixnimmt_batch)
        rows += [r for r in engine if r["impl"] != "aec env"]  # the env rows are measured below, in one run
        rows += sixnimmt_env_rows(args.seconds, args.repeats)
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs"
    note = (
        f"1-min load average {load}. Median of {args.repeats} runs of {args.seconds:g} s each. Go ratio: "
        "engine rows over OpenSpiel `go` driven from Python (one thread), env rows over PettingZoo `go_v5`; "
        "6 nimmt! ratio: over the plain-Python reference of the same run (engine rows: their run; env rows: "
        "theirs, interleaved). The parallel row can beat the 1-thread row only when a second core is idle. "
        "Uniformly random legal moves (pass included)."
    )
    table = markdown(rows, note)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "env_throughput.md").write_text(table)
    bar_chart(rows, args.out / "env_throughput.png")
    print(table)


if __name__ == "__main__":
    main()
