"""zeroleague agents."""
