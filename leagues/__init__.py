"""zeroleague leagues: the match harness, tournaments, the SQLite results store, ratings, meta-strategy (Nash)
solvers and PSRO leagues (``leagues.psro``, ``leagues.distill``, ``leagues.exploitability``; Ray in
``leagues.ray_backend``, imported only when asked for)."""

from leagues.harness import GameRecord, MatchResult, play_match
from leagues.nash import META_SOLVERS, meta_strategy, solve_matrix_game
from leagues.ratings import Ratings, fit_ratings
from leagues.store import ResultStore, StoreError
from leagues.tournament import load_config, run_tournament

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
    "solve_matrix_game",
]
