"""zeroleague.leagues.ratings: Bradley–Terry on the Elo scale, bootstrap intervals, anchoring, one-sided records,
outputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zeroleague.leagues.ratings import fit_ratings

TRUE = {"random": 0.0, "weak": -120.0, "mid": 150.0, "good": 320.0, "best": 520.0}


def simulate(seed: int, games: int = 150, draw_rate: float = 0.1) -> list[tuple[str, str, float]]:
    """Games from the Bradley–Terry model with TRUE ratings, with draws: a draw with probability
    ``draw_rate * 2 min(p, 1 - p)``, else a win with probability ``p - draw / 2``, so the expected score is
    p."""
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p = 1 / (1 + 10 ** ((TRUE[b] - TRUE[a]) / 400))
            draw = draw_rate * 2 * min(p, 1 - p)
            for _ in range(games):
                u = rng.random()
                out.append((a, b, 0.5 if u < draw else float(u < p + draw / 2)))
    return out


def test_recovers_known_strengths_inside_the_intervals():
    covered = total = 0
    errors = []
    for seed in range(20):
        r = fit_ratings(simulate(seed), bootstrap=200, seed=seed)
        assert r.anchor == "random" and r.elo[r.players.index("random")] == 0.0
        for k, name in enumerate(r.players):
            if name == "random":
                continue
            total += 1
            covered += r.lo[k] <= TRUE[name] <= r.hi[k]
            errors.append(r.elo[k] - TRUE[name])
    assert covered / total >= 0.85, f"coverage {covered}/{total}"
    assert abs(np.mean(errors)) < 15 and np.sqrt(np.mean(np.square(errors))) < 60


def test_two_players_match_the_closed_form_with_virtual_draws():
    games = [("a", "b", 1.0)] * 30 + [("a", "b", 0.0)] * 10 + [("a", "b", 0.5)] * 4
    for prior in (0.5, 1.0, 3.0):
        r = fit_ratings(games, anchor="b", prior_draws=prior, bootstrap=0)
        p = (32 + prior / 2) / (44 + prior)
        assert r.elo[0] == pytest.approx(400 * math.log10(p / (1 - p)), abs=1e-6)
        assert r.elo[1] == 0.0


def test_never_winning_and_always_winning_players_get_finite_ratings():
    games = simulate(0, games=60)
    games += [("loser", name, 0.0) for name in TRUE for _ in range(20)]
    games += [("champion", name, 1.0) for name in TRUE for _ in range(20)]
    r = fit_ratings(games, bootstrap=200)
    assert np.isfinite(r.elo).all() and np.isfinite(r.lo).all() and np.isfinite(r.hi).all()
    elo = dict(zip(r.players, r.elo, strict=True))
    assert elo["loser"] < min(elo[n] for n in TRUE) and elo["champion"] > max(elo[n] for n in TRUE)
    k = r.players.index("loser")
    assert r.hi[k] - r.lo[k] > 10  # a one-sided record still has a real interval
    assert "virtual draw" in r.footnote() and "finite" in r.footnote()
    assert "virtual draw" in r.to_markdown()


def test_anchor_and_centring():
    games = simulate(1, games=40)
    r = fit_ratings(games, anchor="mid", bootstrap=50)
    k = r.players.index("mid")
    assert r.elo[k] == 0 and r.lo[k] == 0 and r.hi[k] == 0
    unanchored = fit_ratings(games, anchor="nobody", bootstrap=0)
    assert unanchored.anchor is None and abs(unanchored.elo.mean()) < 1e-9
    np.testing.assert_allclose(r.elo - r.elo.mean(), unanchored.elo, atol=1e-6)


def test_bootstrap_is_seeded():
    games = simulate(2, games=30)
    a, b = fit_ratings(games, bootstrap=100, seed=5), fit_ratings(games, bootstrap=100, seed=5)
    c = fit_ratings(games, bootstrap=100, seed=6)
    np.testing.assert_array_equal(a.lo, b.lo)
    assert not np.array_equal(a.lo, c.lo)


def test_win_rate_matrix_and_counts():
    games = [("a", "b", 1.0), ("a", "b", 0.5), ("b", "a", 1.0), ("c", "a", 0.0)]
    r = fit_ratings(games, anchor="a", bootstrap=0)
    m = r.win_rate_matrix()
    assert m[0, 1] == pytest.approx(0.5) and m[1, 0] == pytest.approx(0.5)
    assert m[0, 2] == 1.0 and m[2, 0] == 0.0 and np.isnan(m[1, 2]) and np.isnan(m[0, 0])
    np.testing.assert_array_equal(r.games, [4, 3, 1])


@pytest.mark.parametrize(
    "games, match",
    [
        ([("a", "b", 1.0), ("c", "d", 1.0)], "not connected"),
        ([("a", "a", 1.0)], "against itself"),
        ([("a", "b", 0.7)], "0, 0.5 or 1"),
        ([], "at least two players"),
    ],
)
def test_bad_input(games, match):
    with pytest.raises(ValueError, match=match):
        fit_ratings(games, bootstrap=0)


def test_table_csv_and_plots(tmp_path):
    r = fit_ratings(simulate(3, games=20), bootstrap=50)
    md = r.to_markdown()
    assert md.splitlines()[2].startswith("| 1 | `best` |")  # sorted by rating
    r.write_csv(tmp_path / "r.csv")
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("rank,player,elo") and len(rows) == 6
    for p in r.plot(tmp_path, title="t"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
