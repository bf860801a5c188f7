"""zeroleague baselines."""
