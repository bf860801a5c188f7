"""zeroleague leagues."""
