"""zeroleague baselines."""

if __name__ != "zeroleague.baselines":  # this folder installs as zeroleague.baselines; one module, one name
    raise ImportError(f"import zeroleague.baselines, not {__name__}: baselines/ installs as zeroleague.baselines")
