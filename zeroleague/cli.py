"""The ``zeroleague`` command.

zeroleague tournament CONFIG.toml [--device D] [--db PATH] [--out DIR] [--games N] [--no-progress]
                      [--backend local|ray] [--address A] [--num-cpus N]
zeroleague play ENV AGENT_A AGENT_B [--games N] [--seed S] [--max-parallel M] [--device D] [--env-kwarg K=V]
                [--quiet]
zeroleague envs                    # registered env ids
zeroleague agents                  # registered agent names
zeroleague gtp --agent SPEC [--board-size N] [--komi K] [--seed S] [--device D] [--rules R]
zeroleague train reinforce|ppo|alphazero ...      # zeroleague train ALGO --help
zeroleague league CONFIG.toml [--iterations N] [--backend local|ray] [--address A]
zeroleague serve [--host 127.0.0.1] [--port 8000] [--db PATH]   # play and watch in a browser
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from zeroleague.agents.registry import convert_value
from zeroleague.league_cli import add_league_parser
from zeroleague.train_cli import add_train_parser, env_kwargs_from, json_object


def _kwarg(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, convert_value(value)


def _finite(text: str) -> float:
    value = float(text)  # argparse reports a ValueError as "invalid _finite value"
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _cmd_tournament(args: argparse.Namespace) -> int:
    from zeroleague.leagues.backends import make_backend
    from zeroleague.leagues.tournament import check_tournament, load_config, run_tournament, with_overrides

    if args.backend != "ray" and (args.address is not None or args.num_cpus is not None):
        raise ValueError("--address and --num-cpus are for --backend ray")
    if args.games is not None and args.games < 1:
        raise ValueError(f"--games must be >= 1, got {args.games}")
    configs = [with_overrides(c, games=args.games, db=args.db, out_root=args.out) for c in load_config(args.config)]
    for cfg in configs:  # every tournament of the file checked before any game is played
        check_tournament(cfg, f"{args.config} [{cfg.name}]")
    backend = make_backend(args.backend, args.address, args.num_cpus)
    try:
        for cfg in configs:
            res = run_tournament(cfg, device=args.device, progress=not args.no_progress, backend=backend)
            if res.ratings is None:
                continue
            before = res.games_total - res.games_played
            print(
                f"\n## {cfg.name} ({cfg.env}, {cfg.games_per_pairing} games per pairing; "
                f"{res.games_played} played and stored by this run"
                + (f", {before} stored before or by another writer" if before else "") + ")\n"
            )
            print(res.ratings.to_markdown())
            print(
                f"table: {res.table_path}\nplots: {', '.join(str(p) for p in res.plot_paths)}\n"
                f"database: {cfg.db}"
            )
    finally:
        if hasattr(backend, "close"):
            backend.close()
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    from zeroleague.agents.registry import make_agent
    from zeroleague.leagues.harness import play_match
    from zeroleague.leagues.tournament import agent_seed, checked_game

    for flag, value in (("--games", args.games), ("--max-parallel", args.max_parallel)):
        if value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if args.sgf_dir is not None and Path(args.sgf_dir).exists() and not Path(args.sgf_dir).is_dir():
        raise ValueError(f"--sgf-dir {args.sgf_dir!r} is a file, not a directory")
    game = checked_game(args.env, env_kwargs_from(args))
    if game.num_players != 2:
        raise ValueError(f"play plays two-player games; {args.env!r} has {game.num_players} players")
    if args.sgf_dir is not None and not hasattr(game, "board_size"):
        raise ValueError(f"--sgf-dir writes Go games; {args.env!r} is not Go")
    a = make_agent(args.agent_a, game, seed=agent_seed(args.seed, args.agent_a), device=args.device)
    b = make_agent(args.agent_b, game, seed=agent_seed(args.seed, args.agent_b), device=args.device)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=args.games, desc=f"{args.agent_a} vs {args.agent_b}", unit="game", dynamic_ncols=True)
    try:
        result = play_match(
            game, a, b, args.games, args.seed, max_parallel=args.max_parallel, sgf_dir=args.sgf_dir,
            on_game=None if bar is None else (lambda record: bar.update(1)),
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
        a.close()
        b.close()
    print(result.summary())
    return 0


def _cmd_envs(args: argparse.Namespace) -> int:
    import zeroleague.envs as envs

    print("\n".join(envs.registry))
    return 0


def _cmd_agents(args: argparse.Namespace) -> int:
    from zeroleague.agents.registry import agent_names

    print("\n".join(agent_names()))
    return 0


def _cmd_gtp(args: argparse.Namespace) -> int:
    from zeroleague.leagues.gtp_server import rules_name, serve

    try:
        rules = rules_name(args.rules)
    except ValueError as e:
        print(f"zeroleague gtp: error: --rules: {e}", file=sys.stderr)
        return 2
    serve(args.agent, board_size=args.board_size, komi=args.komi, seed=args.seed, device=args.device, rules=rules)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from zeroleague.web import serve

    serve(host=args.host, port=args.port, dbs=args.db, device=args.device)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zeroleague", description="zeroleague: games, agents, tournaments.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("tournament", help="play (or resume) the tournaments of a TOML file, then rate them")
    t.add_argument("config", help="TOML file (see leagues/tournament.py)")
    t.add_argument(
        "--device", default=None, help="torch device for learned agents (default: cuda if available)"
    )
    t.add_argument("--db", default=None, help="results database (overrides the file's db)")
    t.add_argument("--out", default=None, help="write each tournament's tables and plots to OUT/<name>")
    t.add_argument("--games", type=int, default=None, help="games per pairing (overrides the file)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where the match chunks are played"
    )
    t.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    t.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    t.set_defaults(func=_cmd_tournament)

    m = sub.add_parser("play", help="one match between two agent specs")
    m.add_argument("env", help="env id (zeroleague envs)")
    m.add_argument("agent_a")
    m.add_argument("agent_b")
    m.add_argument("--games", type=int, default=100)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--max-parallel", type=int, default=256)
    m.add_argument("--device", default=None)
    m.add_argument("--env-kwarg", type=_kwarg, action="append", default=[], metavar="KEY=VALUE",
                   help="engine keyword argument (repeatable), e.g. board_size=9")  # fmt: skip
    m.add_argument("--env-kwargs", type=json_object, default=None, metavar="JSON",
                   help="alias: env keyword arguments as one JSON object")  # fmt: skip
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.add_argument("--sgf-dir", default=None, help="Go: write every game as SGF here")
    m.set_defaults(func=_cmd_play)

    sub.add_parser("envs", help="list registered env ids").set_defaults(func=_cmd_envs)
    sub.add_parser("agents", help="list registered agent names").set_defaults(func=_cmd_agents)

    g = sub.add_parser("gtp", help="serve an agent as a GTP engine on stdin/stdout")
    g.add_argument("--agent", required=True, help="agent spec")
    g.add_argument("--board-size", type=int, default=19)
    g.add_argument("--komi", type=_finite, default=7.5)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default=None)
    g.add_argument("--rules", default="tromp-taylor",
                   help="tromp-taylor (default), new-zealand (suicide allowed); chinese, japanese, korean, aga: "
                   "the agent never plays suicide (also set by GTP kgs-rules / kata-set-rules)")
    g.set_defaults(func=_cmd_gtp)

    w = sub.add_parser("serve", help="play and watch games in a browser (web app on localhost)")
    w.add_argument("--host", default="127.0.0.1", help="interface to bind (default: localhost only)")
    w.add_argument("--port", type=int, default=8000)
    w.add_argument("--db", action="append", default=[], metavar="PATH",
                   help="results store offered for replay (read-only; repeatable)")
    w.add_argument("--device", default=None, help="torch device for learned agents (default: cuda if available)")
    w.set_defaults(func=_cmd_serve)

    add_train_parser(sub)
    add_league_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status. Errors in the
    user's input (bad config, unknown agent or env, unusable database) print one line to stderr and return
    2."""
    args = build_parser().parse_args(argv)
    from zeroleague.leagues.store import StoreError

    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, StoreError) as e:
        print(f"zeroleague {args.command}: error: {e}", file=sys.stderr)
        return 2
