"""``zeroleague train ...``: REINFORCE and PPO best-response training from the command line.

    zeroleague train reinforce --env sixnimmt_v0 --self-play --steps 200000 --out runs/rf --seed 0
    zeroleague train reinforce --env sixnimmt_v0 --opponent random --opponent lowest --steps 100000 --out DIR
    zeroleague train ppo --env sixnimmt_v0 --opponent closest_gap --steps 300000 --out runs/br --seed 0
    zeroleague train ppo --env go_v0 --env-kwarg board_size=9 --opponent random --set num_envs=16 --out DIR

``--opponent`` may repeat (a fixed mixture; ``--opponent-weight`` per opponent, default uniform).
Env keyword arguments, the same way in every subcommand (``play``, ``train reinforce|ppo|alphazero``):
``--env-kwarg KEY=VALUE`` (repeatable; values converted like agent specs: bool, int, float, else string); the
older spellings stay as aliases: ``--env-kwargs JSON`` (an object, merged with them; a key given twice with
different values is an error) and ``--env-id`` for ``--env``. A progress bar (tqdm, on stderr) follows the
learner steps; ``--quiet`` turns it off. ``--set
FIELD=VALUE`` overrides any field of ``ReinforceConfig`` / ``PPOConfig`` with a JSON value (a plain string
when it is not JSON; JSON lists become tuples). Bad arguments raise ValueError (``zeroleague`` prints it and
exits 2). The last line printed is the run's result as JSON (also ``OUT/result.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zeroleague.agents.registry import convert_value


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], flag: str, convert) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key] = convert(value)
    return out


def add_env_kwargs_arguments(p: argparse.ArgumentParser, json_alias: bool = True) -> None:
    """``--env-kwarg KEY=VALUE`` (repeatable) and, as an alias, ``--env-kwargs JSON`` (see the docstring)."""
    p.add_argument("--env-kwarg", action="append", default=[], metavar="KEY=VALUE",
                   help="engine keyword argument (repeatable), e.g. board_size=9")  # fmt: skip
    if json_alias:
        p.add_argument("--env-kwargs", type=json_object, default=None, metavar="JSON",
                       help="alias: env keyword arguments as one JSON object")  # fmt: skip


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"--env-kwargs expects a JSON object, got {text!r} ({e.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--env-kwargs expects a JSON object, got {text!r}")
    return value


def env_kwargs_from(args: argparse.Namespace, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The env kwargs of ``args``: ``base`` (or ``--env-kwargs``) updated by every ``--env-kwarg``; ValueError
    naming a key given with two different values."""
    given = getattr(args, "env_kwargs", None)
    out = dict((base or {}) if given is None else given)
    items = args.env_kwarg  # "KEY=VALUE" strings, or (key, converted value) pairs parsed by argparse already
    pairs = dict(items) if items and isinstance(items[0], tuple) else _pairs(items, "--env-kwarg", convert_value)
    for key, value in pairs.items():
        if given is not None and key in given and given[key] != value:
            raise ValueError(
                f"env kwarg {key!r} given twice: {given[key]!r} (--env-kwargs) and {value!r} (--env-kwarg)"
            )
        out[key] = value
    return out


