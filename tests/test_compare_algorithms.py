"""benchmarks/compare_algorithms.py and benchmarks/test_time_scaling.py: the pure pieces (seed bands, CSV,
results page, margins, config checks, the rating design, tactical deals, the league's compute accounting) and,
marked slow, the small configuration end to end (with the time-scaling curves), twice from scratch, with
identical tables."""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

import zeroleague.envs as envs
from benchmarks.compare_algorithms import (
    Checkpoint,
    _fresh,
    finals,
    load_config,
    mean_margin,
    moves_per_game,
    rating_tournament,
    run_compare,
    seed_band,
    tactical_deals,
    update_results_md,
    write_csv,
)
from zeroleague.leagues.harness import GameRecord
from zeroleague.leagues.tournament import pairings

SMALL = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_sixnimmt_small.toml"
FULL = SMALL.with_name("compare_sixnimmt_full.toml")


def _row(algo, seed, index, steps, elo):
    return {"algo": algo, "seed": seed, "index": index, "env_steps": steps, "elo": elo}


def test_seed_band_aggregates_matching_indices_over_seeds():
    rows = [
        _row("az", 0, 0, 100, 10.0), _row("az", 1, 0, 120, 30.0), _row("az", 2, 0, 110, 20.0),
        _row("az", 0, 1, 200, 50.0), _row("az", 1, 1, 220, math.nan),  # NaN: left out
        _row("pg", 0, 0, 90, -5.0),
    ]
    band = seed_band(rows, "env_steps", "elo")
    assert [(b["algo"], b["index"], b["n"]) for b in band] == [("az", 0, 3), ("az", 1, 1), ("pg", 0, 1)]
    first = band[0]
    assert first["x"] == pytest.approx(110.0)
    assert (first["mean"], first["min"], first["max"]) == pytest.approx((20.0, 10.0, 30.0))
    assert first["sd"] == pytest.approx(10.0)  # sample sd of 10, 20, 30
    assert band[1]["sd"] == 0.0 and band[1]["x"] == 200.0  # one seed: no spread


def test_seed_band_keeps_algorithm_order_of_first_appearance():
    rows = [_row("ppo", 0, 1, 5, 1.0), _row("az", 0, 0, 5, 2.0), _row("ppo", 0, 0, 1, 3.0)]
    assert [(b["algo"], b["index"]) for b in seed_band(rows, "env_steps", "elo")] == [
        ("ppo", 0), ("ppo", 1), ("az", 0)]


def test_write_csv_round_trips_and_rejects_missing_columns(tmp_path):
    rows = [{"a": "x", "b": 1, "c": 0.1234567891}, {"a": "y", "b": 2, "c": 3.0}]
    path = write_csv(tmp_path / "sub" / "t.csv", rows, ("a", "c", "b"))
    with open(path) as f:
        got = list(csv.DictReader(f))
    assert [list(r) for r in got] == [["a", "c", "b"]] * 2
    assert got[0] == {"a": "x", "c": "0.123457", "b": "1"} and got[1]["c"] == "3"
    with pytest.raises(KeyError):
        write_csv(tmp_path / "bad.csv", [{"a": 1}], ("a", "b"))


def test_results_page_sections_are_replaced_and_others_kept(tmp_path):
    page = tmp_path / "RESULTS.md"
    update_results_md(page, "one", "first version")
    update_results_md(page, "two", "other section")
    update_results_md(page, "one", "second version\n")
    text = page.read_text()
    assert "second version" in text and "first version" not in text and "other section" in text
    assert text.count("<!-- BEGIN one -->") == 1 and text.index("BEGIN one") < text.index("BEGIN two")


def _record(index, a, b, returns):
    return GameRecord(index=index, seed=0, seat_a=index % 2, agent_a=a, agent_b=b, result=0, returns=returns,
                      score=None, actions=[], num_moves=1, time_a=0.0, time_b=0.0, truncated=False, resigned=None)


