"""``zeroleague league CONFIG.toml``: run (or resume) a PSRO league, distil its average policy, estimate its
exploitability, then play a final tournament; writes a report with a table and plots.

    zeroleague league benchmarks/league_sixnimmt.toml [--iterations N] [--out DIR] [--backend ray]
                      [--address ADDR] [--skip-tournament] [--quiet]

The file (see ``benchmarks/league_sixnimmt.toml``) has the tables

- ``[league]``: ``leagues.psro.PSROConfig`` fields plus ``out`` (the league dir); ``[league.ppo]``: PPO fields
  for every best response;
- ``[distill]`` (optional; "ppo" leagues): ``zeroleague.leagues.distill.DistillConfig`` fields but env and members;
  the league's final meta-strategy over its members is distilled into ``OUT/distilled.pt``;
- ``[exploitability]`` (optional): ``ppo_steps``, ``eval_games``: a fresh PPO best response against the
  distilled agent (``zeroleague.leagues.exploitability.estimated_exploitability``);
- ``[tournament]`` (optional): ``zeroleague.leagues.tournament.TournamentConfig`` fields (``env``/``env_kwargs``
  default to the league's); in ``agents`` the spec ``"{distilled}"`` stands for the distilled agent
  (``distilled:PATH``).

Outputs in the league dir: ``league.json``/``metrics.jsonl`` (``zeroleague.leagues.psro``), ``report.md`` (per-iteration
table: population, the meta-strategy's largest weights, exploitability when exact, the best response's gain;
the distillation's and the exploitability estimate's numbers) and ``exploitability.png``; the tournament
writes its own ratings table and plots to its ``out``. Re-running resumes every stage. The last line printed
is the summary as JSON.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any


def _table(data: dict[str, Any], key: str, allowed: set[str], where: str) -> dict[str, Any]:
    table = dict(data.get(key, {}))
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where} [{key}]: unknown keys {unknown}; known keys: {sorted(allowed)}")
    return table


def _plot(state, path: Path, title: str) -> Path:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    its = state.iterations
    x = list(range(len(its) + 1))
    fig, ax = plt.subplots(figsize=(6, 4))
    expl = [it["exploitability"] for it in its] + [state.final["exploitability"]]
    if all(e is not None for e in expl):
        ax.plot(x, expl, "o-", label="exploitability (exact)")
    gains = [it["br_gain"] for it in its]
    if gains:
        ax.plot(x[:-1], gains, "s--", label="best response's gain vs meta-strategy")
    ax.set_xlabel("iteration (best responses added)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("payoff per game")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _report(state, out: Path, name: str, extra: dict[str, Any]) -> Path:
    lines = [
        f"# League `{name}`",
        "",
        "| iteration | population | meta-strategy (top weights) | exploitability | BR gain | best response |",
        "|---:|---:|---|---:|---:|---|",
    ]

    def top(meta, members):
        order = sorted(range(len(meta)), key=lambda i: -meta[i])[:3]
        return ", ".join(f"{members[i]}: {meta[i]:.2f}" for i in order if meta[i] > 0)

    def num(v):
        return "" if v is None else f"{v:.4f}"

    for it in state.iterations:
        lines.append(
            f"| {it['iteration']} | {len(it['meta'])} | {top(it['meta'], state.members)} | "
            f"{num(it['exploitability'])} | {num(it['br_gain'])} | `{it['best_response']}` |"
        )
    f = state.final
    lines.append(
        f"| final | {f['population']} | {top(f['meta'], state.members)} | {num(f['exploitability'])} | | |"
    )
    for key, value in extra.items():
        lines += ["", f"**{key}**: `{json.dumps(value, sort_keys=True)}`"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_league_file(
    path: str | Path,
    *,
    iterations: int | None = None,
    out: str | None = None,
    backend: str | None = None,
    address: str | None = None,
    tournament: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run every stage the file ``path`` asks for (module docstring); returns the summary dict."""
    from zeroleague.leagues.distill import DistillConfig, distill
    from zeroleague.leagues.exploitability import estimated_exploitability
    from zeroleague.leagues.psro import PSROConfig, run_psro
    from zeroleague.leagues.tournament import AgentEntry, TournamentConfig, make_env_game, read_toml, run_tournament

    data = read_toml(path)  # a syntax error names the file
    unknown = sorted(set(data) - {"league", "distill", "exploitability", "tournament"})
    if unknown or "league" not in data:
        raise ValueError(f"{path}: need a [league] table; unknown tables {unknown}")
    league = _table(data, "league", {f.name for f in fields(PSROConfig)} | {"out"}, str(path))
    out_dir = Path(out or league.pop("out", f"results/{league.get('name', 'league')}"))
    league.pop("out", None)
    for key in ("initial",):
        if key in league:
            league[key] = tuple(league[key])
    if "matrix" in league:
        league["matrix"] = tuple(tuple(r) for r in league["matrix"])
    cfg = PSROConfig(**league)
    changes = {
        k: v
        for k, v in (("iterations", iterations), ("backend", backend), ("ray_address", address))
        if v is not None
    }
    cfg = replace(cfg, **changes)
    state = run_psro(cfg, out_dir)
    summary: dict[str, Any] = {"league": str(out_dir), "members": state.members, "final": state.final}
    log(
        f"league {cfg.name}: {len(state.members)} members, final exploitability "
        f"{state.final['exploitability']} (report: {out_dir / 'report.md'})"
    )
    extra: dict[str, Any] = {}
    if "distill" in data and cfg.oracle == "ppo":
        allowed = {f.name for f in fields(DistillConfig)} - {"env_id", "env_kwargs", "members", "weights"}
        dcfg = DistillConfig(
            env_id=cfg.env_id,
            env_kwargs=cfg.env_kwargs,
            members=tuple(state.members),
            weights=tuple(state.final["meta"]),
            **_table(data, "distill", allowed, str(path)),
        )
        ckpt = out_dir / "distilled.pt"
        if not ckpt.exists():
            extra["distillation"] = {k: v for k, v in distill(dcfg, ckpt).items() if k != "losses"}
        summary["distilled"] = f"distilled:{ckpt}"
        if "exploitability" in data:
            opts = _table(data, "exploitability", {"ppo_steps", "eval_games", "ppo"}, str(path))
            done = out_dir / "exploitability" / "estimate.json"
            if not done.exists():
                est = estimated_exploitability(
                    make_env_game(cfg.env_id, cfg.env_kwargs),
                    summary["distilled"],
                    int(opts["ppo_steps"]),
                    out_dir / "exploitability",
                    env_kwargs=cfg.env_kwargs,
                    eval_games=int(opts.get("eval_games", 400)),
                    seed=cfg.seed,
                    ppo_overrides=opts.get("ppo"),
                )
                done.write_text(json.dumps(est, sort_keys=True) + "\n")
            extra["estimated exploitability of the distilled agent"] = json.loads(done.read_text())
    summary.update(extra)
    summary["report"] = str(_report(state, out_dir, cfg.name, extra))
    summary["plot"] = str(_plot(state, out_dir / "exploitability.png", f"{cfg.name} ({cfg.meta_solver})"))
    if tournament and "tournament" in data:
        t = dict(data["tournament"])
        t.setdefault("env", cfg.env_id)
        t.setdefault("env_kwargs", cfg.env_kwargs)
        agents = []
        for a in t.pop("agents", []):
            a = {"spec": a} if isinstance(a, str) else dict(a)
            a["spec"] = a["spec"].replace("{distilled}", summary.get("distilled", "{distilled}"))
            agents.append(AgentEntry(a["spec"], bool(a.get("optional", False))))
        tcfg = TournamentConfig(
            **{**t, "agents": tuple(agents), "challengers": tuple(t.get("challengers", ()))}
        )
        res = run_tournament(tcfg, device=cfg.device, progress=False, log=log)
        summary["tournament"] = {"table": str(res.table_path), "plots": [str(p) for p in res.plot_paths]}
        if res.ratings is not None:
            log(res.ratings.to_markdown())
    return summary


def _cmd_league(args: argparse.Namespace) -> int:
    from zeroleague.train_cli import progress

    with progress(None, "league: best-response training", args.quiet):
        summary = run_league_file(
            args.config,
            iterations=args.iterations,
            out=args.out,
            backend=args.backend,
            address=args.address,
            tournament=not args.skip_tournament,
        )
    print(json.dumps(summary, sort_keys=True, default=str))
    return 0


def add_league_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``league`` to a top-level parser's subparsers."""
    p = subparsers.add_parser(
        "league", help="run (or resume) a PSRO league, distil it, play a final tournament"
    )
    p.add_argument("config", help="TOML file (see zeroleague/league_cli.py)")
    p.add_argument("--iterations", type=int, default=None, help="best responses to add (overrides the file)")
    p.add_argument("--out", default=None, help="league dir (overrides the file's league.out)")
    p.add_argument("--backend", choices=("local", "ray"), default=None, help="where match batches are played")
    p.add_argument("--address", default=None, help="Ray cluster address (with --backend ray)")
    p.add_argument("--skip-tournament", action="store_true", help="stop after the league and distillation")
    p.add_argument("--quiet", action="store_true", help="no progress bar (best-response training steps)")
    p.set_defaults(func=_cmd_league)
