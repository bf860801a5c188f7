"""Bradley–Terry ratings on the Elo scale with bootstrap confidence intervals, tables and plots.

Model: P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400)). A draw counts as half a win and half a loss. Ratings
are the maximum-likelihood fit after adding ``prior_draws`` *virtual draws* to every pairing that was played
(a weak prior pulling each pair's rating difference towards 0 by the weight of that many games): without it a
player who never wins (or never loses) would have an infinite MLE; with it every rating is finite, and with
many games per pairing its pull is negligible. The comparison graph (players joined by games) must be
connected.

Intervals: 95% percentile intervals from ``bootstrap`` resamples (seeded) of the games *within each pairing*
(as many games as were played, multinomial over that pairing's win/draw/loss frequencies with the virtual
draws included — a smoothed bootstrap, so a one-sided record still varies), each resample refitted and
re-anchored. Anchor: the named player (default ``random`` if present) is 0 in the fit and in every resample
(its interval is [0, 0]); with no anchor present the ratings are centred to mean 0.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zeroleague.leagues.harness import GameRecord

_ELO = 400.0 / math.log(10.0)  # Elo points per natural-log-odds unit


def outcomes_from_records(records: Iterable[GameRecord]) -> list[tuple[str, str, float]]:
    """(agent_a, agent_b, agent_a's score in {0, 0.5, 1}) per game record."""
    return [(r.agent_a, r.agent_b, (r.result + 1) / 2) for r in records]


def _tally(outcomes: Iterable[tuple[str, str, float]], players: Sequence[str] | None):
    """Per ordered pair (i, j), i < j: counts of i's wins, draws, losses (int arrays [P, P, 3])."""
    outcomes = list(outcomes)
    names = (
        list(players)
        if players is not None
        else list(dict.fromkeys(n for a, b, _ in outcomes for n in (a, b)))
    )
    pos = {n: k for k, n in enumerate(names)}
    wdl = np.zeros((len(names), len(names), 3), dtype=np.int64)
    for a, b, s in outcomes:
        if a not in pos or b not in pos:
            raise ValueError(f"game between {a!r} and {b!r}: not both in players {names}")
        if a == b:
            raise ValueError(f"a game of {a!r} against itself cannot be rated")
        if s not in (0.0, 0.5, 1.0):
            raise ValueError(f"a game's score must be 0, 0.5 or 1, got {s!r} ({a} vs {b})")
        i, j = pos[a], pos[b]
        k = {1.0: 0, 0.5: 1, 0.0: 2}[float(s)]
        if i < j:
            wdl[i, j, k] += 1
        else:
            wdl[j, i, 2 - k] += 1
    return names, wdl


def _check_connected(names: list[str], counts: np.ndarray) -> None:
    adj = (counts + counts.T) > 0
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in np.flatnonzero(adj[i]):
            if int(j) not in seen:
                seen.add(int(j))
                todo.append(int(j))
    if len(seen) < len(names):
        cut = [names[k] for k in range(len(names)) if k not in seen]
        raise ValueError(
            f"players {cut} are not connected by games to {names[0]!r}; ratings would be undefined"
        )


def _fit(points: np.ndarray, counts: np.ndarray, theta0: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood log-strengths (mean 0) for points[i, j] of i against j out of counts[i, j]
    (symmetric); damped Newton on the concave log-likelihood, the gauge fixed by adding 11^T/P to the
    Hessian."""
    p = len(points)
    theta = np.zeros(p) if theta0 is None else theta0 - theta0.mean()

    def loglik(t):
        d = t[:, None] - t[None, :]
        return float(np.sum(points * -np.logaddexp(0.0, -d)))

    ll = loglik(theta)
    for _ in range(100):
        sig = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
        grad = (points - counts * sig).sum(axis=1)
        w = counts * sig * (1.0 - sig)
        hess = np.diag(w.sum(axis=1)) - w + np.ones((p, p)) / p
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            cand = theta + t * step
            cand -= cand.mean()
            ll_new = loglik(cand)
            if ll_new >= ll - 1e-12 or t < 1e-6:
                break
            t /= 2
        theta, ll_old, ll = cand, ll, ll_new
        if np.max(np.abs(t * step)) < 1e-10 or abs(ll - ll_old) < 1e-13:
            break
    return theta


def _points_counts(wdl: np.ndarray, prior_draws: float) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric [P, P] points and game counts (prior virtual draws included) from upper-triangle W/D/L
    counts."""
    played = wdl.sum(axis=-1) > 0
    prior = prior_draws * played
    pts = wdl[..., 0] + 0.5 * wdl[..., 1] + 0.5 * prior
    cnt = wdl.sum(axis=-1) + prior
    return pts + (cnt - pts).T, cnt + cnt.T


@dataclass
class Ratings:
    """Fitted ratings. Arrays are per player in ``players`` order; ``points``/``counts`` are [P, P] raw game
    results (i's points against j, games between them; no prior)."""

    players: list[str]
    elo: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    points: np.ndarray
    counts: np.ndarray
    anchor: str | None
    prior_draws: float
    bootstrap: int
    seed: int

    @property
    def games(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    @property
    def score(self) -> np.ndarray:
        """Each player's score rate over all its games (wins + draws/2)."""
        return self.points.sum(axis=1) / np.maximum(self.games, 1)

    def win_rate_matrix(self) -> np.ndarray:
        """[P, P]: row player's score rate against column player (NaN where they did not play)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.points / self.counts, np.nan)

    def order(self) -> np.ndarray:
        return np.argsort(-self.elo, kind="stable")

    def footnote(self) -> str:
        anchor = f"anchored at {self.anchor} = 0" if self.anchor else "centred to mean 0 (no anchor player)"
        return (
            f"Bradley–Terry maximum likelihood on the Elo scale (400·log10 odds); draws count half. "
            f"{self.prior_draws:g} virtual draw(s) added to every pairing played, so a player who never wins "
            f"(or never loses) still gets a finite rating. 95% intervals: {self.bootstrap} bootstrap "
            f"resamples of the games within each pairing, virtual draws included (seed {self.seed}); "
            f"{anchor}."
        )

    def to_markdown(self) -> str:
        lines = ["| rank | player | Elo | 95% CI | games | score |", "|---:|---|---:|---|---:|---:|"]
        for rank, k in enumerate(self.order(), 1):
            lines.append(
                f"| {rank} | `{self.players[k]}` | {self.elo[k]:.0f} | {self.lo[k]:.0f} .. {self.hi[k]:.0f} "
                f"| {int(self.games[k])} | {self.score[k]:.3f} |"
            )
        return "\n".join(lines) + f"\n\n{self.footnote()}\n"

    def write_csv(self, path: str | Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["rank", "player", "elo", "ci_low", "ci_high", "games", "score"])
            for rank, k in enumerate(self.order(), 1):
                w.writerow(
                    [
                        rank,
                        self.players[k],
                        f"{self.elo[k]:.1f}",
                        f"{self.lo[k]:.1f}",
                        f"{self.hi[k]:.1f}",
                        int(self.games[k]),
                        f"{self.score[k]:.4f}",
                    ]
                )

    def plot(self, out_dir: str | Path, title: str = "") -> list[Path]:
        """``ratings.png`` (Elo with 95% intervals) and ``winrates.png`` (score-rate heatmap) into
        ``out_dir``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        order = self.order()[::-1]
        names = [self.players[k] for k in order]
        label_in = 0.075 * max(len(n) for n in names)  # room for long specs (checkpoint paths) on the y axis
        fig, ax = plt.subplots(figsize=(5 + label_in, 0.5 * len(names) + 1.5))
        ax.errorbar(
            self.elo[order],
            np.arange(len(order)),
            xerr=[self.elo[order] - self.lo[order], self.hi[order] - self.elo[order]],
            fmt="o",
            capsize=4,
        )
        ax.set_yticks(np.arange(len(order)), names)
        ax.set_xlabel("Elo (Bradley–Terry), 95% bootstrap interval")
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(title or "ratings")
        fig.tight_layout()
        paths = [out / "ratings.png", out / "winrates.png"]
        fig.savefig(paths[0], dpi=120)
        plt.close(fig)

        top = self.order()
        mat = self.win_rate_matrix()[np.ix_(top, top)]
        labels = [self.players[k] for k in top]
        label_in = 0.075 * max(len(n) for n in labels)
        fig, ax = plt.subplots(figsize=(1.1 * len(top) + 1.5 + label_in, 1.0 * len(top) + 0.5 + label_in))
        im = ax.imshow(mat, vmin=0, vmax=1, cmap="RdBu")
        for i in range(len(top)):
            for j in range(len(top)):
                if not np.isnan(mat[i, j]):
                    ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(np.arange(len(top)), labels, rotation=45, ha="right")
        ax.set_yticks(np.arange(len(top)), labels)
        ax.set_title((title + ": " if title else "") + "row player's score rate")
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        fig.savefig(paths[1], dpi=120)
        plt.close(fig)
        return paths


def fit_ratings(
    outcomes: Iterable[tuple[str, str, float]],
    *,
    players: Sequence[str] | None = None,
    anchor: str | None = "random",
    prior_draws: float = 1.0,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Ratings:
    """Ratings from ``(player_a, player_b, score_a)`` games (score 1 win, 0.5 draw, 0 loss); see the module
    docstring. ``players`` fixes the order (default: first appearance). ``anchor`` is used only if present."""
    if prior_draws <= 0:
        raise ValueError(f"prior_draws must be > 0 (it keeps ratings finite), got {prior_draws}")
    names, wdl = _tally(outcomes, players)
    if len(names) < 2:
        raise ValueError(f"need games between at least two players, got players {names}")
    raw_pts, raw_cnt = _points_counts(wdl, 0.0)
    _check_connected(names, raw_cnt)
    anchor_k = names.index(anchor) if anchor in names else None

    def elo_of(wdl_sample: np.ndarray, theta0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        theta = _fit(*_points_counts(wdl_sample, prior_draws), theta0)
        shift = theta[anchor_k] if anchor_k is not None else 0.0
        return theta, (theta - shift) * _ELO

    theta, elo = elo_of(wdl)
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(len(names), k=1)
    n_pair = wdl.sum(axis=-1)[iu]
    smoothed = wdl[iu] + np.array([0.0, prior_draws, 0.0])  # the virtual draws: one-sided records still vary
    probs = smoothed / smoothed.sum(axis=1, keepdims=True)
    resampled = rng.multinomial(n_pair, probs, size=(bootstrap, len(n_pair)))  # [bootstrap, pairs, 3]
    samples = np.empty((bootstrap, len(names)))
    for b in range(bootstrap):
        res = np.zeros_like(wdl)
        res[iu] = resampled[b]
        samples[b] = elo_of(res, theta)[1]
    lo, hi = np.percentile(samples, [2.5, 97.5], axis=0) if bootstrap else (elo.copy(), elo.copy())
    return Ratings(
        names,
        elo,
        lo,
        hi,
        raw_pts,
        raw_cnt,
        names[anchor_k] if anchor_k is not None else None,
        prior_draws,
        bootstrap,
        seed,
    )