def test_mean_margin_takes_the_agents_seat_and_side():
    records = [
        _record(0, "x", "y", [3.0, -3.0]),  # x in seat 0: +3
        _record(1, "x", "y", [2.0, -2.0]),  # x in seat 1: -2
        _record(0, "y", "x", [-1.0, 1.0]),  # x is agent_b, seat 1: +1
        _record(0, "x", "z", [9.0, -9.0]),  # another pairing: ignored
    ]
    mu, half, n = mean_margin(records, "x", "y")
    assert (mu, n) == (pytest.approx(2 / 3), 3)
    assert half == pytest.approx(1.96 * np.std([3, -2, 1], ddof=1) / math.sqrt(3))
    assert mean_margin(records, "y", "x")[0] == pytest.approx(-2 / 3)
    assert math.isnan(mean_margin(records, "x", "w")[0])


def test_finished_runs_are_kept_partial_ones_restarted_and_changed_configs_refused(tmp_path):
    from zeroleague.baselines.policies import default_net_config
    from zeroleague.baselines.reinforce import ReinforceConfig

    game = envs.make_game("sixnimmt_tactical_v0", hand_size=3)
    cfg = ReinforceConfig(opponents=("random",), total_steps=100)
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("partial\n")
    assert _fresh(run, cfg, game) and not run.exists()  # no result.json: a partial run, removed
    run.mkdir()
    logged = {"algo": "reinforce", **asdict(cfg), "net_config": default_net_config(game), "git_commit": "x"}
    (run / "config.json").write_text(json.dumps(logged))
    (run / "result.json").write_text("{}")
    assert not _fresh(run, cfg, game) and not _fresh(run, replace(cfg, device="cuda"), game)
    with pytest.raises(ValueError, match="total_steps"):
        _fresh(run, replace(cfg, total_steps=200), game)
    with pytest.raises(ValueError, match="net_config"):
        _fresh(run, replace(cfg, net_config={**default_net_config(game), "channels": 7}), game)
    assert (run / "result.json").exists()


def test_finals_are_the_last_checkpoint_of_every_run():
    c = [Checkpoint("az", s, i, f"az{s}{i}", {}) for s in (0, 1) for i in (2, 0, 1)]
    assert [f.spec for f in finals(c)] == ["az02", "az12"]


def test_configs_load_and_bad_keys_are_named(tmp_path):
    small, full = load_config(SMALL), load_config(FULL)
    assert set(small.algorithms) == set(full.algorithms) == {"alphazero", "reinforce", "ppo", "psro"}
    assert small.exploitability is not None and full.exploitability is None
    assert full.env_id == "sixnimmt_v0" and len(full.seeds) >= 3
    assert load_config(SMALL, axis="wall_s", runs=None).axis == "wall_s"
    bad = tmp_path / "bad.toml"
    bad.write_text('[compare]\nname = "x"\nenv_id = "sixnimmt_v0"\n[algorithms.sarsa]\n')
    with pytest.raises(ValueError, match="sarsa"):
        load_config(bad)
    bad.write_text('[compare]\nname = "x"\nenv_id = "sixnimmt_v0"\naxis = "flops"\n[algorithms.ppo]\n')
    with pytest.raises(ValueError, match="flops"):
        load_config(bad)
    bad.write_text('[compare]\nname = "x"\nenv_id = "sixnimmt_v0"\n[algorithms.ppo]\n[rating]\ngames = 3\n')
    with pytest.raises(ValueError, match="games"):
        load_config(bad)


