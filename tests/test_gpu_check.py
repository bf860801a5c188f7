"""benchmarks/gpu_check.py in its quick CPU mode: every section runs and the report names the device and holds
every table; bad devices are refused with one line."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow  # ~6 s with warm numba caches, ~30-60 s cold or on a loaded machine
def test_quick_cpu_run_writes_every_table(tmp_path):
    gc = load()
    assert gc.main(["--device", "cpu", "--quick", "--no-tests", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "gpu_check.md").read_text()
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert md.startswith("# GPU check: CPU")
    for heading in ("Evaluator forward throughput", "AlphaZero self-play", "Training burst", "One game's search",
                    "Tournaments"):
        assert heading in md
    cfg = gc.CheckConfig().quick()
    fwd = report["forward"]
    assert {(r["net"], r["batch"]) for r in fwd} == {(n, b) for n in ("go9", "sixnimmt") for b in cfg.batches}
    assert all(r["device"] == "cpu" and r["median_pos_s"] > 0 and r["n"] == 2 for r in fwd)
    (sp,) = report["selfplay"]
    # every game is capped at max_moves turns and every turn is one searched position
    assert sp["positions"] == cfg.selfplay_parallel[0] * cfg.selfplay_max_moves
    assert 0 < sp["mean_batch"] <= cfg.selfplay_parallel[0] and 0 < sp["evaluator_share"] < 1
    assert sp["forward_over_selfplay"] == pytest.approx(sp["forward_pos_s_at_batch"] / sp["evals_s"])
    (burst,) = report["burst"]
    assert burst["samples"] == cfg.burst_games * cfg.burst_max_moves and burst["positions_s"] > 0
    games = {t["name"]: t["games_played"] for t in report["tournaments"]}
    assert games == {"gpu_check_go9": 3 * cfg.tournament_games, "gpu_check_sixnimmt": 3 * cfg.tournament_games}
    assert [(r["device"], r["leaves"]) for r in report["single"]] == [("cpu", k) for k in cfg.single_leaves]
    assert all(r["sims_s"] > 0 and r["sims"] == cfg.single_sims for r in report["single"])
    assert report["agreement"] == []  # the agreement section compares a CUDA device with the CPU


def test_report_names_the_device_and_pairs_devices():
    gc = load()
    cfg = gc.CheckConfig(selfplay_parallel=(256,))
    sp = {"games": 256, "positions": 3072, "seconds": 1.0, "evals_s": 1e4, "mean_batch": 200.0,
          "evaluator_share": 0.5, "forward_pos_s_at_batch": 2e4, "forward_over_selfplay": 2.0}
    report = {"config": {**gc.asdict(cfg), "device": "cuda"}, "quick": False, "seconds": {"forward": 1.5},
              "errors": {"burst": "RuntimeError: boom"},
              "versions": {"gpu": "NVIDIA H200", "cpu_count": 16, "date_utc": "2026-01-01 00:00:00", "commit": "abc"},
              "selfplay": [{**sp, "device": "cuda", "positions_s": 3000.0}, {**sp, "device": "cpu",
                                                                            "positions_s": 1000.0}]}
    md = gc.render(report)
    assert md.startswith("# GPU check: NVIDIA H200\n")
    assert "| 256 | 3 |" in md  # self-play positions/s cuda / cpu
    assert "- burst: `RuntimeError: boom`" in md


def test_bad_device_is_refused_in_one_line(capsys):
    gc = load()
    with pytest.raises(SystemExit, match="--device must be cuda, cuda:N or cpu, got 'toaster'"):
        gc.main(["--device", "toaster"])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="CUDA is not available"):
            gc.main(["--device", "cuda"])
