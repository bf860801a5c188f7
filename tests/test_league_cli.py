"""``zeroleague league``: a tiny league file run end to end (league, distillation, exploitability estimate,
final tournament), then resumed."""

import argparse
import json

from zeroleague.league_cli import add_league_parser
from zeroleague.leagues.psro import load_state

TOML = """
[league]
name = "tiny"
out = "{out}/league"
iterations = 1
env_id = "sixnimmt_v0"
env_kwargs = {{ hand_size = 4 }}
initial = ["random", "closest_gap"]
games_per_pairing = 20
chunk_size = 10
[league.ppo]
total_steps = 512
num_envs = 2
n_steps = 128
batch_size = 128
n_epochs = 1
[distill]
num_games = 32
epochs = 2
[exploitability]
ppo_steps = 256
eval_games = 20
ppo = {{ num_envs = 2, n_steps = 128, batch_size = 128, n_epochs = 1 }}
[tournament]
name = "tiny_final"
games_per_pairing = 10
db = "{out}/t.sqlite"
out = "{out}/final"
bootstrap = 20
agents = ["{{distilled}}", {{ spec = "reinforce:{out}/missing.pt", optional = true }}, "random"]
"""


def _run(argv, capsys):
    p = argparse.ArgumentParser()
    add_league_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    assert args.func(args) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_league_file_end_to_end_and_resume(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TOML.format(out=tmp_path))
    summary = _run(["league", str(cfg)], capsys)
    league = tmp_path / "league"
    state = load_state(league)
    assert len(state.members) == 3 and state.members[2] == f"ppo:{league / 'br_000' / 'final.pt'}"
    assert summary["distilled"] == f"distilled:{league / 'distilled.pt'}"
    assert (league / "distilled.pt").is_file() and (league / "exploitability.png").is_file()
    assert "estimated exploitability of the distilled agent" in summary
    report = (league / "report.md").read_text()
    assert "| 0 | 2 |" in report and "| final | 3 |" in report
    ratings = (tmp_path / "final" / "ratings.md").read_text()
    assert "distilled:" in ratings and "missing.pt" not in ratings
    # extending the league by one iteration keeps the first best response
    summary2 = _run(["league", str(cfg), "--iterations", "2", "--skip-tournament"], capsys)
    assert summary2["members"][:3] == state.members and len(summary2["members"]) == 4