def test_panel_design_plays_everyone_against_the_anchors_and_finals_only():
    cfg = load_config(SMALL)
    specs = ["a0", "a1", "b0", "b1"]
    t = rating_tournament(cfg, "t", specs, ["a1", "b1"], Path("out"))
    assert t.format == "gauntlet" and t.anchor == "random"
    assert t.challengers == ("random", "closest_gap", "a1", "b1")
    plan = {frozenset(p) for p in pairings(t, [a.spec for a in t.agents])}
    panel = set(t.challengers)
    everyone = panel | set(specs)
    assert plan == {frozenset((p, q)) for p in panel for q in everyone if p != q}  # no a0-b0 game
    rr = rating_tournament(replace(cfg, rating={**cfg.rating, "design": "round_robin"}), "t", specs, [], Path("o"))
    assert len(pairings(rr, [a.spec for a in rr.agents])) == 6 * 5 // 2


def test_tactical_deals_are_the_games_deals_and_others_are_refused():
    game = envs.make_game("sixnimmt_tactical_v0", hand_size=3)
    deals = tactical_deals(game, 4, 7)
    state = game.init(4, 7)
    for i, d in enumerate(deals):
        assert d.hands == tuple(tuple(np.flatnonzero(state.hand[i, p]).tolist()) for p in range(2))
        assert sorted(c for h in d.hands for c in h) + sorted(r[0] for r in d.rows) != []
        assert sorted([*d.hands[0], *d.hands[1], *(r[0] for r in d.rows)]) == list(range(1, 11))
    with pytest.raises(ValueError, match="tactical"):
        tactical_deals(envs.make_game("sixnimmt_v0"), 2, 0)
    with pytest.raises(ValueError, match="tactical"):
        tactical_deals(envs.make_game("sixnimmt_tactical_v0", hand_size=10), 2, 0)


def test_moves_per_game_counts_selections_and_row_choices():
    game = envs.make_game("sixnimmt_tactical_v0", hand_size=3)
    m = moves_per_game(game, seed=0, num_games=64)
    assert 6.0 <= m <= 9.0  # 2 selections per trick, at most one row choice per trick
    assert moves_per_game(game, seed=0, num_games=64) == m


def test_league_compute_sums_best_responses_and_payoff_games(tmp_path):
    from zeroleague.leagues.psro import HarnessLeague, PSROConfig

    cfg = PSROConfig(name="lg", env_id="sixnimmt_tactical_v0", env_kwargs={"hand_size": 3}, games_per_pairing=10,
                     chunk_size=10, initial=("random",))
    league = HarnessLeague(cfg, tmp_path)
    try:
        assert league.compute() == {"device": "cpu", "env_steps": 0, "forward_samples": 0,
                                    "backward_samples": 0, "wall_s": 0.0}
        league.payoff("random", "closest_gap")
        games = league.store.games("lg")
        (tmp_path / "br_000").mkdir()
        br = {"device": "cpu", "env_steps": 100, "forward_samples": 7, "backward_samples": 5, "wall_s": 1.5}
        (tmp_path / "br_000" / "result.json").write_text(json.dumps({"compute": br}))
        got = league.compute()
    finally:
        league.close()
    assert len(games) == 10
    assert got["env_steps"] == 100 + sum(r.num_moves for r in games)
    assert (got["forward_samples"], got["backward_samples"]) == (7, 5)
    assert got["wall_s"] == pytest.approx(1.5 + sum(r.time_a + r.time_b for r in games), abs=2e-3)


