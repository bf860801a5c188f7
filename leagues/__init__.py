"""zeroleague leagues: the match harness, tournaments, the SQLite results store and ratings."""

from leagues.harness import GameRecord, MatchResult, play_match
from leagues.ratings import Ratings, fit_ratings
from leagues.store import ResultStore, StoreError
from leagues.tournament import load_config, run_tournament

__all__ = [
    "GameRecord",
    "MatchResult",
    "Ratings",
    "ResultStore",
    "StoreError",
    "fit_ratings",
    "load_config",
    "play_match",
    "run_tournament",
]