@contextmanager
def progress(total: int | None, desc: str, quiet: bool, unit: str = "step") -> Iterator[Any]:
    """A tqdm bar on stderr (None when ``quiet``) that follows ``RunLogger.log`` steps of the runs inside."""
    from tqdm import tqdm

    from zeroleague.runlog import on_log

    if quiet:
        yield None
        return
    bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, mininterval=0.5)
    runs = {"last": 0, "done": 0}  # several runs in a row (a league's best responses): steps add up

    def follow(step: int, metrics: dict[str, Any]) -> None:
        if step < runs["last"]:
            runs["done"] += runs["last"]
        runs["last"] = step
        if runs["done"] + step > bar.n:
            bar.update(runs["done"] + step - bar.n)
        ret = metrics.get("learner_mean_return", metrics.get("mean_return"))
        if isinstance(ret, (int, float)):
            bar.set_postfix(mean_return=f"{ret:.3g}", refresh=False)

    try:
        with on_log(follow):
            yield bar
    finally:
        bar.close()


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train reinforce`` and ``train ppo`` to a top-level parser's subparsers."""
    train = subparsers.add_parser("train", help="train REINFORCE, a PPO best response or AlphaZero")
    algos = train.add_subparsers(dest="algo", required=True)
    for algo, helptext in (
        ("reinforce", "REINFORCE by self-play or against fixed opponents"),
        ("ppo", "MaskablePPO best response against fixed opponents"),
    ):
        p = algos.add_parser(algo, help=helptext)
        p.add_argument("--env", "--env-id", dest="env", required=True, help="env id, e.g. sixnimmt_v0, go_v0")
        add_env_kwargs_arguments(p)
        p.add_argument(
            "--opponent",
            action="append",
            default=[],
            metavar="SPEC",
            help="opponent agent spec (repeatable: a fixed mixture)",
        )
        p.add_argument(
            "--opponent-weight",
            action="append",
            type=float,
            default=None,
            metavar="W",
            help="mixture weight of each --opponent, in order (default uniform)",
        )
        if algo == "reinforce":
            p.add_argument("--self-play", action="store_true", help="both seats play the learner (no opponent)")
        p.add_argument("--steps", type=int, required=True, help="learner decisions to train on")
        p.add_argument("--out", required=True, help="run directory")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="override any config field (repeatable), e.g. learning_rate=3e-4",
        )
        p.set_defaults(func=run_train)
    from zeroleague.agents.alphazero.train import add_config_arguments

    az = algos.add_parser("alphazero", help="AlphaZero self-play training (synchronous collect -> train)")
    add_config_arguments(az)
    az.add_argument("--env", dest="env_id", default=None, help="alias of --env-id")
    add_env_kwargs_arguments(az, json_alias=False)  # --env-kwargs JSON is TrainConfig's own flag
    az.set_defaults(func=run_alphazero)


def run_alphazero(args: argparse.Namespace) -> int:
    """``zeroleague train alphazero --FIELD VALUE ...`` (``TrainConfig`` fields)."""
    from zeroleague.agents.alphazero.train import TrainConfig, config_from_args, train

    if args.env_kwarg:
        args.env_kwargs = env_kwargs_from(args, base=TrainConfig().env_kwargs)
    train(config_from_args(args))
    return 0


def build_config(args: argparse.Namespace):
    """The frozen config of ``args`` (a ReinforceConfig or PPOConfig)."""
    if args.algo == "reinforce":
        from zeroleague.baselines.reinforce import ReinforceConfig as config_cls

        if args.self_play == bool(args.opponent):
            raise ValueError("train reinforce needs exactly one of --self-play or --opponent SPEC")
    else:
        from zeroleague.baselines.ppo import PPOConfig as config_cls

        if not args.opponent:
            raise ValueError("train ppo needs at least one --opponent SPEC")
    if args.opponent_weight is not None and len(args.opponent_weight) != len(args.opponent):
        raise ValueError(f"{len(args.opponent_weight)} --opponent-weight values for {len(args.opponent)} opponents")
    values: dict[str, Any] = {
        "env_id": args.env,
        "env_kwargs": env_kwargs_from(args),
        "opponents": tuple(args.opponent),
        "opponent_weights": None if args.opponent_weight is None else tuple(args.opponent_weight),
        "total_steps": args.steps,
        "seed": args.seed,
        "device": args.device,
    }
    names = {f.name for f in dataclasses.fields(config_cls)}
    for key, value in _pairs(args.set, "--set", _json_value).items():
        if key not in names:
            raise ValueError(f"--set {key}: not a field of {config_cls.__name__} ({', '.join(sorted(names))})")
        values[key] = tuple(value) if isinstance(value, list) else value
    return config_cls(**values)


def run_train(args: argparse.Namespace) -> int:
    """Run the training described by ``args``; prints the result as one JSON line."""
    cfg = build_config(args)
    if args.algo == "reinforce":
        from zeroleague.baselines.reinforce import train_reinforce as train
    else:
        from zeroleague.baselines.ppo import train_ppo as train
    with progress(cfg.total_steps, f"train {args.algo}", getattr(args, "quiet", False)):
        result = train(cfg, args.out)
    print(json.dumps(result, sort_keys=True))
    return 0