@pytest.mark.slow
def test_small_config_end_to_end_twice_gives_the_same_table(tmp_path):
    from benchmarks.test_time_scaling import run_time_scaling

    def run(k):
        cfg = load_config(SMALL, runs=str(tmp_path / f"runs{k}"), out=str(tmp_path / f"out{k}"),
                          results_md=str(tmp_path / f"RESULTS{k}.md"))
        return cfg, run_compare(cfg, log=lambda s: None)

    cfg, first = run(0)
    for key in ("checkpoints_csv", "curves_csv", "rating_png", "exploitability_csv", "exploitability_png",
                "table_md", "results_md"):
        assert first.paths[key].exists() and first.paths[key].stat().st_size > 0, key
    assert first.paths["rating_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = first.rows
    algos = {r["algo"] for r in rows}
    assert algos == {"anchor", "alphazero", "reinforce", "ppo", "psro"}
    for r in rows:
        if r["algo"] != "anchor":
            assert r["env_steps"] > 0 and r["forward_samples"] > 0 and r["wall_s"] > 0 and r["device"] == "cpu"
            assert r["elo_lo"] <= r["elo"] <= r["elo_hi"] and r["exploitability"] >= 0
    # compute grows along every run; every run ends near the budget (its payoff games and distillation aside)
    for algo in algos - {"anchor"}:
        for seed in cfg.seeds:
            steps = [r["env_steps"] for r in sorted(rows, key=lambda r: r["index"])
                     if r["algo"] == algo and r["seed"] == seed]
            assert steps == sorted(steps) and len(set(steps)) == len(steps)
            assert 0.8 * cfg.budget_env_steps <= steps[-1] <= 1.5 * cfg.budget_env_steps, (algo, steps)
    anchors = {r["spec"]: r for r in rows if r["algo"] == "anchor"}
    assert anchors["random"]["elo"] == 0.0
    assert anchors["closest_gap"]["exploitability"] < anchors["random"]["exploitability"]
    page = first.paths["results_md"].read_text()
    assert "compare_sixnimmt_small_rating.png" in page and "Command:" in page and "seeds [0, 1]" in page

    scaling = run_time_scaling(cfg, log=lambda s: None)
    sims = load_config(SMALL).time_scaling["sims"]
    assert len(scaling["rows"]) == (cfg.checkpoints + 1) * len(sims)
    assert scaling["paths"]["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Test-time scaling" in first.paths["results_md"].read_text()

    # the same command again from scratch (the same paths: PSRO's payoff games are seeded from the members'
    # specs, which hold the league dir) gives the same table
    shutil.move(tmp_path / "runs0", tmp_path / "runs_first")
    _, second = run(0)
    assert second.table == first.table


def test_time_scaling_options_default_and_check(tmp_path):
    from benchmarks.test_time_scaling import options

    cfg = load_config(SMALL)
    opts = options(cfg)
    assert opts["sims"] == [1, 4, 16, 64] and opts["panel_sims"] == 16 and opts["algo"] == "alphazero"
    assert options(replace(cfg, time_scaling={"sims": [64, 1, 4]}))["panel_sims"] == 4  # the middle
    assert options(load_config(FULL))["panel_sims"] == 64
    for bad, match in (({"sims": [4, 4]}, "distinct"), ({"sims": [0, 2]}, "positive"),
                       ({"panel_sims": 3}, "panel_sims"), ({"games_per_pairing": 5}, "even"),
                       ({"algo": "ppo"}, "alphazero"), ({"sim": [1]}, "sim")):
        with pytest.raises(ValueError, match=match):
            options(replace(cfg, time_scaling={**cfg.time_scaling, **bad}))


def test_figures_are_written_from_synthetic_rows(tmp_path):
    from benchmarks.compare_algorithms import plot_bands
    from benchmarks.test_time_scaling import plot_scaling

    rows = [_row(a, s, i, 100 * (i + 1) + s, 10.0 * i + s) for a in ("az", "pg") for s in (0, 1) for i in range(3)]
    band = seed_band(rows, "env_steps", "elo")
    for kind in ("minmax", "sd"):
        path = plot_bands(band, rows, "env_steps", "elo", tmp_path / f"b_{kind}.png", title="t", ylabel="Elo",
                          band_kind=kind, hlines={"random": 0.0})
        assert path.read_bytes()[:4] == b"\x89PNG"
    pts = [{"checkpoint": c, "sims": s, "elo": float(s), "elo_lo": s - 1.0, "elo_hi": s + 1.0}
           for c in ("iter_1", "no network (az_uniform)") for s in (1, 4, 16)]
    assert plot_scaling(pts, {"random": 0.0}, tmp_path / "ts.png", "t").read_bytes()[:4] == b"\x89PNG"
