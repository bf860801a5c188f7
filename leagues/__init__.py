"""zeroleague leagues: the match harness, tournaments, the SQLite results store, ratings, meta-strategy (Nash)
solvers and PSRO leagues (``leagues.psro``, ``leagues.distill``, ``leagues.exploitability``; Ray in
``zeroleague.leagues.ray_backend``, imported only when asked for)."""

if __name__ != "zeroleague.leagues":  # this folder installs as zeroleague.leagues; one module, one name
    raise ImportError(f"import zeroleague.leagues, not {__name__}: the folder leagues/ installs as zeroleague.leagues")

from zeroleague.leagues.harness import GameRecord, MatchResult, play_match
from zeroleague.leagues.nash import META_SOLVERS, meta_strategy
from zeroleague.leagues.ratings import Ratings, fit_ratings
from zeroleague.leagues.store import ResultStore, StoreError
from zeroleague.leagues.tournament import load_config, run_tournament

__all__ = [
    "META_SOLVERS",
    "GameRecord",
    "MatchResult",
    "Ratings",
    "ResultStore",
    "StoreError",
    "fit_ratings",
    "load_config",
    "meta_strategy",
    "play_match",
    "run_tournament",
]
